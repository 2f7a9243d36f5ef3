/**
 * kube-vip-cloud-provider's ConfigMap (`kube-system/kubevip`) as our pools, pure: `npm run
 * kubevip-pools` (src/kubevip-pools.ts) prints them for review before a take-over
 * (docs/migrating-from-kube-vip.md). Each pool hands out exactly the addresses kube-vip-cloud-provider
 * would (kubevip-addresses.ts), to the same Services:
 *
 * - `cidr-global` / `range-global` → GlobalInClusterIPPool `kube-vip-global-ipv4` (and `-ipv6`);
 *   `cidr-<ns>` / `range-<ns>` → InClusterIPPool `kube-vip-ipv4` (and `-ipv6`) in <ns>. A pool has
 *   one family, so a mixed value becomes two. All are labelled to serve Services that name no pool.
 * - Which value a namespace's Services use follows kube-vip-cloud-provider's lookup: `cidr-<ns>`,
 *   else `cidr-global`, else `range-<ns>`, else `range-global`. A value that lookup never reaches
 *   is not converted (a note says so). A namespace with a value of its own never falls back to the
 *   global one, so the global pools' namespaceSelector leaves those namespaces out.
 * - `allocateReservedIPAddresses: true` and no gateway: the addresses listed are already exactly
 *   the ones to hand out, so nothing more may be reserved. `search-order: desc` → Highest.
 *
 * What has no equivalent (`allow-share-…`, `interface-…`, the DHCP value, unknown keys) becomes a
 * note: a comment on top of the YAML, and a warning the command prints. Values kube-vip-cloud-provider
 * would fail on are errors naming the key.
 */

import { stringify } from 'yaml';
import {
  ALLOCATION_STRATEGY_HIGHEST,
  IPAM_GROUP,
  type IPPool,
  ipPoolWarnings,
  isDNS1123Label,
  KIND_GLOBAL_IN_CLUSTER_IP_POOL,
  KIND_IN_CLUSTER_IP_POOL,
  POOL_VERSION_V1ALPHA2,
} from '../api/index.js';
import { LABEL_SERVICE_LB_POOL } from '../controllers/service-lb-rules.js';
import { ANNOTATION_SHARED_IP_KEY } from '../controllers/service-lb-slots.js';
import type { IntervalSet, IPFamily } from '../ip/index.js';
import {
  coveringPrefixLength,
  formatEntry,
  KUBE_VIP_DHCP_VALUE,
  kubeVipAddresses,
} from './kubevip-addresses.js';

const GLOBAL = 'global';
/** The API server sets this label on every namespace to its name. */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
/**
 * A pool lists each range it hands out: a big IPv4 value (a /8 without its .0 and .255 addresses:
 * 65,536 ranges) would exceed what the API server stores in one object.
 */
export const MAX_POOL_ENTRIES = 4096;
const SCOPED_KEY = /^(cidr|range|allow-share|interface)-(.+)$/;
const SEARCH_ORDER = 'search-order';
const SKIP_END_IPS = 'skip-end-ips-in-cidr';
/** Go's strconv.ParseBool, which kube-vip-cloud-provider reads allow-share-… with. */
const GO_BOOLS: Record<string, boolean> = Object.fromEntries([
  ...['1', 't', 'T', 'TRUE', 'true', 'True'].map((s) => [s, true]),
  ...['0', 'f', 'F', 'FALSE', 'false', 'False'].map((s) => [s, false]),
]);

export interface KubeVipConfigError {
  key: string;
  message: string;
}

export interface ConvertedPool {
  /** Comment lines (without `#`) put above the pool: where it comes from, what it leaves out. */
  comments: string[];
  pool: IPPool;
}

export interface KubeVipConversion {
  pools: ConvertedPool[];
  /** What could not be carried over as it is, and what to do about it. */
  notes: string[];
  errors: KubeVipConfigError[];
}

/** Where a scope's Services take their addresses from, as kube-vip-cloud-provider looks it up. */
interface Source {
  key: string;
  value: string;
}

/** Converts a ConfigMap object (as `kubectl get configmap -o yaml` prints it). */
export function convertKubeVipConfigMap(configMap: unknown): KubeVipConversion {
  const cm = configMap as { kind?: unknown; data?: unknown; binaryData?: unknown } | null;
  if (typeof cm !== 'object' || cm === null || Array.isArray(cm) || (cm.kind ?? 'ConfigMap') !== 'ConfigMap')
    return failed(
      '(input)',
      'this is not a ConfigMap (kubectl get configmap -n kube-system kubevip -o yaml)',
    );
  const data = cm.data ?? {};
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return failed('data', 'data must be a map of keys to strings');
  const out: KubeVipConversion = { pools: [], notes: [], errors: [] };
  const values = new Map<string, string>();
  for (const [key, value] of Object.entries(data)) {
    if (['string', 'number', 'boolean'].includes(typeof value)) values.set(key, String(value));
    else out.errors.push({ key, message: 'the value must be a string' });
  }
  if (cm.binaryData !== undefined)
    out.notes.push('binaryData: kube-vip-cloud-provider reads only data; binaryData is not converted.');
  convertData(values, out);
  return out;
}

