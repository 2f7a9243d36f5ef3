import { describe, expect, it } from 'vitest';
import {
  API_VERSION_V1ALPHA1,
  API_VERSION_V1ALPHA2,
  convertIPPool,
  convertIPPoolSpecToV1Alpha1,
  convertIPPoolSpecToV1Alpha2,
  convertIPPoolToV1Alpha1,
  convertIPPoolToV1Alpha2,
} from './convert.js';
import { formatFieldError } from './errors.js';
import type { IPPool, IPPoolSpec, IPPoolSpecV1Alpha1, IPPoolV1Alpha1 } from './ippool-types.js';

const DATA = 'cluster.x-k8s.io/conversion-data';

function up(spec: IPPoolSpecV1Alpha1): IPPoolSpec {
  const r = convertIPPoolSpecToV1Alpha2(spec);
  if (!r.ok) throw new Error(formatFieldError(r.error));
  return r.object.spec;
}

function toV2(obj: IPPoolV1Alpha1): IPPool {
  const r = convertIPPoolToV1Alpha2(obj);
  if (!r.ok) throw new Error(formatFieldError(r.error));
  return r.object;
}

function toV1(obj: IPPool): IPPoolV1Alpha1 {
  const r = convertIPPoolToV1Alpha1(obj);
  if (!r.ok) throw new Error(formatFieldError(r.error));
  return r.object;
}

const kinds = ['InClusterIPPool', 'GlobalInClusterIPPool'] as const;

