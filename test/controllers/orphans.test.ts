/**
 * Claims that go without the controller's release: their ReleaseAddress finalizer removed by hand
 * (a common way to unstick a deletion), and then their IPAddress deleted too, by hand or by the
 * deletion of the namespace. (The garbage collector does not delete it: the pool owns it as well.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import {
  addressPath,
  claimPath,
  createClaim,
  createNamespace,
  createPool,
  get,
  poolPath,
  type RunningController,
  startController,
  startControlPlane,
  waitForAddress,
} from './fixture.js';

describe('a claim deleted without the controller', () => {
  let cp: ControlPlane;
  let ctl: RunningController | undefined;
  const ns = 'orphans';
  const pool = { kind: 'InClusterIPPool', name: 'small' } as const;

  /**
   * Strips the claim's finalizers and deletes it, gone at once, then deletes its IPAddress. The
   * paused annotation keeps a running controller from putting the finalizer back in between.
   */
  async function deleteBehindTheControllersBack(name: string): Promise<void> {
    const patched = await cp.access.request(
      'PATCH',
      claimPath(ns, name),
      { metadata: { finalizers: null, annotations: { 'cluster.x-k8s.io/paused': '' } } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(patched.status, patched.text).toBe(200);
    expect((await cp.access.request('DELETE', claimPath(ns, name))).status).toBe(200);
    expect((await cp.access.request('GET', claimPath(ns, name))).status).toBe(404);
    expect((await cp.access.request('DELETE', addressPath(ns, name))).status).toBe(200);
  }

  beforeAll(async () => {
    cp = await startControlPlane();
    await createNamespace(cp.access, ns);
    await createPool(cp.access, pool.kind, ns, pool.name, { addresses: ['10.80.0.1-10.80.0.2'], prefix: 24 });
    ctl = await startController(cp);
  });
  afterAll(async () => {
    await ctl?.stop();
    await cp?.stop();
  });

  it('lets its IPAddress go, and the address is handed out again', async () => {
    await createClaim(cp.access, ns, 'first', pool);
    expect(await waitForAddress(cp.access, ns, 'first')).toBe('10.80.0.1');
    await deleteBehindTheControllersBack('first');
    // ProtectAddress would hold it for ever, and its address with it.
    await waitFor(
      'the orphaned IPAddress to be gone',
      async () => !(await get(cp.access, addressPath(ns, 'first'))),
      {
        timeoutMs: 30_000,
      },
    );
    await createClaim(cp.access, ns, 'second', pool);
    expect(await waitForAddress(cp.access, ns, 'second')).toBe('10.80.0.1');
  });

  it('also when it happened while no controller ran', async () => {
    await createClaim(cp.access, ns, 'third', pool);
    expect(await waitForAddress(cp.access, ns, 'third')).toBe('10.80.0.2');
    await ctl?.stop();
    ctl = undefined;
    await deleteBehindTheControllersBack('third');
    expect((await get(cp.access, addressPath(ns, 'third')))?.metadata.deletionTimestamp).toBeDefined();
    ctl = await startController(cp);
    await waitFor(
      'the orphaned IPAddress to be gone',
      async () => !(await get(cp.access, addressPath(ns, 'third'))),
    );
    await waitFor('the pool to count one address used', async () => {
      const p = await get(cp.access, poolPath(pool.kind, ns, pool.name));
      return p?.status?.ipAddresses?.used === 1;
    });
  });

  it('adopts, not releases, an IPAddress made ahead of its claim', async () => {
    // Pre-seeded (or moved by clusterctl) ahead of its claim: an address to adopt, not to release.
    const created = await cp.access.request('POST', addressPath(ns), {
      apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
      kind: 'IPAddress',
      metadata: { name: 'seeded', finalizers: ['ipam.cluster.x-k8s.io/ProtectAddress'] },
      spec: {
        address: '10.80.0.2',
        prefix: 24,
        claimRef: { name: 'seeded' },
        poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', kind: pool.kind, name: pool.name },
      },
    });
    expect(created.status, created.text).toBe(201);
    await createClaim(cp.access, ns, 'seeded', pool);
    expect(await waitForAddress(cp.access, ns, 'seeded')).toBe('10.80.0.2');
    expect((await get(cp.access, addressPath(ns, 'seeded')))?.metadata.finalizers).toContain(
      'ipam.cluster.x-k8s.io/ProtectAddress',
    );
  });
});
