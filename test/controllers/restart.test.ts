import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import {
  claimPath,
  createClaim,
  createNamespace,
  createPool,
  get,
  listAddresses,
  poolPath,
  type RunningController,
  startController,
  startControlPlane,
} from './fixture.js';

interface ClaimList {
  items: { metadata: { name: string }; status?: { addressRef?: { name: string } } }[];
}

// The fault test of design §4, in small: the controller is killed while it allocates, the API
// server is killed twice, and a new controller finishes the job from a fresh list.
describe('allocation through controller crashes and API-server restarts', () => {
  let cp: ControlPlane;
  let ctl: RunningController | undefined;
  const ns = 'faults';
  const n = 600;

  beforeAll(async () => {
    cp = await startControlPlane();
    await createNamespace(cp.access, ns);
  });
  afterAll(async () => {
    await ctl?.stop(false);
    await cp?.stop();
  });

  async function boundCount(): Promise<number> {
    const res = await cp.access.request<ClaimList>('GET', claimPath(ns));
    return res.status === 200 ? res.body.items.filter((c) => c.status?.addressRef?.name).length : -1;
  }

  async function createClaims(from: number, to: number): Promise<void> {
    for (let i = from; i < to; i += 50) {
      const batch = Array.from({ length: Math.min(50, to - i) }, (_, k) => `c-${i + k}`);
      await Promise.all(
        batch.map((name) =>
          createClaim(cp.access, ns, name, { kind: 'GlobalInClusterIPPool', name: 'faults' }),
        ),
      );
    }
  }

  it('hands out no address twice and leaks none', async () => {
    await createPool(cp.access, 'GlobalInClusterIPPool', '', 'faults', {
      addresses: ['10.50.0.0/22'],
      prefix: 22,
    });
    ctl = await startController(cp);
    await createClaims(0, n / 2);
    await waitFor('some claims bound', async () => (await boundCount()) >= n / 6, { timeoutMs: 60_000 });
    // Crash: in-flight requests are abandoned, nothing is drained or released.
    await ctl.stop(false);
    ctl = undefined;
    await cp.restartApiServer('SIGKILL');
    ctl = await startController(cp);
    await createClaims(n / 2, n);
    await waitFor('more claims bound', async () => (await boundCount()) >= (2 * n) / 3, {
      timeoutMs: 60_000,
    });
    await cp.restartApiServer('SIGKILL');
    await waitFor('every claim bound', async () => (await boundCount()) === n, {
      timeoutMs: 120_000,
      intervalMs: 250,
    });

    const addresses = await listAddresses(cp.access, ns);
    expect(addresses).toHaveLength(n);
    const values = addresses.map((a) => a.spec?.address);
    expect(new Set(values).size).toBe(n);
    // No leak: every IPAddress belongs to an existing claim of the same name, and vice versa.
    const claims = (await cp.access.request<ClaimList>('GET', claimPath(ns))).body.items;
    expect(new Set(addresses.map((a) => a.metadata.name))).toEqual(
      new Set(claims.map((c) => c.metadata.name)),
    );
    const status = await waitFor('pool status to count every address', async () => {
      const s = (await get(cp.access, poolPath('GlobalInClusterIPPool', '', 'faults')))?.status?.ipAddresses;
      return s?.used === n ? s : undefined;
    });
    expect(status).toEqual({ total: 1022, used: n, free: 1022 - n, outOfRange: 0 });
    expect((await ctl.metrics.duplicates.get()).values.reduce((sum, v) => sum + v.value, 0)).toBe(0);
  });
});
