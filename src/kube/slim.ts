/**
 * What an informer keeps of an object. A controller's caches hold every claim and IPAddress of the
 * cluster, so per-object bytes decide its memory: managedFields are most of an object and never
 * read; kubectl's last-applied annotation repeats the whole object; and JSON.parse makes a new copy
 * of every repeated string (apiVersion, kind, namespace, finalizers, pool names, condition types),
 * which interning turns into one shared string.
 */
import type { KubeObject } from './resource.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Keys whose string values repeat across objects (few distinct values in a cluster). */
const REPEATING_KEYS: ReadonlySet<string> = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'apiGroup',
  'type',
  'status',
  'reason',
  'gateway',
  'clusterName',
  'cluster.x-k8s.io/cluster-name',
  'cluster.x-k8s.io/watch-filter',
]);
/** Arrays of repeating strings. */
const REPEATING_LISTS: ReadonlySet<string> = new Set(['finalizers']);
/** Objects whose `name` repeats (a pool's name in every reference to it); owner references are
 * left alone: most name a claim or a machine, each one unique. */
const REPEATING_NAME_PARENTS: ReadonlySet<string> = new Set(['poolRef']);

/** Distinct strings kept; past it new values are left as they are, so memory stays bounded. */
const MAX_INTERNED = 20_000;

export class StringInterner {
  private readonly table = new Map<string, string>();

  intern(value: string): string {
    const known = this.table.get(value);
    if (known !== undefined) return known;
    if (this.table.size < MAX_INTERNED) this.table.set(value, value);
    return value;
  }

  get size(): number {
    return this.table.size;
  }
}

function internIn(value: unknown, parentKey: string, interner: StringInterner): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'string' && REPEATING_LISTS.has(parentKey)) value[i] = interner.intern(item);
      else internIn(item, parentKey, interner);
    }
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (typeof v === 'string') {
      if (REPEATING_KEYS.has(key) || (key === 'name' && REPEATING_NAME_PARENTS.has(parentKey)))
        obj[key] = interner.intern(v);
    } else if (typeof v === 'object' && v !== null) {
      internIn(v, key, interner);
    }
  }
}

/**
 * An informer transform: drops managedFields and the last-applied annotation and interns repeated
 * strings. Dropped fields are left out of fresh objects rather than deleted: `delete` turns a V8
 * object into a slower, larger dictionary.
 */
export function slimForCache(interner = new StringInterner()): <T extends KubeObject>(obj: T) => T {
  return <T extends KubeObject>(obj: T): T => {
    const { managedFields: _managed, annotations, ...metadata } = obj.metadata;
    let kept = annotations;
    if (annotations && LAST_APPLIED in annotations) {
      const { [LAST_APPLIED]: _lastApplied, ...rest } = annotations;
      kept = Object.keys(rest).length > 0 ? rest : undefined;
    }
    const slim = { ...obj, metadata: kept ? { ...metadata, annotations: kept } : metadata };
    internIn(slim, '', interner);
    return slim;
  };
}
