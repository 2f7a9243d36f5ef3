/**
 * The webhook route table: the Go provider's paths (kubebuilder's naming), so its webhook
 * configurations keep working. The server registers these routes and the manifests generator
 * writes the configurations from the same table, so the two cannot disagree.
 */
import { IPAM_GROUP, POOL_KINDS, POOL_VERSION_V1ALPHA2 } from '../api/constants.js';

export interface WebhookRoute {
  kind: string;
  plural: string;
  type: 'mutate' | 'validate';
  path: string;
  /** Name of the webhook in its configuration, e.g. validation.inclusterippool.ipam.cluster.x-k8s.io. */
  name: string;
  operations: string[];
}

export const CONVERSION_PATH = '/convert';

export function webhookRoutes(): WebhookRoute[] {
  return POOL_KINDS.flatMap((kind) => {
    const lower = kind.toLowerCase();
    const suffix = `${IPAM_GROUP.replaceAll('.', '-')}-${POOL_VERSION_V1ALPHA2}-${lower}`;
    return [
      {
        kind,
        plural: `${lower}s`,
        type: 'mutate' as const,
        path: `/mutate-${suffix}`,
        name: `default.${lower}.${IPAM_GROUP}`,
        operations: ['CREATE', 'UPDATE'],
      },
      {
        kind,
        plural: `${lower}s`,
        type: 'validate' as const,
        path: `/validate-${suffix}`,
        name: `validation.${lower}.${IPAM_GROUP}`,
        operations: ['CREATE', 'UPDATE', 'DELETE'],
      },
    ];
  });
}
