import type { IPPoolKind } from './constants.js';
import type { Condition, KubeList, KubeObject } from './meta.js';

/**
 * Spec of InClusterIPPool and GlobalInClusterIPPool, `v1alpha2` (the stored version). The two kinds
 * share spec and status; they differ only in scope.
 */
export interface IPPoolSpec {
  /** IPs, `a-b` ranges and CIDRs; required (validation rejects an empty list). */
  addresses: string[];
  /** Length of the subnet inferred from the lowest address; 0–128. */
  prefix: number;
  gateway?: string;
  allocateReservedIPAddresses?: boolean;
  excludedAddresses?: string[];
  addressReuseGracePeriodSeconds?: number;
}

/**
 * Counts in a pool status. Written as JSON integers; they are int64 in the CRD and may exceed
 * Number.MAX_SAFE_INTEGER for IPv6 pools, so writers serialise them from bigint themselves.
 */
export interface IPPoolStatusAddresses {
  total: number;
  free: number;
  used: number;
  outOfRange: number;
}

export interface IPPoolStatus {
  ipAddresses?: IPPoolStatusAddresses;
  /** Ours, beyond the Go provider: Ready (False while the spec is invalid). */
  conditions?: Condition[];
}

export interface IPPool extends KubeObject {
  kind?: IPPoolKind;
  spec: IPPoolSpec;
  status?: IPPoolStatus;
}
export type InClusterIPPool = IPPool & { kind?: 'InClusterIPPool' };
export type GlobalInClusterIPPool = IPPool & { kind?: 'GlobalInClusterIPPool' };
export type IPPoolList = KubeList<IPPool>;

/** Spec of the deprecated `v1alpha1` IP pools. */
export interface IPPoolSpecV1Alpha1 {
  addresses?: string[];
  /** A CIDR; start/end/prefix default from it. */
  subnet?: string;
  /** First address to hand out ("First" in the Go type, `start` in JSON). */
  start?: string;
  /** Last address to hand out ("Last" in the Go type, `end` in JSON). */
  end?: string;
  prefix?: number;
  gateway?: string;
}

export interface IPPoolV1Alpha1 extends KubeObject {
  kind?: IPPoolKind;
  spec?: IPPoolSpecV1Alpha1;
  status?: IPPoolStatus;
}
