/**
 * Release: what happens when a claim goes. Honour the grace period, unprotect and delete the
 * IPAddress that is the claim's (never one of another pool named like it), drop our finalizer.
 */
import { FINALIZER_PROTECT_ADDRESS, FINALIZER_RELEASE_ADDRESS } from '../api/constants.js';
import { isNotFound, type ReconcileResult } from '../kube/index.js';
import { isDeleting, poolKeyOfRef } from './claim-rules.js';
import type { StatusRun } from './claim-status.js';
import type { ControllerContext, LiveAddress, LiveClaim } from './context.js';
import { owningClaimUid } from './orphans.js';
import type { PoolState } from './pool-state.js';

type ReleaseRun = StatusRun & { log: ControllerContext['log'] };

/** Release: honour the grace period, unprotect and delete the IPAddress, drop our finalizer. */
export async function release(
  run: ReleaseRun,
  pool: PoolState | undefined,
): Promise<ReconcileResult | undefined> {
  const { ctx, key, claim } = run;
  if (!(claim.metadata.finalizers ?? []).includes(FINALIZER_RELEASE_ADDRESS)) return;
  const grace = pool && !isDeleting(pool.pool) ? pool.gracePeriodSeconds : 0;
  if (grace > 0 && claim.metadata.deletionTimestamp) {
    const remaining = Date.parse(claim.metadata.deletionTimestamp) + grace * 1000 - ctx.now();
    if (remaining > 0) {
      run.log.info({ remainingMs: remaining }, 'Address reuse grace period active; delaying release');
      return { requeueAfterMs: remaining };
    }
  }
  const name = claim.metadata.name ?? '';
  const ns = claim.metadata.namespace;
  let address: LiveAddress | undefined;
  try {
    // From the API, not the cache: a stale cache must not make us skip a real IPAddress.
    address = await ctx.client.get<LiveAddress>(ctx.addressResource, name, ns, run.signal);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (address && !belongsToClaim(address, claim)) {
    run.log.info(
      { address: address.spec?.address },
      `IPAddress ${key} belongs to another claim or pool; left in place`,
    );
    if (pool) ctx.registry.releaseReservation(pool, key);
  } else if (address) {
    const finalizers = address.metadata.finalizers ?? [];
    if (finalizers.includes(FINALIZER_PROTECT_ADDRESS)) {
      await ignoreNotFound(
        ctx.client.patch(
          ctx.addressResource,
          name,
          {
            metadata: {
              finalizers: finalizers.filter((f) => f !== FINALIZER_PROTECT_ADDRESS),
              resourceVersion: address.metadata.resourceVersion,
            },
          },
          { namespace: ns, fieldManager: ctx.fieldManager, signal: run.signal },
        ),
      );
    }
    // The UID precondition: an IPAddress made meanwhile under this name is not this one.
    const preconditions = { uid: address.metadata.uid };
    await ignoreNotFound(
      ctx.client.delete(ctx.addressResource, name, ns, { signal: run.signal, preconditions }),
    );
    if (pool) ctx.metrics.releases.inc({ pool: pool.key });
    ctx.recorder.normal(claim, 'AddressReleased', `Released ${address.spec?.address} of IPAddress ${key}`);
    run.log.info({ address: address.spec?.address }, `IPAddress ${key} has been released`);
  } else if (pool) {
    ctx.registry.releaseReservation(pool, key);
  }
  await ignoreNotFound(
    ctx.client.patch(
      ctx.claimResource,
      name,
      {
        metadata: {
          finalizers: (claim.metadata.finalizers ?? []).filter((f) => f !== FINALIZER_RELEASE_ADDRESS),
          resourceVersion: claim.metadata.resourceVersion,
        },
      },
      { namespace: ns, fieldManager: ctx.fieldManager, signal: run.signal },
    ),
  );
  return;
}

/**
 * Is this IPAddress the claim's to release? Ours from this claim (its UID controls it), or one in
 * the claim's pool that no other claim controls. An IPAddress named like the claim in another pool
 * (adoption refused it as AllocationFailed) belongs to someone else and stays.
 */
function belongsToClaim(address: LiveAddress, claim: LiveClaim): boolean {
  const owner = owningClaimUid(address);
  if (owner !== undefined) return owner === claim.metadata.uid;
  const ref = address.spec?.poolRef;
  const ns = claim.metadata.namespace;
  return ref !== undefined && poolKeyOfRef(ref, ns) === poolKeyOfRef(claim.spec.poolRef, ns);
}

async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
