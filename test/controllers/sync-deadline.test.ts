/**
 * A manager whose caches cannot sync gives up after its deadline (controller-runtime's
 * CacheSyncTimeout) instead of holding the lease for ever: at the start, and when it lists again
 * on taking the lease. A list the API server refuses (403) is injected into the manager's client.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CacheSyncTimeoutError } from '../../src/controllers/cache-sync.js';
import { Manager } from '../../src/controllers/manager.js';
import { KubeApiError, KubeClient } from '../../src/kube/index.js';
import { Metrics } from '../../src/observability/metrics.js';
import type { ControlPlane } from '../harness/control-plane.js';
import { startControlPlane } from './fixture.js';

const DEADLINE_MS = 1_500;

interface LogLine {
  level: number;
  msg: string;
  waitingFor?: string[];
}

describe('the cache sync deadline', () => {
  let cp: ControlPlane;
  let client: KubeClient;
  let manager: Manager | undefined;
  let abort: AbortController;
  let lines: LogLine[];

  /** From now on, lists of `plural` are refused as RBAC refuses them. */
  function refuseLists(plural: string): void {
    const listAll = client.listAll.bind(client);
    client.listAll = (resource, opts) => {
      if (resource.plural === plural)
        return Promise.reject(new KubeApiError('Forbidden', `list ${plural}: forbidden (injected)`, 403));
      return listAll(resource, opts);
    };
  }

  function newManager(): Manager {
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, done) {
          lines.push(JSON.parse(String(chunk)) as LogLine);
          done();
        },
      }),
    );
    manager = new Manager({
      client,
      log,
      metrics: new Metrics(),
      claimConcurrency: 4,
      cacheSyncTimeoutMs: DEADLINE_MS,
    });
    return manager;
  }

  beforeAll(async () => {
    cp = await startControlPlane();
  });
  afterAll(async () => {
    await cp?.stop();
  });
  beforeEach(() => {
    client = KubeClient.fromFile(cp.kubeconfigPath);
    abort = new AbortController();
    lines = [];
  });
  afterEach(async () => {
    abort.abort();
    await manager?.stop({ drain: false });
    manager = undefined;
    await client.close();
  });

  it('fails the start when one list keeps failing, naming the kind that did not sync', async () => {
    refuseLists('globalinclusterippools');
    const began = Date.now();
    const err = await newManager()
      .start(abort.signal)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const took = Date.now() - began;
    expect(err).toBeInstanceOf(CacheSyncTimeoutError);
    expect((err as CacheSyncTimeoutError).waitingFor).toEqual(['GlobalInClusterIPPool']);
    expect(took).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(took).toBeLessThan(DEADLINE_MS + 5_000);
    expect(manager?.isSynced()).toBe(false);
    const logged = lines.find((l) => l.level === 50 && l.waitingFor);
    expect(logged?.waitingFor).toEqual(['GlobalInClusterIPPool']);
  }, 20_000);

  it('fails taking the lease when the list before leading keeps failing', async () => {
    const m = newManager();
    // Standing by: the caches sync and stay current.
    expect(await m.startCaches(abort.signal)).toBe(true);
    refuseLists('inclusterippools');
    const err = await m.lead(abort.signal).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CacheSyncTimeoutError);
    expect((err as CacheSyncTimeoutError).waitingFor).toEqual(['InClusterIPPool']);
    expect(lines.some((l) => l.level === 50 && l.waitingFor?.includes('InClusterIPPool'))).toBe(true);
  }, 20_000);
});
