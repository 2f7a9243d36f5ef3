import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type APIResourceList, KubeApiError, type KubeClient } from '../kube/index.js';
import { KindWatch, untilAnswered } from './discovery.js';

const log = pino({ level: 'silent' });
const unavailable = () => new KubeApiError('InternalError', 'discovery: etcd is slow', 500);

/** A client whose discovery answers as `answer` says for each request, counting the looks at v1beta2. */
function fakeClient(answer: (version: string) => APIResourceList | undefined | Error) {
  const looks: number[] = [];
  const client = {
    discover: async (_group: string, version: string) => {
      if (version === 'v1beta2') looks.push(Date.now());
      const a = answer(version);
      if (a instanceof Error) throw a;
      return a;
    },
  } as unknown as KubeClient;
  return { client, looks };
}

const clusters: APIResourceList = {
  groupVersion: 'cluster.x-k8s.io/v1beta2',
  resources: [{ name: 'clusters', namespaced: true, kind: 'Cluster', verbs: [] }],
} as unknown as APIResourceList;

describe('untilAnswered', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks again after a failed request and takes "not served" as an answer', async () => {
    let calls = 0;
    const answered = untilAnswered(
      { resource: 'clusters' },
      async () => {
        calls++;
        if (calls < 3) throw unavailable();
        return undefined;
      },
      log,
      new AbortController().signal,
    );
    await vi.advanceTimersByTimeAsync(5_000);
    await expect(answered).resolves.toBeUndefined();
    expect(calls).toBe(3);
  });

  it('gives up only when stopped', async () => {
    const stop = new AbortController();
    const answered = untilAnswered(
      { resource: 'clusters' },
      () => Promise.reject(unavailable()),
      log,
      stop.signal,
    );
    await vi.advanceTimersByTimeAsync(120_000);
    stop.abort(new Error('stopped'));
    await expect(answered).rejects.toThrow('stopped');
  });
});

describe('KindWatch', () => {
  let stop: AbortController;

  beforeEach(() => {
    vi.useFakeTimers();
    // No jitter: the delays are exact.
    vi.spyOn(Math, 'random').mockReturnValue(0);
    stop = new AbortController();
  });
  afterEach(() => {
    stop.abort();
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  function watch(client: KubeClient, onServed = vi.fn()) {
    const w = new KindWatch({
      client,
      log,
      group: 'cluster.x-k8s.io',
      plural: 'clusters',
      versions: ['v1beta2', 'v1beta1'],
      intervalMs: 10_000,
      maxIntervalMs: 30_000,
      signal: stop.signal,
      onServed,
    });
    return { w, onServed };
  }

  it('looks every 10 s, backing off to 30 s, while the kind is not served', async () => {
    const { client, looks } = fakeClient(() => undefined);
    const start = Date.now();
    watch(client);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(looks.map((t) => t - start)).toEqual([10_000, 30_000, 60_000, 90_000, 120_000]);
  });

  it('keeps looking when discovery fails, and reports the kind once it is served', async () => {
    let served = false;
    const { client, looks } = fakeClient((v) =>
      served ? (v === 'v1beta2' ? clusters : undefined) : unavailable(),
    );
    const { onServed } = watch(client);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(looks).toHaveLength(2);
    expect(onServed).not.toHaveBeenCalled();
    served = true;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(onServed).toHaveBeenCalledExactlyOnceWith('v1beta2');
    const after = looks.length;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(looks).toHaveLength(after);
  });

  it('looks at once when prompted, but not more often than every 2 s however many prompts come', async () => {
    const { client, looks } = fakeClient(() => undefined);
    const start = Date.now();
    const { w } = watch(client);
    w.prompt();
    await vi.advanceTimersByTimeAsync(0);
    expect(looks.map((t) => t - start)).toEqual([0]);
    for (let i = 0; i < 100; i++) {
      w.prompt();
      await vi.advanceTimersByTimeAsync(10);
    }
    await vi.advanceTimersByTimeAsync(1_000);
    // One look at 2 s for the hundred prompts; then the periodic looks, backed off.
    expect(looks.map((t) => t - start)).toEqual([0, 2_000]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(looks.map((t) => t - start)).toEqual([0, 2_000, 32_000]);
  });

  it('stops looking when its signal aborts', async () => {
    const { client, looks } = fakeClient(() => undefined);
    const { w } = watch(client);
    stop.abort();
    w.prompt();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(looks).toHaveLength(0);
  });
});
