/**
 * The claim flow's answers about chosen addresses and tenancy: why a claim cannot have the address
 * it asks for (or is pinned to), a warning when a bound claim asks for another, and a global pool
 * that does not serve the claim's namespace.
 */
import { isPrefixPoolKind } from '../api/constants.js';
import { selectorMatches } from '../api/selector.js';
import { canonicalIP } from '../ip/index.js';
import { ANNOTATION_REQUESTED_ADDRESS, canonicalChoice, whyNotAllocatable } from './chosen-address.js';
import { poolKeyOfRef } from './claim-rules.js';
import { Reasons } from './claim-status.js';
import { EXHAUSTED_RETRY_MS, notReady, poolName, type Run, type Step } from './claim-steps.js';
import type { LiveAddress, LiveClaim } from './context.js';
import type { ChosenOutcome, PoolState } from './pool-state.js';
import { prefixHoldKey } from './prefix-pools.js';

export function requestedAddress(claim: LiveClaim): string | undefined {
  return claim.metadata.annotations?.[ANNOTATION_REQUESTED_ADDRESS];
}

/** The chosen address cannot be had now: say why, and wait (its holder's release wakes the claim). */
export async function refuseChosen(
  run: Run,
  pool: PoolState,
  address: string,
  outcome: Exclude<ChosenOutcome, { reserved: string }>,
): Promise<Step> {
  if ('outside' in outcome) {
    const why = whyNotAllocatable(pool.kind, pool.pool, address);
    return notReady(run, Reasons.AddressNotInPool, `${poolName(pool)} cannot hand out ${address}: ${why}`);
  }
  pool.waiting.add(run.key);
  const by =
    'pinnedTo' in outcome
      ? `pinned to IPAddressClaim ${outcome.pinnedTo} by the pool's spec.preAllocations`
      : outcome.heldBy === run.key
        ? `not what this claim holds already (${pool.addressOf(run.key)}): an IPAddress is immutable`
        : outcome.heldBy === ''
          ? 'covered by an IPAddress of another prefix length'
          : `held by IPAddress ${outcome.heldBy}`;
  await notReady(
    run,
    Reasons.AddressInUse,
    `${address} in ${poolName(pool)} is ${by}; the claim waits for it`,
  );
  return { requeueAfterMs: EXHAUSTED_RETRY_MS };
}

/**
 * A claim that holds its address and whose annotation now asks for another: nothing changes (an
 * IPAddress is immutable), and a warning says so, once per value asked for.
 */
export function warnRequestedIgnored(run: Run, pool: PoolState, existing: LiveAddress): void {
  const requested = requestedAddress(run.claim);
  const asked = requested === undefined ? undefined : canonicalChoice(pool.kind, requested);
  const held = isPrefixPoolKind(pool.kind)
    ? prefixHoldKey(existing.spec.address, existing.spec.prefix)
    : (canonicalIP(existing.spec.address) ?? existing.spec.address);
  if (!asked?.ok || asked.value === held) {
    run.warned.delete(run.key);
    return;
  }
  if (run.warned.get(run.key) === asked.value) return;
  run.warned.set(run.key, asked.value);
  run.ctx.recorder.warning(
    run.claim,
    'RequestedAddressIgnored',
    `${ANNOTATION_REQUESTED_ADDRESS} asks for ${asked.value}, but the claim holds ${held} (IPAddress ${run.key}), which never changes: delete the claim to be given another address`,
  );
}

/**
 * A global pool that does not select the claim's namespace: no address, and no finalizer either
 * (nothing to release). An address already handed out is never revoked by a selector or a label
 * that changed since: only claims still waiting follow the new rule.
 */
export function refuseNamespace(run: Run): Promise<Step> | undefined {
  const { ctx, key, claim } = run;
  const pool = ctx.registry.get(poolKeyOfRef(claim.spec.poolRef, claim.metadata.namespace));
  if (pool?.namespaceSelector === undefined) return undefined;
  if (ctx.addresses.get(key) || pool.addressOf(key) !== undefined) return undefined;
  const namespace = claim.metadata.namespace ?? '';
  const labels = ctx.namespaces.get(namespace)?.metadata.labels;
  if (selectorMatches(pool.namespaceSelector, labels)) return undefined;
  const message = `${poolName(pool)} does not serve namespace ${namespace}: its spec.namespaceSelector does not select it`;
  return notReady(run, Reasons.NamespaceNotAllowed, message);
}
