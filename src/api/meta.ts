/**
 * The parts of Kubernetes' object metadata our code reads or writes, as they appear in JSON.
 * Optional everywhere the API server may omit a field.
 */

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
}

/** A top-level API object: what every kind below has in common. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
}

export interface KubeList<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: ListMeta;
  items: T[];
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** `metav1.Condition`, as used by Cluster API v1beta2 and by our claims' Ready condition. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** Cluster API's v1beta1-era condition (`clusterv1beta1.Condition`). */
export interface V1Beta1Condition {
  type: string;
  status: ConditionStatus;
  severity?: string;
  reason?: string;
  message?: string;
  lastTransitionTime: string;
}

/** Key presence check, as Cluster API does for annotations such as paused. */
export function hasAnnotation(obj: KubeObject, key: string): boolean {
  const annotations: unknown = obj.metadata?.annotations;
  // Objects reach us from webhooks unchecked: annotations may be anything there.
  return typeof annotations === 'object' && annotations !== null && Object.hasOwn(annotations, key);
}
