import { type KubeObject, objectKey } from './resource.js';

/** Returns the index values an object is filed under (none, one or several). */
export type IndexFunc<T> = (obj: T) => readonly string[];

/** A conventional name for a `byNamespace` index, for callers that want one. */
export const NAMESPACE_INDEX = 'namespace';

export function byNamespace(obj: KubeObject): string[] {
  return [obj.metadata.namespace ?? ''];
}

/**
 * The informer's view of a collection: objects by `namespace/name` plus secondary indexes kept in
 * step on every change. Objects handed out are the cache's own; treat them as read-only and copy
 * before changing (structuredClone), or the cache no longer matches the server.
 */
export class Cache<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  // index name → index value → object keys
  private readonly indexes = new Map<string, Map<string, Set<string>>>();

  // No index by default, not even by namespace: each one costs an entry per object.
  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    for (const [name, fn] of Object.entries(indexers)) this.addIndex(name, fn);
  }

  /** Adds an index; objects already cached are filed at once. */
  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.indexers.has(name)) throw new Error(`index ${name} already exists`);
    this.indexers.set(name, fn);
    const index = new Map<string, Set<string>>();
    this.indexes.set(name, index);
    for (const [key, obj] of this.items) file(index, fn(obj), key);
  }

  get size(): number {
    return this.items.size;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  getByName(name: string, namespace?: string): T | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  list(): T[] {
    return [...this.items.values()];
  }

  /** The objects filed under `value` in index `indexName`. */
  byIndex(indexName: string, value: string): T[] {
    const keys = this.indexKeys(indexName, value);
    const out: T[] = [];
    for (const key of keys) {
      const obj = this.items.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  indexKeys(indexName: string, value: string): string[] {
    const index = this.indexes.get(indexName);
    if (!index) throw new Error(`no index named ${indexName}`);
    return [...(index.get(value) ?? [])];
  }

  /** The values an index currently holds (e.g. every namespace with an object). */
  indexValues(indexName: string): string[] {
    const index = this.indexes.get(indexName);
    if (!index) throw new Error(`no index named ${indexName}`);
    return [...index.keys()];
  }

  /** Stores an object and returns the one it replaced. Only the informer writes. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (old) this.unfile(key, old);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexers) {
      const index = this.indexes.get(name);
      if (index) file(index, fn(obj), key);
    }
    return old;
  }

  remove(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unfile(key, old);
    this.items.delete(key);
    return old;
  }

  private unfile(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const index = this.indexes.get(name);
      if (!index) continue;
      for (const value of fn(obj)) {
        const keys = index.get(value);
        if (!keys) continue;
        keys.delete(key);
        if (keys.size === 0) index.delete(value);
      }
    }
  }
}

function file(index: Map<string, Set<string>>, values: readonly string[], key: string): void {
  for (const value of values) {
    let keys = index.get(value);
    if (!keys) {
      keys = new Set();
      index.set(value, keys);
    }
    keys.add(key);
  }
}
