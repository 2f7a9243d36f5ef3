/**
 * The fields of chosen addresses in our generated CRDs, on the real API server (no webhooks: what
 * the schema alone does). Every pool kind takes preAllocations and allocationStrategy, the Global
 * kinds a namespaceSelector, the status preAllocated and lastAllocated; a namespaceSelector on a
 * namespaced kind is not in its schema, so the API server prunes it (and strict field validation,
 * kubectl's default, refuses it). Nothing is defaulted into a pool that does not use them, and
 * kubectl's default columns stay the Go provider's; READY, STRATEGY and PREALLOCATED show with -o wide.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { uniqueName, useNamespace } from '../harness/namespace.js';
import { waitFor } from '../harness/wait.js';

const { name: ns, access } = useNamespace('api-chosen');
const GROUP = 'ipam.cluster.x-k8s.io';
const IPAM = `/apis/${GROUP}/v1alpha2`;
type Spec = Record<string, unknown>;
interface Pool {
  metadata: { name: string };
  spec: Spec;
  status?: Record<string, unknown>;
}

const KINDS = [
  { kind: 'InClusterIPPool', plural: 'inclusterippools', namespaced: true, unit: 'ip' },
  { kind: 'GlobalInClusterIPPool', plural: 'globalinclusterippools', namespaced: false, unit: 'ip' },
  { kind: 'InClusterPrefixPool', plural: 'inclusterprefixpools', namespaced: true, unit: 'prefix' },
  {
    kind: 'GlobalInClusterPrefixPool',
    plural: 'globalinclusterprefixpools',
    namespaced: false,
    unit: 'prefix',
  },
] as const;
type Kind = (typeof KINDS)[number];

const collection = (k: Kind) =>
  k.namespaced ? `${IPAM}/namespaces/${ns}/${k.plural}` : `${IPAM}/${k.plural}`;
const globals: [Kind, string][] = [];
afterAll(async () => {
  for (const [k, name] of globals) await access.request('DELETE', `${collection(k)}/${name}`);
});

function baseSpec(k: Kind): Spec {
  return k.unit === 'ip'
    ? { addresses: ['10.7.0.0/24'], prefix: 24, gateway: '10.7.0.1' }
    : { prefixes: ['fd07::/48'], allocationPrefixLength: 64 };
}

/** A pool using every new field its kind has. */
function everyField(k: Kind): Spec {
  const [first, second] =
    k.unit === 'ip' ? ['10.7.0.10', '10.7.0.11'] : ['fd07:0:0:1::/64', 'fd07:0:0:2::/64'];
  const namespace = (n: string) => (k.namespaced ? {} : { namespace: n });
  return {
    ...baseSpec(k),
    preAllocations: [
      { claimName: 'cluster-a-vip', address: first, ...namespace('team-a') },
      { claimName: 'web-md-0-x7k2p-0-0', address: second, ...namespace('team-b') },
    ],
    allocationStrategy: 'Random',
    ...(k.namespaced
      ? {}
      : {
          namespaceSelector: {
            matchLabels: { env: 'prod' },
            matchExpressions: [
              { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['team-a', 'team-b'] },
              { key: 'legacy', operator: 'DoesNotExist' },
            ],
          },
        }),
  };
}

async function create(
  k: Kind,
  spec: Spec,
  query = '',
): Promise<{ status: number; body: Pool & { message?: string } }> {
  const name = uniqueName(k.kind.toLowerCase());
  const res = await access.request<Pool & { message?: string }>('POST', `${collection(k)}${query}`, {
    apiVersion: `${GROUP}/v1alpha2`,
    kind: k.kind,
    metadata: { name },
    spec,
  });
  if (res.status === 201 && !k.namespaced) globals.push([k, name]);
  return res;
}

