import type { AllocationStrategy, IPPoolKind } from './constants.js';
import type { Condition, KubeList, KubeObject } from './meta.js';
import type { LabelSelector } from './selector.js';

/**
 * One entry of `spec.preAllocations` (every pool kind): the address kept for the claim named here.
 * A pinned address is handed only to that claim, is not counted as free, and is used when the claim
 * appears.
 */
export interface PreAllocation {
  /** Name of the IPAddressClaim (a DNS-1123 subdomain). */
  claimName: string;
  /**
   * The claim's namespace (a DNS-1123 label): required in GlobalInClusterIPPool and
   * GlobalInClusterPrefixPool, forbidden in the namespaced kinds (their claims are in the pool's).
   */
  namespace?: string;
  /** IP pools: one IP. Prefix pools: one child, `network/allocationPrefixLength`. */
  address: string;
}

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
  /** Ours, beyond the Go provider: addresses kept for claims named in advance. */
  preAllocations?: PreAllocation[];
  /**
   * Ours, GlobalInClusterIPPool only (the namespaced kind's schema has no such field, so the API
   * server prunes it there): which namespaces' claims the pool serves; absent = every namespace.
   */
  namespaceSelector?: LabelSelector;
  /** Ours: which free address a claim gets; absent = Lowest (the Go provider's behaviour). */
  allocationStrategy?: AllocationStrategy;
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
  /** Ours: pre-allocations whose claim has not taken its address yet (not counted as free). */
  preAllocated?: number;
}

export interface IPPoolStatus {
  ipAddresses?: IPPoolStatusAddresses;
  /** Ours, beyond the Go provider: Ready (False while the spec is invalid). */
  conditions?: Condition[];
  /**
   * Ours: the address handed out last (prefix pools: its `network/length`), where RoundRobin goes on
   * from. Written by the controller.
   */
  lastAllocated?: string;
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
