import { Connection, type ConnectionOptions, type ConnectionStats } from './connection.js';
import { isNotFound, isStatus } from './errors.js';
import type { KubeConfig } from './kubeconfig.js';
import {
  apiVersionOf,
  groupVersionPath,
  type KubeObject,
  type ObjectList,
  type ResourceDescriptor,
  resourcePath,
  type Status,
} from './resource.js';
import { ResourceClient } from './resource-client.js';

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size; the API server pages with limit/continue. */
  limit?: number;
  continue?: string;
  /** Unset: a consistent read from etcd (what a controller needs for its initial list). */
  resourceVersion?: string;
  signal?: AbortSignal;
}

export interface WriteOptions {
  fieldManager?: string;
  dryRun?: boolean;
  signal?: AbortSignal;
}

export type PatchType = 'merge' | 'json' | 'strategic';

export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

export interface ApplyOptions extends WriteOptions {
  /** Server-side apply needs a field manager; it names who owns the fields. */
  fieldManager: string;
  /** Take over fields another manager owns instead of failing with a conflict. */
  force?: boolean;
}

export interface DeleteOptions {
  /** Delete only if the object is still this one (uid) and unchanged (resourceVersion). */
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  gracePeriodSeconds?: number;
  signal?: AbortSignal;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export type WatchEvent<T extends KubeObject> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: T }
  | { type: 'ERROR'; object: Status };

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowBookmarks?: boolean;
  /** The server ends the watch after this long; the informer then watches again. */
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

export interface APIResourceList {
  groupVersion: string;
  resources: { name: string; kind: string; namespaced: boolean; verbs: string[] }[];
}

const patchContentTypes: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

function nameAndNamespace(resource: ResourceDescriptor, obj: KubeObject): [string | undefined, string] {
  const name = obj.metadata.name;
  if (!name) throw new Error(`${resource.kind}: the object has no metadata.name`);
  return [resource.namespaced ? obj.metadata.namespace : undefined, name];
}

/**
 * Generic typed access to any kind, through one pooled connection. Methods take the resource
 * descriptor; `resource()` binds one for shorter call sites.
 */
export class KubeClient {
  constructor(readonly connection: Connection) {}

  static fromDefault(options?: ConnectionOptions): KubeClient {
    return new KubeClient(Connection.fromDefault(options));
  }

  static fromFile(path: string, options?: ConnectionOptions): KubeClient {
    return new KubeClient(Connection.fromFile(path, options));
  }

  static fromKubeConfig(kubeConfig: KubeConfig, options?: ConnectionOptions): KubeClient {
    return new KubeClient(new Connection(kubeConfig, options));
  }

  /** Binds a resource, so call sites read `claims.get(name, namespace)`. */
  resource<T extends KubeObject>(resource: ResourceDescriptor): ResourceClient<T> {
    return new ResourceClient<T>(this, resource);
  }

  connectionStats(): ConnectionStats {
    return this.connection.connectionStats();
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  get<T extends KubeObject>(
    resource: ResourceDescriptor,
    name: string,
    namespace?: string,
    signal?: AbortSignal,
  ): Promise<T> {
    return this.connection.request<T>({
      method: 'GET',
      path: resourcePath(resource, namespace, name),
      signal,
    });
  }

  /** One page. Use listAll for everything (paged under the hood). */
  list<T extends KubeObject>(resource: ResourceDescriptor, opts: ListOptions = {}): Promise<ObjectList<T>> {
    return this.connection.request<ObjectList<T>>({
      method: 'GET',
      path: resourcePath(resource, opts.namespace),
      query: {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: opts.limit,
        continue: opts.continue,
        resourceVersion: opts.resourceVersion,
      },
      signal: opts.signal,
    });
  }

  /**
   * Every object, fetched in pages of `limit` (default 500). All pages come from one snapshot, so
   * the returned resourceVersion is a consistent point to watch from.
   */
  async listAll<T extends KubeObject>(
    resource: ResourceDescriptor,
    opts: ListOptions & {
      /**
       * Applied to each item as its page arrives, so a caller that keeps less than the whole object
       * (an informer dropping managedFields) never holds every raw page at once: at 200k objects
       * that was ~600 MB of peak heap, which V8 then kept.
       */
      map?: (item: T) => T;
      /** After each page: items so far, and how many the server says remain (when it says). */
      onPage?: (listed: number, remaining: number | undefined) => void;
    } = {},
  ): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let resourceVersion = '';
    let continueToken: string | undefined;
    do {
      const page = await this.list<T>(resource, {
        ...opts,
        limit: opts.limit ?? 500,
        continue: continueToken,
      });
      const apiVersion = apiVersionOf(resource);
      // Items of a list carry no apiVersion/kind; fill them in so cached objects are self-describing.
      for (const item of page.items) {
        const full = { apiVersion, kind: resource.kind, ...item };
        items.push(opts.map ? opts.map(full) : full);
      }
      if (!continueToken) resourceVersion = page.metadata.resourceVersion ?? '';
      continueToken = page.metadata.continue || undefined;
      opts.onPage?.(items.length, continueToken ? page.metadata.remainingItemCount : 0);
    } while (continueToken);
    return { items, resourceVersion };
  }

  create<T extends KubeObject>(resource: ResourceDescriptor, obj: T, opts: WriteOptions = {}): Promise<T> {
    const namespace = resource.namespaced ? obj.metadata.namespace : undefined;
    if (resource.namespaced && !namespace) throw new Error(`${resource.kind}: creating needs a namespace`);
    return this.connection.request<T>({
      method: 'POST',
      path: resourcePath(resource, namespace),
      query: writeQuery(opts),
      body: { apiVersion: apiVersionOf(resource), kind: resource.kind, ...obj },
      signal: opts.signal,
    });
  }

