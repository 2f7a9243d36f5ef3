import { describe, expect, it } from 'vitest';
import type { KubeClient } from './client.js';
import { KubeApiError } from './errors.js';
import { type CoreEvent, EventRecorder } from './events.js';

interface Call {
  verb: 'create' | 'patch';
  name: string;
  count: number;
}

/** A client that records event writes and answers them after `delayMs`, with up-to-date counts. */
function fakeClient(delayMs = 1, failCreate?: (name: string) => KubeApiError | undefined) {
  const calls: Call[] = [];
  const stored = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  const answer = async <T>(fn: () => T): Promise<T> => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, delayMs));
    inFlight--;
    return fn();
  };
  const client = {
    create: (_r: unknown, ev: CoreEvent) =>
      answer(() => {
        const name = ev.metadata.name ?? '';
        calls.push({ verb: 'create', name, count: ev.count ?? 0 });
        const err = failCreate?.(name);
        // AlreadyExists: an earlier create made it, only its answer was lost.
        if (err?.reason === 'AlreadyExists') stored.set(name, 1);
        if (err) throw err;
        stored.set(name, ev.count ?? 0);
        return ev;
      }),
    patch: (_r: unknown, name: string, body: { count: number }) =>
      answer(() => {
        calls.push({ verb: 'patch', name, count: body.count });
        if (!stored.has(name)) throw new KubeApiError('NotFound', 'gone', 404);
        stored.set(name, body.count);
        return {};
      }),
  };
  return { client: client as unknown as KubeClient, calls, stored, maxInFlight: () => maxInFlight };
}

const obj = (name: string) => ({ kind: 'IPAddressClaim', metadata: { name, namespace: 'ns', uid: name } });

describe('EventRecorder', () => {
  it('writes a burst of new Normal events only up to its budget; warnings all go out', async () => {
    const f = fakeClient();
    const r = new EventRecorder({ client: f.client, component: 'c', normalBurst: 10, normalPerSecond: 0 });
    for (let i = 0; i < 100; i++) r.normal(obj(`n${i}`), 'AddressAllocated', `allocated ${i}`);
    for (let i = 0; i < 30; i++) r.warning(obj(`w${i}`), 'AllocationFailed', `failed ${i}`);
    await r.flush();
    expect(f.calls.filter((c) => c.verb === 'create')).toHaveLength(40);
    expect(r.stats()).toMatchObject({ suppressed: 90, dropped: 0, writes: 40 });
  });

  it('refills the Normal budget over time', async () => {
    const f = fakeClient();
    const r = new EventRecorder({ client: f.client, component: 'c', normalBurst: 1, normalPerSecond: 50 });
    r.normal(obj('a'), 'R', 'one');
    r.normal(obj('b'), 'R', 'two');
    await new Promise((res) => setTimeout(res, 60));
    r.normal(obj('c'), 'R', 'three');
    await r.flush();
    expect(f.calls.map((c) => c.name.split('.')[0])).toEqual(['a', 'c']);
  });

  it('keeps few writes in flight and folds repeats that arrive meanwhile into one count update', async () => {
    const f = fakeClient(5);
    const r = new EventRecorder({ client: f.client, component: 'c', maxInFlight: 2 });
    for (let i = 0; i < 50; i++) r.warning(obj('x'), 'PoolExhausted', 'no free address');
    for (let i = 0; i < 20; i++) r.warning(obj(`y${i}`), 'PoolExhausted', 'no free address');
    await r.flush();
    expect(f.maxInFlight()).toBeLessThanOrEqual(2);
    const forX = f.calls.filter((c) => c.name.startsWith('x.'));
    // The create, then one update carrying every repeat that came while it was in flight.
    expect(forX.length).toBeLessThanOrEqual(3);
    expect([...f.stored].find(([n]) => n.startsWith('x.'))?.[1]).toBe(50);
  });

  it('creates the Event anew when it expired, carrying the count on', async () => {
    const f = fakeClient();
    const r = new EventRecorder({ client: f.client, component: 'c' });
    r.warning(obj('e'), 'AllocationFailed', 'try again');
    await r.flush();
    f.stored.clear();
    r.warning(obj('e'), 'AllocationFailed', 'try again');
    await r.flush();
    expect(f.calls.map((c) => `${c.verb}:${c.count}`)).toEqual(['create:1', 'patch:2', 'create:2']);
  });

  it('takes an AlreadyExists on create as created and updates the count', async () => {
    let first = true;
    const f = fakeClient(1, () => {
      if (!first) return undefined;
      first = false;
      return new KubeApiError('AlreadyExists', 'exists', 409);
    });
    const r = new EventRecorder({ client: f.client, component: 'c' });
    r.warning(obj('l'), 'AllocationFailed', 'lost answer');
    await r.flush();
    expect(f.calls.map((c) => c.verb)).toEqual(['create', 'patch']);
  });

  it('drops what exceeds the queue bound instead of growing without limit', async () => {
    const f = fakeClient(5);
    const r = new EventRecorder({ client: f.client, component: 'c', maxInFlight: 1, maxQueued: 5 });
    for (let i = 0; i < 20; i++) r.warning(obj(`q${i}`), 'R', 'm');
    await r.flush();
    expect(r.stats().dropped).toBe(14);
    expect(f.calls).toHaveLength(6);
  });

  it('never throws when writes fail, and flush still resolves', async () => {
    const f = fakeClient(1, () => new KubeApiError('Forbidden', 'no', 403));
    const r = new EventRecorder({ client: f.client, component: 'c' });
    expect(() => r.warning(obj('f'), 'R', 'm')).not.toThrow();
    await r.flush();
    expect(f.calls).toHaveLength(1);
  });
});
