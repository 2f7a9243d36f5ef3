import { describe, expect, it } from 'vitest';
import type { ServiceObject } from './service-lb-rules.js';
import { sharerOf, sharingVerdicts } from './service-lb-sharing.js';
import { type Pin, sharedKey } from './service-lb-slots.js';

const KEY = sharedKey('front');

function sharer(
  name: string,
  created: string,
  opts: {
    member?: boolean;
    ports?: [number, string][];
    local?: boolean;
    selector?: Record<string, string>;
    pin?: string;
  } = {},
) {
  const svc: ServiceObject = {
    metadata: { name, namespace: 'a', creationTimestamp: created },
    spec: {
      type: 'LoadBalancer',
      ports: (opts.ports ?? [[80, 'TCP']]).map(([port, protocol]) => ({ port, protocol })),
      ...(opts.local ? { externalTrafficPolicy: 'Local' } : {}),
      selector: opts.selector ?? { app: name },
    },
  };
  const pin: Pin = opts.pin
    ? { address: opts.pin, source: 'spec.loadBalancerIP', adopted: false }
    : undefined;
  return sharerOf(svc, opts.member ?? false, new Map([[4, pin]]));
}

describe('sharingVerdicts', () => {
  it('lets Services with disjoint (port, protocol) pairs share; 80/TCP and 80/UDP may', () => {
    const verdicts = sharingVerdicts(
      [sharer('dns-tcp', 't1', { ports: [[53, 'TCP']] }), sharer('dns-udp', 't2', { ports: [[53, 'UDP']] })],
      KEY,
      new Map(),
    );
    expect(verdicts.size).toBe(0);
  });

  it('refuses the later of two with a common port, naming the other', () => {
    const verdicts = sharingVerdicts([sharer('b', 't2'), sharer('a', 't1')], KEY, new Map());
    expect([...verdicts.keys()]).toEqual(['a/b']);
    expect(verdicts.get('a/b')).toMatch(/Service a .*80\/TCP.*created first/);
  });

  it('never takes the address from a Service already sharing it, even an older newcomer', () => {
    const verdicts = sharingVerdicts(
      [sharer('young', 't9', { member: true }), sharer('old', 't1')],
      KEY,
      new Map(),
    );
    expect([...verdicts.keys()]).toEqual(['a/old']);
    expect(verdicts.get('a/old')).toMatch(/Service young already shares it/);
  });

  it('needs equal selectors when either uses externalTrafficPolicy Local', () => {
    const local = [
      sharer('a', 't1', { local: true, ports: [[80, 'TCP']] }),
      sharer('b', 't2', { ports: [[443, 'TCP']] }),
    ];
    expect(sharingVerdicts(local, KEY, new Map()).get('a/b')).toMatch(/externalTrafficPolicy Local/);
    const same = [
      sharer('a', 't1', { local: true, selector: { app: 'x' } }),
      sharer('b', 't2', { ports: [[443, 'TCP']], selector: { app: 'x' } }),
    ];
    expect(sharingVerdicts(same, KEY, new Map()).size).toBe(0);
  });

  it('assigns none while the pins disagree before the group has an address', () => {
    const verdicts = sharingVerdicts(
      [
        sharer('a', 't1', { pin: '10.0.0.5' }),
        sharer('b', 't2', { pin: '10.0.0.6', ports: [[443, 'TCP']] }),
        sharer('c', 't3', { ports: [[8080, 'TCP']] }),
      ],
      KEY,
      new Map(),
    );
    expect([...verdicts.keys()].sort()).toEqual(['a/a', 'a/b', 'a/c']);
    expect(verdicts.get('a/c')).toMatch(/a: 10\.0\.0\.5, b: 10\.0\.0\.6/);
  });

  it('refuses a newcomer pinning another address than the group holds; one pinning the same joins', () => {
    const held = new Map([[4 as const, '10.0.0.5']]);
    const verdicts = sharingVerdicts(
      [
        sharer('a', 't1', { member: true }),
        sharer('b', 't2', { pin: '10.0.0.6', ports: [[443, 'TCP']] }),
        sharer('c', 't3', { pin: '10.0.0.5', ports: [[8443, 'TCP']] }),
      ],
      KEY,
      held,
    );
    expect([...verdicts.keys()]).toEqual(['a/b']);
    expect(verdicts.get('a/b')).toMatch(/asks for 10\.0\.0\.6.*have 10\.0\.0\.5/);
  });
});
