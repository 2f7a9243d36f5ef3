/**
 * Addresses whose claim is gone for good: released here, promptly, without the garbage collector.
 *
 * How they come about:
 * - A claim deleted just as our ReleaseAddress finalizer goes on. The API server can take a
 *   DELETE that read the claim without finalizers after our patch added one: the claim vanishes,
 *   and the IPAddress we create for it (before or after the DELETE) has no claim. Its second owner,
 *   the pool, keeps the garbage collector off it, so nothing else would ever free the address.
 * - A claim whose finalizer someone removed by hand (to unstick it, perhaps while the controller
 *   was down), then the IPAddress deleted: by hand, or with its namespace. Nothing else takes
 *   ProtectAddress off, so it would stay Terminating with its address held.
 * - A reservation made for a claim that went while its create failed or lost its answer.
 *
 * What is left alone: an IPAddress that no claim ever owned and we never wrote (pre-seeded for
 * adoption, moved by clusterctl before its claim): named like a claim to come, it is one to adopt.
 * Only the API can say a claim is gone — the cache may not have one just created — so the claim is
 * read first, and the IPAddress is judged as the API holds it.
 */
import { FINALIZER_PROTECT_ADDRESS, KIND_IP_ADDRESS_CLAIM } from '../api/constants.js';
import { isNotFound, splitObjectKey } from '../kube/index.js';
import { heldInOurPool, isDeleting, poolKeyOfRef } from './claim-rules.js';
import type { ControllerContext, LiveAddress } from './context.js';

/** The UID of the claim that controls this IPAddress, if a claim does. */
export function owningClaimUid(a: LiveAddress): string | undefined {
  return a.metadata.ownerReferences?.find((o) => o.controller && o.kind === KIND_IP_ADDRESS_CLAIM && o.uid)
    ?.uid;
}

/**
 * Did this controller write this IPAddress (create it, or adopt it for a claim)? Read off
 * managedFields, which only an object fetched from the API carries (the caches drop them). The
 * claim's owner reference is not enough: once the claim is gone, the garbage collector strips the
 * dangling reference from an object that still has another owner (the pool), within moments.
 */
function writtenBy(a: LiveAddress, fieldManager: string): boolean {
  return (a.metadata.managedFields ?? []).some((f) => (f as { manager?: unknown }).manager === fieldManager);
}

/**
 * Is this IPAddress one that releaseOrphanAddress acts on, once its claim is known to be gone?
 * One a claim controls, one we wrote (with `fieldManager`, for an object read from the API), or
 * one held only by ProtectAddress while being deleted.
 */
export function isOrphanCandidate(a: LiveAddress | undefined, fieldManager?: string): a is LiveAddress {
  if (!a || !heldInOurPool(a.spec?.poolRef)) return false;
  if (owningClaimUid(a) !== undefined) return true;
  if (fieldManager !== undefined && writtenBy(a, fieldManager)) return true;
  return isDeleting(a) && (a.metadata.finalizers ?? []).includes(FINALIZER_PROTECT_ADDRESS);
}

/** Reconciles the key of a claim the cache no longer has (or never had). */
export async function releaseOrphanAddress(
  ctx: ControllerContext,
  key: string,
  signal: AbortSignal,
): Promise<void> {
  const cached = ctx.addresses.get(key);
  const holding = ctx.registry.poolHolding(key);
  if (!isOrphanCandidate(cached) && holding === undefined) return;
  const { namespace, name } = splitObjectKey(key);
  if (await exists(ctx.client.get(ctx.claimResource, name, namespace, signal))) return;
  // The cache may not have our own create yet (its watch event is behind), nor know whether a
  // create whose answer was lost landed: the API does.
  let address: LiveAddress | undefined;
  try {
    address = await ctx.client.get<LiveAddress>(ctx.addressResource, name, namespace, signal);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!address) {
    // No IPAddress was made: a reservation alone, which nothing will turn into one now.
    if (holding !== undefined) ctx.registry.releaseReservation({ key: holding }, key);
    return;
  }
  if (!isOrphanCandidate(address, ctx.fieldManager)) return;
  await releaseAddress(ctx, address, key, signal);
}

async function releaseAddress(
  ctx: ControllerContext,
  address: LiveAddress,
  key: string,
  signal: AbortSignal,
): Promise<void> {
  const { namespace, name } = splitObjectKey(key);
  const finalizers = address.metadata.finalizers ?? [];
  if (finalizers.includes(FINALIZER_PROTECT_ADDRESS)) {
    const ok = await exists(
      ctx.client.patch(
        ctx.addressResource,
        name,
        {
          metadata: {
            finalizers: finalizers.filter((f) => f !== FINALIZER_PROTECT_ADDRESS),
            resourceVersion: address.metadata.resourceVersion,
          },
        },
        { namespace, fieldManager: ctx.fieldManager, signal },
      ),
    );
    if (!ok) return;
  }
  if (!isDeleting(address)) {
    // The UID precondition: an IPAddress made meanwhile for a new claim of the same name stays.
    const ok = await exists(
      ctx.client.delete(ctx.addressResource, name, namespace, {
        signal,
        preconditions: { uid: address.metadata.uid },
      }),
    );
    if (!ok) return;
  }
  const value = address.spec?.address;
  const ref = address.spec.poolRef;
  ctx.metrics.orphansReleased.inc({ pool: poolKeyOfRef(ref, namespace) });
  ctx.log.info(
    { IPAddress: { name, namespace }, namespace, address: value },
    `IPAddress ${key} has no claim any more; released ${value}`,
  );
  ctx.recorder.normal(address, 'AddressReleased', `Released ${value}: the IPAddressClaim ${key} is gone`);
}

/** Resolves true when the request succeeded, false when the object was not found. */
async function exists(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
