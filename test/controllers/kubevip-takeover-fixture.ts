/**
 * Helpers of the kube-vip-cloud-provider take-over tests: its ConfigMap in the cluster, the pools
 * converted from it applied, and Services laid down as kube-vip-cloud-provider and kube-vip leave
 * them — the address in annotation, label and spec.loadBalancerIP, and in status.loadBalancer
 * written through the status subresource.
 */
import type { IPPool } from '../../src/api/index.js';
import type { ClusterAccess } from '../harness/access.js';
import { IPAM } from './fixture.js';
import { servicePath } from './service-lb-fixture.js';

export const KUBE_VIP_IPS = 'kube-vip.io/loadbalancerIPs';

export async function createKubeVipConfigMap(
  access: ClusterAccess,
  data: Record<string, string>,
): Promise<unknown> {
  const res = await access.request('POST', '/api/v1/namespaces/kube-system/configmaps', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kubevip', namespace: 'kube-system' },
    data,
  });
  if (res.status !== 201) throw new Error(`ConfigMap kubevip: ${res.status} ${res.text}`);
  return (await access.request('GET', '/api/v1/namespaces/kube-system/configmaps/kubevip')).body;
}

export async function applyPools(access: ClusterAccess, pools: readonly IPPool[]): Promise<void> {
  for (const pool of pools) {
    const ns = pool.metadata?.namespace;
    const path =
      pool.kind === 'GlobalInClusterIPPool'
        ? `${IPAM}/v1alpha2/globalinclusterippools`
        : `${IPAM}/v1alpha2/namespaces/${ns}/inclusterippools`;
    const res = await access.request('POST', path, pool);
    if (res.status !== 201) throw new Error(`pool ${pool.metadata?.name}: ${res.status} ${res.text}`);
  }
}

/** A Service as kube-vip-cloud-provider (spec, annotation, label) and kube-vip (status) leave it. */
export async function createKubeVipService(
  access: ClusterAccess,
  ns: string,
  name: string,
  address: string,
): Promise<void> {
  const res = await access.request('POST', servicePath(ns), {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, annotations: { [KUBE_VIP_IPS]: address }, labels: { implementation: 'kube-vip' } },
    spec: {
      type: 'LoadBalancer',
      loadBalancerIP: address,
      ports: [{ port: 80, protocol: 'TCP' }],
      selector: { app: name },
    },
  });
  if (res.status !== 201) throw new Error(`Service ${ns}/${name}: ${res.status} ${res.text}`);
  const status = await access.request(
    'PATCH',
    `${servicePath(ns, name)}/status`,
    { status: { loadBalancer: { ingress: [{ ip: address }] } } },
    { contentType: 'application/merge-patch+json' },
  );
  if (status.status !== 200) throw new Error(`Service ${ns}/${name} status: ${status.status} ${status.text}`);
}

/** The IPAddress of a Service's claim: its address and the pool it came from. */
export async function serviceIPAddress(
  access: ClusterAccess,
  ns: string,
  service: string,
): Promise<{ address: string; pool: string } | undefined> {
  const res = await access.request<{ spec: { address: string; poolRef: { kind: string; name: string } } }>(
    'GET',
    `${IPAM}/v1beta2/namespaces/${ns}/ipaddresses/${service}.service-lb`,
  );
  if (res.status !== 200) return undefined;
  return {
    address: res.body.spec.address,
    pool: `${res.body.spec.poolRef.kind}/${res.body.spec.poolRef.name}`,
  };
}
