import { describe, expect, it } from 'vitest';
import {
  ANNOTATION_ENDPOINT_POOL,
  ANNOTATION_ENDPOINT_PORT,
  ANNOTATION_ENDPOINT_VARIABLE,
  ANNOTATION_UNPAUSE,
  type ClusterView,
  claimOwnership,
  desiredEndpointClaim,
  type EndpointRequest,
  endpointClaimName,
  endpointKeyOfClusterChange,
  endpointRequest,
  LABEL_ENDPOINT_OF,
  planEndpoint,
  requestedAddressPatch,
} from './cluster-endpoint-rules.js';
import type { LiveClaim, LiveCluster } from './context.js';

function cluster(annotations: Record<string, string>, spec: Record<string, unknown> = {}): LiveCluster {
  return {
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'Cluster',
    metadata: { name: 'c1', namespace: 'ns', uid: 'uid-1', resourceVersion: '7', annotations },
    spec,
  } as LiveCluster;
}

const pool = { [ANNOTATION_ENDPOINT_POOL]: 'InClusterIPPool/vips' };

function request(over: Partial<EndpointRequest> = {}): EndpointRequest {
  return {
    pool: { kind: 'InClusterIPPool', name: 'vips' },
    port: undefined,
    variable: undefined,
    unpause: false,
    requestedAddress: undefined,
    ...over,
  };
}

describe('endpointRequest', () => {
  it('is nothing for a Cluster without the pool annotation', () => {
    expect(endpointRequest(cluster({ [ANNOTATION_UNPAUSE]: 'true' }))).toBeUndefined();
  });

  it('reads the pool, port, variable, unpause and requested address', () => {
    const r = endpointRequest(
      cluster({
        [ANNOTATION_ENDPOINT_POOL]: 'GlobalInClusterIPPool/shared',
        [ANNOTATION_ENDPOINT_PORT]: '443',
        [ANNOTATION_ENDPOINT_VARIABLE]: 'controlPlaneIpAddr',
        [ANNOTATION_UNPAUSE]: 'true',
        'ipam.cluster.x-k8s.io/requested-address': '10.0.0.5',
      }),
    );
    expect(r).toEqual({
      pool: { kind: 'GlobalInClusterIPPool', name: 'shared' },
      port: 443,
      variable: 'controlPlaneIpAddr',
      unpause: true,
      requestedAddress: '10.0.0.5',
    });
  });

  it('unpauses only for "true"', () => {
    expect(endpointRequest(cluster({ ...pool, [ANNOTATION_UNPAUSE]: 'yes' }))).toMatchObject({
      unpause: false,
    });
  });

  it.each([
    ['vips', 'must be <Kind>/<name>'],
    ['Service/vips', 'must be <Kind>/<name>'],
    ['InClusterIPPool/Bad_Name', 'must be <Kind>/<name>'],
    ['InClusterIPPool/other/vips', 'must be <Kind>/<name>'],
    ['InClusterPrefixPool/v6', 'hands out prefixes'],
  ])('refuses the pool annotation %j', (value, message) => {
    const r = endpointRequest(cluster({ [ANNOTATION_ENDPOINT_POOL]: value }));
    expect(r).toMatchObject({ refused: true, reason: 'InvalidEndpointAnnotation' });
    expect((r as { message: string }).message).toContain(message);
  });

  it.each(['0', '65536', 'https', '-1', ''])('refuses the port %j', (port) => {
    expect(endpointRequest(cluster({ ...pool, [ANNOTATION_ENDPOINT_PORT]: port }))).toMatchObject({
      refused: true,
    });
  });

  it('refuses an empty variable name', () => {
    expect(endpointRequest(cluster({ ...pool, [ANNOTATION_ENDPOINT_VARIABLE]: ' ' }))).toMatchObject({
      refused: true,
    });
  });
});