describe.each(KINDS)('the $kind CRD', (k) => {
  it('accepts a pool with every new field and reads it back as written', async () => {
    const spec = everyField(k);
    const res = await create(k, spec);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.spec).toEqual(spec);
    const read = await access.request<Pool>('GET', `${collection(k)}/${res.body.metadata.name}`);
    expect(read.body.spec).toEqual(spec);
  });

  it('adds nothing to a pool written for the Go provider', async () => {
    const res = await create(k, baseSpec(k));
    expect(res.status).toBe(201);
    expect(res.body.spec).toEqual(baseSpec(k));
  });

  it('keeps status.ipAddresses.preAllocated and status.lastAllocated written through /status', async () => {
    const res = await create(k, everyField(k));
    const path = `${collection(k)}/${res.body.metadata.name}/status`;
    const lastAllocated = k.unit === 'ip' ? '10.7.0.12' : 'fd07:0:0:3::/64';
    const status = {
      ipAddresses: { total: 250, free: 246, used: 2, outOfRange: 0, preAllocated: 2 },
      lastAllocated,
    };
    const patched = await access.request<Pool>(
      'PATCH',
      path,
      { status },
      {
        contentType: 'application/merge-patch+json',
      },
    );
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.status).toEqual(status);
    // A status the Go provider writes (no preAllocated) is still valid.
    const goStatus = await access.request<Pool>(
      'PATCH',
      path,
      { status: { ipAddresses: { total: 250, free: 248, used: 2, outOfRange: 0, preAllocated: null } } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(goStatus.status).toBe(200);
    expect(goStatus.body.status).toEqual({
      ipAddresses: { total: 250, free: 248, used: 2, outOfRange: 0 },
      lastAllocated,
    });
  });

  it.each<[string, (k: Kind) => Spec, string]>([
    [
      'an unknown strategy',
      (k) => ({ ...baseSpec(k), allocationStrategy: 'lowest' }),
      'spec.allocationStrategy: Unsupported value: "lowest"',
    ],
    [
      'a pin without a claim name',
      (k) => ({ ...baseSpec(k), preAllocations: [{ address: 'x', namespace: 'n' }] }),
      'spec.preAllocations[0].claimName: Required value',
    ],
    [
      'a pin without an address',
      (k) => ({ ...baseSpec(k), preAllocations: [{ claimName: 'a', namespace: 'n' }] }),
      'spec.preAllocations[0].address: Required value',
    ],
    [
      'a pin that is a string',
      (k) => ({ ...baseSpec(k), preAllocations: ['10.7.0.10'] }),
      'spec.preAllocations[0]: Invalid value: "string"',
    ],
  ])('refuses %s by its schema', async (_what, spec, expected) => {
    const res = await create(k, spec(k));
    expect(res.status).toBe(422);
    expect(res.body.message).toContain(expected);
  });

  if (k.namespaced) {
    it('prunes a namespaceSelector (it has none), and refuses it under strict field validation', async () => {
      const spec = { ...baseSpec(k), namespaceSelector: { matchLabels: { env: 'prod' } } };
      const pruned = await create(k, spec);
      expect(pruned.status).toBe(201);
      expect(pruned.body.spec).toEqual(baseSpec(k));
      const strict = await create(k, spec, '?fieldValidation=Strict');
      expect(strict.status).toBe(400);
      expect(strict.body.message).toContain('unknown field "spec.namespaceSelector"');
      const manifest = [
        `apiVersion: ${GROUP}/v1alpha2`,
        `kind: ${k.kind}`,
        'metadata:',
        `  name: ${uniqueName('kubectl')}`,
        `  namespace: ${ns}`,
        'spec:',
        ...(k.unit === 'ip'
          ? ['  addresses: ["10.7.0.0/24"]', '  prefix: 24']
          : ['  prefixes: ["fd07::/48"]']),
        '  namespaceSelector: {matchLabels: {env: prod}}',
      ].join('\n');
      const applied = await access.kubectl(['apply', '-f', '-'], { input: manifest });
      expect(applied.code).not.toBe(0);
      expect(applied.stderr).toContain('unknown field "spec.namespaceSelector"');
    });

    it('keeps a pin’s namespace in its schema, so the webhook can refuse it rather than it being dropped', async () => {
      const address = k.unit === 'ip' ? '10.7.0.10' : 'fd07:0:0:1::/64';
      const spec = { ...baseSpec(k), preAllocations: [{ claimName: 'a', namespace: 'other', address }] };
      const res = await create(k, spec);
      expect(res.status).toBe(201);
      expect(res.body.spec).toEqual(spec);
    });
  } else {
    it('requires a pin’s namespace', async () => {
      const address = k.unit === 'ip' ? '10.7.0.10' : 'fd07:0:0:1::/64';
      const res = await create(k, { ...baseSpec(k), preAllocations: [{ claimName: 'a', address }] });
      expect(res.status).toBe(422);
      expect(res.body.message).toContain('spec.preAllocations[0].namespace: Required value');
    });

    it('requires key and operator in a selector expression', async () => {
      const res = await create(k, {
        ...baseSpec(k),
        namespaceSelector: { matchExpressions: [{ values: ['x'] }] },
      });
      expect(res.status).toBe(422);
      expect(res.body.message).toContain('spec.namespaceSelector.matchExpressions[0].key: Required value');
      expect(res.body.message).toContain(
        'spec.namespaceSelector.matchExpressions[0].operator: Required value',
      );
    });
  }

  it('shows the Go provider’s columns by default and READY, STRATEGY, PREALLOCATED with -o wide', async () => {
    const res = await create(k, { ...baseSpec(k), allocationStrategy: 'RoundRobin' });
    const name = res.body.metadata.name;
    const target = [k.plural, name, ...(k.namespaced ? ['-n', ns] : [])];
    const plain = await access.kubectl(['get', ...target]);
    expect(plain.code, plain.stderr).toBe(0);
    const first = k.unit === 'ip' ? 'ADDRESSES' : 'PREFIXES';
    expect(plain.stdout.split('\n')[0]?.split(/\s+/).filter(Boolean)).toEqual([
      'NAME',
      first,
      'TOTAL',
      'FREE',
      'USED',
    ]);
    const wide = await access.kubectl(['get', ...target, '-o', 'wide']);
    expect(wide.code, wide.stderr).toBe(0);
    const [header, row] = wide.stdout.trim().split('\n');
    expect(header?.split(/\s+/).filter(Boolean)).toEqual([
      'NAME',
      first,
      'TOTAL',
      'FREE',
      'USED',
      'READY',
      'STRATEGY',
      'PREALLOCATED',
    ]);
    // No controller runs here: the counts, READY and PREALLOCATED are empty cells.
    expect(row?.slice(header?.indexOf('STRATEGY')).trim()).toBe('RoundRobin');
  });
});

