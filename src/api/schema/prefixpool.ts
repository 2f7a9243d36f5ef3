/**
 * Schema source of InClusterPrefixPool and GlobalInClusterPrefixPool (v1alpha2 only). Fields,
 * default, bounds and printer columns match the Go provider's CRDs so that its manifests apply
 * unchanged; the status has the IP pools' shape, with our Ready condition.
 */
import { KIND_GLOBAL_IN_CLUSTER_PREFIX_POOL, KIND_IN_CLUSTER_PREFIX_POOL, PREFIX_MAX } from '../constants.js';
import { DEFAULT_ALLOCATION_PREFIX_LENGTH } from '../prefixpool-types.js';
import { integer, type JSONSchemaProps, object, root, string, stringList } from './builder.js';
import type { CrdSource, PrinterColumn } from './crd.js';
import {
  POOL_CRD_COMMON,
  PRE_ALLOCATED_COLUMN,
  poolExtensionFields,
  poolScopeOf,
  poolStatusSchema,
  READY_COLUMN,
  STRATEGY_COLUMN,
} from './ippool.js';
import type { PoolScope } from './pool-fields.js';

function prefixPoolSpecV1Alpha2Of(scope: PoolScope | undefined): JSONSchemaProps {
  return object(
    'Spec lists the IPv6 prefixes of the pool and the length of the prefixes handed out from them.',
    {
      prefixes: stringList([
        'Prefixes are the IPv6 CIDRs child prefixes are allocated from, e.g. fd00::/48. Each must be',
        'network-aligned (no host bits set) and no longer than allocationPrefixLength; overlapping entries',
        'are merged. At least one entry is required.',
      ]),
      allocationPrefixLength: integer(
        [
          'AllocationPrefixLength is the length of every prefix handed out (64 means /64 prefixes), 1-128.',
          'Defaults to 64. It cannot be changed once the pool exists. Every IPAddress allocated from the',
          'pool gets it as spec.prefix, and the network address of its prefix as spec.address.',
        ],
        { default: DEFAULT_ALLOCATION_PREFIX_LENGTH, minimum: 1, maximum: PREFIX_MAX },
      ),
      gateway: string([
        'Gateway is an IPv6 next hop copied to every IPAddress as spec.gateway. Unlike in IP pools it is',
        'informational only: it does not keep any prefix from being handed out.',
      ]),
      excludedPrefixes: stringList([
        'ExcludedPrefixes are IPv6 addresses, ranges (a-b) and CIDRs: a prefix that overlaps any of them',
        'is never handed out. They need not lie inside the pool.',
      ]),
      ...poolExtensionFields('prefixes', scope),
    },
    ['prefixes'],
  );
}

/** The spec of InClusterPrefixPool: no namespaceSelector (the API server prunes it). */
export const inClusterPrefixPoolSpecV1Alpha2 = prefixPoolSpecV1Alpha2Of('Namespaced');
/** The spec of GlobalInClusterPrefixPool: a pre-allocation names its claim's namespace. */
export const globalInClusterPrefixPoolSpecV1Alpha2 = prefixPoolSpecV1Alpha2Of('Cluster');
/** Both kinds' fields in one schema, for a shape check of a spec whose kind is not known. */
export const prefixPoolSpecV1Alpha2 = prefixPoolSpecV1Alpha2Of(undefined);

/** The spec schema of a prefix pool kind; the union of both for another or no kind. */
export function prefixPoolSpecV1Alpha2For(kind: string | undefined): JSONSchemaProps {
  const scope = poolScopeOf(kind);
  if (scope === 'Namespaced') return inClusterPrefixPoolSpecV1Alpha2;
  if (scope === 'Cluster') return globalInClusterPrefixPoolSpecV1Alpha2;
  return prefixPoolSpecV1Alpha2;
}

const PREFIX_POOL_COLUMNS: PrinterColumn[] = [
  {
    name: 'Prefixes',
    type: 'string',
    jsonPath: '.spec.prefixes',
    description: 'List of prefixes to allocate sub-prefixes from',
  },
  {
    name: 'Total',
    type: 'integer',
    jsonPath: '.status.ipAddresses.total',
    description: 'Count of allocatable sub-prefixes in the pool',
  },
  {
    name: 'Free',
    type: 'integer',
    jsonPath: '.status.ipAddresses.free',
    description: 'Count of unallocated sub-prefixes in the pool',
  },
  {
    name: 'Used',
    type: 'integer',
    jsonPath: '.status.ipAddresses.used',
    description: 'Count of allocated sub-prefixes in the pool',
  },
  READY_COLUMN,
  { ...STRATEGY_COLUMN, description: 'How a free prefix is chosen (Lowest when empty)' },
  {
    ...PRE_ALLOCATED_COLUMN,
    description:
      'Number of prefixes kept for claims named in spec.preAllocations that have not taken them yet',
  },
];

function prefixPoolCrd(kind: string, scope: 'Namespaced' | 'Cluster', description: string[]): CrdSource {
  return {
    ...POOL_CRD_COMMON,
    categories: [...POOL_CRD_COMMON.categories],
    labels: { ...POOL_CRD_COMMON.labels },
    kind,
    plural: `${kind.toLowerCase()}s`,
    singular: kind.toLowerCase(),
    scope,
    versions: [
      {
        name: 'v1alpha2',
        served: true,
        storage: true,
        schema: root(description, {
          spec: scope === 'Cluster' ? globalInClusterPrefixPoolSpecV1Alpha2 : inClusterPrefixPoolSpecV1Alpha2,
          status: poolStatusSchema('prefixes'),
        }),
        printerColumns: PREFIX_POOL_COLUMNS,
        statusSubresource: true,
      },
    ],
  };
}

export const inClusterPrefixPoolCrd: CrdSource = prefixPoolCrd(KIND_IN_CLUSTER_PREFIX_POOL, 'Namespaced', [
  'InClusterPrefixPool is a pool of IPv6 prefixes. IPAddressClaims in the same namespace allocate from it:',
  'for each claim the provider creates an IPAddress holding a prefix of allocationPrefixLength.',
]);

export const globalInClusterPrefixPoolCrd: CrdSource = prefixPoolCrd(
  KIND_GLOBAL_IN_CLUSTER_PREFIX_POOL,
  'Cluster',
  [
    'GlobalInClusterPrefixPool is a cluster-scoped pool of IPv6 prefixes. IPAddressClaims in any namespace',
    'allocate from it: for each claim the provider creates an IPAddress holding a prefix of allocationPrefixLength.',
  ],
);