describe('desiredEndpointClaim', () => {
  it('is owned by the Cluster, labelled with its name, and tied to no Cluster pause', () => {
    const c = cluster(pool);
    const claim = desiredEndpointClaim(
      c,
      request({ requestedAddress: '10.0.0.9' }),
      'cluster.x-k8s.io/v1beta2',
      'ipam.cluster.x-k8s.io/v1beta2',
      'tenant-a',
    );
    expect(claim.metadata).toEqual({
      name: 'c1.control-plane-endpoint',
      namespace: 'ns',
      labels: { [LABEL_ENDPOINT_OF]: 'c1', 'cluster.x-k8s.io/watch-filter': 'tenant-a' },
      annotations: { 'ipam.cluster.x-k8s.io/requested-address': '10.0.0.9' },
      ownerReferences: [
        {
          apiVersion: 'cluster.x-k8s.io/v1beta2',
          kind: 'Cluster',
          name: 'c1',
          uid: 'uid-1',
          controller: true,
        },
      ],
    });
    expect(claim.spec).toEqual({
      poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', kind: 'InClusterIPPool', name: 'vips' },
    });
    expect(claim.metadata?.labels).not.toHaveProperty('cluster.x-k8s.io/cluster-name');
  });

  it('names no claim a dash-joined consumer could make', () => {
    expect(endpointClaimName('c1')).toBe('c1.control-plane-endpoint');
  });
});

describe('claimOwnership', () => {
  const ref = (uid: string, apiVersion = 'cluster.x-k8s.io/v1beta1') => ({
    apiVersion,
    kind: 'Cluster',
    name: 'c1',
    uid,
  });
  const labels = { [LABEL_ENDPOINT_OF]: 'c1' };
  it('tells this Cluster, an earlier one of the same name, and none apart', () => {
    const c = cluster(pool);
    expect(claimOwnership({ metadata: { labels, ownerReferences: [ref('uid-1')] } }, c)).toBe('this');
    expect(claimOwnership({ metadata: { labels, ownerReferences: [ref('uid-0')] } }, c)).toBe('earlier');
    expect(claimOwnership({ metadata: { labels, ownerReferences: [] } }, c)).toBe('none');
    expect(claimOwnership({ metadata: { ownerReferences: [ref('uid-1')] } }, c)).toBe('none');
    expect(
      claimOwnership({ metadata: { labels, ownerReferences: [ref('uid-1', 'example.com/v1')] } }, c),
    ).toBe('none');
  });
});

describe('requestedAddressPatch', () => {
  const claim = (annotations?: Record<string, string>) =>
    ({ metadata: { name: 'x', annotations }, spec: {} }) as unknown as LiveClaim;
  it('copies, changes and removes the annotation, and is nothing when they agree', () => {
    const key = 'ipam.cluster.x-k8s.io/requested-address';
    expect(requestedAddressPatch(claim(), request())).toBeUndefined();
    expect(
      requestedAddressPatch(claim({ [key]: '10.0.0.1' }), request({ requestedAddress: '10.0.0.1' })),
    ).toBe(undefined);
    expect(requestedAddressPatch(claim(), request({ requestedAddress: '10.0.0.1' }))).toEqual({
      metadata: { annotations: { [key]: '10.0.0.1' } },
    });
    expect(requestedAddressPatch(claim({ [key]: '10.0.0.1' }), request())).toEqual({
      metadata: { annotations: { [key]: null } },
    });
  });
});