function failed(key: string, message: string): KubeVipConversion {
  return { pools: [], notes: [], errors: [{ key, message }] };
}

function convertData(values: Map<string, string>, out: KubeVipConversion): void {
  const scoped = { cidr: new Map<string, string>(), range: new Map<string, string>() };
  const descending = setting(values, SEARCH_ORDER, 'desc', 'asc', out);
  const skipEnds = setting(values, SKIP_END_IPS, 'true', 'false', out);
  for (const [key, value] of values) {
    if (key === SEARCH_ORDER || key === SKIP_END_IPS) continue;
    const m = SCOPED_KEY.exec(key);
    const [what, scope] = [m?.[1] ?? '', m?.[2] ?? ''];
    if (!m) {
      out.notes.push(`${key}: not a key kube-vip-cloud-provider reads; not converted.`);
    } else if (scope !== GLOBAL && isDNS1123Label(scope).length > 0) {
      out.errors.push({ key, message: `${JSON.stringify(scope)} is not a namespace name` });
    } else if (what === 'cidr' || what === 'range') {
      scoped[what].set(scope, value);
    } else if (what === 'allow-share') {
      allowShareNote(key, scope, value, out);
    } else {
      out.notes.push(
        `${key}: kube-vip-cloud-provider annotates new Services${scope === GLOBAL ? '' : ` of namespace ${scope}`} with kube-vip.io/serviceInterface: ${value}; we do not. Services keep the annotation they have; give new ones that need it the annotation yourself.`,
      );
    }
  }
  const sources = chooseSources(scoped, out);
  const ownSource = [...sources.keys()].filter((s) => s !== GLOBAL).sort();
  for (const scope of [GLOBAL, ...ownSource]) {
    const source = sources.get(scope);
    if (source) addPools(scope, source, { descending, skipEnds, ownSource }, out);
  }
  overlapNotes(out);
  if (out.errors.length === 0 && scoped.cidr.size + scoped.range.size === 0)
    out.errors.push({
      key: '(data)',
      message: 'no cidr-… or range-… key: there is no address pool to convert',
    });
}

/** A two-valued setting: true for `on`; `off`, absent or anything else is false (noted if neither). */
function setting(
  values: Map<string, string>,
  key: string,
  on: string,
  off: string,
  out: KubeVipConversion,
): boolean {
  const value = values.get(key);
  if (value !== undefined && value !== on && value !== off)
    out.notes.push(
      `${key}: ${JSON.stringify(value)} is read by kube-vip-cloud-provider as ${off}; converted as ${off}.`,
    );
  return value === on;
}

function allowShareNote(key: string, scope: string, value: string, out: KubeVipConversion): void {
  const share = GO_BOOLS[value];
  if (share === undefined) {
    out.errors.push({ key, message: `${JSON.stringify(value)} is not true or false` });
    return;
  }
  if (!share) return;
  const whose =
    scope === GLOBAL
      ? 'IPv4 Services (of namespaces without allow-share-<ns>), across namespaces too,'
      : `IPv4 Services of namespace ${scope}`;
  out.notes.push(
    `${key}: kube-vip-cloud-provider lets ${whose} share an address when their ports differ. Here Services share an address only within one namespace, and only when each carries the annotation ${ANNOTATION_SHARED_IP_KEY} with the same value (one value per shared address; ports must still differ). Before our controller starts, give the Services that hold one address the same key, or one of them is refused it; Services of different namespaces cannot share. New Services share only when annotated so.`,
  );
}

/**
 * For each scope, the value its Services use. cidr-<ns> shadows range-<ns>; cidr-global shadows
 * every range-… (kube-vip-cloud-provider looks for any cidr before any range).
 */
function chooseSources(
  scoped: { cidr: Map<string, string>; range: Map<string, string> },
  out: KubeVipConversion,
): Map<string, Source> {
  const sources = new Map<string, Source>();
  const globalCidr = scoped.cidr.get(GLOBAL);
  for (const [scope, value] of scoped.cidr) sources.set(scope, { key: `cidr-${scope}`, value });
  for (const [scope, value] of scoped.range) {
    const shadow = scoped.cidr.has(scope)
      ? `cidr-${scope}`
      : globalCidr !== undefined
        ? 'cidr-global'
        : undefined;
    if (shadow === undefined) {
      sources.set(scope, { key: `range-${scope}`, value });
      continue;
    }
    // Never read by kube-vip-cloud-provider, but a typo there is still a typo: it is checked.
    const parsed = value === KUBE_VIP_DHCP_VALUE ? undefined : kubeVipAddresses(value, false);
    if (parsed?.ok === false) out.errors.push({ key: `range-${scope}`, message: parsed.error });
    out.notes.push(
      `range-${scope}: never used by kube-vip-cloud-provider, which takes ${shadow} first${scope === GLOBAL || shadow !== 'cidr-global' ? '' : ` for namespace ${scope}`}; not converted.`,
    );
  }
  return sources;
}

interface PoolOptions {
  descending: boolean;
  skipEnds: boolean;
  /** Namespaces with a value of their own: the global pools must not serve them. */
  ownSource: string[];
}