  /** PUT: fails with Conflict when metadata.resourceVersion is no longer current. */
  update<T extends KubeObject>(resource: ResourceDescriptor, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.put(resource, obj, undefined, opts);
  }

  updateStatus<T extends KubeObject>(
    resource: ResourceDescriptor,
    obj: T,
    opts: WriteOptions = {},
  ): Promise<T> {
    return this.put(resource, obj, 'status', opts);
  }

  patch<T extends KubeObject>(
    resource: ResourceDescriptor,
    name: string,
    patch: unknown,
    opts: WriteOptions & { namespace?: string; type?: PatchType; subresource?: string } = {},
  ): Promise<T> {
    return this.connection.request<T>({
      method: 'PATCH',
      path: resourcePath(resource, opts.namespace, name, opts.subresource),
      query: writeQuery(opts),
      body: patch,
      contentType: patchContentTypes[opts.type ?? 'merge'],
      signal: opts.signal,
    });
  }

  patchStatus<T extends KubeObject>(
    resource: ResourceDescriptor,
    name: string,
    patch: unknown,
    opts: WriteOptions & { namespace?: string; type?: PatchType } = {},
  ): Promise<T> {
    return this.patch<T>(resource, name, patch, { ...opts, subresource: 'status' });
  }

  /** Server-side apply: the fields in `obj` become owned by `fieldManager`. */
  apply<T extends KubeObject>(resource: ResourceDescriptor, obj: T, opts: ApplyOptions): Promise<T> {
    return this.applyTo(resource, obj, undefined, opts);
  }

  applyStatus<T extends KubeObject>(resource: ResourceDescriptor, obj: T, opts: ApplyOptions): Promise<T> {
    return this.applyTo(resource, obj, 'status', opts);
  }

  /**
   * Deletes an object. Returns the object when it still exists afterwards (finalizers), or the
   * server's Status when it is gone.
   */
  delete<T extends KubeObject>(
    resource: ResourceDescriptor,
    name: string,
    namespace?: string,
    opts: DeleteOptions = {},
  ): Promise<T | Status> {
    const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' };
    if (opts.preconditions) body.preconditions = opts.preconditions;
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    return this.connection.request<T | Status>({
      method: 'DELETE',
      path: resourcePath(resource, namespace, name),
      body,
      signal: opts.signal,
    });
  }

  /**
   * Watches a collection. Yields events until the server ends the watch (timeoutSeconds) or the
   * signal aborts; throws KubeApiError when the watch cannot be opened or the stream breaks.
   */
  async *watch<T extends KubeObject>(
    resource: ResourceDescriptor,
    opts: WatchOptions = {},
  ): AsyncGenerator<WatchEvent<T>, void, undefined> {
    const lines = await this.connection.streamLines({
      method: 'GET',
      path: resourcePath(resource, opts.namespace),
      query: {
        watch: 1,
        resourceVersion: opts.resourceVersion,
        allowWatchBookmarks: opts.allowBookmarks ?? true,
        timeoutSeconds: opts.timeoutSeconds,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
      },
      signal: opts.signal,
    });
    const apiVersion = apiVersionOf(resource);
    for await (const line of lines) {
      const event = JSON.parse(line) as { type: WatchEventType; object: unknown };
      if (event.type === 'ERROR') {
        const status = isStatus(event.object) ? event.object : { message: String(line) };
        yield { type: 'ERROR', object: status };
      } else {
        const object = event.object as T;
        yield { type: event.type, object: { apiVersion, kind: resource.kind, ...object } };
      }
    }
  }

  /** The resources a group version serves, or undefined when it is not served (discovery). */
  async discover(group: string, version: string): Promise<APIResourceList | undefined> {
    try {
      return await this.connection.request<APIResourceList>({
        method: 'GET',
        path: groupVersionPath({ group, version }),
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private put<T extends KubeObject>(
    resource: ResourceDescriptor,
    obj: T,
    subresource: string | undefined,
    opts: WriteOptions,
  ): Promise<T> {
    const [namespace, name] = nameAndNamespace(resource, obj);
    return this.connection.request<T>({
      method: 'PUT',
      path: resourcePath(resource, namespace, name, subresource),
      query: writeQuery(opts),
      body: { apiVersion: apiVersionOf(resource), kind: resource.kind, ...obj },
      signal: opts.signal,
    });
  }

  private applyTo<T extends KubeObject>(
    resource: ResourceDescriptor,
    obj: T,
    subresource: string | undefined,
    opts: ApplyOptions,
  ): Promise<T> {
    const [namespace, name] = nameAndNamespace(resource, obj);
    return this.connection.request<T>({
      method: 'PATCH',
      path: resourcePath(resource, namespace, name, subresource),
      query: { ...writeQuery(opts), force: opts.force ? true : undefined },
      // JSON is YAML, and apply needs apiVersion and kind in the body.
      body: { apiVersion: apiVersionOf(resource), kind: resource.kind, ...obj },
      contentType: 'application/apply-patch+yaml',
      signal: opts.signal,
    });
  }
}

function writeQuery(opts: WriteOptions): Record<string, string | undefined> {
  return { fieldManager: opts.fieldManager, dryRun: opts.dryRun ? 'All' : undefined };
}
