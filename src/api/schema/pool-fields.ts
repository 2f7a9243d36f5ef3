/**
 * Schema source of the fields every pool kind has beyond the Go provider's: preAllocations,
 * allocationStrategy and (Global kinds only) namespaceSelector. All are optional and have no
 * default, so a pool written for the Go provider is stored exactly as it was written and means what
 * it meant there.
 */
import { ALLOCATION_STRATEGIES } from '../constants.js';
import { array, type JSONSchemaProps, object, string, stringList } from './builder.js';

export type PoolUnit = 'addresses' | 'prefixes';
export type PoolScope = 'Namespaced' | 'Cluster';

const CLAIM_NAMES = [
  'Claims are named by whoever creates them: Cluster API Provider vSphere names the claim of a',
  "machine's network device <VSphereVM name>-<device index>-<pool index> (e.g. web-md-0-x7k2p-0-0,",
  'so a claim can be named in advance only where the machine name is known), and a claim for a',
  "control-plane endpoint (VIP) is named by its author. A claim's IPAddress has the claim's name.",
];

/** `spec.preAllocations`: the namespace is required in Global kinds, refused in namespaced ones. */
export function preAllocationsSchema(unit: PoolUnit, scope: PoolScope): JSONSchemaProps {
  const thing = unit === 'addresses' ? 'address' : 'prefix';
  const aThing = unit === 'addresses' ? 'an address' : 'a prefix';
  const kind = unit === 'addresses' ? 'InClusterIPPool' : 'InClusterPrefixPool';
  const address =
    unit === 'addresses'
      ? string([
          'Address kept for the claim: one IP of the pool, not a range or CIDR (e.g. 10.0.0.10). It must be',
          'one the pool can hand out: inside addresses, not in excludedAddresses, not the gateway, and not a',
          'reserved address of the subnet (its first, and for IPv4 its last) unless allocateReservedIPAddresses',
          'is true.',
        ])
      : string([
          'Prefix kept for the claim: one of the prefixes the pool hands out, written',
          '<network>/<allocationPrefixLength> (e.g. fd00:0:0:5::/64): of exactly that length,',
          'network-aligned, inside prefixes and overlapping no excludedPrefixes entry.',
        ]);
  const namespace =
    scope === 'Cluster'
      ? string([
          'Namespace of the IPAddressClaim. Required: the pool serves claims of every namespace (that its',
          'namespaceSelector selects), so a claim name alone is ambiguous.',
        ])
      : string([
          `Must not be set: an ${kind} serves only claims of its own namespace, and a pre-allocation is for`,
          'the claim of that name there. (The field exists so that a namespace written by mistake is refused',
          'rather than silently dropped.)',
        ]);
  return array(
    [
      `PreAllocations keeps ${unit} for claims named in advance. A pre-allocated ${thing} is handed only to`,
      `the claim named with it, is not counted as free, and is used when that claim appears (a claim that`,
      `already holds ${aThing} of the pool keeps it). No ${thing} and no claim may appear twice, and`,
      `${aThing} that another claim already holds cannot be pre-allocated to a different claim.`,
      `Optional: without it every claim gets the next ${thing} the allocationStrategy chooses.`,
    ],
    object(
      `A claim, by name, and the ${thing} kept for it.`,
      {
        claimName: string([
          'ClaimName is the name of the IPAddressClaim the',
          `${thing} is kept for (a DNS-1123 subdomain).`,
          ...CLAIM_NAMES,
        ]),
        namespace,
        address,
      },
      scope === 'Cluster' ? ['address', 'claimName', 'namespace'] : ['address', 'claimName'],
    ),
  );
}

/** `spec.allocationStrategy`: an enum without a CRD default (absent means Lowest). */
export function allocationStrategySchema(unit: PoolUnit): JSONSchemaProps {
  const thing = unit === 'addresses' ? 'address' : 'prefix';
  return string(
    [
      `AllocationStrategy chooses the free ${thing} a new claim gets. Lowest (the default when unset, and`,
      `the only behaviour of the Go provider): the lowest free ${thing}. Highest: the highest free ${thing}.`,
      `Random: a free ${thing} picked at random. RoundRobin: the next free ${thing} after the one handed`,
      `out last (status.lastAllocated), wrapping around at the end of the pool, so that a released ${thing}`,
      `is reused as late as possible. Pre-allocated ${unit} are never given to other claims, whatever the strategy.`,
    ],
    { enum: [...ALLOCATION_STRATEGIES] },
  );
}

/** `metav1.LabelSelector` as controller-gen renders it, with its upstream descriptions. */
export function labelSelectorSchema(description: string | readonly string[]): JSONSchemaProps {
  return object(
    description,
    {
      matchExpressions: array(
        'matchExpressions is a list of label selector requirements. The requirements are ANDed.',
        object(
          'A label selector requirement is a selector that contains values, a key, and an operator that relates the key and values.',
          {
            key: string('key is the label key that the selector applies to.'),
            operator: string(
              "operator represents a key's relationship to a set of values. Valid operators are In, NotIn, Exists and DoesNotExist.",
            ),
            values: stringList(
              [
                'values is an array of string values. If the operator is In or NotIn, the values array must be',
                'non-empty. If the operator is Exists or DoesNotExist, the values array must be empty.',
                'This array is replaced during a strategic merge patch.',
              ],
              { 'x-kubernetes-list-type': 'atomic' },
            ),
          },
          ['key', 'operator'],
        ),
        { 'x-kubernetes-list-type': 'atomic' },
      ),
      matchLabels: {
        description: [
          'matchLabels is a map of {key,value} pairs. A single {key,value} in the matchLabels map is',
          'equivalent to an element of matchExpressions, whose key field is "key", the operator is "In",',
          'and the values array contains only "value". The requirements are ANDed.',
        ].join(' '),
        type: 'object',
        additionalProperties: { type: 'string' },
      },
    },
    [],
    { 'x-kubernetes-map-type': 'atomic' },
  );
}

/** `spec.namespaceSelector` of the Global kinds. */
export function namespaceSelectorSchema(unit: PoolUnit): JSONSchemaProps {
  return labelSelectorSchema([
    `NamespaceSelector limits the namespaces whose IPAddressClaims get ${unit} from this pool, by the`,
    "namespaces' labels: matchLabels and matchExpressions, ANDed, as in any Kubernetes label selector.",
    'Every namespace carries the label kubernetes.io/metadata.name with its name, so namespaces can also',
    'be chosen by name. A claim from a namespace the selector does not select is given nothing from the',
    'pool. Absent (or empty): claims of every namespace are served, as by the Go provider.',
  ]);
}
