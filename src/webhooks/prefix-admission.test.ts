import { describe, expect, it } from 'vitest';
import type { AdmissionReview } from './admission.js';
import { mutatePrefixPool, validatePrefixPool } from './prefix-admission.js';

const KIND = 'InClusterPrefixPool';
const SKIP = 'ipam.cluster.x-k8s.io/skip-validate-delete-webhook';

function review(
  operation: 'CREATE' | 'UPDATE' | 'DELETE',
  object: unknown,
  oldObject?: unknown,
): AdmissionReview {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u1', name: 'p', namespace: 'ns', operation, object, oldObject },
  };
}

const held = (addresses: string[] | undefined) => ({ allocatedAddresses: () => addresses });
const decode = (r: AdmissionReview) =>
  r.response?.patch ? JSON.parse(Buffer.from(r.response.patch, 'base64').toString()) : undefined;

describe('prefix pool admission', () => {
  it('defaults allocationPrefixLength to 64 when absent or 0, and leaves a set one alone', () => {
    expect(decode(mutatePrefixPool(review('CREATE', { spec: { prefixes: ['fd00::/48'] } })))).toEqual([
      { op: 'add', path: '/spec/allocationPrefixLength', value: 64 },
    ]);
    const zero = mutatePrefixPool(
      review('CREATE', { spec: { prefixes: ['fd00::/48'], allocationPrefixLength: 0 } }),
    );
    expect(decode(zero)).toEqual([{ op: 'replace', path: '/spec/allocationPrefixLength', value: 64 }]);
    expect(zero.response?.patchType).toBe('JSONPatch');
    const set = mutatePrefixPool(
      review('CREATE', { spec: { prefixes: ['fd00::/48'], allocationPrefixLength: 56 } }),
    );
    expect(set.response).toEqual({ uid: 'u1', allowed: true });
  });

  it('refuses an invalid pool with the Go message as an Invalid status', () => {
    const r = validatePrefixPool(review('CREATE', { spec: { prefixes: ['10.0.0.0/8'] } }), KIND, held([]));
    expect(r.response?.allowed).toBe(false);
    expect(r.response?.status?.code).toBe(422);
    expect(r.response?.status?.message).toBe(
      'InClusterPrefixPool.ipam.cluster.x-k8s.io "p" is invalid: spec.prefixes: Invalid value: "10.0.0.0/8": only IPv6 prefixes are supported',
    );
  });

  it('admits /128 allocation with the Go warnings', () => {
    const spec = { prefixes: ['fd00::/120'], allocationPrefixLength: 128, gateway: 'fd00::1' };
    const r = validatePrefixPool(review('CREATE', { spec }), KIND, held([]));
    expect(r.response?.allowed).toBe(true);
    expect(r.response?.warnings).toHaveLength(2);
  });

  it('refuses changing allocationPrefixLength and orphaning allocations; refuses until synced', () => {
    const old = { spec: { prefixes: ['fd00::/62'], allocationPrefixLength: 64 } };
    const longer = validatePrefixPool(
      review('UPDATE', { spec: { prefixes: ['fd00::/62'], allocationPrefixLength: 72 } }, old),
      KIND,
      held([]),
    );
    expect(longer.response?.status).toMatchObject({
      code: 400,
      message: 'spec.allocationPrefixLength is immutable',
    });
    const shrink = validatePrefixPool(
      review('UPDATE', { spec: { prefixes: ['fd00::/63'], allocationPrefixLength: 64 } }, old),
      KIND,
      held(['fd00:0:0:2::/64']),
    );
    expect(shrink.response?.status?.message).toBe(
      'existing allocations become non-allocatable: [fd00:0:0:2::]',
    );
    const grown = { spec: { prefixes: ['fd00::/61'], allocationPrefixLength: 64 } };
    const early = validatePrefixPool(review('UPDATE', grown, old), KIND, held(undefined));
    expect(early.response?.status?.code).toBe(503);
    // The spec as stored, under a new finalizer: nothing to judge, synced or not.
    const finalized = { metadata: { finalizers: ['ipam.cluster.x-k8s.io/ProtectPool'] }, ...old };
    expect(
      validatePrefixPool(review('UPDATE', finalized, old), KIND, held(undefined)).response?.allowed,
    ).toBe(true);
    const storedInvalid = { spec: { prefixes: ['10.0.0.0/8'], allocationPrefixLength: 64 } };
    const relabelled = { metadata: { labels: { a: 'b' } }, ...storedInvalid };
    expect(
      validatePrefixPool(review('UPDATE', relabelled, storedInvalid), KIND, held([])).response?.allowed,
    ).toBe(true);
  });

  it('refuses a delete while IPAddresses exist unless the pool carries the skip annotation', () => {
    const pool = { metadata: { name: 'p' }, spec: { prefixes: ['fd00::/62'] } };
    const refused = validatePrefixPool(review('DELETE', undefined, pool), KIND, held(['fd00::/64']));
    expect(refused.response?.status?.message).toBe(
      'Pool has IPAddresses allocated. Cannot delete Pool until all IPAddresses have been removed.',
    );
    const skipped = { ...pool, metadata: { name: 'p', annotations: { [SKIP]: '' } } };
    expect(
      validatePrefixPool(review('DELETE', undefined, skipped), KIND, held(undefined)).response?.allowed,
    ).toBe(true);
    expect(validatePrefixPool(review('DELETE', undefined, pool), KIND, held([])).response?.allowed).toBe(
      true,
    );
  });

  it('refuses a delete until the controller synced (it cannot know the allocations before)', () => {
    const pool = { metadata: { name: 'p' }, spec: { prefixes: ['fd00::/62'] } };
    const early = validatePrefixPool(review('DELETE', undefined, pool), KIND, held(undefined));
    expect(early.response?.allowed).toBe(false);
    expect(early.response?.status?.code).toBe(503);
  });
});

