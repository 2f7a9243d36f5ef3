import { describe, expect, it } from 'vitest';
import { type AdmissionReview, convert, mutate, validate } from './admission.js';
import { webhookRoutes } from './routes.js';

const view = { allocatedAddresses: () => [] as string[] };

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

// A tiny deterministic PRNG so a failure can be replayed from its seed.
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('admission handlers', () => {
  it('serve the Go provider paths', () => {
    expect(webhookRoutes().map((r) => r.path)).toEqual([
      '/mutate-ipam-cluster-x-k8s-io-v1alpha2-inclusterippool',
      '/validate-ipam-cluster-x-k8s-io-v1alpha2-inclusterippool',
      '/mutate-ipam-cluster-x-k8s-io-v1alpha2-globalinclusterippool',
      '/validate-ipam-cluster-x-k8s-io-v1alpha2-globalinclusterippool',
      '/mutate-ipam-cluster-x-k8s-io-v1alpha2-inclusterprefixpool',
      '/validate-ipam-cluster-x-k8s-io-v1alpha2-inclusterprefixpool',
      '/mutate-ipam-cluster-x-k8s-io-v1alpha2-globalinclusterprefixpool',
      '/validate-ipam-cluster-x-k8s-io-v1alpha2-globalinclusterprefixpool',
    ]);
  });

  it('allow defaulting without a patch and echo the request uid', () => {
    expect(mutate(review('CREATE', { spec: { addresses: ['10.0.0.0/24'], prefix: 24 } })).response).toEqual({
      uid: 'u1',
      allowed: true,
    });
  });

  it('deny an invalid pool with a 422 naming the field', () => {
    const out = validate(review('CREATE', { spec: { addresses: [], prefix: 24 } }), 'InClusterIPPool', view);
    expect(out.response?.allowed).toBe(false);
    expect(out.response?.status?.code).toBe(422);
    expect(out.response?.status?.message).toContain('spec.addresses');
  });

  it('refuse spec updates and deletes while the controller has not synced', () => {
    const notSynced = { allocatedAddresses: () => undefined };
    const pool = { spec: { addresses: ['10.0.0.0/24'], prefix: 24 } };
    const grown = { spec: { addresses: ['10.0.0.0/23'], prefix: 23 } };
    expect(validate(review('UPDATE', grown, pool), 'InClusterIPPool', notSynced).response?.status?.code).toBe(
      503,
    );
    // A finalizer or label patch changes no allocation: it needs no synced controller.
    const labelled = { metadata: { labels: { a: 'b' } }, spec: { prefix: 24, addresses: ['10.0.0.0/24'] } };
    expect(validate(review('UPDATE', labelled, pool), 'InClusterIPPool', notSynced).response?.allowed).toBe(
      true,
    );
    expect(
      validate(review('DELETE', undefined, pool), 'InClusterIPPool', notSynced).response?.status?.code,
    ).toBe(503);
  });

  it('admit a gateway outside the subnet and an overlapping pool with warnings, not errors', () => {
    const others = {
      allocatedAddresses: () => [] as string[],
      knownPools: () => [
        {
          kind: 'GlobalInClusterIPPool',
          name: 'g',
          spec: { addresses: ['10.0.0.200-10.0.0.250'], prefix: 24 },
        },
      ],
    };
    const pool = { spec: { addresses: ['10.0.0.0/24'], prefix: 24, gateway: '10.9.0.1' } };
    const out = validate(review('CREATE', pool), 'InClusterIPPool', others).response;
    expect(out?.allowed).toBe(true);
    expect(out?.warnings).toHaveLength(2);
    expect(out?.warnings?.[0]).toContain('spec.gateway');
    expect(out?.warnings?.[1]).toContain('GlobalInClusterIPPool g (10.0.0.200-10.0.0.250)');
    const update = validate(review('UPDATE', pool, pool), 'InClusterIPPool', others).response;
    expect(update?.allowed).toBe(true);
    expect(update?.warnings).toHaveLength(2);
  });
  it('admit an update that leaves a stored invalid spec as it was, and judge one that changes it', () => {
    // Got in while the webhooks were off; the controller's ProtectPool finalizer must still go on
    // and come off, or the pool could never be deleted.
    const invalid = { spec: { addresses: ['10.0.0.10-10.0.0.20'], prefix: 24, gateway: 'nope' } };
    const finalized = { metadata: { finalizers: ['ipam.cluster.x-k8s.io/ProtectPool'] }, ...invalid };
    const busy = { allocatedAddresses: () => ['10.0.0.99'] };
    expect(validate(review('UPDATE', finalized, invalid), 'InClusterIPPool', busy).response).toEqual({
      uid: 'u1',
      allowed: true,
    });
    const stillInvalid = { spec: { ...invalid.spec, gateway: 'still-nope' } };
    const out = validate(review('UPDATE', stillInvalid, invalid), 'InClusterIPPool', busy);
    expect(out.response?.allowed).toBe(false);
    expect(out.response?.status?.message).toContain('spec.gateway');
    // A review without the old object has nothing to compare with: judged in full.
    expect(validate(review('UPDATE', invalid), 'InClusterIPPool', view).response?.allowed).toBe(false);
  });

  it('deny objects of the wrong shape naming the field, instead of throwing', () => {
    const cases: [unknown, string][] = [
      [{ spec: null }, 'spec'],
      [{ spec: { addresses: 5, prefix: 24 } }, 'spec.addresses'],
      [{ spec: { addresses: [5], prefix: 24 } }, 'spec.addresses[0]'],
      [
        { spec: { addresses: ['10.0.0.0/24'], prefix: 24, excludedAddresses: [null] } },
        'spec.excludedAddresses',
      ],
    ];
    for (const [object, field] of cases) {
      const out = validate(review('CREATE', object), 'InClusterIPPool', view).response;
      expect(out?.allowed, JSON.stringify(object)).toBe(false);
      expect(out?.status?.message, JSON.stringify(object)).toContain(field);
    }
    // A null optional field counts as absent, as for the API server.
    const nullGateway = { spec: { addresses: ['10.0.0.0/24'], prefix: 24, gateway: null } };
    expect(validate(review('CREATE', nullGateway), 'InClusterIPPool', view).response?.allowed).toBe(true);
  });

  it('fail conversions of malformed objects with a message', () => {
    for (const objects of [
      [null],
      5,
      [{ apiVersion: 'ipam.cluster.x-k8s.io/v1alpha1', spec: { subnet: 5 } }],
    ]) {
      const out = convert({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'ConversionReview',
        request: { uid: 'c', desiredAPIVersion: 'ipam.cluster.x-k8s.io/v1alpha2', objects: objects as never },
      });
      expect(out.response?.result.status, JSON.stringify(objects)).toBe('Failure');
      expect(out.response?.result.message).toBeTruthy();
    }
  });

  it('fail a conversion with the whole field error, as the Go provider’s does', () => {
    const out = convert({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'ConversionReview',
      request: {
        uid: 'c',
        desiredAPIVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
        objects: [
          {
            apiVersion: 'ipam.cluster.x-k8s.io/v1alpha1',
            kind: 'InClusterIPPool',
            metadata: { name: 'p' },
            spec: { subnet: 'nope', gateway: '10.0.0.1' },
          },
        ] as never,
      },
    });
    expect(out.response?.result.message).toMatch(/^spec\.subnet: Invalid value: "nope": /);
  });

  it('answer thousands of random pool specs, each allowed or denied with a message', () => {
    const next = rng(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
    const entries = [
      '10.0.0.0/24',
      '10.0.0.1-10.0.0.9',
      '10.0.0.300',
      'fd00::/64',
      'fd00::1-fd00::5',
      '',
      'x',
      '10.0.0.9-10.0.0.1',
      '::',
      '0.0.0.0/0',
      '10.0.0.1/33',
      '01.2.3.4',
    ];
    let denied = 0;
    for (let i = 0; i < 5000; i++) {
      const spec: Record<string, unknown> = {
        addresses: Array.from({ length: Math.floor(next() * 4) }, () => pick(entries)),
        prefix: pick([0, 8, 24, 31, 32, 64, 127, 128, 129, -1, 3.5]),
      };
      if (next() < 0.5) spec.gateway = pick(entries);
      if (next() < 0.5) spec.excludedAddresses = [pick(entries)];
      if (next() < 0.2) spec.addressReuseGracePeriodSeconds = pick([-1, 0, 10]);
      if (next() < 0.1) spec.allocateReservedIPAddresses = true;
      const out = validate(review('CREATE', { spec }), 'InClusterIPPool', view);
      expect(out.response?.uid).toBe('u1');
      if (!out.response?.allowed) {
        denied++;
        expect(out.response?.status?.message).toMatch(/spec\.|addresses|prefix/);
      }
    }
    expect(denied).toBeGreaterThan(0);
    expect(denied).toBeLessThan(5000);
  });

  it('convert v1alpha1 to v1alpha2 and back through a ConversionReview', () => {
    const v1 = {
      apiVersion: 'ipam.cluster.x-k8s.io/v1alpha1',
      kind: 'InClusterIPPool',
      metadata: { name: 'p', namespace: 'ns' },
      spec: { subnet: '10.1.1.0/24', gateway: '10.1.1.1' },
    };
    const up = convert({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'ConversionReview',
      request: { uid: 'c1', desiredAPIVersion: 'ipam.cluster.x-k8s.io/v1alpha2', objects: [v1] },
    });
    expect(up.response?.result.status).toBe('Success');
    const v2 = up.response?.convertedObjects[0] as { spec: { addresses: string[]; prefix: number } };
    expect(v2.spec).toMatchObject({ addresses: ['10.1.1.1-10.1.1.254'], prefix: 24 });
    const down = convert({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'ConversionReview',
      request: { uid: 'c2', desiredAPIVersion: 'ipam.cluster.x-k8s.io/v1alpha1', objects: [v2 as never] },
    });
    expect((down.response?.convertedObjects[0] as { spec?: unknown } | undefined)?.spec).toMatchObject({
      subnet: '10.1.1.0/24',
    });
  });
});

describe('admission of chosen addresses (preAllocations, namespaceSelector, allocationStrategy)', () => {
  const base = { addresses: ['10.0.0.0/24'], prefix: 24, gateway: '10.0.0.1' };
  const pinned = (pins: Record<string, string>[]) => ({ spec: { ...base, preAllocations: pins } });
  const holders = new Map([
    ['10.0.0.20', 'ns/web-0-0'],
    ['10.0.0.30', 'ns/db'],
  ]);
  const asked: string[] = [];
  const synced = {
    allocatedAddresses: () => ['10.0.0.20', '10.0.0.30'],
    addressHolders: (kind: string, namespace: string | undefined, name: string) => {
      asked.push(`${kind}/${namespace ?? ''}/${name}`);
      return holders;
    },
  };

  it('refuse a pin of the gateway on create, naming the pin', () => {
    const out = validate(
      review('CREATE', pinned([{ claimName: 'vip', address: '10.0.0.1' }])),
      'InClusterIPPool',
      view,
    ).response;
    expect(out?.allowed).toBe(false);
    expect(out?.status?.code).toBe(422);
    expect(out?.status?.message).toBe(
      'InClusterIPPool.ipam.cluster.x-k8s.io "p" is invalid: spec.preAllocations[0].address: Invalid value: "10.0.0.1": provided address is the gateway (spec.gateway), which is never handed out',
    );
  });

  it('apply the namespace rule of the kind the route serves', () => {
    const withNamespace = pinned([{ claimName: 'vip', namespace: 'ns', address: '10.0.0.10' }]);
    const withoutNamespace = pinned([{ claimName: 'vip', address: '10.0.0.10' }]);
    expect(validate(review('CREATE', withNamespace), 'GlobalInClusterIPPool', view).response?.allowed).toBe(
      true,
    );
    expect(
      validate(review('CREATE', withNamespace), 'InClusterIPPool', view).response?.status?.message,
    ).toContain('spec.preAllocations[0].namespace: Forbidden');
    expect(validate(review('CREATE', withoutNamespace), 'InClusterIPPool', view).response?.allowed).toBe(
      true,
    );
    expect(
      validate(review('CREATE', withoutNamespace), 'GlobalInClusterIPPool', view).response?.status?.message,
    ).toContain('spec.preAllocations[0].namespace: Required value');
  });

  it('refuse on update a new pin of an address another claim holds, with the holder named', () => {
    const out = validate(
      review('UPDATE', pinned([{ claimName: 'vip', address: '10.0.0.20' }]), { spec: base }),
      'InClusterIPPool',
      synced,
    ).response;
    expect(out?.allowed).toBe(false);
    expect(out?.status?.code).toBe(422);
    expect(out?.status?.message).toContain(
      'spec.preAllocations[0].address: Invalid value: "10.0.0.20": provided address is already held by claim ns/web-0-0',
    );
    expect(asked).toContain('InClusterIPPool/ns/p');
  });

  it('admit a pin whose address its own claim holds, and one of a free address', () => {
    const pins = [
      { claimName: 'web-0-0', address: '10.0.0.20' },
      { claimName: 'vip', address: '10.0.0.10' },
    ];
    const out = validate(review('UPDATE', pinned(pins), { spec: base }), 'InClusterIPPool', synced).response;
    expect(out).toEqual({ uid: 'u1', allowed: true });
  });

  it('warn when a pinned claim already holds another address of the pool', () => {
    const out = validate(
      review('UPDATE', pinned([{ claimName: 'db', address: '10.0.0.40' }]), { spec: base }),
      'InClusterIPPool',
      synced,
    ).response;
    expect(out?.allowed).toBe(true);
    expect(out?.warnings).toEqual([
      expect.stringContaining('claim ns/db already holds 10.0.0.30 from this pool'),
    ]);
  });

  it('refuse with 503 while the holders are not synced, and do not ask when no pin changed', () => {
    const notSynced = { allocatedAddresses: () => [] as string[], addressHolders: () => undefined };
    const pins = pinned([{ claimName: 'vip', address: '10.0.0.10' }]);
    expect(
      validate(review('UPDATE', pins, { spec: base }), 'InClusterIPPool', notSynced).response?.status?.code,
    ).toBe(503);
    // Same pins, another field changed: nothing to check against the holders.
    const regated = { spec: { ...pins.spec, gateway: '10.0.0.254' } };
    expect(validate(review('UPDATE', regated, pins), 'InClusterIPPool', notSynced).response?.allowed).toBe(
      true,
    );
    // A view without addressHolders skips the check (a controller that does not offer it).
    expect(validate(review('UPDATE', pins, { spec: base }), 'InClusterIPPool', view).response?.allowed).toBe(
      true,
    );
  });

  it('refuse a namespaceSelector on the namespaced kind and a broken one on the Global kind', () => {
    const selector = (namespaceSelector: unknown) => ({ spec: { ...base, namespaceSelector } });
    expect(
      validate(review('CREATE', selector({ matchLabels: { a: 'b' } })), 'InClusterIPPool', view).response
        ?.status?.message,
    ).toContain('spec.namespaceSelector: Forbidden');
    expect(
      validate(review('CREATE', selector({ matchLabels: { a: 'b' } })), 'GlobalInClusterIPPool', view)
        .response?.allowed,
    ).toBe(true);
    const broken = selector({ matchExpressions: [{ key: 'a', operator: 'In' }] });
    expect(
      validate(review('CREATE', broken), 'GlobalInClusterIPPool', view).response?.status?.message,
    ).toContain(
      "spec.namespaceSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
    );
    const wrongShape = selector('a=b');
    expect(
      validate(review('CREATE', wrongShape), 'GlobalInClusterIPPool', view).response?.status?.message,
    ).toContain('spec.namespaceSelector');
  });

  it('refuse an unknown allocationStrategy', () => {
    const out = validate(
      review('CREATE', { spec: { ...base, allocationStrategy: 'Fastest' } }),
      'GlobalInClusterIPPool',
      view,
    ).response;
    expect(out?.status?.message).toContain(
      'spec.allocationStrategy: Unsupported value: "Fastest": supported values: "Lowest", "Highest", "Random", "RoundRobin"',
    );
  });

  it('answer random pins and selectors, each allowed or denied with a message', () => {
    const next = rng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
    const names = ['a', 'vip', 'web-0-0', '', 'A_b', 'x'.repeat(300), 'ns.sub'];
    const addresses = [
      '10.0.0.5',
      '10.0.0.1',
      '10.0.0.0',
      '10.0.0.255',
      'fd00::1',
      '10.0.1.1',
      'x',
      '',
      '10.0.0.5/32',
    ];
    for (let i = 0; i < 2000; i++) {
      const pins = Array.from({ length: Math.floor(next() * 4) }, () => {
        const pin: Record<string, unknown> = { claimName: pick(names), address: pick(addresses) };
        if (next() < 0.5) pin.namespace = pick(names);
        if (next() < 0.05) pin.address = pick([null, 5, {}]);
        return pin;
      });
      const spec: Record<string, unknown> = { ...base, preAllocations: next() < 0.05 ? 'x' : pins };
      if (next() < 0.3)
        spec.namespaceSelector = pick([
          {},
          { matchLabels: { a: 'b' } },
          {
            matchExpressions: [{ key: pick(names), operator: pick(['In', 'Exists', 'Nope']), values: ['v'] }],
          },
          [],
          null,
        ]);
      if (next() < 0.3) spec.allocationStrategy = pick(['Lowest', 'Random', 'nope', 1]);
      const kind = pick(['InClusterIPPool', 'GlobalInClusterIPPool']);
      const out = validate(
        review(pick(['CREATE', 'UPDATE']), { spec }, { spec: base }),
        kind,
        synced,
      ).response;
      expect(out?.uid).toBe('u1');
      if (!out?.allowed) expect(out?.status?.message).toMatch(/spec\.|not synced/);
    }
  });
});
