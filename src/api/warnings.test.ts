import { describe, expect, it } from 'vitest';
import type { IPPoolSpec } from './ippool-types.js';
import { ipPoolWarnings, type KnownPool } from './warnings.js';

const self = { kind: 'InClusterIPPool', namespace: 'ns', name: 'a' };
const spec = (s: Partial<IPPoolSpec>): IPPoolSpec => ({ addresses: ['10.0.0.0/24'], prefix: 24, ...s });

describe('IP pool admission warnings', () => {
  it('say nothing for a gateway inside the subnet and no other pool', () => {
    expect(ipPoolWarnings(self, spec({ gateway: '10.0.0.1' }))).toEqual([]);
  });

  it('warn about a gateway outside the subnet inferred from the lowest address', () => {
    const [warning, ...rest] = ipPoolWarnings(
      self,
      spec({ addresses: ['10.0.0.10-10.0.0.20'], gateway: '10.0.1.1' }),
    );
    expect(rest).toEqual([]);
    expect(warning).toContain('spec.gateway: 10.0.1.1 is outside');
    expect(warning).toContain('10.0.0.0/24');
  });

  it('warn about an IPv6 gateway outside its /64', () => {
    const out = ipPoolWarnings(
      self,
      spec({ addresses: ['fd00::10-fd00::20'], prefix: 64, gateway: 'fd01::1' }),
    );
    expect(out[0]).toContain('fd00::/64');
  });

  it('name every other pool whose allocatable addresses overlap, with the shared ranges', () => {
    const others: KnownPool[] = [
      { kind: 'GlobalInClusterIPPool', name: 'g', spec: spec({ addresses: ['10.0.0.100-10.0.0.200'] }) },
      { kind: 'InClusterIPPool', namespace: 'other', name: 'b', spec: spec({ addresses: ['10.0.1.0/24'] }) },
      { kind: 'InClusterIPPool', namespace: 'ns', name: 'a', spec: spec({}) },
    ];
    const out = ipPoolWarnings(self, spec({}), others);
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('spec.addresses: overlaps GlobalInClusterIPPool g (10.0.0.100-10.0.0.200)');
    expect(out[0]).not.toContain('other/b');
    // The pool itself (an update) is never reported as overlapping with its old self.
    expect(out[0]).not.toContain('ns/a');
  });

  it('count overlaps of pools that exclude each other as none', () => {
    const others: KnownPool[] = [
      {
        kind: 'InClusterIPPool',
        namespace: 'ns',
        name: 'b',
        spec: spec({ excludedAddresses: ['10.0.0.0-10.0.0.127'] }),
      },
    ];
    expect(ipPoolWarnings(self, spec({ excludedAddresses: ['10.0.0.128/25'] }), others)).toEqual([]);
  });

  it('ignore pools of the other family and pools that are invalid', () => {
    const others: KnownPool[] = [
      {
        kind: 'InClusterIPPool',
        namespace: 'ns',
        name: 'v6',
        spec: spec({ addresses: ['fd00::/120'], prefix: 120 }),
      },
      { kind: 'InClusterIPPool', namespace: 'ns', name: 'bad', spec: spec({ addresses: ['nonsense'] }) },
    ];
    expect(ipPoolWarnings(self, spec({}), others)).toEqual([]);
  });

  it('list at most five pools and three ranges each, and count the rest', () => {
    const others: KnownPool[] = Array.from({ length: 7 }, (_, i) => ({
      kind: 'InClusterIPPool',
      namespace: 'ns',
      name: `p${i}`,
      spec: spec({ addresses: ['10.0.0.1', '10.0.0.3', '10.0.0.5', '10.0.0.7'] }),
    }));
    const [warning] = ipPoolWarnings(self, spec({}), others);
    expect(warning).toContain('and 1 more ranges');
    expect(warning).toContain('and 2 more pools');
    expect(warning).not.toContain('ns/p5');
  });

  it('give no warnings for an invalid spec (it gets errors instead)', () => {
    expect(ipPoolWarnings(self, spec({ addresses: ['x'], gateway: '1.2.3.4' }))).toEqual([]);
  });
});
