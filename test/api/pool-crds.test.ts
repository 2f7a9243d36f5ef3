import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { IPPool } from '../../src/api/ippool-types.js';
import { uniqueName, useNamespace } from '../harness/namespace.js';
import { waitFor } from '../harness/wait.js';

// Our generated IP pool CRDs on the real API server: installed as the Go provider's are, the Go
// provider's sample manifests apply unchanged, and kubectl shows the same columns and descriptions.
const { name: ns, access } = useNamespace('api-pools');
const GROUP = 'ipam.cluster.x-k8s.io';

interface CrdStatus {
  metadata: { labels?: Record<string, string> };
  spec: {
    scope: string;
    names: { categories?: string[]; shortNames?: string[] };
    versions: { name: string; served: boolean; storage: boolean; deprecated?: boolean }[];
  };
  status?: { conditions?: { type: string; status: string }[] };
}

const globalPools: string[] = [];
afterAll(async () => {
  for (const name of globalPools)
    await access.request('DELETE', `/apis/${GROUP}/v1alpha2/globalinclusterippools/${name}`);
});

function poolsPath(kind: 'inclusterippools' | 'globalinclusterippools', version = 'v1alpha2'): string {
  return kind === 'inclusterippools'
    ? `/apis/${GROUP}/${version}/namespaces/${ns}/inclusterippools`
    : `/apis/${GROUP}/${version}/globalinclusterippools`;
}

/** Creates a pool from YAML through the API and returns what the server stored. */
async function createFromYaml(yamlText: string): Promise<IPPool> {
  const obj = parse(yamlText) as IPPool;
  const global = obj.kind === 'GlobalInClusterIPPool';
  if (global) {
    obj.metadata = { ...obj.metadata, name: uniqueName(obj.metadata?.name ?? 'pool') };
    globalPools.push(obj.metadata.name ?? '');
  }
  const res = await access.request<IPPool>(
    'POST',
    poolsPath(global ? 'globalinclusterippools' : 'inclusterippools'),
    obj,
  );
  expect(res.status, res.text).toBe(201);
  return res.body;
}

