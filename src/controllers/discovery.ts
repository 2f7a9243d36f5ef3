/**
 * What the cluster serves, asked once at start-up: which Cluster API version the claims come in,
 * whether Clusters exist, and which of our pool kinds have CRDs.
 */
import type { Logger } from 'pino';
import {
  IPAM_GROUP,
  POOL_KINDS,
  POOL_VERSION_V1ALPHA2,
  type PoolKind,
  PREFIX_POOL_KINDS,
} from '../api/constants.js';
import type { KubeClient } from '../kube/index.js';
import { poolResource } from './inclusterippool.js';

export async function servedVersion(client: KubeClient, group: string, plural: string, versions: string[]) {
  for (const v of versions) {
    const list = await client.discover(group, v).catch(() => undefined);
    if (list?.resources.some((r) => r.name === plural)) return v;
  }
  return undefined;
}

/**
 * The pool kinds this cluster serves. The prefix pools came later than the IP pools: an install
 * whose CRDs predate them (the image swapped on an older release) would otherwise list a resource
 * that does not exist, retry forever and never sync. Without the IP pools nothing can work.
 */
export async function servedPoolKinds(client: KubeClient, log: Logger): Promise<PoolKind[]> {
  const served = new Set(
    (await client.discover(IPAM_GROUP, POOL_VERSION_V1ALPHA2))?.resources.map((r) => r.name) ?? [],
  );
  const kinds = POOL_KINDS.filter((k) => served.has(poolResource(k).plural));
  const missing = POOL_KINDS.filter((k) => !kinds.includes(k));
  const required = missing.filter((k) => !(PREFIX_POOL_KINDS as readonly string[]).includes(k));
  if (required.length > 0)
    throw new Error(
      `${required.join(', ')} ${IPAM_GROUP}/${POOL_VERSION_V1ALPHA2} not served: install the provider's CRDs`,
    );
  for (const kind of missing)
    log.warn(
      { kind },
      `${kind} is not served (no CRD); claims of it wait as PoolNotFound until a restart after it is installed`,
    );
  return kinds;
}