describe('prefix pool admission of chosen prefixes', () => {
  const base = { prefixes: ['fd00::/48'], allocationPrefixLength: 64 };
  const holders = new Map([['fd00:0:0:2::/64', 'ns/node-2']]);
  const view = { allocatedAddresses: () => ['fd00:0:0:2::/64'], addressHolders: () => holders };

  it('refuses a pin that is not a child of the pool, on create and update', () => {
    const spec = { ...base, preAllocations: [{ claimName: 'a', address: 'fd00:0:0:5::/56' }] };
    for (const op of ['CREATE', 'UPDATE'] as const) {
      const out = validatePrefixPool(review(op, { spec }, { spec: base }), KIND, view).response;
      expect(out?.status?.message).toContain(
        'spec.preAllocations[0].address: Invalid value: "fd00:0:0:5::/56": CIDR must be network-aligned',
      );
    }
  });

  it('refuses on update a new pin of a prefix another claim holds, by its network/len', () => {
    const spec = { ...base, preAllocations: [{ claimName: 'node-1', address: 'fd00:0:0:2:0::/64' }] };
    const out = validatePrefixPool(review('UPDATE', { spec }, { spec: base }), KIND, view).response;
    expect(out?.status?.code).toBe(422);
    expect(out?.status?.message).toContain('already held by claim ns/node-2');
    const own = { ...base, preAllocations: [{ claimName: 'node-2', address: 'fd00:0:0:2::/64' }] };
    expect(
      validatePrefixPool(review('UPDATE', { spec: own }, { spec: base }), KIND, view).response?.allowed,
    ).toBe(true);
  });

  it('refuses with 503 while the holders are not synced', () => {
    const spec = { ...base, preAllocations: [{ claimName: 'node-1', address: 'fd00:0:0:3::/64' }] };
    const notSynced = { allocatedAddresses: () => [] as string[], addressHolders: () => undefined };
    expect(
      validatePrefixPool(review('UPDATE', { spec }, { spec: base }), KIND, notSynced).response?.status?.code,
    ).toBe(503);
  });

  it('requires the namespace of a pin and validates the selector in the Global kind', () => {
    const pins = { ...base, preAllocations: [{ claimName: 'a', address: 'fd00:0:0:5::/64' }] };
    // The schema of the Global kind requires it: the shape check answers as the API server would.
    expect(
      validatePrefixPool(review('CREATE', { spec: pins }), 'GlobalInClusterPrefixPool', held([])).response
        ?.status?.message,
    ).toBe(
      'GlobalInClusterPrefixPool.ipam.cluster.x-k8s.io "p" is invalid: spec.preAllocations[0].namespace: Required value',
    );
    const selector = {
      ...base,
      namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'Exists', values: ['x'] }] },
    };
    expect(
      validatePrefixPool(review('CREATE', { spec: selector }), 'GlobalInClusterPrefixPool', held([])).response
        ?.status?.message,
    ).toContain('spec.namespaceSelector.matchExpressions[0].values: Forbidden');
  });
});
