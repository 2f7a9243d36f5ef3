import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FINALIZER_PROTECT_POOL } from '../api/constants.js';
import { Metrics } from '../observability/metrics.js';
import type { ControllerContext } from './context.js';
import { PoolStatusWriter } from './inclusterippool.js';
import type { PoolState } from './pool-state.js';

/** A pool being deleted whose finalizer removal the API keeps refusing: the writer retries. */
function failingWrites() {
  const state = {
    key: 'InClusterIPPool/ns/p',
    kind: 'InClusterIPPool',
    holderCount: 0,
    pool: {
      metadata: { name: 'p', namespace: 'ns', deletionTimestamp: 't', finalizers: [FINALIZER_PROTECT_POOL] },
    },
  } as unknown as PoolState;
  const patch = vi.fn(async () => {
    throw new Error('connection closed');
  });
  const ctx = {
    client: { patch },
    metrics: new Metrics(),
    log: pino({ level: 'silent' }),
    registry: { get: () => state },
    fieldManager: 'test',
  } as unknown as ControllerContext;
  return { writer: new PoolStatusWriter(ctx, 100), state, patch };
}

describe('PoolStatusWriter', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries a failed write after a backoff', async () => {
    const { writer, state, patch } = failingWrites();
    writer.mark(state);
    await vi.advanceTimersByTimeAsync(100);
    expect(patch).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(patch.mock.calls.length).toBeGreaterThan(1);
    writer.abandon();
  });

  it('writes nothing more once abandoned (a hard stop): no retry, no pending write', async () => {
    const { writer, state, patch } = failingWrites();
    writer.mark(state);
    await vi.advanceTimersByTimeAsync(100);
    expect(patch).toHaveBeenCalledTimes(1);
    writer.abandon();
    writer.mark(state);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(patch).toHaveBeenCalledTimes(1);
  });
});
