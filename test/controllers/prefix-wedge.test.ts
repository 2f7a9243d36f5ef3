/**
 * A prefix pool of /128s with an IPAddress of another length made by hand in it, against a real API
 * server. The search used to skip the children such a hold covers one at a time: a /64 in a /48 of
 * /128s blocked the event loop for ~23 s, then threw `RangeError: Set maximum size exceeded`, and
 * did it again after every restart. Now the claim gets the first /128 past the hold at once, the
 * status counts the hold as out of range, a restarted controller serves the next claim, and the
 * covered children are handed out once the hold is deleted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import {
  addressPath,
  createClaim,
  createNamespace,
  get,
  IPAM,
  type RunningController,
  startController,
  startControlPlane,
  waitForAddress,
} from './fixture.js';

type PrefixKind = 'InClusterPrefixPool' | 'GlobalInClusterPrefixPool';
const MAX_INT64 = '9223372036854775807';

describe('a prefix pool of /128s with a shorter prefix held by hand in it', () => {
  let cp: ControlPlane;
  let ctl: RunningController;
  const ns = 'prefix-wedge';

  const poolPath = (kind: PrefixKind, name = '') => {
    const base =
      kind === 'GlobalInClusterPrefixPool'
        ? `${IPAM}/v1alpha2/globalinclusterprefixpools`
        : `${IPAM}/v1alpha2/namespaces/${ns}/inclusterprefixpools`;
    return name ? `${base}/${name}` : base;
  };

  async function createPool(kind: PrefixKind, name: string, prefix: string): Promise<void> {
    const res = await cp.access.request('POST', poolPath(kind), {
      apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
      kind,
      metadata: { name },
      spec: { prefixes: [prefix], allocationPrefixLength: 128 },
    });
    if (res.status !== 201) throw new Error(`pool ${name}: ${res.status} ${res.text}`);
  }

  /** An IPAddress made by hand in the pool, owned by no claim (so never released by the controller). */
  async function createHandMadeAddress(
    name: string,
    kind: PrefixKind,
    pool: string,
    address: string,
    prefix: number,
  ) {
    const res = await cp.access.request('POST', addressPath(ns), {
      apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
      kind: 'IPAddress',
      metadata: { name },
      spec: {
        address,
        prefix,
        claimRef: { name },
        poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', kind, name: pool },
      },
    });
    expect(res.status, res.text).toBe(201);
  }

  const waitForStatus = (kind: PrefixKind, name: string, wanted: Record<string, number>) =>
    waitFor(`${name} status ${JSON.stringify(wanted)}`, async () => {
      const s = (await get(cp.access, poolPath(kind, name)))?.status?.ipAddresses;
      return s && Object.entries(wanted).every(([k, v]) => s[k as keyof typeof s] === v) ? s : undefined;
    });
  const rawStatus = async (kind: PrefixKind, name: string) =>
    (await cp.access.request('GET', poolPath(kind, name))).text;

  beforeAll(async () => {
    cp = await startControlPlane();
    await createNamespace(cp.access, ns);
    ctl = await startController(cp);
  });
  afterAll(async () => {
    await ctl?.stop();
    await cp?.stop();
  });

  it.each([
    { kind: 'InClusterPrefixPool', net: 'fd00', pool: 'wedge' },
    { kind: 'GlobalInClusterPrefixPool', net: 'fd01', pool: 'global-wedge' },
  ] as const)(
    'hands a claim on $kind $net::/48 with $net::1/64 by hand the first /128 past the /64',
    async ({ kind, net, pool }) => {
      await createPool(kind, pool, `${net}::/48`);
      await createHandMadeAddress(`${pool}-by-hand`, kind, pool, `${net}::1`, 64);
      // The hold is known before the claim comes, as after a restart.
      await waitForStatus(kind, pool, { used: 1, outOfRange: 1 });
      await createClaim(cp.access, ns, `${pool}-claim`, { kind, name: pool });
      expect(await waitForAddress(cp.access, ns, `${pool}-claim`)).toBe(`${net}:0:0:1::`);
      expect((await get(cp.access, addressPath(ns, `${pool}-claim`)))?.spec?.prefix).toBe(128);
      // 2^80 children, 2^80 − 1 free: both capped at int64.
      await waitForStatus(kind, pool, { used: 2, outOfRange: 1 });
      const raw = await rawStatus(kind, pool);
      expect(raw).toContain(`"total":${MAX_INT64}`);
      expect(raw).toContain(`"free":${MAX_INT64}`);
    },
  );

  it('counts exactly in a /80 of /128s with a /96 by hand, its 2^32 children never handed out', async () => {
    const kind = 'InClusterPrefixPool';
    await createPool(kind, 'exact', 'fd10::/80');
    await createHandMadeAddress('exact-by-hand', kind, 'exact', 'fd10::', 96);
    await waitForStatus(kind, 'exact', { outOfRange: 1 });
    await createClaim(cp.access, ns, 'exact-claim', { kind, name: 'exact' });
    expect(await waitForAddress(cp.access, ns, 'exact-claim')).toBe('fd10::1:0:0');
    // The children the /96 covers are not held for themselves: free counts them, as Go's formula.
    expect(await waitForStatus(kind, 'exact', { used: 2 })).toEqual({
      total: 2 ** 48,
      used: 2,
      free: 2 ** 48 - 1,
      outOfRange: 1,
    });
  });

  it('serves the next claim after a restart, and the covered children once the /64 is deleted', async () => {
    const kind = 'InClusterPrefixPool';
    await ctl.stop();
    ctl = await startController(cp);
    await createClaim(cp.access, ns, 'after-restart', { kind, name: 'wedge' });
    expect(await waitForAddress(cp.access, ns, 'after-restart')).toBe('fd00:0:0:1::1');
    expect((await cp.access.request('DELETE', addressPath(ns, 'wedge-by-hand'))).status).toBe(200);
    await waitForStatus(kind, 'wedge', { used: 2, outOfRange: 0 });
    await createClaim(cp.access, ns, 'after-release', { kind, name: 'wedge' });
    expect(await waitForAddress(cp.access, ns, 'after-release')).toBe('fd00::');
    await waitForStatus(kind, 'wedge', { used: 3, outOfRange: 0 });
  });
});
