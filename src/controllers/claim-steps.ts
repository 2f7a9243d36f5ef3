/**
 * The claim reconciler's shared steps: what one reconcile carries (Run), how pools and claims are
 * named in messages, and the status answers every step ends with.
 */
import type { ReconcileResult } from '../kube/index.js';
import {
  claimConditions,
  claimReady,
  PAUSED,
  READY,
  Reasons,
  type StatusRun,
  writeConditions,
} from './claim-status.js';
import type { ConditionInput } from './conditions.js';
import type { ControllerContext, LiveClaim } from './context.js';
import type { PoolState } from './pool-state.js';

/** Claims waiting on an exhausted pool (or a held address) also retry this often, in case a wake-up is missed. */
export const EXHAUSTED_RETRY_MS = 60_000;

export type Step = ReconcileResult | undefined;

export interface Run extends StatusRun {
  log: ControllerContext['log'];
  /** Claim key → the requested address last warned about as ignored. */
  warned: Map<string, string>;
}

export function poolName(pool: PoolState): string {
  const ns = pool.pool.metadata?.namespace;
  return `${pool.kind} ${ns ? `${ns}/` : ''}${pool.pool.metadata?.name ?? ''}`;
}

export function refName(claim: LiveClaim): string {
  const ref = claim.spec.poolRef;
  return `${ref.kind} ${ref.kind.startsWith('Global') ? '' : `${claim.metadata.namespace}/`}${ref.name}`;
}

export function ready(status: 'True' | 'False', reason: string, message: string): ConditionInput {
  return { type: READY, status, reason, message };
}

export function allocated(
  spec: { address: string; prefix?: number | undefined },
  pool: PoolState,
): ConditionInput {
  const what = pool.allocationText(spec.address, spec.prefix);
  return ready('True', Reasons.AddressAllocated, `Address ${what} allocated from ${poolName(pool)}`);
}

export async function setPaused(run: Run, message: string): Promise<Step> {
  return writeConditions(run, [{ type: PAUSED, status: 'True', reason: Reasons.Paused, message }], undefined);
}

/**
 * Ready, and Paused=False only on a claim that carries a Paused condition already (it was paused
 * once): one left at True would say it is still held. A claim never paused carries Ready alone —
 * the only condition type Cluster API's IPAddressClaim names, and the only one the Go provider's
 * conditions branch writes; Paused=False on every claim costs the API server ~8 % more work per
 * allocation (docs/design-notes.md) and tells nobody anything.
 */
export async function setStatus(
  run: Run,
  readyCondition: ConditionInput,
  addressName?: string,
): Promise<Step> {
  const wasPaused = claimConditions(run.ctx, run.claim)?.some((c) => c.type === PAUSED) ?? false;
  const notPaused: ConditionInput = { type: PAUSED, status: 'False', reason: Reasons.NotPaused, message: '' };
  return writeConditions(run, wasPaused ? [readyCondition, notPaused] : [readyCondition], addressName);
}

/**
 * Ready=False with a warning Event, the Event once when the claim starts waiting for this reason
 * (or the message changes), not on every wake-up and retry: each freed address wakes every
 * waiting claim, and each repeat is an Event write.
 */
export async function notReady(run: Run, reason: string, message: string): Promise<Step> {
  const was = claimReady(run.ctx, run.claim);
  if (was?.reason !== reason || was.message !== message) run.ctx.recorder.warning(run.claim, reason, message);
  return setStatus(run, ready('False', reason, message));
}
