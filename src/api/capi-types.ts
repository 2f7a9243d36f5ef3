/**
 * Cluster API kinds we consume: IPAddressClaim and IPAddress (group ipam.cluster.x-k8s.io) and
 * Cluster (group cluster.x-k8s.io). v1beta2 is stored from Cluster API 1.11; v1beta1 is the
 * stored version on 1.6–1.10, so both shapes are typed.
 */
import type { Condition, KubeList, KubeObject, V1Beta1Condition } from './meta.js';

/** v1beta2 `IPPoolReference`: all three fields required. */
export interface IPPoolReference {
  apiGroup: string;
  kind: string;
  name: string;
}

/** v1alpha1/v1beta1 `TypedLocalObjectReference`: apiGroup optional. */
export interface TypedLocalObjectReference {
  apiGroup?: string;
  kind: string;
  name: string;
}

export interface IPAddressClaimSpec {
  clusterName?: string;
  poolRef: IPPoolReference;
}

export interface IPAddressClaimStatus {
  addressRef?: { name: string };
  conditions?: Condition[];
  deprecated?: { v1beta1?: { conditions?: V1Beta1Condition[] } };
}

/** IPAddressClaim, v1beta2. */
export interface IPAddressClaim extends KubeObject {
  spec: IPAddressClaimSpec;
  status?: IPAddressClaimStatus;
}
export type IPAddressClaimList = KubeList<IPAddressClaim>;

export interface IPAddressSpec {
  claimRef: { name: string };
  poolRef: IPPoolReference;
  address: string;
  /** Required in v1beta2 (a pointer so 0 survives); for IP pools the pool's prefix. */
  prefix: number;
  /** Omit rather than write "": v1beta2 has minLength 1. */
  gateway?: string;
}

/** IPAddress, v1beta2. It has no status. */
export interface IPAddress extends KubeObject {
  spec: IPAddressSpec;
}
export type IPAddressList = KubeList<IPAddress>;

/** IPAddressClaim, v1beta1 (Cluster API 1.6–1.10). */
export interface IPAddressClaimV1Beta1 extends KubeObject {
  spec: { clusterName?: string; poolRef: TypedLocalObjectReference };
  status?: {
    addressRef?: { name?: string };
    conditions?: V1Beta1Condition[];
    v1beta2?: { conditions?: Condition[] };
  };
}

/** IPAddress, v1beta1 (Cluster API 1.6–1.10). */
export interface IPAddressV1Beta1 extends KubeObject {
  spec: {
    claimRef: { name?: string };
    poolRef: TypedLocalObjectReference;
    address: string;
    prefix: number;
    gateway?: string;
  };
}

/** The part of a Cluster the provider reads: whether it is paused. */
export interface ClusterSpec {
  paused?: boolean;
  controlPlaneEndpoint?: { host?: string; port?: number };
  clusterNetwork?: {
    apiServerPort?: number;
    pods?: { cidrBlocks: string[] };
    services?: { cidrBlocks: string[] };
    serviceDomain?: string;
  };
}

export interface Cluster extends KubeObject {
  spec?: ClusterSpec;
  status?: Record<string, unknown>;
}
