import { afterEach, describe, expect, it, vi } from 'vitest';
import { type QueueMetrics, WorkQueue } from './queue.js';

function recorder() {
  const seen = {
    added: 0,
    retried: 0,
    depths: [] as number[],
    waited: [] as number[],
    worked: [] as number[],
  };
  const last = { unfinished: -1, longest: -1 };
  const metrics: QueueMetrics = {
    added: () => seen.added++,
    retried: () => seen.retried++,
    depth: (n) => seen.depths.push(n),
    waited: (s) => seen.waited.push(s),
    worked: (s) => seen.worked.push(s),
    inProgress: (u, l) => Object.assign(last, { unfinished: u, longest: l }),
  };
  return { seen, last, metrics };
}

describe('WorkQueue metrics (client-go’s workqueue_* semantics)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts a pending key once, its depth, its wait in the queue and its processing time', async () => {
    vi.useFakeTimers();
    const { seen, metrics } = recorder();
    const q = new WorkQueue<string>({ metrics });
    q.add('a');
    q.add('a'); // still pending: no add
    q.add('b');
    expect(seen.added).toBe(2);
    expect(seen.depths.at(-1)).toBe(2);
    vi.advanceTimersByTime(250);
    const key = await q.get();
    expect(key).toBe('a');
    expect(seen.depths.at(-1)).toBe(1);
    expect(seen.waited).toHaveLength(1);
    expect(seen.waited[0]).toBeCloseTo(0.25, 2);
    q.add('a'); // added again while processing: an add, queued when done
    expect(seen.added).toBe(3);
    vi.advanceTimersByTime(100);
    q.done('a');
    expect(seen.worked).toHaveLength(1);
    expect(seen.worked[0]).toBeCloseTo(0.1, 2);
    expect(seen.depths.at(-1)).toBe(2);
    q.addRateLimited('c');
    expect(seen.retried).toBe(1);
    q.shutDown();
    expect(seen.depths.at(-1)).toBe(0);
  });

  it('reports work in progress every second: the sum and the longest', async () => {
    vi.useFakeTimers();
    const { last, metrics } = recorder();
    const q = new WorkQueue<string>({ metrics });
    q.add('a');
    await q.get();
    vi.advanceTimersByTime(2000);
    q.add('b');
    await q.get();
    vi.advanceTimersByTime(1000);
    expect(last.longest).toBeCloseTo(3, 1);
    expect(last.unfinished).toBeCloseTo(4, 1);
    q.done('a');
    q.done('b');
    vi.advanceTimersByTime(1000);
    expect(last).toEqual({ unfinished: 0, longest: 0 });
    const drained = q.shutDownWithDrain();
    await drained;
    expect(vi.getTimerCount()).toBe(0);
  });
});
