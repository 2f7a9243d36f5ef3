import type {
  ApplyOptions,
  DeleteOptions,
  KubeClient,
  ListOptions,
  PatchType,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from './client.js';
import type { KubeObject, ObjectList, ResourceDescriptor, Status } from './resource.js';

/** KubeClient bound to one resource, so call sites read `claims.get(name, namespace)`. */
export class ResourceClient<T extends KubeObject> {
  constructor(
    readonly client: KubeClient,
    readonly resource: ResourceDescriptor,
  ) {}

  get(name: string, namespace?: string, signal?: AbortSignal): Promise<T> {
    return this.client.get<T>(this.resource, name, namespace, signal);
  }
  list(opts?: ListOptions): Promise<ObjectList<T>> {
    return this.client.list<T>(this.resource, opts);
  }
  listAll(opts?: ListOptions): Promise<{ items: T[]; resourceVersion: string }> {
    return this.client.listAll<T>(this.resource, opts);
  }
  create(obj: T, opts?: WriteOptions): Promise<T> {
    return this.client.create(this.resource, obj, opts);
  }
  update(obj: T, opts?: WriteOptions): Promise<T> {
    return this.client.update(this.resource, obj, opts);
  }
  updateStatus(obj: T, opts?: WriteOptions): Promise<T> {
    return this.client.updateStatus(this.resource, obj, opts);
  }
  patch(
    name: string,
    patch: unknown,
    opts?: WriteOptions & { namespace?: string; type?: PatchType; subresource?: string },
  ): Promise<T> {
    return this.client.patch<T>(this.resource, name, patch, opts);
  }
  patchStatus(
    name: string,
    patch: unknown,
    opts?: WriteOptions & { namespace?: string; type?: PatchType },
  ): Promise<T> {
    return this.client.patchStatus<T>(this.resource, name, patch, opts);
  }
  apply(obj: T, opts: ApplyOptions): Promise<T> {
    return this.client.apply(this.resource, obj, opts);
  }
  applyStatus(obj: T, opts: ApplyOptions): Promise<T> {
    return this.client.applyStatus(this.resource, obj, opts);
  }
  delete(name: string, namespace?: string, opts?: DeleteOptions): Promise<T | Status> {
    return this.client.delete<T>(this.resource, name, namespace, opts);
  }
  watch(opts?: WatchOptions): AsyncGenerator<WatchEvent<T>, void, undefined> {
    return this.client.watch<T>(this.resource, opts);
  }
}
