/**
 * What must hold once a soak has settled, judged from one snapshot of the API (claims, IPAddresses,
 * pools) and nothing else: every live claim bound to an IPAddress of its pool, no IPAddress without
 * its claim, no address held twice in one pool, no address outside its pool, nothing stuck
 * deleting, and each pool's status counting exactly what the IPAddresses say.
 */
import { allocatableAddresses, type IPv4PoolSpec } from './allocatable.js';

export const IPAM_GROUP = 'ipam.cluster.x-k8s.io';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

export interface Metadata {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: { manager?: string; operation?: string; time?: string; subresource?: string }[];
}

export interface PoolReference {
  apiGroup?: string;
  kind: string;
  name: string;
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface Claim {
  metadata: Metadata;
  spec: { poolRef: PoolReference };
  status?: { addressRef?: { name?: string }; conditions?: Condition[] };
}

export interface Address {
  metadata: Metadata;
  spec: { address: string; prefix?: number; poolRef: PoolReference; claimRef?: { name?: string } };
}

export type PoolKind = 'GlobalInClusterIPPool' | 'InClusterIPPool';

export interface PoolCounts {
  total: number;
  used: number;
  free: number;
  outOfRange: number;
}

export interface Pool {
  kind: PoolKind;
  metadata: Metadata;
  spec: IPv4PoolSpec;
  status?: { ipAddresses?: PoolCounts };
}

export interface Snapshot {
  claims: Claim[];
  addresses: Address[];
  pools: Pool[];
}

export interface PoolFigures {
  pool: string;
  status: PoolCounts | undefined;
  expected: PoolCounts;
}

/** Each finding is one sentence naming the object; an empty list means the check holds. */
export interface Findings {
  /** IPAddresses with no claim of their namespace/name, or owned by another claim (UID). */
  leaks: string[];
  /** Addresses held by more than one IPAddress of the same pool. */
  duplicates: string[];
  /** Live claims without an addressRef, or whose IPAddress is missing, another's or another pool's. */
  unbound: string[];
  /** Bound claims whose Ready condition does not say so. */
  notReady: string[];
  /** IPAddresses whose address is not allocatable in their pool (the gateway, the subnet's ends, …). */
  outOfRange: string[];
  /** Claims and IPAddresses still being deleted. */
  stuckDeleting: string[];
  /** Pools whose status.ipAddresses differs from what the IPAddresses say. */
  statusMismatches: string[];
  pools: PoolFigures[];
}

export type FindingKind = Exclude<keyof Findings, 'pools'>;

export const FINDING_KINDS: readonly FindingKind[] = [
  'leaks',
  'duplicates',
  'unbound',
  'notReady',
  'outOfRange',
  'stuckDeleting',
  'statusMismatches',
];

export function objectKey(m: Metadata): string {
  return m.namespace ? `${m.namespace}/${m.name}` : m.name;
}

/** A pool as claims and IPAddresses name it: global pools in no namespace, namespaced in the referrer's. */
function poolKey(kind: string, namespace: string | undefined, name: string): string {
  return kind.startsWith('Global') ? `${kind} ${name}` : `${kind} ${namespace ?? ''}/${name}`;
}

export function poolKeyOfRef(ref: PoolReference, referrerNamespace: string | undefined): string {
  return poolKey(ref.kind, referrerNamespace, ref.name);
}

export function poolKeyOf(pool: Pool): string {
  return poolKey(pool.kind, pool.metadata.namespace, pool.metadata.name);
}

function ours(ref: PoolReference | undefined): boolean {
  return (
    ref !== undefined &&
    (ref.apiGroup ?? IPAM_GROUP) === IPAM_GROUP &&
    (ref.kind === 'GlobalInClusterIPPool' || ref.kind === 'InClusterIPPool')
  );
}

export function isClean(findings: Findings): boolean {
  return FINDING_KINDS.every((kind) => findings[kind].length === 0);
}

export function checkSnapshot({ claims, addresses, pools }: Snapshot): Findings {
  const findings: Findings = {
    leaks: [],
    duplicates: [],
    unbound: [],
    notReady: [],
    outOfRange: [],
    stuckDeleting: [],
    statusMismatches: [],
    pools: [],
  };
  const claimsByKey = new Map(claims.map((c) => [objectKey(c.metadata), c]));
  const addressesByKey = new Map(addresses.map((a) => [objectKey(a.metadata), a]));

  for (const claim of claims) {
    const key = objectKey(claim.metadata);
    if (!ours(claim.spec?.poolRef)) continue;
    if (claim.metadata.deletionTimestamp) {
      findings.stuckDeleting.push(
        `IPAddressClaim ${key} is being deleted (finalizers ${JSON.stringify(claim.metadata.finalizers ?? [])})`,
      );
      continue;
    }
    const unbound = unboundReason(claim, addressesByKey);
    if (unbound) {
      findings.unbound.push(`IPAddressClaim ${key} ${unbound}`);
      continue;
    }
    const ready = claim.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status !== 'True')
      findings.notReady.push(
        `IPAddressClaim ${key} is bound but Ready is ${ready ? `${ready.status} (${ready.reason}: ${ready.message})` : 'missing'}`,
      );
  }

