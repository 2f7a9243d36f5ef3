/**
 * What the controller keeps of each claim and IPAddress it caches. A cluster has one of each per
 * machine address, and the controller holds all of them: at 100k of each, every field kept costs
 * megabytes. So a record holds only what the reconcilers, the registry and the informer read, and
 * the parts that repeat from object to object (a pool's reference, the finalizer list, the Paused
 * condition, a reference to the pool in ownerReferences) are one shared, frozen object each.
 * Records are read-only like every cached object: writers copy (`[...finalizers, f]`).
 *
 * Kept for a claim: name, namespace, uid (the informer tells incarnations apart), resourceVersion,
 * generation (observedGeneration), deletionTimestamp, finalizers, labels, annotations, spec, status,
 * and the owner references of a Service load-balancer claim (a label under KEEP_OWNERS_LABELS):
 * they say which Services hold it, and there are few such claims.
 * Kept for an IPAddress: the same metadata but generation, plus ownerReferences (adoption checks
 * them), and its spec. Dropped: managedFields, creationTimestamp, a claim's ownerReferences (the
 * machine that made it; nothing here reads them), kubectl's last-applied annotation.
 */
import type { Condition } from '../api/meta.js';
import type { ObjectMeta, StringInterner } from '../kube/index.js';
import type { LiveAddress, LiveClaim } from './context.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** A claim carrying one of these labels keeps its owner references (service-lb-rules.ts). */
const KEEP_OWNERS_LABELS = [
  'ipam.cluster.x-k8s.io/service-lb-of',
  'ipam.cluster.x-k8s.io/service-lb-shared-key',
];

/** Frozen objects shared by content, bounded like the string table. */
class SharedObjects {
  private readonly table = new Map<string, object>();
  constructor(private readonly max = 5_000) {}

  share<T extends object>(key: string, make: () => T): T {
    const known = this.table.get(key);
    if (known !== undefined) return known as T;
    const value = Object.freeze(make());
    if (this.table.size < this.max) this.table.set(key, value);
    return value;
  }
}

type Strings = Record<string, string>;

export interface RecordMakers {
  claim(obj: LiveClaim): LiveClaim;
  address(obj: LiveAddress): LiveAddress;
}