// The Go provider's conversion tests (api/v1alpha1/conversion_test.go), re-expressed.
describe('v1alpha1 → v1alpha2 spec', () => {
  it.each<[string, IPPoolSpecV1Alpha1, IPPoolSpec]>([
    [
      'first/last/subnet/prefix',
      { gateway: '1.1.1.1', subnet: '1.1.1.1/28', start: '1.1.1.1', end: '1.1.1.10', prefix: 28 },
      { gateway: '1.1.1.1', addresses: ['1.1.1.1-1.1.1.10'], prefix: 28 },
    ],
    [
      'only addresses',
      { gateway: '1.1.1.1', addresses: ['1.1.1.1-1.1.1.10'], prefix: 28 },
      { gateway: '1.1.1.1', addresses: ['1.1.1.1-1.1.1.10'], prefix: 28 },
    ],
    [
      'prefix defaulted from subnet',
      { subnet: '1.1.1.0/24', start: '1.1.1.10', end: '1.1.1.15', gateway: '1.1.1.1' },
      { gateway: '1.1.1.1', addresses: ['1.1.1.10-1.1.1.15'], prefix: 24 },
    ],
    [
      'start and end defaulted from subnet, skipping network and broadcast',
      { subnet: '1.1.1.0/24', gateway: '1.1.1.1' },
      { gateway: '1.1.1.1', addresses: ['1.1.1.1-1.1.1.254'], prefix: 24 },
    ],
    [
      'start-end appended after the addresses',
      { addresses: ['10.0.0.3'], start: '10.0.0.5', end: '10.0.0.9', prefix: 24 },
      { addresses: ['10.0.0.3', '10.0.0.5-10.0.0.9'], prefix: 24 },
    ],
    ['an IPv6 subnet', { subnet: 'fd00::/120' }, { addresses: ['fd00::1-fd00::fe'], prefix: 120 }],
    ['start without end adds nothing', { start: '10.0.0.5', prefix: 24 }, { addresses: [], prefix: 24 }],
  ])('%s', (_name, input, expected) => {
    expect(up(input)).toEqual(expected);
  });

  it('refuses a subnet that is not a CIDR, naming spec.subnet', () => {
    const r = convertIPPoolSpecToV1Alpha2({ subnet: '1.1.1.1' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(formatFieldError(r.error)).toMatch(/^spec\.subnet: Invalid value: "1\.1\.1\.1": /);
  });

  it('does not mutate its input', () => {
    const input: IPPoolSpecV1Alpha1 = { subnet: '1.1.1.0/24', addresses: ['1.1.1.1'] };
    up(input);
    expect(input).toEqual({ subnet: '1.1.1.0/24', addresses: ['1.1.1.1'] });
  });
});

describe('v1alpha2 → v1alpha1 spec', () => {
  it('copies addresses, prefix and gateway', () => {
    expect(
      convertIPPoolSpecToV1Alpha1({ gateway: '1.2.3.5', addresses: ['1.1.1.1-1.1.1.10'], prefix: 10 }),
    ).toEqual({ gateway: '1.2.3.5', addresses: ['1.1.1.1-1.1.1.10'], prefix: 10 });
  });
});

describe.each(kinds)('%s v1alpha1 → v1alpha2 → v1alpha1', (kind) => {
  it.each<[string, IPPoolSpecV1Alpha1, IPPoolSpecV1Alpha1]>([
    [
      'addresses, gateway and prefix come back as they were',
      { gateway: '1.1.1.1', addresses: ['1.1.1.1-1.1.1.10'], prefix: 16 },
      { gateway: '1.1.1.1', addresses: ['1.1.1.1-1.1.1.10'], prefix: 16 },
    ],
    [
      'first, last and subnet come back as they were',
      { gateway: '1.1.1.1', subnet: '1.1.1.1/16', start: '1.1.1.2', end: '1.1.1.10', prefix: 16 },
      { gateway: '1.1.1.1', subnet: '1.1.1.1/16', start: '1.1.1.2', end: '1.1.1.10', prefix: 16 },
    ],
    [
      'fields defaulted from the subnet are shown',
      { gateway: '1.1.1.1', subnet: '1.1.1.1/24' },
      { gateway: '1.1.1.1', subnet: '1.1.1.1/24', start: '1.1.1.1', end: '1.1.1.254', prefix: 24 },
    ],
  ])('%s', (_name, input, expected) => {
    const hub = toV2({ apiVersion: API_VERSION_V1ALPHA1, kind, metadata: { name: 'p' }, spec: input });
    expect(hub.apiVersion).toBe(API_VERSION_V1ALPHA2);
    const back = toV1(hub);
    expect(back.spec).toEqual(expected);
    expect(back.metadata).toEqual({ name: 'p' });
  });

  it('stores the v1alpha1 view only when v1alpha2 cannot express it', () => {
    const plain = toV2({
      apiVersion: API_VERSION_V1ALPHA1,
      kind,
      metadata: { name: 'p' },
      spec: { addresses: ['10.0.0.1'], prefix: 24 },
    });
    expect(plain.metadata).toEqual({ name: 'p' });
    const subnet = toV2({
      apiVersion: API_VERSION_V1ALPHA1,
      kind,
      metadata: { name: 'p' },
      spec: { subnet: '10.0.0.0/24' },
    });
    expect(JSON.parse(subnet.metadata?.annotations?.[DATA] ?? '{}')).toEqual({
      apiVersion: API_VERSION_V1ALPHA1,
      kind,
      spec: { subnet: '10.0.0.0/24', start: '10.0.0.1', end: '10.0.0.254', prefix: 24 },
    });
  });

  it('drops a stored subnet view that no longer matches the pool (for both kinds)', () => {
    const hub = toV2({
      apiVersion: API_VERSION_V1ALPHA1,
      kind,
      metadata: { name: 'p' },
      spec: { subnet: '10.0.0.0/24' },
    });
    hub.spec.addresses = ['10.0.0.1-10.0.0.100'];
    expect(toV1(hub).spec).toEqual({ addresses: ['10.0.0.1-10.0.0.100'], prefix: 24 });
  });
});

describe.each(kinds)('%s v1alpha2 → v1alpha1 → v1alpha2 is lossless', (kind) => {
  const hub: IPPool = {
    apiVersion: API_VERSION_V1ALPHA2,
    kind,
    metadata: { name: 'p', labels: { a: 'b' }, annotations: { keep: 'me' } },
    spec: {
      addresses: ['10.0.0.0/24'],
      prefix: 24,
      gateway: '10.0.0.1',
      allocateReservedIPAddresses: true,
      excludedAddresses: ['10.0.0.5', '10.0.0.10-10.0.0.20'],
      addressReuseGracePeriodSeconds: 0,
    },
    status: { ipAddresses: { total: 242, free: 240, used: 2, outOfRange: 0 } },
  };

  it('keeps the v1alpha2-only fields in the annotation and restores them', () => {
    const spoke = toV1(hub);
    expect(spoke.spec).toEqual({ addresses: ['10.0.0.0/24'], prefix: 24, gateway: '10.0.0.1' });
    expect(spoke.status).toEqual(hub.status);
    expect(spoke.metadata?.annotations?.keep).toBe('me');
    expect(toV2(spoke)).toEqual(hub);
  });

  it('keeps them while a v1alpha1 client edits the fields both versions have', () => {
    const spoke = toV1(hub);
    spoke.spec = { ...spoke.spec, gateway: '10.0.0.254' };
    expect(toV2(spoke).spec).toEqual({ ...hub.spec, gateway: '10.0.0.254' });
  });

  it('keeps both views when a subnet pool also has v1alpha2-only fields', () => {
    const fromSubnet = toV2({
      apiVersion: API_VERSION_V1ALPHA1,
      kind,
      metadata: {},
      spec: { subnet: '10.0.0.0/24' },
    });
    fromSubnet.spec.excludedAddresses = ['10.0.0.7'];
    const spoke = toV1(fromSubnet);
    expect(spoke.spec).toEqual({ subnet: '10.0.0.0/24', start: '10.0.0.1', end: '10.0.0.254', prefix: 24 });
    expect(toV2(spoke)).toEqual(fromSubnet);
  });
});

describe('conversion data written by the Go provider', () => {
  it('is read from a stored object (without apiVersion, as its unit tests write it)', () => {
    const hub: IPPool = {
      apiVersion: API_VERSION_V1ALPHA2,
      kind: 'InClusterIPPool',
      metadata: {
        name: 'p',
        annotations: {
          [DATA]: JSON.stringify({
            spec: { subnet: '1.1.1.0/24', start: '1.1.1.1', end: '1.1.1.254', prefix: 24 },
            status: {},
          }),
        },
      },
      spec: { addresses: ['1.1.1.1-1.1.1.254'], prefix: 24 },
    };
    expect(toV1(hub).spec).toEqual({ subnet: '1.1.1.0/24', start: '1.1.1.1', end: '1.1.1.254', prefix: 24 });
  });

  it('that is not JSON is left alone', () => {
    const hub: IPPool = {
      apiVersion: API_VERSION_V1ALPHA2,
      metadata: { annotations: { [DATA]: 'nope' } },
      spec: { addresses: ['10.0.0.1'], prefix: 24 },
    };
    expect(toV1(hub).metadata?.annotations?.[DATA]).toBe('nope');
  });
});

describe('convertIPPool', () => {
  it('returns objects already in the desired version unchanged', () => {
    const obj = {
      apiVersion: API_VERSION_V1ALPHA2,
      kind: 'InClusterIPPool',
      spec: { addresses: ['10.0.0.1'], prefix: 24 },
    };
    expect(convertIPPool(obj, API_VERSION_V1ALPHA2)).toEqual({ ok: true, object: obj });
  });

  it('converts both ways and refuses unknown versions', () => {
    const v1 = convertIPPool(
      {
        apiVersion: API_VERSION_V1ALPHA1,
        kind: 'InClusterIPPool',
        spec: { subnet: '10.0.0.0/30' },
      } as IPPoolV1Alpha1,
      API_VERSION_V1ALPHA2,
    );
    expect(v1.ok && (v1.object as IPPool).spec).toEqual({ addresses: ['10.0.0.1-10.0.0.2'], prefix: 30 });
    const down = convertIPPool(
      { apiVersion: API_VERSION_V1ALPHA2, spec: { addresses: ['10.0.0.1'], prefix: 24 } } as IPPool,
      API_VERSION_V1ALPHA1,
    );
    expect(down.ok && down.object.apiVersion).toBe(API_VERSION_V1ALPHA1);
    expect(convertIPPool({ apiVersion: 'ipam.cluster.x-k8s.io/v9' }, API_VERSION_V1ALPHA2).ok).toBe(false);
  });
});

// Issue "Addresses people choose": a v1alpha1 client round-tripping a pool must not drop our fields.
describe.each(kinds)('the fields of chosen addresses on a %s through v1alpha1', (kind) => {
  const global = kind === 'GlobalInClusterIPPool';
  const chosen: IPPool = {
    apiVersion: API_VERSION_V1ALPHA2,
    kind,
    metadata: { name: 'p', annotations: { keep: 'me' } },
    spec: {
      addresses: ['10.0.0.0/24'],
      prefix: 24,
      gateway: '10.0.0.1',
      preAllocations: [
        { claimName: 'vip', address: '10.0.0.10', ...(global ? { namespace: 'team-a' } : {}) },
        { claimName: 'web-md-0-x7k2p-0-0', address: '10.0.0.11', ...(global ? { namespace: 'team-b' } : {}) },
      ],
      ...(global
        ? {
            namespaceSelector: {
              matchLabels: { env: 'prod' },
              matchExpressions: [
                { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['team-a', 'team-b'] },
              ],
            },
          }
        : {}),
      allocationStrategy: 'RoundRobin',
    },
    status: {
      ipAddresses: { total: 252, free: 248, used: 2, outOfRange: 0, preAllocated: 2 },
      lastAllocated: '10.0.0.12',
    },
  };

  it('are kept in the annotation, shown nowhere in the v1alpha1 spec, and restored', () => {
    const spoke = toV1(chosen);
    expect(spoke.spec).toEqual({ addresses: ['10.0.0.0/24'], prefix: 24, gateway: '10.0.0.1' });
    const saved = JSON.parse(spoke.metadata?.annotations?.[DATA] ?? '{}') as {
      spec?: Record<string, unknown>;
    };
    expect(Object.keys(saved.spec ?? {}).sort()).toEqual(
      global
        ? ['allocationStrategy', 'namespaceSelector', 'preAllocations']
        : ['allocationStrategy', 'preAllocations'],
    );
    // Status has one shape in both versions.
    expect(spoke.status).toEqual(chosen.status);
    expect(toV2(spoke)).toEqual(chosen);
  });

  it('survive a v1alpha1 client’s edit of a field both versions have', () => {
    const spoke = toV1(chosen);
    spoke.spec = { ...spoke.spec, gateway: '10.0.0.254' };
    expect(toV2(spoke).spec).toEqual({ ...chosen.spec, gateway: '10.0.0.254' });
  });

  it('travel with the Go provider’s v2-only fields and a subnet view alike', () => {
    const fromSubnet = toV2({
      apiVersion: API_VERSION_V1ALPHA1,
      kind,
      metadata: {},
      spec: { subnet: '10.0.0.0/24' },
    });
    fromSubnet.spec = {
      ...fromSubnet.spec,
      excludedAddresses: ['10.0.0.7'],
      preAllocations: chosen.spec.preAllocations,
      allocationStrategy: 'Highest',
    };
    const spoke = toV1(fromSubnet);
    expect(spoke.spec).toEqual({ subnet: '10.0.0.0/24', start: '10.0.0.1', end: '10.0.0.254', prefix: 24 });
    expect(toV2(spoke)).toEqual(fromSubnet);
  });

  it('go through convertIPPool both ways, as the /convert webhook calls it', () => {
    const down = convertIPPool(chosen, API_VERSION_V1ALPHA1);
    expect(down.ok).toBe(true);
    const up = down.ok ? convertIPPool(down.object, API_VERSION_V1ALPHA2) : down;
    expect(up.ok && up.object).toEqual(chosen);
  });

  it('leave a pool without them as it was (no annotation added)', () => {
    const plain: IPPool = {
      apiVersion: API_VERSION_V1ALPHA2,
      kind,
      metadata: { name: 'p' },
      spec: { addresses: ['10.0.0.0/24'], prefix: 24 },
    };
    expect(toV1(plain).metadata).toEqual({ name: 'p' });
  });

  it('restore only what has the schema’s shape from a hand-edited annotation', () => {
    const spoke = toV1(chosen);
    spoke.metadata = {
      ...spoke.metadata,
      annotations: {
        [DATA]: JSON.stringify({
          apiVersion: API_VERSION_V1ALPHA2,
          spec: { preAllocations: 'x', namespaceSelector: ['a'], allocationStrategy: 3 },
        }),
      },
    };
    expect(toV2(spoke).spec).toEqual({ addresses: ['10.0.0.0/24'], prefix: 24, gateway: '10.0.0.1' });
  });
});