  const byPool = new Map<string, Address[]>();
  for (const address of addresses) {
    if (!ours(address.spec?.poolRef)) continue;
    const key = objectKey(address.metadata);
    const described = `IPAddress ${key} (${address.spec.address})`;
    if (address.metadata.deletionTimestamp)
      findings.stuckDeleting.push(
        `${described} is being deleted (finalizers ${JSON.stringify(address.metadata.finalizers ?? [])})`,
      );
    const claim = claimsByKey.get(key);
    if (!claim) {
      findings.leaks.push(`${described} has no IPAddressClaim ${key} (${leakState(address)})`);
    } else {
      const owner = address.metadata.ownerReferences?.find((r) => r.kind === 'IPAddressClaim');
      if (owner?.uid !== claim.metadata.uid)
        findings.leaks.push(
          `${described} is owned by claim UID ${owner?.uid ?? '(none)'}, not by the live claim's ${claim.metadata.uid}`,
        );
    }
    const pool = poolKeyOfRef(address.spec.poolRef, address.metadata.namespace);
    const held = byPool.get(pool);
    if (held) held.push(address);
    else byPool.set(pool, [address]);
  }

  const known = new Set(pools.map(poolKeyOf));
  for (const [pool, held] of byPool) {
    if (!known.has(pool))
      findings.leaks.push(
        `${held.length} IPAddresses refer to ${pool}, which does not exist (${held
          .slice(0, 3)
          .map((a) => objectKey(a.metadata))
          .join(', ')}…)`,
      );
  }

  for (const pool of pools) {
    const key = poolKeyOf(pool);
    const held = byPool.get(key) ?? [];
    const holders = new Map<string, string[]>();
    for (const a of held) {
      const names = holders.get(a.spec.address);
      if (names) names.push(objectKey(a.metadata));
      else holders.set(a.spec.address, [objectKey(a.metadata)]);
    }
    for (const [address, names] of holders)
      if (names.length > 1) findings.duplicates.push(`${key}: ${address} is held by ${names.join(', ')}`);
    const allocatable = allocatableAddresses(pool.spec);
    let inRange = 0;
    for (const address of holders.keys()) {
      if (allocatable.has(address)) inRange++;
      else
        findings.outOfRange.push(
          `${key}: ${address} (${holders.get(address)?.join(', ')}) is not in its allocatable set`,
        );
    }
    const expected: PoolCounts = {
      total: allocatable.size,
      used: held.length,
      free: allocatable.size - inRange,
      outOfRange: holders.size - inRange,
    };
    const status = pool.status?.ipAddresses;
    findings.pools.push({ pool: key, status, expected });
    if (!sameCounts(status, expected))
      findings.statusMismatches.push(
        `${key}: status says ${JSON.stringify(status ?? null)}, the IPAddresses say ${JSON.stringify(expected)}`,
      );
  }
  return findings;
}

/** What tells one leak from another: deletion, finalizers, owner, and who wrote it last, when. */
function leakState(address: Address): string {
  const m = address.metadata;
  const owner = m.ownerReferences?.find((r) => r.kind === 'IPAddressClaim')?.uid ?? '(none)';
  const last = [...(m.managedFields ?? [])].sort((a, b) => (a.time ?? '').localeCompare(b.time ?? '')).pop();
  return [
    m.deletionTimestamp ? `being deleted since ${m.deletionTimestamp}` : 'not being deleted',
    `finalizers ${JSON.stringify(m.finalizers ?? [])}`,
    `owner claim UID ${owner}`,
    last ? `last written by ${last.manager} (${last.operation}) at ${last.time}` : 'never written',
  ].join(', ');
}

function unboundReason(claim: Claim, addressesByKey: Map<string, Address>): string | undefined {
  const ref = claim.status?.addressRef?.name;
  if (!ref) return 'has no status.addressRef';
  const namespace = claim.metadata.namespace ?? '';
  const address = addressesByKey.get(`${namespace}/${ref}`);
  if (!address) return `refers to IPAddress ${namespace}/${ref}, which does not exist`;
  if (address.spec.claimRef?.name !== claim.metadata.name)
    return `refers to IPAddress ${namespace}/${ref}, which is claimed by ${address.spec.claimRef?.name ?? '(nobody)'}`;
  const wanted = poolKeyOfRef(claim.spec.poolRef, namespace);
  const actual = poolKeyOfRef(address.spec.poolRef, namespace);
  if (wanted !== actual) return `asked for ${wanted} but its IPAddress ${namespace}/${ref} is of ${actual}`;
  return undefined;
}

function sameCounts(status: PoolCounts | undefined, expected: PoolCounts): boolean {
  return (
    status !== undefined &&
    status.total === expected.total &&
    status.used === expected.used &&
    status.free === expected.free &&
    status.outOfRange === expected.outOfRange
  );
}

/** Names and resourceVersions of everything checked: equal twice in a row means nothing moved. */
export function fingerprint({ claims, addresses, pools }: Snapshot): string {
  return [...claims, ...addresses, ...pools]
    .map((o) => `${objectKey(o.metadata)}@${o.metadata.resourceVersion}`)
    .sort()
    .join(',');
}
