/**
 * Prefix pools against a real API server, the Go provider's prefix cases
 * (ipaddressclaim_prefix_test.go, inclusterprefixpool_test.go): deterministic child prefixes, /56,
 * paused pool, global pool across namespaces, release, exhaustion, status counts, out of range
 * after a shrink or an exclusion, and the pool finalizer. No webhooks here, as in the Go suite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterAccess } from '../harness/access.js';
import type { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import {
  addressPath,
  claimPath,
  createClaim,
  createNamespace,
  get,
  IPAM,
  type RunningController,
  readyOf,
  startController,
  startControlPlane,
  touchClaim,
  waitForAddress,
  waitForReason,
} from './fixture.js';

type PrefixKind = 'InClusterPrefixPool' | 'GlobalInClusterPrefixPool';
const MERGE = { contentType: 'application/merge-patch+json' };
const PROTECT_POOL = 'ipam.cluster.x-k8s.io/ProtectPool';

function prefixPoolPath(kind: PrefixKind, ns: string, name = ''): string {
  const base =
    kind === 'GlobalInClusterPrefixPool'
      ? `${IPAM}/v1alpha2/globalinclusterprefixpools`
      : `${IPAM}/v1alpha2/namespaces/${ns}/inclusterprefixpools`;
  return name ? `${base}/${name}` : base;
}

async function createPrefixPool(
  access: ClusterAccess,
  kind: PrefixKind,
  ns: string,
  name: string,
  spec: Record<string, unknown>,
  metadata: Record<string, unknown> = {},
): Promise<void> {
  const res = await access.request('POST', prefixPoolPath(kind, ns), {
    apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
    kind,
    metadata: { name, ...metadata },
    spec,
  });
  if (res.status !== 201) throw new Error(`pool ${name}: ${res.status} ${res.text}`);
}

describe('prefix pools', () => {
  let cp: ControlPlane;
  let ctl: RunningController;
  const ns = 'prefixes';
  const other = 'prefixes-other';
  const NS_KIND = 'InClusterPrefixPool' as const;

  const claim = (name: string, pool: string, kind: PrefixKind = NS_KIND, namespace = ns) =>
    createClaim(cp.access, namespace, name, { kind, name: pool });
  const status = async (kind: PrefixKind, name: string) =>
    (await get(cp.access, prefixPoolPath(kind, ns, name)))?.status?.ipAddresses;
  const waitForStatus = (kind: PrefixKind, name: string, wanted: Record<string, number>) =>
    waitFor(`${name} status ${JSON.stringify(wanted)}`, async () => {
      const s = await status(kind, name);
      return s && Object.entries(wanted).every(([k, v]) => s[k as keyof typeof s] === v) ? s : undefined;
    });

  beforeAll(async () => {
    cp = await startControlPlane();
    await createNamespace(cp.access, ns);
    await createNamespace(cp.access, other);
    ctl = await startController(cp);
  });
  afterAll(async () => {
    await ctl?.stop();
    await cp?.stop();
  });

  it('hands out /64s lowest first and writes network, length and gateway into the IPAddress', async () => {
    await createPrefixPool(cp.access, NS_KIND, ns, 'p64', { prefixes: ['fd00::/48'], gateway: 'fd00::1' });
    const pool = await get(cp.access, prefixPoolPath(NS_KIND, ns, 'p64'));
    expect(pool?.spec?.allocationPrefixLength).toBe(64);
    await claim('a0', 'p64');
    expect(await waitForAddress(cp.access, ns, 'a0')).toBe('fd00::');
    await claim('a1', 'p64');
    expect(await waitForAddress(cp.access, ns, 'a1')).toBe('fd00:0:0:1::');
    const ip = await get(cp.access, addressPath(ns, 'a1'));
    expect(ip?.spec).toEqual({
      address: 'fd00:0:0:1::',
      prefix: 64,
      gateway: 'fd00::1',
      claimRef: { name: 'a1' },
      poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', kind: NS_KIND, name: 'p64' },
    });
    expect(ip?.metadata.finalizers).toEqual(['ipam.cluster.x-k8s.io/ProtectAddress']);
    expect(ip?.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.controller])).toEqual([
      ['IPAddressClaim', 'a1', true],
      [NS_KIND, 'p64', false],
    ]);
    const c = await waitForReason(cp.access, ns, 'a1', 'AddressAllocated');
    const message = `Address fd00:0:0:1::/64 allocated from ${NS_KIND} ${ns}/p64`;
    expect(readyOf(c)).toMatchObject({ status: 'True', message });
    // The IPAddress's own event (adoption of what was just created) must not rewrite the condition:
    // a reconcile after a later change of the claim has seen it.
    await touchClaim(cp.access, ctl, claimPath(ns, 'a1'), 1);
    expect(readyOf(await get(cp.access, claimPath(ns, 'a1')))?.message).toBe(message);
    await waitForStatus(NS_KIND, 'p64', { total: 65536, used: 2, free: 65534, outOfRange: 0 });
    const p = await get(cp.access, prefixPoolPath(NS_KIND, ns, 'p64'));
    expect(p?.metadata.finalizers).toContain(PROTECT_POOL);
    expect(readyOf(p)).toMatchObject({ status: 'True', reason: 'Ready' });
  });

  it('hands out /56s: fd06::, fd06:0:0:100::', async () => {
    await createPrefixPool(cp.access, NS_KIND, ns, 'p56', {
      prefixes: ['fd06::/48'],
      allocationPrefixLength: 56,
    });
    await claim('b0', 'p56');
    expect(await waitForAddress(cp.access, ns, 'b0')).toBe('fd06::');
    await claim('b1', 'p56');
    expect(await waitForAddress(cp.access, ns, 'b1')).toBe('fd06:0:0:100::');
    expect((await get(cp.access, addressPath(ns, 'b1')))?.spec?.prefix).toBe(56);
    await waitForStatus(NS_KIND, 'p56', { total: 256, used: 2, free: 254 });
  });

  it('counts 4 /64s in a /62 and 256 /56s in a /48; a smaller source comes first when it is lower', async () => {
    await createPrefixPool(cp.access, NS_KIND, ns, 'count62', { prefixes: ['fd10::/62'] });
    await waitForStatus(NS_KIND, 'count62', { total: 4, used: 0, free: 4, outOfRange: 0 });
    await claim('c0', 'count62');
    await waitForAddress(cp.access, ns, 'c0');
    await waitForStatus(NS_KIND, 'count62', { total: 4, used: 1, free: 3 });
    await createPrefixPool(cp.access, NS_KIND, ns, 'count48', {
      prefixes: ['fd40::/48'],
      allocationPrefixLength: 56,
    });
    await waitForStatus(NS_KIND, 'count48', { total: 256, used: 0, free: 256 });
    await createPrefixPool(cp.access, NS_KIND, ns, 'mixed', { prefixes: ['fd21::/48', 'fd20::/64'] });
    await claim('m0', 'mixed');
    expect(await waitForAddress(cp.access, ns, 'm0')).toBe('fd20::');
    await claim('m1', 'mixed');
    expect(await waitForAddress(cp.access, ns, 'm1')).toBe('fd21::');
  });

  it('hands out /128s of a /48 and caps its counts at int64, written exactly', async () => {
    await createPrefixPool(cp.access, NS_KIND, ns, 'huge', {
      prefixes: ['fd0e::/48'],
      allocationPrefixLength: 128,
    });
    await claim('h0', 'huge');
    expect(await waitForAddress(cp.access, ns, 'h0')).toBe('fd0e::');
    expect((await get(cp.access, addressPath(ns, 'h0')))?.spec?.prefix).toBe(128);
    await waitForStatus(NS_KIND, 'huge', { used: 1 });
    const raw = await cp.access.request('GET', prefixPoolPath(NS_KIND, ns, 'huge'));
    expect(raw.text).toContain('"total":9223372036854775807');
    expect(raw.text).toContain('"free":9223372036854775807');
  });

  it('holds claims of a paused prefix pool until it is unpaused', async () => {
    await createPrefixPool(
      cp.access,
      NS_KIND,
      ns,
      'paused',
      { prefixes: ['fd07::/48'] },
      { annotations: { 'cluster.x-k8s.io/paused': '' } },
    );
    await claim('on-paused', 'paused');
    await waitFor('the Paused condition', async () => {
      const c = await get(cp.access, claimPath(ns, 'on-paused'));
      return c?.status?.conditions?.find((x) => x.type === 'Paused' && x.status === 'True');
    });
    expect(await get(cp.access, addressPath(ns, 'on-paused'))).toBeUndefined();
    await cp.access.request(
      'PATCH',
      prefixPoolPath(NS_KIND, ns, 'paused'),
      { metadata: { annotations: { 'cluster.x-k8s.io/paused': null } } },
      MERGE,
    );
    expect(await waitForAddress(cp.access, ns, 'on-paused')).toBe('fd07::');
  });

  it('hands out distinct prefixes of a global pool to claims of one name in two namespaces', async () => {
    const G = 'GlobalInClusterPrefixPool' as const;
    await createPrefixPool(cp.access, G, '', 'shared', { prefixes: ['fd08::/48'] });
    await claim('same', 'shared', G, ns);
    await claim('same', 'shared', G, other);
    const a = await waitForAddress(cp.access, ns, 'same');
    const b = await waitForAddress(cp.access, other, 'same');
    expect(new Set([a, b])).toEqual(new Set(['fd08::', 'fd08:0:0:1::']));
    await waitForStatus(G, 'shared', { total: 65536, used: 2, free: 65534 });
    // A namespaced pool is only found in the claim's namespace.
    await createClaim(cp.access, other, 'ns-ref', { kind: NS_KIND, name: 'p64' });
    await waitForReason(cp.access, other, 'ns-ref', 'PoolNotFound');
  });

  it('is exhausted by one claim on a single /64, and serves the next once it is released', async () => {
    await createPrefixPool(cp.access, NS_KIND, ns, 'single', { prefixes: ['fd09::/64'] });
    await claim('first', 'single');
    expect(await waitForAddress(cp.access, ns, 'first')).toBe('fd09::');
    await claim('second', 'single');
    const waiting = await waitForReason(cp.access, ns, 'second', 'PoolExhausted');
    expect(readyOf(waiting)?.message).toMatch(/has no free prefix \(1 total, 1 used\)/);
    expect(await get(cp.access, addressPath(ns, 'second'))).toBeUndefined();
    expect((await cp.access.request('DELETE', claimPath(ns, 'first'))).status).toBe(200);
    await waitFor('the first claim and its IPAddress to be gone', async () => {
      const [c, a] = [
        await get(cp.access, claimPath(ns, 'first')),
        await get(cp.access, addressPath(ns, 'first')),
      ];
      return !c && !a;
    });
    expect(await waitForAddress(cp.access, ns, 'second')).toBe('fd09::');
  });

  it('counts allocations out of range after a shrink and after an exclusion, free never negative', async () => {
    await createPrefixPool(cp.access, NS_KIND, ns, 'shrink', { prefixes: ['fd0a::/62'] });
    for (const n of [0, 1, 2]) await claim(`s-${n}`, 'shrink');
    for (const n of [0, 1, 2]) await waitForAddress(cp.access, ns, `s-${n}`);
    await waitForStatus(NS_KIND, 'shrink', { total: 4, used: 3, free: 1, outOfRange: 0 });
    // Without the webhook nothing stops a shrink below the allocations (as in the Go suite).
    await cp.access.request(
      'PATCH',
      prefixPoolPath(NS_KIND, ns, 'shrink'),
      { spec: { prefixes: ['fd0a::/63'] } },
      MERGE,
    );
    expect(await waitForStatus(NS_KIND, 'shrink', { total: 2 })).toEqual({
      total: 2,
      used: 3,
      free: 0,
      outOfRange: 1,
    });
    await cp.access.request(
      'PATCH',
      prefixPoolPath(NS_KIND, ns, 'shrink'),
      { spec: { excludedPrefixes: ['fd0a::5'] } },
      MERGE,
    );
    expect(await waitForStatus(NS_KIND, 'shrink', { total: 1 })).toEqual({
      total: 1,
      used: 3,
      free: 0,
      outOfRange: 2,
    });
    // Out-of-range allocations are kept, never revoked (claims are served concurrently: any order).
    const kept = await Promise.all(
      [0, 1, 2].map(async (n) => (await get(cp.access, addressPath(ns, `s-${n}`)))?.spec?.address),
    );
    expect(new Set(kept)).toEqual(new Set(['fd0a::', 'fd0a:0:0:1::', 'fd0a:0:0:2::']));
  });

  it('keeps a pool with IPAddresses until they are released, then lets it go', async () => {
    await createPrefixPool(cp.access, NS_KIND, ns, 'gone', { prefixes: ['fd0b::/64'] });
    await claim('g', 'gone');
    await waitForAddress(cp.access, ns, 'g');
    await waitFor('the pool finalizer', async () =>
      (await get(cp.access, prefixPoolPath(NS_KIND, ns, 'gone')))?.metadata.finalizers?.includes(
        PROTECT_POOL,
      ),
    );
    const poolWrites = async () =>
      (await ctl.metrics.reconciles.get()).values
        .filter((v) => v.labels.controller === NS_KIND.toLowerCase())
        .reduce((n, v) => n + v.value, 0);
    const before = await poolWrites();
    await cp.access.request('DELETE', prefixPoolPath(NS_KIND, ns, 'gone'));
    // The pool writer has handled the deletion (it would take the finalizer off an empty pool).
    await waitFor('the pool writer to handle the deletion', async () => (await poolWrites()) > before);
    const terminating = await get(cp.access, prefixPoolPath(NS_KIND, ns, 'gone'));
    expect(terminating?.metadata.deletionTimestamp).toBeDefined();
    await cp.access.request('DELETE', claimPath(ns, 'g'));
    await waitFor('claim, address and pool to be gone', async () => {
      const left = await Promise.all([
        get(cp.access, claimPath(ns, 'g')),
        get(cp.access, addressPath(ns, 'g')),
        get(cp.access, prefixPoolPath(NS_KIND, ns, 'gone')),
      ]);
      return left.every((o) => o === undefined);
    });
  });

  it('marks claims of an invalid prefix pool PoolNotReady, and serves them once it is fixed', async () => {
    // The schema cannot see that this prefix is IPv4; the webhook would refuse it.
    await createPrefixPool(cp.access, NS_KIND, ns, 'broken', { prefixes: ['10.0.0.0/8'] });
    await claim('on-broken', 'broken');
    const c = await waitForReason(cp.access, ns, 'on-broken', 'PoolNotReady');
    expect(readyOf(c)?.message).toContain('only IPv6 prefixes are supported');
    const ready = await waitFor('the pool Ready=False', async () => {
      const r = readyOf(await get(cp.access, prefixPoolPath(NS_KIND, ns, 'broken')));
      return r?.status === 'False' ? r : undefined;
    });
    expect(ready.reason).toBe('InvalidSpec');
    await cp.access.request(
      'PATCH',
      prefixPoolPath(NS_KIND, ns, 'broken'),
      { spec: { prefixes: ['fd0c::/64'] } },
      MERGE,
    );
    expect(await waitForAddress(cp.access, ns, 'on-broken')).toBe('fd0c::');
  });

  it('rebuilds prefix pools from the API after a restart and hands out the next free prefix', async () => {
    await ctl.stop();
    ctl = await startController(cp);
    await claim('after-restart', 'p64');
    expect(await waitForAddress(cp.access, ns, 'after-restart')).toBe('fd00:0:0:2::');
    await waitForStatus(NS_KIND, 'p64', { total: 65536, used: 3, free: 65533 });
  });

  it('hands out distinct prefixes to a burst of concurrent claims', async () => {
    await createPrefixPool(cp.access, NS_KIND, ns, 'burst', { prefixes: ['fd0d::/58'] });
    const names = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
    await Promise.all(names.map((n) => claim(n, 'burst')));
    const got = await Promise.all(names.map((n) => waitForAddress(cp.access, ns, n, 60_000)));
    expect(new Set(got).size).toBe(40);
    await waitForStatus(NS_KIND, 'burst', { total: 64, used: 40, free: 24 });
    expect(ctl.metrics).toBeDefined();
  });
});
