// Generic shapes every Kubernetes object shares. The typed kinds live in src/api; this layer only
// needs a resource descriptor to build paths and the metadata to key, cache and order objects.

/** Where a kind is served: enough to build every REST path for it. */
export interface ResourceDescriptor {
  /** API group; '' for the core group (ConfigMaps, Events, Namespaces). */
  readonly group: string;
  readonly version: string;
  /** Lower-case plural used in paths, e.g. 'ipaddressclaims'. */
  readonly plural: string;
  readonly namespaced: boolean;
  readonly kind: string;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface ObjectList<T extends KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: ListMeta;
  items: T[];
}

/** The `Status` kind the API server answers errors (and some deletes) with. */
export interface Status {
  apiVersion?: string;
  kind?: 'Status';
  status?: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
    retryAfterSeconds?: number;
  };
}

export function apiVersionOf(resource: ResourceDescriptor): string {
  return resource.group ? `${resource.group}/${resource.version}` : resource.version;
}

/** `/api/v1` for the core group, `/apis/<group>/<version>` for the others. */
export function groupVersionPath(resource: Pick<ResourceDescriptor, 'group' | 'version'>): string {
  return resource.group ? `/apis/${resource.group}/${resource.version}` : `/api/${resource.version}`;
}

/**
 * The REST path of a collection (no name) or of one object, optionally of its subresource. A
 * namespaced resource without a namespace addresses the collection across all namespaces.
 */
export function resourcePath(
  resource: ResourceDescriptor,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  if (resource.namespaced && name !== undefined && !namespace) {
    throw new Error(`${resource.kind} ${name}: a namespaced object needs a namespace`);
  }
  let path = groupVersionPath(resource);
  if (resource.namespaced && namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${resource.plural}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  if (subresource !== undefined) path += `/${subresource}`;
  return path;
}

/** The cache key controllers and the work queue use: `namespace/name`, or `name` when cluster-scoped. */
export function objectKey(obj: { metadata: Pick<ObjectMeta, 'name' | 'namespace'> }): string {
  const name = obj.metadata.name ?? '';
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${name}` : name;
}

export function splitObjectKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/**
 * Orders two resourceVersions of the same object. They are opaque strings to clients, but every
 * API server backed by etcd issues them as increasing integers, so compare them as such and fall
 * back to "not comparable" (undefined) otherwise.
 */
export function compareResourceVersions(a: string | undefined, b: string | undefined): number | undefined {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