function addPools(scope: string, source: Source, opts: PoolOptions, out: KubeVipConversion): void {
  const { key, value } = source;
  if (value === KUBE_VIP_DHCP_VALUE) {
    out.notes.push(
      `${key}: ${value} makes kube-vip-cloud-provider give every Service 0.0.0.0 for kube-vip to lease an address by DHCP; a pool cannot do that, so no pool is made${scope === GLOBAL ? '' : ` and namespace ${scope} gets none from the global pool either (as before)`}.`,
    );
    return;
  }
  const parsed = kubeVipAddresses(value, opts.skipEnds);
  if (!parsed.ok) {
    out.errors.push({ key, message: parsed.error });
    return;
  }
  const { readAs, skipped } = parsed.value;
  if (readAs !== key.split('-')[0])
    out.notes.push(
      `${key}: kube-vip-cloud-provider reads ${JSON.stringify(value)} as ${readAs === 'cidr' ? 'CIDRs (it holds a /)' : 'ranges (it holds no /)'}; converted so.`,
    );
  for (const family of [4, 6] as const) {
    const set = family === 4 ? parsed.value.v4 : parsed.value.v6;
    const left = family === 4 ? skipped.v4 : skipped.v6;
    if (set.isEmpty) {
      if (!left.isEmpty)
        out.notes.push(
          `${key}: kube-vip-cloud-provider hands out no IPv${family} address of ${JSON.stringify(value)}; no pool is made.`,
        );
      continue;
    }
    if (set.ranges.length > MAX_POOL_ENTRIES) {
      out.errors.push({
        key,
        message: `its IPv${family} addresses without the ones kube-vip-cloud-provider never hands out (ending in .0 or .255) are ${set.ranges.length} ranges, more than one pool may list (${MAX_POOL_ENTRIES}): narrow the value to what Services really use`,
      });
      continue;
    }
    const comments = [`From ${key}: ${value}`];
    if (!left.isEmpty)
      comments.push(
        `Left out, as kube-vip-cloud-provider never hands them out: ${entries(family, left).join(', ')}${opts.skipEnds && readAs === 'cidr' ? ` (${SKIP_END_IPS}, and addresses ending in .0 or .255)` : ' (addresses ending in .0 or .255)'}`,
      );
    out.pools.push({ comments, pool: poolOf(scope, family, set, opts) });
  }
}

function entries(family: IPFamily, set: IntervalSet): string[] {
  return set.ranges.map((r) => formatEntry(family, r));
}

function poolOf(scope: string, family: IPFamily, set: IntervalSet, opts: PoolOptions): IPPool {
  const global = scope === GLOBAL;
  const excluded = global && opts.ownSource.length > 0;
  return {
    apiVersion: `${IPAM_GROUP}/${POOL_VERSION_V1ALPHA2}`,
    kind: global ? KIND_GLOBAL_IN_CLUSTER_IP_POOL : KIND_IN_CLUSTER_IP_POOL,
    metadata: {
      name: global ? `kube-vip-global-ipv${family}` : `kube-vip-ipv${family}`,
      ...(global ? {} : { namespace: scope }),
      labels: { [LABEL_SERVICE_LB_POOL]: 'true' },
    },
    spec: {
      addresses: entries(family, set),
      prefix: coveringPrefixLength(family, set),
      allocateReservedIPAddresses: true,
      ...(opts.descending ? { allocationStrategy: ALLOCATION_STRATEGY_HIGHEST } : {}),
      ...(excluded
        ? {
            namespaceSelector: {
              matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'NotIn', values: opts.ownSource }],
            },
          }
        : {}),
    },
  } as IPPool;
}

/** Pools that share addresses: kube-vip-cloud-provider may hand such an address out twice, and so may we. */
function overlapNotes(out: KubeVipConversion): void {
  const known = out.pools.map(({ pool }) => ({
    kind: pool.kind ?? '',
    namespace: pool.metadata?.namespace,
    name: pool.metadata?.name ?? '',
    spec: pool.spec,
  }));
  known.forEach((self, i) => {
    for (const warning of ipPoolWarnings(self, self.spec, known.slice(i + 1))) {
      const name = self.namespace
        ? `${self.kind} ${self.namespace}/${self.name}`
        : `${self.kind} ${self.name}`;
      out.notes.push(`${name}: ${warning}`);
    }
  });
}

/** The pools as a multi-document YAML stream, the notes as comments on top. */
export function renderKubeVipPools(conversion: KubeVipConversion): string {
  const comment = (lines: string[]) => lines.map((l) => `# ${l}\n`).join('');
  const header = comment([
    "Pools converted from kube-vip-cloud-provider's ConfigMap (npm run kubevip-pools). Review, then apply:",
    'see docs/migrating-from-kube-vip.md.',
    ...conversion.notes.map((n) => `NOTE ${n}`),
  ]);
  const docs = conversion.pools.map(
    ({ comments, pool }) => `---\n${comment(comments)}${stringify(pool, { lineWidth: 0 })}`,
  );
  return header + docs.join('');
}