describe('planEndpoint', () => {
  const plan = (spec: Record<string, unknown>, r: EndpointRequest = request(), address = '10.0.0.5') =>
    planEndpoint(cluster(pool, spec), address, r, 'ns/c1.control-plane-endpoint');

  it('fills an empty endpoint with the address and port 6443, guarded by the resourceVersion', () => {
    expect(plan({})).toEqual({
      kind: 'write',
      patch: {
        metadata: { resourceVersion: '7' },
        spec: { controlPlaneEndpoint: { host: '10.0.0.5', port: 6443 } },
      },
      written: ['spec.controlPlaneEndpoint 10.0.0.5:6443'],
      unpause: false,
    });
  });

  it('takes the port from the annotation, else the port there, else clusterNetwork.apiServerPort', () => {
    const port = (p: ReturnType<typeof plan>) =>
      p.kind === 'write' ? (p.patch.spec.controlPlaneEndpoint as { port: number }).port : undefined;
    expect(port(plan({ controlPlaneEndpoint: { host: '', port: 8443 } }, request({ port: 443 })))).toBe(443);
    expect(port(plan({ controlPlaneEndpoint: { host: '', port: 8443 } }))).toBe(8443);
    expect(
      port(plan({ controlPlaneEndpoint: { host: '', port: 0 }, clusterNetwork: { apiServerPort: 7443 } })),
    ).toBe(7443);
  });

  it('writes IPv6 hosts bare and names them in brackets', () => {
    const p = plan({}, request(), 'fd00::5');
    expect(p).toMatchObject({ written: ['spec.controlPlaneEndpoint [fd00::5]:6443'] });
    expect(plan({ controlPlaneEndpoint: { host: 'FD00:0::5', port: 6443 } }, request(), 'fd00::5')).toEqual({
      kind: 'done',
      unpauseLeft: false,
    });
  });

  it('leaves an endpoint set to another address alone, and writes nothing else either', () => {
    const p = plan(
      { paused: true, controlPlaneEndpoint: { host: 'api.example.com', port: 6443 }, topology: {} },
      request({ unpause: true, variable: 'vip' }),
    );
    expect(p).toMatchObject({ kind: 'conflict', reason: 'ControlPlaneEndpointConflict' });
    expect((p as { message: string }).message).toContain('api.example.com, not 10.0.0.5');
  });

  it('adds the topology variable beside the others, and never overwrites another value', () => {
    const topology = { classRef: { name: 'vsphere' }, variables: [{ name: 'other', value: { a: 1 } }] };
    const added = plan({ topology }, request({ variable: 'vip' }));
    expect(added).toMatchObject({
      kind: 'write',
      written: ['spec.controlPlaneEndpoint 10.0.0.5:6443', 'topology variable vip'],
    });
    expect((added as { patch: { spec: Record<string, unknown> } }).patch.spec.topology).toEqual({
      variables: [
        { name: 'other', value: { a: 1 } },
        { name: 'vip', value: '10.0.0.5' },
      ],
    });
    const same = plan(
      { topology: { variables: [{ name: 'vip', value: '10.0.0.5' }] } },
      request({ variable: 'vip' }),
    );
    expect(same).toMatchObject({ kind: 'write', written: ['spec.controlPlaneEndpoint 10.0.0.5:6443'] });
    expect((same as { patch: { spec: object } }).patch.spec).not.toHaveProperty('topology');
    const other = plan(
      { topology: { variables: [{ name: 'vip', value: '10.0.0.7' }] } },
      request({ variable: 'vip' }),
    );
    expect(other).toMatchObject({ kind: 'conflict', reason: 'EndpointVariableConflict' });
  });

  it('ignores the variable annotation on a Cluster without a topology', () => {
    expect(plan({}, request({ variable: 'vip' }))).toMatchObject({
      written: ['spec.controlPlaneEndpoint 10.0.0.5:6443'],
    });
  });

  it('unpauses only in the write that fills the endpoint', () => {
    const filled = plan({ paused: true }, request({ unpause: true }));
    expect(filled).toMatchObject({ kind: 'write', unpause: true, patch: { spec: { paused: false } } });
    expect(plan({ paused: false }, request({ unpause: true }))).toMatchObject({ unpause: false });
    expect(plan({ paused: true }, request())).toMatchObject({ unpause: false });
    const setBefore = { paused: true, controlPlaneEndpoint: { host: '10.0.0.5', port: 6443 } };
    expect(plan(setBefore, request({ unpause: true }))).toEqual({ kind: 'done', unpauseLeft: true });
    // A variable added to a Cluster whose endpoint was set before does not unpause it either.
    const topology = { ...setBefore, topology: { variables: [] } };
    expect(plan(topology, request({ unpause: true, variable: 'vip' }))).toMatchObject({
      kind: 'write',
      unpause: false,
      written: ['topology variable vip'],
    });
  });
});

describe('endpointKeyOfClusterChange', () => {
  const none = () => false;
  const c = (annotations: Record<string, string>, extra: Partial<ClusterView> = {}): ClusterView => ({
    ...cluster(annotations),
    ...extra,
  });
  it('queues Clusters that ask for an endpoint or have a claim, not status-only changes', () => {
    expect(endpointKeyOfClusterChange(undefined, c(pool), none)).toBe('ns/c1');
    expect(endpointKeyOfClusterChange(undefined, c({}), none)).toBeUndefined();
    expect(endpointKeyOfClusterChange(c({}), undefined, () => true)).toBe('ns/c1');
    const before = { ...c(pool), status: { phase: 'Pending' } } as ClusterView;
    const after = { ...c(pool), status: { phase: 'Provisioned' } } as ClusterView;
    expect(endpointKeyOfClusterChange(before, after, none)).toBeUndefined();
    expect(endpointKeyOfClusterChange(c({}), c(pool), none)).toBe('ns/c1');
    expect(endpointKeyOfClusterChange(c(pool), c(pool, { spec: { paused: false } }), none)).toBe('ns/c1');
  });
});
