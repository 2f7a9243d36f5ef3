/**
 * The deadline for the caches to sync, as controller-runtime's CacheSyncTimeout: a leader whose
 * list keeps failing (RBAC taken away, a CRD deleted) would otherwise hold the lease for ever and
 * reconcile nothing. Past it the start fails, and the process ends and hands the lease on.
 */
import type { Logger } from 'pino';

/** controller-runtime's default CacheSyncTimeout. */
export const DEFAULT_CACHE_SYNC_TIMEOUT_MS = 120_000;

/** The caches did not sync before the deadline: the manager gives up rather than lead without them. */
export class CacheSyncTimeoutError extends Error {
  override readonly name = 'CacheSyncTimeoutError';

  constructor(
    /** The kinds whose caches had not synced (or what else the start still waited for). */
    readonly waitingFor: string[],
    timeoutMs: number,
  ) {
    super(`caches did not sync within ${timeoutMs / 1000} s; waiting for ${waitingFor.join(', ')}`);
  }
}

/**
 * Resolves as `work` does, unless `timeoutMs` pass first: then logs what `waitingFor()` names at
 * that moment and rejects with a CacheSyncTimeoutError. `work` is told through `expired` that nobody
 * waits for it any more; stopping what it started is up to whoever handles the error.
 */
export async function withinSyncDeadline<T>(
  work: (expired: AbortSignal) => Promise<T>,
  timeoutMs: number,
  waitingFor: () => string[],
  log: Logger,
): Promise<T> {
  const deadline = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new CacheSyncTimeoutError(waitingFor(), timeoutMs);
      log.error({ waitingFor: err.waitingFor, err: err.message }, 'Could not wait for Cache to sync');
      deadline.abort(err);
      reject(err);
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(deadline.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}
