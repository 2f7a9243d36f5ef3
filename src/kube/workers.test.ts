import { describe, expect, it } from 'vitest';
import type { RateLimiter } from './backoff.js';
import { KubeApiError } from './errors.js';
import type { Logger } from './logger.js';
import { WorkQueue } from './queue.js';
import { runWorkers } from './workers.js';

const countingLimiter = (): RateLimiter<string> & { failures: Map<string, number> } => {
  const failures = new Map<string, number>();
  return {
    failures,
    when: (k) => {
      failures.set(k, (failures.get(k) ?? 0) + 1);
      return 1;
    },
    forget: (k) => failures.delete(k),
    numRequeues: (k) => failures.get(k) ?? 0,
  };
};

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('runWorkers', () => {
  it('retries a failing key with backoff and forgets its failures once it succeeds', async () => {
    const limiter = countingLimiter();
    const q = new WorkQueue<string>({ rateLimiter: limiter });
    let attempts = 0;
    const succeeded = deferred();
    const pool = runWorkers(q, async () => {
      attempts++;
      if (attempts < 3) throw new Error('transient');
      succeeded.resolve();
    });
    q.add('a');
    await succeeded.promise;
    await pool.stop({ drain: true });
    expect(attempts).toBe(3);
    expect(limiter.failures.has('a')).toBe(false);
  });

  it('retries a Conflict like any failure, logging it as information rather than an error', async () => {
    const lines: [string, string | undefined][] = [];
    const record = (level: string) => (_: object, msg?: string) => lines.push([level, msg]);
    const logger: Logger = {
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
    };
    const outcomes: string[] = [];
    const q = new WorkQueue<string>({ rateLimiter: countingLimiter() });
    let attempts = 0;
    const succeeded = deferred();
    const pool = runWorkers(
      q,
      async () => {
        attempts++;
        if (attempts === 1) throw new KubeApiError('Conflict', 'the object has been modified', 409);
        if (attempts === 2) throw new Error('connection reset');
        succeeded.resolve();
      },
      { logger, onReconciled: (o) => outcomes.push(o) },
    );
    q.add('a');
    await succeeded.promise;
    await pool.stop({ drain: true });
    expect(outcomes).toEqual(['error', 'error', 'success']);
    expect(lines).toEqual([
      ['info', 'object changed since it was read, will retry'],
      ['error', 'reconcile failed, will retry with backoff'],
    ]);
  });

  it('reconciles a key again after the delay it asked for', async () => {
    const q = new WorkQueue<string>({ rateLimiter: countingLimiter() });
    const seen: string[] = [];
    const twice = deferred();
    const pool = runWorkers(q, async (key) => {
      seen.push(key);
      if (seen.length === 2) twice.resolve();
      return seen.length === 1 ? { requeueAfterMs: 5 } : undefined;
    });
    q.add('a');
    await twice.promise;
    await pool.stop({ drain: true });
    expect(seen).toEqual(['a', 'a']);
  });

  it('runs different keys in parallel up to the number of workers', async () => {
    const q = new WorkQueue<string>({ rateLimiter: countingLimiter() });
    let running = 0;
    let peak = 0;
    const release = deferred();
    const allStarted = deferred();
    const pool = runWorkers(
      q,
      async () => {
        running++;
        peak = Math.max(peak, running);
        if (running === 3) allStarted.resolve();
        await release.promise;
        running--;
      },
      { workers: 3 },
    );
    for (const k of ['a', 'b', 'c', 'd', 'e']) q.add(k);
    await allStarted.promise;
    release.resolve();
    await pool.stop({ drain: true });
    expect(peak).toBe(3);
  });

  it('aborts running reconciles and drops the queue when stopped at once', async () => {
    const q = new WorkQueue<string>({ rateLimiter: countingLimiter() });
    const started = deferred();
    const seen: string[] = [];
    let aborted = false;
    const pool = runWorkers(q, async (key, signal) => {
      seen.push(key);
      started.resolve();
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      aborted = signal.aborted;
    });
    q.add('a');
    q.add('b');
    await started.promise;
    await pool.stop();
    expect(aborted).toBe(true);
    expect(seen).toEqual(['a']);
  });
});
