/**
 * IP math: parsing of addresses, `a-b` ranges and CIDRs (Go `netip` rules), sets of `bigint`
 * ranges, exact and int64-capped counts, and a pool's allocatable set. Pure code, no I/O, and it
 * imports nothing else of ours.
 */
export {
  canonicalIP,
  compareIP,
  familyBits,
  familyMax,
  formatIP,
  type IP,
  type IPFamily,
  parseIP,
  type Result,
} from './address.js';
export {
  capToInt64,
  int64JSON,
  isRawJSON,
  MAX_INT64,
  MIN_INT64,
  parseWithInt64,
  type RawJSON,
  stringifyWithInt64,
} from './count.js';
export {
  type AddressEntry,
  type CIDR,
  entryFamily,
  entryWithinSubnet,
  inferSubnet,
  parseCIDR,
  parseEntry,
  parseRange,
  subnetRange,
} from './entry.js';
export { IntervalSet, type Range } from './interval-set.js';
export {
  type AllocatableSet,
  formatRanges,
  lowestAddress,
  type ParsedEntries,
  type PoolSpecInput,
  parseEntries,
  poolAllocatableSet,
} from './pool.js';
export {
  candidateIndex,
  formatChild,
  formatPrefix,
  overlappedChildren,
  type Prefix,
  type PrefixCandidates,
  type PrefixSpecInput,
  parsePrefix,
  prefixCandidates,
  prefixOfAddress,
} from './prefix.js';
