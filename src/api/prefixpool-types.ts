import type { AllocationStrategy, PrefixPoolKind } from './constants.js';
import type { IPPoolStatus, PreAllocation } from './ippool-types.js';
import type { KubeObject } from './meta.js';
import type { LabelSelector } from './selector.js';

/** Allocated child prefixes are /64 unless the pool says otherwise (CRD default and webhook). */
export const DEFAULT_ALLOCATION_PREFIX_LENGTH = 64;

/**
 * Spec of InClusterPrefixPool and GlobalInClusterPrefixPool, `v1alpha2` only. The two kinds share
 * spec and status; they differ only in scope. IPv6 only.
 */
export interface PrefixPoolSpec {
  /** Network-aligned IPv6 CIDRs the child prefixes are carved from; required. */
  prefixes: string[];
  /** Length of every allocated child prefix, 1–128; defaults to 64 and is immutable. */
  allocationPrefixLength?: number;
  /** Copied to every IPAddress as spec.gateway; informational, it blocks nothing. */
  gateway?: string;
  /** IPs, ranges and CIDRs: a child prefix overlapping any of them is never handed out. */
  excludedPrefixes?: string[];
  /** Ours: prefixes (`network/allocationPrefixLength`) kept for claims named in advance. */
  preAllocations?: PreAllocation[];
  /** Ours, GlobalInClusterPrefixPool only: which namespaces' claims it serves; absent = all. */
  namespaceSelector?: LabelSelector;
  /** Ours: which free prefix a claim gets; absent = Lowest (the Go provider's behaviour). */
  allocationStrategy?: AllocationStrategy;
}

/** Same JSON shape as the IP pools' status: counts of child prefixes, and our Ready condition. */
export type PrefixPoolStatus = IPPoolStatus;

export interface PrefixPool extends KubeObject {
  kind?: PrefixPoolKind;
  spec: PrefixPoolSpec;
  status?: PrefixPoolStatus;
}

/** The allocation length a spec means: 64 when unset or 0, as the Go provider's webhook defaults. */
export function effectiveAllocationPrefixLength(
  spec: Pick<PrefixPoolSpec, 'allocationPrefixLength'>,
): number {
  const length = spec.allocationPrefixLength;
  return length === undefined || length === null || length === 0 ? DEFAULT_ALLOCATION_PREFIX_LENGTH : length;
}