export function cacheRecords(strings: StringInterner): RecordMakers {
  const shared = new SharedObjects();
  const s = (v: string | undefined) => (v === undefined ? undefined : strings.intern(v));

  const list = (values: readonly string[] | undefined): string[] | undefined =>
    values === undefined
      ? undefined
      : shared.share(`l\0${values.join('\0')}`, () => values.map((v) => strings.intern(v)));

  const map = (values: Strings | undefined, drop?: string): Strings | undefined => {
    if (values === undefined) return undefined;
    let out: Strings | undefined;
    for (const [k, v] of Object.entries(values)) {
      if (k === drop) continue;
      out ??= {};
      out[strings.intern(k)] = strings.intern(v);
    }
    return out;
  };

  const ref = <T extends object>(r: T | undefined): T | undefined =>
    r === undefined || typeof r !== 'object'
      ? r
      : shared.share(`r\0${JSON.stringify(r)}`, () => {
          const out: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(r as Record<string, unknown>))
            out[k] = typeof v === 'string' ? strings.intern(v) : v;
          return out as T;
        });

  // An empty message marks a condition that repeats verbatim (Paused=False): shared. Others carry
  // their address or pool in the message and stay per object, with their repeating parts interned.
  const condition = (c: Condition): Condition => {
    const compact = (): Condition => ({
      ...c,
      type: strings.intern(c.type),
      status: strings.intern(c.status) as Condition['status'],
      reason: strings.intern(c.reason),
      lastTransitionTime: strings.intern(c.lastTransitionTime),
    });
    return c.message === '' || c.message === undefined
      ? shared.share(`c\0${JSON.stringify(c)}`, compact)
      : compact();
  };
  const conditions = (cs: unknown): unknown =>
    Array.isArray(cs) ? cs.map((c) => (isCondition(c) ? condition(c) : c)) : cs;

  /** The metadata fields every record keeps; `name` is the one string other fields may reuse. */
  const metadata = (m: ObjectMeta, extra: Partial<ObjectMeta>): ObjectMeta => {
    const out: ObjectMeta = {
      name: m.name,
      namespace: s(m.namespace),
      uid: m.uid,
      resourceVersion: m.resourceVersion,
    };
    if (m.deletionTimestamp !== undefined) out.deletionTimestamp = m.deletionTimestamp;
    const finalizers = list(m.finalizers);
    if (finalizers) out.finalizers = finalizers;
    const labels = map(m.labels);
    if (labels) out.labels = labels;
    const annotations = map(m.annotations, LAST_APPLIED);
    if (annotations) out.annotations = annotations;
    return Object.assign(out, extra);
  };
  // The claim's own name appears again in addressRef, claimRef and the claim's owner reference.
  const sameName = (name: string | undefined, v: string | undefined) =>
    v !== undefined && v === name ? name : v;

  return {
    claim(c) {
      const m = c.metadata;
      const status = c.status as
        | (Record<string, unknown> & { v1beta2?: Record<string, unknown> })
        | undefined;
      const addressRef = status?.addressRef as { name?: string } | undefined;
      return {
        apiVersion: strings.intern(c.apiVersion ?? ''),
        kind: strings.intern(c.kind ?? ''),
        metadata: metadata(m, {
          ...(m.generation === undefined ? {} : { generation: m.generation }),
          ...(m.ownerReferences && KEEP_OWNERS_LABELS.some((l) => m.labels?.[l] !== undefined)
            ? { ownerReferences: m.ownerReferences }
            : {}),
        }),
        spec: c.spec && {
          ...c.spec,
          poolRef: ref(c.spec.poolRef as never) ?? c.spec.poolRef,
          ...(c.spec.clusterName === undefined ? {} : { clusterName: strings.intern(c.spec.clusterName) }),
        },
        ...(status === undefined
          ? {}
          : {
              status: {
                ...status,
                ...(addressRef?.name === undefined
                  ? {}
                  : { addressRef: { name: sameName(m.name, addressRef.name) } }),
                ...(status.conditions === undefined ? {} : { conditions: conditions(status.conditions) }),
                ...(status.v1beta2?.conditions === undefined
                  ? {}
                  : { v1beta2: { ...status.v1beta2, conditions: conditions(status.v1beta2.conditions) } }),
              },
            }),
      } as LiveClaim;
    },

    address(a) {
      const m = a.metadata;
      const owners = m.ownerReferences?.map((o) =>
        o.name === m.name
          ? { ...o, apiVersion: strings.intern(o.apiVersion), kind: strings.intern(o.kind), name: m.name }
          : ref(o),
      );
      const spec = a.spec;
      return {
        apiVersion: strings.intern(a.apiVersion ?? ''),
        kind: strings.intern(a.kind ?? ''),
        metadata: metadata(m, owners ? { ownerReferences: owners as ObjectMeta['ownerReferences'] } : {}),
        spec: spec && {
          ...spec,
          ...(spec.gateway === undefined ? {} : { gateway: strings.intern(spec.gateway) }),
          claimRef: spec.claimRef && { ...spec.claimRef, name: sameName(m.name, spec.claimRef.name) ?? '' },
          poolRef: ref(spec.poolRef as never) ?? spec.poolRef,
        },
      } as LiveAddress;
    },
  };
}

function isCondition(c: unknown): c is Condition {
  if (typeof c !== 'object' || c === null) return false;
  const o = c as Record<string, unknown>;
  return (
    typeof o.type === 'string' &&
    typeof o.status === 'string' &&
    typeof o.reason === 'string' &&
    typeof o.lastTransitionTime === 'string'
  );
}