describe('kubectl explain', () => {
  it.each([
    ['inclusterippool.spec.preAllocations', 'PreAllocations keeps addresses for claims named in advance'],
    ['inclusterippool.spec.preAllocations.claimName', '<VSphereVM name>-<device index>-<pool index>'],
    ['inclusterippool.spec.preAllocations.claimName', 'control-plane endpoint (VIP) is named by its author'],
    ['inclusterippool.spec.preAllocations.address', 'not a reserved address of the subnet'],
    ['inclusterippool.spec.preAllocations.namespace', 'Must not be set'],
    ['globalinclusterippool.spec.preAllocations.namespace', 'Namespace of the IPAddressClaim. Required'],
    ['globalinclusterippool.spec.namespaceSelector', 'NamespaceSelector limits the namespaces'],
    [
      'globalinclusterippool.spec.namespaceSelector.matchExpressions.operator',
      'Valid operators are In, NotIn',
    ],
    ['globalinclusterprefixpool.spec.namespaceSelector', 'get prefixes from this pool'],
    ['inclusterprefixpool.spec.preAllocations.address', '<network>/<allocationPrefixLength>'],
    ['inclusterprefixpool.spec.allocationStrategy', 'RoundRobin: the next free prefix'],
    ['globalinclusterippool.spec.allocationStrategy', 'Lowest (the default when unset'],
    ['inclusterippool.status.ipAddresses.preAllocated', 'PreAllocated is the number of spec.preAllocations'],
    ['globalinclusterprefixpool.status.lastAllocated', 'prefix (network/length) the pool handed out last'],
  ])('%s says what to do', async (field, text) => {
    // The API server publishes a CRD's OpenAPI asynchronously; kubectl wraps long lines.
    const out = await waitFor(`kubectl explain ${field}`, async () => {
      const r = await access.kubectl(['explain', field]);
      return r.code === 0 && r.stdout.replace(/\s+/g, ' ').includes(text) ? r : undefined;
    });
    expect(out.stdout.replace(/\s+/g, ' ')).toContain(text);
  });

  it('does not list a namespaceSelector for the namespaced kinds', async () => {
    for (const field of [
      'inclusterippool.spec.namespaceSelector',
      'inclusterprefixpool.spec.namespaceSelector',
    ]) {
      const r = await access.kubectl(['explain', field]);
      expect(r.code, field).not.toBe(0);
    }
  });
});
