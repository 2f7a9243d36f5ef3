/**
 * Schema source of InClusterIPPool and GlobalInClusterIPPool (v1alpha2 stored, v1alpha1 served and
 * deprecated). Types, required fields and bounds match the Go provider's CRDs so that its manifests
 * apply unchanged; validation (../validate.ts) uses the same constants and schema.
 */
import {
  IPAM_GROUP,
  isGlobalPoolKind,
  isPoolKind,
  KIND_GLOBAL_IN_CLUSTER_IP_POOL,
  KIND_IN_CLUSTER_IP_POOL,
  LABEL_CLUSTERCTL_MOVE_HIERARCHY,
  PREFIX_MAX,
  PREFIX_MIN,
} from '../constants.js';
import { boolean, integer, type JSONSchemaProps, object, root, string, stringList } from './builder.js';
import { conditionsSchema } from './capi-ipam.js';
import type { CrdSource, PrinterColumn } from './crd.js';
import {
  allocationStrategySchema,
  namespaceSelectorSchema,
  type PoolScope,
  type PoolUnit,
  preAllocationsSchema,
} from './pool-fields.js';

/** Shared by every pool kind: categories, and the label clusterctl move looks for. */
export const POOL_CRD_COMMON = {
  group: IPAM_GROUP,
  categories: ['cluster-api'],
  labels: { [LABEL_CLUSTERCTL_MOVE_HIERARCHY]: '' },
} as const;

const COUNT_CAP_NOTE = 'Counts larger than 9223372036854775807 (IPv6 pools) are reported as that number.';

/** Status shared by both IP pool kinds and both versions; the prefix pools use the same shape. */
export function poolStatusSchema(unit: 'addresses' | 'prefixes'): JSONSchemaProps {
  const conditions = conditionsSchema(
    'Conditions of the pool (beyond the Go provider): Ready is False while its spec is invalid.',
  );
  const things = unit === 'addresses' ? 'addresses' : 'prefixes of allocationPrefixLength';
  return object('Status reports how much of the pool is in use; the provider keeps it up to date.', {
    ipAddresses: object(
      `IPAddresses counts the pool's ${things}: total, free, used and out of range.`,
      {
        total: integer([
          `Total is the number of ${things} the pool can hand out, after exclusions${unit === 'addresses' ? ', reserved addresses and the gateway are taken away' : ' are taken away'}.`,
          COUNT_CAP_NOTE,
        ]),
        free: integer([`Free is the number of ${things} that can still be handed out.`, COUNT_CAP_NOTE]),
        used: integer([`Used is the number of IPAddresses allocated from the pool.`, COUNT_CAP_NOTE]),
        outOfRange: integer([
          `OutOfRange is the number of allocated ${unit} that are no longer part of the pool,`,
          'for example after its addresses were changed. They stay allocated until their claims are deleted.',
          COUNT_CAP_NOTE,
        ]),
        preAllocated: integer(
          [
            `PreAllocated is the number of spec.preAllocations whose claim has not taken its ${unit === 'addresses' ? 'address' : 'prefix'}`,
            'yet. They are kept for those claims, so they are not counted as free.',
          ],
          { format: 'int64' },
        ),
      },
      ['free', 'outOfRange', 'total', 'used'],
    ),
    conditions,
    lastAllocated: string([
      `LastAllocated is the ${unit === 'addresses' ? 'address' : 'prefix (network/length)'} the pool handed out last;`,
      'with allocationStrategy RoundRobin the next claim gets the next free one after it. Written by the provider.',
    ]),
  });
}

/**
 * Our fields beyond the Go provider's, shared by both versions' absence and both scopes: optional,
 * without defaults. `scope` undefined gives the union of both kinds (namespaceSelector present, a
 * pre-allocation's namespace optional), for callers that check an object's shape without its kind.
 */
export function poolExtensionFields(
  unit: PoolUnit,
  scope: PoolScope | undefined,
): Record<string, JSONSchemaProps> {
  return {
    preAllocations: preAllocationsSchema(unit, scope ?? 'Namespaced'),
    ...(scope === 'Namespaced' ? {} : { namespaceSelector: namespaceSelectorSchema(unit) }),
    allocationStrategy: allocationStrategySchema(unit),
  };
}

/** The scope of a pool kind, or undefined for a kind we do not know (then the union is checked). */
export function poolScopeOf(kind: string | undefined): PoolScope | undefined {
  if (kind === undefined || !isPoolKind(kind)) return undefined;
  return isGlobalPoolKind(kind) ? 'Cluster' : 'Namespaced';
}

const ADDRESS_FORMS = 'single IPs (10.0.0.5), ranges (10.0.0.10-10.0.0.20) and CIDRs (10.0.0.0/24)';

