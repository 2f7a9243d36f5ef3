import { describe, expect, it } from 'vitest';
import type { Cluster, IPAddress, IPAddressClaim } from '../../src/api/capi-types.js';
import { useNamespace } from '../harness/namespace.js';

// Our test copies of Cluster API's CRDs (test/crds/capi), installed by test/global-setup.ts.
const { name: ns, access } = useNamespace('api-capi');
const IPAM = 'ipam.cluster.x-k8s.io';

function path(group: string, version: string, plural: string, name = ''): string {
  return `/apis/${group}/${version}/namespaces/${ns}/${plural}${name ? `/${name}` : ''}`;
}

interface CrdVersions {
  spec: { versions: { name: string; served: boolean; storage: boolean; deprecated?: boolean }[] };
}

describe('Cluster API test CRDs', () => {
  it.each([
    ['ipaddressclaims.ipam.cluster.x-k8s.io', ['v1alpha1', 'v1beta1', 'v1beta2']],
    ['ipaddresses.ipam.cluster.x-k8s.io', ['v1alpha1', 'v1beta1', 'v1beta2']],
    ['clusters.cluster.x-k8s.io', ['v1beta1', 'v1beta2']],
  ])('%s serves %j with v1beta2 stored', async (name, versions) => {
    const res = await access.request<CrdVersions>(
      'GET',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
    );
    expect(res.status).toBe(200);
    expect(res.body.spec.versions.map((v) => v.name)).toEqual(versions);
    expect(res.body.spec.versions.filter((v) => v.storage).map((v) => v.name)).toEqual(['v1beta2']);
    expect(res.body.spec.versions.every((v) => v.served)).toBe(true);
  });

  it('hold a v1beta2 Cluster with paused, control plane endpoint and cluster network', async () => {
    const cluster: Cluster = {
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'Cluster',
      metadata: { name: 'c1', annotations: { 'cluster.x-k8s.io/paused': '' } },
      spec: {
        paused: true,
        controlPlaneEndpoint: { host: '10.0.0.100', port: 6443 },
        clusterNetwork: {
          pods: { cidrBlocks: ['192.168.0.0/16'] },
          services: { cidrBlocks: ['10.128.0.0/12'] },
          serviceDomain: 'cluster.local',
        },
      },
    };
    const res = await access.request<Cluster>(
      'POST',
      path('cluster.x-k8s.io', 'v1beta2', 'clusters'),
      cluster,
    );
    expect(res.status, res.text).toBe(201);
    expect(res.body.spec).toEqual(cluster.spec);
    expect(res.body.metadata?.annotations).toEqual({ 'cluster.x-k8s.io/paused': '' });
    const v1beta1 = await access.request<Cluster>(
      'GET',
      path('cluster.x-k8s.io', 'v1beta1', 'clusters', 'c1'),
    );
    expect(v1beta1.body.spec?.paused).toBe(true);
  });

  it('refuse a v1beta2 Cluster with an empty spec, as Cluster API does', async () => {
    const res = await access.request('POST', path('cluster.x-k8s.io', 'v1beta2', 'clusters'), {
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'Cluster',
      metadata: { name: 'empty' },
      spec: {},
    });
    expect(res.status).toBe(422);
  });

  it('take the Go provider’s v1beta1 sample claim and serve it as v1beta2, with a status subresource', async () => {
    const claim = {
      apiVersion: `${IPAM}/v1beta1`,
      kind: 'IPAddressClaim',
      metadata: { name: 'my-claim' },
      spec: { poolRef: { apiGroup: IPAM, kind: 'InClusterIPPool', name: 'inclusterippool-sample' } },
    };
    const created = await access.request('POST', path(IPAM, 'v1beta1', 'ipaddressclaims'), claim);
    expect(created.status, created.text).toBe(201);
    const read = await access.request<IPAddressClaim>(
      'GET',
      path(IPAM, 'v1beta2', 'ipaddressclaims', 'my-claim'),
    );
    expect(read.body.spec).toEqual(claim.spec);
    const patched = await access.request<IPAddressClaim>(
      'PATCH',
      `${path(IPAM, 'v1beta2', 'ipaddressclaims', 'my-claim')}/status`,
      {
        status: {
          addressRef: { name: 'my-claim' },
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'AddressAllocated',
              message: '',
              lastTransitionTime: '2026-01-01T00:00:00Z',
            },
          ],
        },
      },
      { contentType: 'application/merge-patch+json' },
    );
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.status?.addressRef).toEqual({ name: 'my-claim' });
  });

  it('refuse a v1beta2 claim without poolRef.apiGroup', async () => {
    const res = await access.request('POST', path(IPAM, 'v1beta2', 'ipaddressclaims'), {
      apiVersion: `${IPAM}/v1beta2`,
      kind: 'IPAddressClaim',
      metadata: { name: 'no-group' },
      spec: { poolRef: { kind: 'InClusterIPPool', name: 'p' } },
    });
    expect(res.status).toBe(422);
    expect(res.text).toContain('spec.poolRef.apiGroup');
  });

  const address: IPAddress = {
    apiVersion: `${IPAM}/v1beta2`,
    kind: 'IPAddress',
    metadata: { name: 'my-claim' },
    spec: {
      address: '10.0.0.2',
      prefix: 24,
      gateway: '10.0.0.1',
      claimRef: { name: 'my-claim' },
      poolRef: { apiGroup: IPAM, kind: 'InClusterIPPool', name: 'inclusterippool-sample' },
    },
  };

  it('hold a v1beta2 IPAddress as the provider writes it', async () => {
    const res = await access.request<IPAddress>('POST', path(IPAM, 'v1beta2', 'ipaddresses'), address);
    expect(res.status, res.text).toBe(201);
    expect(res.body.spec).toEqual(address.spec);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an empty gateway', { gateway: '' }, 'spec.gateway'],
    ['a prefix above 128', { prefix: 129 }, 'spec.prefix'],
    ['an address longer than 39 characters', { address: 'f'.repeat(40) }, 'spec.address'],
  ])('refuse an IPAddress with %s', async (_name, change, field) => {
    const res = await access.request('POST', path(IPAM, 'v1beta2', 'ipaddresses'), {
      ...address,
      metadata: { name: `bad-${field.replace('spec.', '')}` },
      spec: { ...address.spec, ...change },
    });
    expect(res.status).toBe(422);
    expect(res.text).toContain(field);
  });

  it('print Cluster API’s columns in kubectl get', async () => {
    // Qualified: on Kubernetes ≥ 1.33 a bare `ipaddresses` is the built-in networking.k8s.io kind.
    const out = await access.kubectl(['get', `ipaddressclaims.${IPAM},ipaddresses.${IPAM}`, '-n', ns]);
    expect(out.code, out.stderr).toBe(0);
    const headers = out.stdout.split('\n').filter((l) => l.startsWith('NAME'));
    expect(headers.map((h) => h.split(/\s{2,}/).filter(Boolean))).toEqual([
      ['NAME', 'POOL NAME', 'POOL KIND', 'AGE'],
      ['NAME', 'ADDRESS', 'POOL NAME', 'POOL KIND', 'AGE'],
    ]);
  });
});
