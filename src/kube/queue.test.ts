import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RateLimiter } from './backoff.js';
import { WorkQueue } from './queue.js';

/** A small seeded generator so a failing randomized run can be replayed from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const noDelay: RateLimiter<string> = { when: () => 0, forget: () => {}, numRequeues: () => 0 };

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('WorkQueue', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('holds a key once however often it is added', async () => {
    const q = new WorkQueue<string>({ rateLimiter: noDelay });
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('does not hand out a key again while it is processing, and requeues it when done', async () => {
    const q = new WorkQueue<string>({ rateLimiter: noDelay });
    q.add('a');
    const first = await q.get();
    q.add('a');
    expect(q.len()).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => {
      second = k;
    });
    await tick();
    expect(second).toBeUndefined();
    q.done(first as string);
    await tick();
    expect(second).toBe('a');
  });

  it('lets the earliest of several delays for one key win', () => {
    vi.useFakeTimers();
    const q = new WorkQueue<string>({ rateLimiter: noDelay });
    q.addAfter('a', 1000);
    q.addAfter('a', 100);
    q.addAfter('a', 5000);
    vi.advanceTimersByTime(99);
    expect(q.len()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.len()).toBe(1);
    expect(q.delayedCount()).toBe(0);
  });

  it('waits out a delay longer than a Node timer can hold instead of firing at once', async () => {
    // A grace period of up to int32 seconds is valid; setTimeout fires anything past 2^31-1 ms at once.
    const q = new WorkQueue<string>({ rateLimiter: noDelay });
    const day = 86_400_000;
    q.addAfter('a', 30 * day);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(q.len()).toBe(0);
    expect(q.delayedCount()).toBe(1);
    q.shutDown();
  });

  it('re-arms a long delay leg by leg and adds the key when its time comes', () => {
    vi.useFakeTimers();
    const q = new WorkQueue<string>({ rateLimiter: noDelay });
    const day = 86_400_000;
    q.addAfter('a', 60 * day);
    vi.advanceTimersByTime(59 * day);
    expect(q.len()).toBe(0);
    expect(q.delayedCount()).toBe(1);
    vi.advanceTimersByTime(day);
    expect(q.len()).toBe(1);
    expect(q.delayedCount()).toBe(0);
  });

  it('retries a failing key with exponentially growing delays until it is forgotten', async () => {
    vi.useFakeTimers();
    const q = new WorkQueue<string>();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      q.addRateLimited('a');
      let waited = 0;
      while (q.len() === 0 && waited < 1000) {
        vi.advanceTimersByTime(1);
        waited++;
      }
      delays.push(waited);
      q.done((await q.get()) as string);
    }
    expect(delays).toEqual([5, 10, 20, 40, 80]);
    expect(q.numRequeues('a')).toBe(5);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
  });

  it('stops at once on shutDown: queued keys are dropped and waiting workers are released', async () => {
    const q = new WorkQueue<string>({ rateLimiter: noDelay });
    const idleWorker = q.get();
    q.add('x'); // goes straight to the waiting worker
    expect(await idleWorker).toBe('x');
    const waiting = q.get();
    q.add('y');
    expect(await waiting).toBe('y');
    const blocked = q.get();
    q.add('x'); // processing: marked, not queued
    q.shutDown();
    expect(await blocked).toBeUndefined();
    q.done('x');
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
    q.add('z');
    expect(q.len()).toBe(0);
  });

  it('drains on shutDownWithDrain: queued keys and keys re-added while processing are still handed out', async () => {
    const q = new WorkQueue<string>({ rateLimiter: noDelay });
    q.add('a');
    q.add('b');
    const a = await q.get();
    q.add('a'); // dirty while processing: must run once more
    q.addAfter('c', 10_000); // delayed keys are dropped by a drain
    let drained = false;
    const drain = q.shutDownWithDrain().then(() => {
      drained = true;
    });
    q.add('d'); // refused: the queue is shutting down
    const seen: string[] = [];
    const worker = (async () => {
      for (let k = await q.get(); k !== undefined; k = await q.get()) {
        seen.push(k);
        q.done(k);
      }
    })();
    await tick();
    expect(drained).toBe(false);
    q.done(a as string);
    await worker;
    await drain;
    expect(seen).toEqual(['b', 'a']);
    expect(q.delayedCount()).toBe(0);
  });

  it('never runs one key twice at once and never loses an add (randomized, seeded)', async () => {
    for (const seed of [1, 2, 3, 42, 1234]) {
      const random = mulberry32(seed);
      const q = new WorkQueue<string>({
        rateLimiter: { when: () => Math.floor(random() * 3), forget: () => {}, numRequeues: () => 0 },
      });
      const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
      const active = new Set<string>();
      let seq = 0;
      const lastAdd = new Map<string, number>();
      const lastStart = new Map<string, number>();
      let overlaps = 0;
      let runs = 0;
      const add = (k: string) => {
        lastAdd.set(k, ++seq);
        if (random() < 0.3) q.addAfter(k, Math.floor(random() * 3));
        else q.add(k);
      };
      const worker = async () => {
        for (let k = await q.get(); k !== undefined; k = await q.get()) {
          if (active.has(k)) overlaps++;
          active.add(k);
          lastStart.set(k, ++seq);
          runs++;
          try {
            for (let i = Math.floor(random() * 4); i > 0; i--) await tick();
            if (random() < 0.3) add(keys[Math.floor(random() * keys.length)] as string);
            if (random() < 0.15) {
              // A failure: the key must come back (with its rate-limited delay).
              lastAdd.set(k, ++seq);
              q.addRateLimited(k);
            }
          } finally {
            active.delete(k);
            q.done(k);
          }
        }
      };
      const workers = Array.from({ length: 4 }, () => worker());
      for (let i = 0; i < 400; i++) {
        add(keys[Math.floor(random() * keys.length)] as string);
        if (random() < 0.5) await tick();
      }
      // Wait until nothing is queued, delayed or running, then stop.
      while (q.len() > 0 || q.processingCount() > 0 || q.delayedCount() > 0) await tick();
      await q.shutDownWithDrain();
      await Promise.all(workers);
      expect(overlaps, `seed ${seed}`).toBe(0);
      expect(runs, `seed ${seed}`).toBeGreaterThan(0);
      for (const k of keys) {
        if (!lastAdd.has(k)) continue;
        // Every add is followed by a reconcile that started after it.
        expect(lastStart.get(k) ?? 0, `seed ${seed} key ${k}`).toBeGreaterThan(lastAdd.get(k) ?? 0);
      }
    }
  });
});