function ipPoolSpecV1Alpha2Of(scope: PoolScope | undefined): JSONSchemaProps {
  return object(
    'Spec lists the addresses of the pool and the network settings handed out with them.',
    {
      addresses: stringList([
        `Addresses the pool hands out: ${ADDRESS_FORMS}, in any order.`,
        'They may be non-contiguous, must all be of one IP family (IPv4 or IPv6), and must all lie in the',
        "pool's subnet: the lowest address with the length given by prefix. At least one entry is required.",
      ]),
      prefix: integer(
        [
          'Prefix is the length of the subnet the addresses belong to (0-128). The subnet is the lowest address',
          'of the pool with this length; it is also where the reserved addresses are taken from.',
          'Every IPAddress allocated from the pool gets it as spec.prefix.',
        ],
        { minimum: PREFIX_MIN, maximum: PREFIX_MAX },
      ),
      gateway: string([
        'Gateway of the subnet, copied to every IPAddress as spec.gateway. It is never handed out, even',
        'when it is one of the addresses. Optional; when set it must be of the same IP family as the addresses.',
      ]),
      allocateReservedIPAddresses: boolean([
        'AllocateReservedIPAddresses, when true, lets the pool hand out the addresses the subnet reserves:',
        'for IPv4 its first (network) and last (broadcast) address, for IPv6 its first (subnet-router anycast)',
        'address. When false or unset they are never handed out. The gateway is excluded either way.',
      ]),
      excludedAddresses: stringList([
        `ExcludedAddresses are never handed out: ${ADDRESS_FORMS}, of the same IP family as addresses.`,
        'They need not lie inside the pool.',
      ]),
      addressReuseGracePeriodSeconds: integer(
        [
          'AddressReuseGracePeriodSeconds keeps an address reserved for this many seconds after its claim is',
          'deleted before it can be handed out again. This avoids conflicts while an old and a new machine',
          "briefly coexist during rolling upgrades, and stale entries in switches' ARP caches.",
          'While the period runs, the claim and its IPAddress are kept, so consumers that delete in the',
          'foreground wait up to this long. Unset or 0: a released address can be reused at once.',
        ],
        { format: 'int32', minimum: 0 },
      ),
      ...poolExtensionFields('addresses', scope),
    },
    ['addresses', 'prefix'],
  );
}

/** The v1alpha2 spec of InClusterIPPool: no namespaceSelector (the API server prunes it). */
export const inClusterIPPoolSpecV1Alpha2 = ipPoolSpecV1Alpha2Of('Namespaced');
/** The v1alpha2 spec of GlobalInClusterIPPool: a pre-allocation names its claim's namespace. */
export const globalInClusterIPPoolSpecV1Alpha2 = ipPoolSpecV1Alpha2Of('Cluster');
/** Both kinds' fields in one schema, for a shape check of a spec whose kind is not known. */
export const ipPoolSpecV1Alpha2 = ipPoolSpecV1Alpha2Of(undefined);

/** The v1alpha2 spec schema of an IP pool kind; the union of both for another or no kind. */
export function ipPoolSpecV1Alpha2For(kind: string | undefined): JSONSchemaProps {
  const scope = poolScopeOf(kind);
  if (scope === 'Namespaced') return inClusterIPPoolSpecV1Alpha2;
  if (scope === 'Cluster') return globalInClusterIPPoolSpecV1Alpha2;
  return ipPoolSpecV1Alpha2;
}

export const ipPoolSpecV1Alpha1 = object(
  'Spec of the deprecated v1alpha1 pool: a subnet, a start-end range, or a list of addresses.',
  {
    addresses: stringList([
      `Addresses the pool hands out: ${ADDRESS_FORMS}; they may be non-contiguous.`,
      'Can be omitted when subnet, or start and end, are set.',
    ]),
    subnet: string([
      'Subnet (a CIDR) to hand out addresses from; start, end and prefix default from it.',
      'Can be omitted when addresses, or start, end and prefix, are set.',
    ]),
    start: string(['Start is the first address to hand out. Defaults to the second address of subnet.']),
    end: string([
      'End is the last address to hand out; it comes after start, in the same subnet.',
      'Defaults to the second-to-last address of subnet.',
    ]),
    prefix: integer('Prefix is the length of the subnet. Defaults to the length of subnet.', {
      maximum: PREFIX_MAX,
    }),
    gateway: string('Gateway of the subnet, copied to every IPAddress as spec.gateway; never handed out.'),
  },
);