describe('IP pool CRDs', () => {
  it.each([
    ['inclusterippools', 'Namespaced'],
    ['globalinclusterippools', 'Cluster'],
  ])('%s is established like the Go provider’s', async (plural, scope) => {
    const res = await access.request<CrdStatus>(
      'GET',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${plural}.${GROUP}`,
    );
    expect(res.status).toBe(200);
    const crd = res.body;
    expect(crd.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'Established', status: 'True' }),
    );
    expect(crd.spec.scope).toBe(scope);
    expect(crd.spec.names.categories).toEqual(['cluster-api']);
    expect(crd.spec.names.shortNames).toBeUndefined();
    expect(crd.metadata.labels).toEqual({ 'clusterctl.cluster.x-k8s.io/move-hierarchy': '' });
    expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage, v.deprecated ?? false])).toEqual([
      ['v1alpha1', true, false, true],
      ['v1alpha2', true, true, false],
    ]);
  });
});

// config/samples of the Go provider, as published.
const goSamples = ['InClusterIPPool', 'GlobalInClusterIPPool'].map(
  (kind) => `apiVersion: ipam.cluster.x-k8s.io/v1alpha2
kind: ${kind}
metadata:
  labels:
    app.kubernetes.io/name: ${kind.toLowerCase()}
    app.kubernetes.io/instance: ${kind.toLowerCase()}-sample
    app.kubernetes.io/part-of: cluster-api-ipam-provider-in-cluster
    app.kubernetes.io/managed-by: kustomize
    app.kubernetes.io/created-by: cluster-api-ipam-provider-in-cluster
  name: ${kind.toLowerCase()}-sample
spec:
  addresses:
  - 10.0.0.2-10.0.0.254
  prefix: 24
  gateway: 10.0.0.1
  excludedAddresses:
  - 10.0.0.3-10.0.1.6
  - 10.0.0.10
  - 10.0.0.192/26
`,
);

// The pools of the Go provider's README (names made unique within the namespace).
const readmeSamples = [
  `apiVersion: ipam.cluster.x-k8s.io/v1alpha2
kind: InClusterIPPool
metadata:
  name: readme-cidr
spec:
  addresses:
    - 10.0.0.0/24
  prefix: 24
  gateway: 10.0.0.1
`,
  `apiVersion: ipam.cluster.x-k8s.io/v1alpha2
kind: InClusterIPPool
metadata:
  name: readme-reserved
spec:
  addresses:
    - 10.0.0.0/24
  prefix: 24
  gateway: 10.0.0.1
  allocateReservedIPAddresses: true
`,
];

// The README's mixed example misspells excludedAddresses; the API server prunes the unknown field,
// for the Go provider's CRD and for ours alike.
const readmeTypoSample = `apiVersion: ipam.cluster.x-k8s.io/v1alpha2
kind: InClusterIPPool
metadata:
  name: readme-mixed
spec:
  addresses:
    - 10.0.0.0/24
    - 10.0.1.10-10.0.1.100
    - 10.0.2.1
    - 10.0.2.2
  excludeAddresses:
    - 10.10.0.16/28
    - 10.10.0.242
    - 10.0.1.25-10.0.1.30
  prefix: 22
  gateway: 10.0.0.1
`;

describe('the Go provider’s sample pools', () => {
  it.each([...goSamples, ...readmeSamples])('are created and read back unchanged (%#)', async (yamlText) => {
    const sent = parse(yamlText) as IPPool;
    const stored = await createFromYaml(yamlText);
    expect(stored.spec).toEqual(sent.spec);
    const path = `${poolsPath(sent.kind === 'GlobalInClusterIPPool' ? 'globalinclusterippools' : 'inclusterippools')}/${stored.metadata?.name}`;
    const read = await access.request<IPPool>('GET', path);
    expect(read.status).toBe(200);
    expect(read.body.spec).toEqual(sent.spec);
    expect(read.body.metadata?.labels).toEqual(sent.metadata?.labels);
  });

  it('with the README’s misspelled field: the field is pruned, as with the Go provider', async () => {
    const stored = await createFromYaml(readmeTypoSample);
    expect(stored.spec).toEqual({
      addresses: ['10.0.0.0/24', '10.0.1.10-10.0.1.100', '10.0.2.1', '10.0.2.2'],
      prefix: 22,
      gateway: '10.0.0.1',
    });
    const strict = await access.kubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], {
      input: readmeTypoSample.replace('readme-mixed', 'readme-mixed-2'),
    });
    expect(strict.stderr).toContain('excludeAddresses');
  });
});

describe('the schema', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['prefix above 128', { addresses: ['10.0.0.1'], prefix: 129 }, 'spec.prefix'],
    ['negative prefix', { addresses: ['10.0.0.1'], prefix: -1 }, 'spec.prefix'],
    ['missing addresses', { prefix: 24 }, 'spec.addresses'],
    ['missing prefix', { addresses: ['10.0.0.1'] }, 'spec.prefix'],
    [
      'negative grace period',
      { addresses: ['10.0.0.1'], prefix: 24, addressReuseGracePeriodSeconds: -1 },
      'spec.addressReuseGracePeriodSeconds',
    ],
    ['addresses not a list', { addresses: '10.0.0.1', prefix: 24 }, 'spec.addresses'],
  ])('refuses %s', async (_name, spec, field) => {
    const res = await access.request<{ message: string }>('POST', poolsPath('inclusterippools'), {
      apiVersion: `${GROUP}/v1alpha2`,
      kind: 'InClusterIPPool',
      metadata: { name: uniqueName('bad') },
      spec,
    });
    expect(res.status, res.text).toBe(422);
    expect(res.body.message).toContain(field);
  });
});

describe('kubectl', () => {
  it('get shows NAME ADDRESSES TOTAL FREE USED for both kinds, with the status counts', async () => {
    const pool = await createFromYaml(`apiVersion: ${GROUP}/v1alpha2
kind: GlobalInClusterIPPool
metadata:
  name: columns
spec:
  addresses: [10.9.0.0/24]
  prefix: 24
`);
    const name = pool.metadata?.name ?? '';
    const status = await access.request(
      'PATCH',
      `${poolsPath('globalinclusterippools')}/${name}/status`,
      { status: { ipAddresses: { total: 254, free: 250, used: 4, outOfRange: 0 } } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(status.status, status.text).toBe(200);

    const out = await access.kubectl(['get', 'inclusterippools,globalinclusterippools', '-n', ns]);
    expect(out.code, out.stderr).toBe(0);
    const headers = out.stdout.split('\n').filter((l) => l.startsWith('NAME'));
    expect(headers).toHaveLength(2);
    for (const h of headers)
      expect(h.split(/\s+/).filter(Boolean)).toEqual(['NAME', 'ADDRESSES', 'TOTAL', 'FREE', 'USED']);
    const row = out.stdout.split('\n').find((l) => l.includes(`/${name} `));
    expect(row?.split(/\s+/).filter(Boolean).slice(1)).toEqual(['["10.9.0.0/24"]', '254', '250', '4']);
  });

  it('get on v1alpha1 shows SUBNET FIRST LAST, with ADDRESSES for the namespaced kind, and warns it is deprecated', async () => {
    const namespaced = await access.kubectl(['get', `inclusterippools.v1alpha1.${GROUP}`, '-n', ns]);
    expect(namespaced.code, namespaced.stderr).toBe(0);
    expect(namespaced.stdout.split('\n')[0]?.split(/\s+/).filter(Boolean)).toEqual([
      'NAME',
      'SUBNET',
      'FIRST',
      'LAST',
      'ADDRESSES',
      'TOTAL',
      'FREE',
      'USED',
    ]);
    expect(namespaced.stderr).toMatch(/deprecated/);
    const global = await access.kubectl(['get', `globalinclusterippools.v1alpha1.${GROUP}`]);
    expect(global.stdout.split('\n')[0]?.split(/\s+/).filter(Boolean)).toEqual([
      'NAME',
      'SUBNET',
      'FIRST',
      'LAST',
      'TOTAL',
      'FREE',
      'USED',
    ]);
  });

  it('get cluster-api lists our pools (category)', async () => {
    const out = await access.kubectl(['get', 'cluster-api', '-n', ns, '-o', 'name']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`inclusterippool.${GROUP}/readme-cidr`);
  });

  it.each([
    ['globalinclusterippool.spec.addresses', 'Addresses the pool hands out'],
    ['globalinclusterippool.spec.prefix', 'Prefix is the length of the subnet'],
    ['inclusterippool.spec.allocateReservedIPAddresses', 'AllocateReservedIPAddresses'],
    ['inclusterippool.status.ipAddresses.outOfRange', 'OutOfRange is the number'],
    ['globalinclusterippool', 'cluster-scoped pool of IP addresses'],
  ])('explain %s prints our description', async (field, text) => {
    // The API server publishes a new CRD's OpenAPI asynchronously.
    const out = await waitFor(`kubectl explain ${field}`, async () => {
      const r = await access.kubectl(['explain', field]);
      return r.code === 0 && r.stdout.includes(text) ? r : undefined;
    });
    expect(out.stdout).toContain(text);
  });
});