const COUNT_COLUMNS: PrinterColumn[] = [
  {
    name: 'Total',
    type: 'integer',
    jsonPath: '.status.ipAddresses.total',
    description: 'Number of addresses the pool can hand out',
  },
  {
    name: 'Free',
    type: 'integer',
    jsonPath: '.status.ipAddresses.free',
    description: 'Number of addresses not allocated yet',
  },
  {
    name: 'Used',
    type: 'integer',
    jsonPath: '.status.ipAddresses.used',
    description: 'Number of addresses allocated',
  },
];

/** Ours, wide output only (`-o wide`): the Go provider's default columns stay as they are. */
export const READY_COLUMN: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
  description: 'False while the spec is invalid: no address is handed out until it is fixed',
  priority: 1,
};

/** Ours, wide output only. */
export const STRATEGY_COLUMN: PrinterColumn = {
  name: 'Strategy',
  type: 'string',
  jsonPath: '.spec.allocationStrategy',
  description: 'How a free address is chosen (Lowest when empty)',
  priority: 1,
};

/** Ours, wide output only; empty on pools that never had spec.preAllocations. */
export const PRE_ALLOCATED_COLUMN: PrinterColumn = {
  name: 'PreAllocated',
  type: 'integer',
  jsonPath: '.status.ipAddresses.preAllocated',
  description:
    'Number of addresses kept for claims named in spec.preAllocations that have not taken them yet',
  priority: 1,
};

const ADDRESSES_COLUMN: PrinterColumn = {
  name: 'Addresses',
  type: 'string',
  jsonPath: '.spec.addresses',
  description: 'Addresses to allocate from',
};

/**
 * v1alpha1 columns. The Go provider points First/Last at .spec.first/.spec.last, which do not
 * exist (the JSON names are start/end), so its columns are always empty; ours show the values.
 * Like the Go provider, only the namespaced kind shows Addresses.
 */
function v1alpha1Columns(withAddresses: boolean): PrinterColumn[] {
  return [
    {
      name: 'Subnet',
      type: 'string',
      jsonPath: '.spec.subnet',
      description: 'Subnet to allocate addresses from',
    },
    { name: 'First', type: 'string', jsonPath: '.spec.start', description: 'First address to allocate' },
    { name: 'Last', type: 'string', jsonPath: '.spec.end', description: 'Last address to allocate' },
    ...(withAddresses ? [ADDRESSES_COLUMN] : []),
    ...COUNT_COLUMNS,
  ];
}

/** Everything about an IP pool kind that differs between the namespaced and the global one. */
interface IPPoolKindSource {
  kind: string;
  scope: 'Namespaced' | 'Cluster';
  description: string[];
  v1alpha1Addresses: boolean;
}

function ipPoolCrd(k: IPPoolKindSource): CrdSource {
  const status = poolStatusSchema('addresses');
  return {
    ...POOL_CRD_COMMON,
    categories: [...POOL_CRD_COMMON.categories],
    labels: { ...POOL_CRD_COMMON.labels },
    kind: k.kind,
    plural: `${k.kind.toLowerCase()}s`,
    singular: k.kind.toLowerCase(),
    scope: k.scope,
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: false,
        deprecated: true,
        schema: root([...k.description, 'v1alpha1 is deprecated; use v1alpha2.'], {
          spec: ipPoolSpecV1Alpha1,
          status,
        }),
        printerColumns: v1alpha1Columns(k.v1alpha1Addresses),
        statusSubresource: true,
      },
      {
        name: 'v1alpha2',
        served: true,
        storage: true,
        schema: root(k.description, {
          spec: k.scope === 'Cluster' ? globalInClusterIPPoolSpecV1Alpha2 : inClusterIPPoolSpecV1Alpha2,
          status,
        }),
        printerColumns: [
          ADDRESSES_COLUMN,
          ...COUNT_COLUMNS,
          READY_COLUMN,
          STRATEGY_COLUMN,
          PRE_ALLOCATED_COLUMN,
        ],
        statusSubresource: true,
      },
    ],
  };
}

export const inClusterIPPoolCrd: CrdSource = ipPoolCrd({
  kind: KIND_IN_CLUSTER_IP_POOL,
  scope: 'Namespaced',
  description: [
    'InClusterIPPool is a pool of IP addresses. IPAddressClaims in the same namespace allocate from it:',
    'for each claim the provider creates an IPAddress with an address of the pool.',
  ],
  v1alpha1Addresses: true,
});

export const globalInClusterIPPoolCrd: CrdSource = ipPoolCrd({
  kind: KIND_GLOBAL_IN_CLUSTER_IP_POOL,
  scope: 'Cluster',
  description: [
    'GlobalInClusterIPPool is a cluster-scoped pool of IP addresses. IPAddressClaims in any namespace',
    'allocate from it: for each claim the provider creates an IPAddress with an address of the pool.',
  ],
  v1alpha1Addresses: false,
});
