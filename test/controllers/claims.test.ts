import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeConditions } from '../../src/controllers/claim-status.js';
import type { ControllerContext, LiveClaim } from '../../src/controllers/context.js';
import { isConflict } from '../../src/kube/index.js';
import type { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import {
  addressPath,
  claimPath,
  createClaim,
  createNamespace,
  createPool,
  eventCount,
  get,
  listAddresses,
  poolPath,
  type RunningController,
  readyOf,
  STATUS_WINDOW_MS,
  startController,
  startControlPlane,
  touchClaim,
  waitForAddress,
  waitForReason,
} from './fixture.js';

describe('the claim controller', () => {
  let cp: ControlPlane;
  let ctl: RunningController;
  const ns = 'claims';
  const other = 'claims-other';

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

  it('hands out the lowest free address and writes the IPAddress as the Go provider does', async () => {
    await createPool(cp.access, 'InClusterIPPool', ns, 'basic', {
      addresses: ['10.0.0.0/24'],
      prefix: 24,
      gateway: '10.0.0.1',
    });
    // The cluster-name label links the claim to a Cluster, which must exist (else the claim waits).
    const cluster = await cp.access.request(
      'POST',
      `/apis/cluster.x-k8s.io/v1beta2/namespaces/${ns}/clusters`,
      {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Cluster',
        metadata: { name: 'c1' },
        spec: { paused: false },
      },
    );
    expect(cluster.status).toBe(201);
    await createClaim(
      cp.access,
      ns,
      'vm-0',
      { kind: 'InClusterIPPool', name: 'basic' },
      {
        labels: { 'cluster.x-k8s.io/cluster-name': 'c1' },
      },
    );
    // .0 is the network address and .1 the gateway: the first address handed out is .2.
    expect(await waitForAddress(cp.access, ns, 'vm-0')).toBe('10.0.0.2');
    const ip = await get(cp.access, addressPath(ns, 'vm-0'));
    expect(ip?.spec).toEqual({
      address: '10.0.0.2',
      prefix: 24,
      gateway: '10.0.0.1',
      claimRef: { name: 'vm-0' },
      poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', kind: 'InClusterIPPool', name: 'basic' },
    });
    expect(ip?.metadata.finalizers).toEqual(['ipam.cluster.x-k8s.io/ProtectAddress']);
    expect(ip?.metadata.labels).toEqual({ 'cluster.x-k8s.io/cluster-name': 'c1' });
    expect(
      ip?.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.controller, r.blockOwnerDeletion]),
    ).toEqual([
      ['IPAddressClaim', 'vm-0', true, true],
      ['InClusterIPPool', 'basic', false, true],
    ]);
    const claim = await get(cp.access, claimPath(ns, 'vm-0'));
    expect(claim?.metadata.finalizers).toContain('ipam.cluster.x-k8s.io/ReleaseAddress');
    expect(readyOf(claim)).toMatchObject({ status: 'True', reason: 'AddressAllocated' });
    // Never paused: Ready alone, as Cluster API's IPAddressClaim names it (no Paused=False).
    expect(claim?.status?.conditions?.map((c) => c.type)).toEqual(['Ready']);
  });

  it('leaves claims of other providers alone', async () => {
    await createClaim(cp.access, ns, 'foreign', { apiGroup: 'ipam.metal3.io', kind: 'IPPool', name: 'x' });
    await createClaim(cp.access, ns, 'marker', { kind: 'InClusterIPPool', name: 'basic' });
    // Claims are reconciled in order of events; once the later one is done the earlier was seen.
    await waitForAddress(cp.access, ns, 'marker');
    const foreign = await get(cp.access, claimPath(ns, 'foreign'));
    expect(foreign?.metadata.finalizers).toBeUndefined();
    expect(foreign?.status).toBeUndefined();
  });

  it('waits for a missing pool with Ready=False PoolNotFound and allocates once it appears', async () => {
    await createClaim(cp.access, ns, 'early', { kind: 'InClusterIPPool', name: 'later' });
    const claim = await waitForReason(cp.access, ns, 'early', 'PoolNotFound');
    expect(readyOf(claim)?.message).toContain('later');
    const event = await waitFor('a PoolNotFound event on the claim', async () => {
      const res = await cp.access.request<{
        items: { reason: string; type: string; involvedObject: { name: string } }[];
      }>('GET', `/api/v1/namespaces/${ns}/events`);
      return res.body.items.find((e) => e.involvedObject.name === 'early' && e.reason === 'PoolNotFound');
    });
    expect(event.type).toBe('Warning');
    await createPool(cp.access, 'InClusterIPPool', ns, 'later', {
      addresses: ['10.1.0.10-10.1.0.20'],
      prefix: 24,
    });
    expect(await waitForAddress(cp.access, ns, 'early')).toBe('10.1.0.10');
  });

  it('keeps the v1beta1 Ready of a claim stored before Cluster API 1.11 current', async () => {
    type Claim = { status?: { deprecated?: { v1beta1?: { conditions?: Record<string, string>[] } } } };
    const v1Ready = async (name: string) => {
      const res = await cp.access.request<Claim>('GET', claimPath(ns, name));
      return res.body.status?.deprecated?.v1beta1?.conditions?.find((c) => c.type === 'Ready');
    };
    await createClaim(cp.access, ns, 'upgraded', { kind: 'InClusterIPPool', name: 'after-upgrade' });
    await waitForReason(cp.access, ns, 'upgraded', 'PoolNotFound');
    // A claim written as v1beta1 and converted: its v1beta1 conditions live on in status.deprecated.
    const seeded = await cp.access.request(
      'PATCH',
      `${claimPath(ns, 'upgraded')}/status`,
      {
        status: {
          deprecated: {
            v1beta1: {
              conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }],
            },
          },
        },
      },
      { contentType: 'application/merge-patch+json' },
    );
    expect(seeded.status, seeded.text).toBe(200);
    // The seeding write's own event reconciles the claim (a count of reconciles could be met by
    // the echo of the controller's earlier write, still on its way).
    await waitFor('the v1beta1 Ready to be corrected', async () =>
      (await v1Ready('upgraded'))?.status === 'False' ? true : undefined,
    );
    expect(await v1Ready('upgraded')).toMatchObject({
      status: 'False',
      severity: 'Warning',
      reason: 'PoolNotFound',
    });
    await createPool(cp.access, 'InClusterIPPool', ns, 'after-upgrade', {
      addresses: ['10.1.1.10-10.1.1.20'],
      prefix: 24,
    });
    await createClaim(cp.access, ns, 'not-upgraded', { kind: 'InClusterIPPool', name: 'after-upgrade' });
    await waitForAddress(cp.access, ns, 'upgraded');
    await waitForAddress(cp.access, ns, 'not-upgraded');
    await waitFor('the v1beta1 Ready to follow', async () =>
      (await v1Ready('upgraded'))?.status === 'True' ? true : undefined,
    );
    expect(await v1Ready('upgraded')).toEqual({
      type: 'Ready',
      status: 'True',
      lastTransitionTime: expect.any(String),
    });
    // A claim that never was v1beta1 gets no deprecated conditions.
    const fresh = await cp.access.request<Claim>('GET', claimPath(ns, 'not-upgraded'));
    expect(fresh.body.status?.deprecated).toBeUndefined();
  });

  it('only resolves namespaced pools in the claim namespace, global pools from anywhere', async () => {
    await createClaim(cp.access, other, 'cross', { kind: 'InClusterIPPool', name: 'basic' });
    await waitForReason(cp.access, other, 'cross', 'PoolNotFound');
    await createPool(cp.access, 'GlobalInClusterIPPool', '', 'shared', {
      addresses: ['10.2.0.1-10.2.0.3'],
      prefix: 24,
    });
    await createClaim(cp.access, ns, 'same-name', { kind: 'GlobalInClusterIPPool', name: 'shared' });
    await createClaim(cp.access, other, 'same-name', { kind: 'GlobalInClusterIPPool', name: 'shared' });
    const a = await waitForAddress(cp.access, ns, 'same-name');
    const b = await waitForAddress(cp.access, other, 'same-name');
    expect(new Set([a, b])).toEqual(new Set(['10.2.0.1', '10.2.0.2']));
  });

  it('reports exhaustion and wakes the waiting claim as soon as an address is released', async () => {
    await createPool(cp.access, 'InClusterIPPool', ns, 'tiny', { addresses: ['10.3.0.5'], prefix: 24 });
    await createClaim(cp.access, ns, 'first', { kind: 'InClusterIPPool', name: 'tiny' });
    expect(await waitForAddress(cp.access, ns, 'first')).toBe('10.3.0.5');
    await createClaim(cp.access, ns, 'second', { kind: 'InClusterIPPool', name: 'tiny' });
    const waiting = await waitForReason(cp.access, ns, 'second', 'PoolExhausted');
    expect(readyOf(waiting)?.message).toMatch(/no free address \(1 total, 1 used\)/);
    // Woken again while the pool stays full (here by label changes): one Warning, not one a wake-up.
    await touchClaim(cp.access, ctl, claimPath(ns, 'second'));
    await ctl.manager.flushEvents();
    expect(await eventCount(cp.access, ns, 'second', 'PoolExhausted')).toBe(1);
    expect((await cp.access.request('DELETE', claimPath(ns, 'first'))).status).toBe(200);
    await waitFor('the first claim and its IPAddress to be gone', async () => {
      const [c, a] = [
        await get(cp.access, claimPath(ns, 'first')),
        await get(cp.access, addressPath(ns, 'first')),
      ];
      return !c && !a;
    });
    expect(await waitForAddress(cp.access, ns, 'second')).toBe('10.3.0.5');
  });

  it('adopts an existing IPAddress named like the claim and keeps its address', async () => {
    await createPool(cp.access, 'InClusterIPPool', ns, 'adopt', { addresses: ['10.4.0.0/24'], prefix: 24 });
    // An unrelated owner that exists (the garbage collector deletes dependents of missing owners).
    const owner = await cp.access.request<{ metadata: { uid: string } }>(
      'POST',
      `/api/v1/namespaces/${ns}/configmaps`,
      {
        metadata: { name: 'unrelated-owner' },
      },
    );
    expect(owner.status).toBe(201);
    const seeded = await cp.access.request('POST', addressPath(ns), {
      apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
      kind: 'IPAddress',
      metadata: {
        name: 'preseeded',
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'unrelated-owner', uid: owner.body.metadata.uid },
        ],
      },
      spec: {
        address: '10.4.0.77',
        prefix: 24,
        claimRef: { name: 'preseeded' },
        poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', kind: 'InClusterIPPool', name: 'adopt' },
      },
    });
    expect(seeded.status).toBe(201);
    await createClaim(cp.access, ns, 'preseeded', { kind: 'InClusterIPPool', name: 'adopt' });
    expect(await waitForAddress(cp.access, ns, 'preseeded')).toBe('10.4.0.77');
    const ip = await waitFor('adoption', async () => {
      const o = await get(cp.access, addressPath(ns, 'preseeded'));
      return o?.metadata.finalizers?.includes('ipam.cluster.x-k8s.io/ProtectAddress') ? o : undefined;
    });
    expect(ip.metadata.ownerReferences?.map((r) => r.kind)).toEqual([
      'ConfigMap',
      'IPAddressClaim',
      'InClusterIPPool',
    ]);
    // The adopted address is held: the next claim gets the lowest free one, not .77.
    await createClaim(cp.access, ns, 'after-adopt', { kind: 'InClusterIPPool', name: 'adopt' });
    expect(await waitForAddress(cp.access, ns, 'after-adopt')).toBe('10.4.0.1');
  });

  it('holds claims of a paused pool until it is unpaused', async () => {
    await createPool(
      cp.access,
      'InClusterIPPool',
      ns,
      'paused',
      { addresses: ['10.5.0.0/24'], prefix: 24 },
      {
        annotations: { 'cluster.x-k8s.io/paused': '' },
      },
    );
    await createClaim(cp.access, ns, 'on-paused', { kind: 'InClusterIPPool', name: 'paused' });
    await waitFor('the Paused condition', async () => {
      const c = await get(cp.access, claimPath(ns, 'on-paused'));
      return c?.status?.conditions?.find((x) => x.type === 'Paused' && x.status === 'True');
    });
    expect(await get(cp.access, addressPath(ns, 'on-paused'))).toBeUndefined();
    const patched = await cp.access.request(
      'PATCH',
      poolPath('InClusterIPPool', ns, 'paused'),
      { metadata: { annotations: { 'cluster.x-k8s.io/paused': null } } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(patched.status).toBe(200);
    expect(await waitForAddress(cp.access, ns, 'on-paused')).toBe('10.5.0.1');
    // Once paused, the condition stays and says it no longer is, in the write that binds it.
    const bound = await waitFor('Ready=True on the unpaused claim', async () => {
      const c = await get(cp.access, claimPath(ns, 'on-paused'));
      return readyOf(c)?.status === 'True' ? c : undefined;
    });
    expect(bound.status?.conditions?.find((x) => x.type === 'Paused')).toMatchObject({
      status: 'False',
      reason: 'NotPaused',
    });
  });

  it('waits for a missing Cluster, holds while it is paused and proceeds when unpaused', async () => {
    await createPool(cp.access, 'InClusterIPPool', ns, 'clustered', {
      addresses: ['10.6.0.0/24'],
      prefix: 24,
    });
    await createClaim(
      cp.access,
      ns,
      'of-cluster',
      { kind: 'InClusterIPPool', name: 'clustered' },
      { clusterName: 'wl' },
    );
    await createClaim(cp.access, ns, 'marker-2', { kind: 'InClusterIPPool', name: 'clustered' });
    await waitForAddress(cp.access, ns, 'marker-2');
    expect((await get(cp.access, claimPath(ns, 'of-cluster')))?.metadata.finalizers).toBeUndefined();
    const cluster = await cp.access.request(
      'POST',
      `/apis/cluster.x-k8s.io/v1beta2/namespaces/${ns}/clusters`,
      {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Cluster',
        metadata: { name: 'wl' },
        spec: { paused: true },
      },
    );
    expect(cluster.status).toBe(201);
    await waitFor('the Paused condition from the Cluster', async () => {
      const c = await get(cp.access, claimPath(ns, 'of-cluster'));
      return c?.status?.conditions?.find(
        (x) => x.type === 'Paused' && x.status === 'True' && x.message.includes('Cluster'),
      );
    });
    expect(await get(cp.access, addressPath(ns, 'of-cluster'))).toBeUndefined();
    await cp.access.request(
      'PATCH',
      `/apis/cluster.x-k8s.io/v1beta2/namespaces/${ns}/clusters/wl`,
      { spec: { paused: false } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(await waitForAddress(cp.access, ns, 'of-cluster')).toBe('10.6.0.2');
  });

  it('marks claims of an invalid pool PoolNotReady instead of crashing', async () => {
    // The CRD schema cannot see that this gateway is another family; the webhook would.
    await createPool(cp.access, 'InClusterIPPool', ns, 'broken', {
      addresses: ['10.7.0.0/24'],
      prefix: 24,
      gateway: 'fd00::1',
    });
    await createClaim(cp.access, ns, 'on-broken', { kind: 'InClusterIPPool', name: 'broken' });
    const claim = await waitForReason(cp.access, ns, 'on-broken', 'PoolNotReady');
    expect(readyOf(claim)?.message).toContain('mixed IP families');
    expect(ctl.manager.isSynced()).toBe(true);
    const poolReady = await waitFor('the pool Ready=False', async () => {
      const p = await get(cp.access, poolPath('InClusterIPPool', ns, 'broken'));
      const c = readyOf(p);
      return c?.status === 'False' ? c : undefined;
    });
    expect(poolReady).toMatchObject({ reason: 'InvalidSpec' });
    expect(poolReady.message).toContain('spec.gateway');
    const events = await waitFor('a PoolNotReady event on the pool', async () => {
      const res = await cp.access.request<{
        items: { reason: string; type: string; involvedObject: { kind: string; name: string } }[];
      }>('GET', `/api/v1/namespaces/${ns}/events`);
      const found = res.body.items.filter(
        (e) => e.involvedObject.kind === 'InClusterIPPool' && e.involvedObject.name === 'broken',
      );
      return found.length > 0 ? found : undefined;
    });
    expect(events[0]).toMatchObject({ reason: 'PoolNotReady', type: 'Warning' });
    // Fixing the spec makes the pool Ready and serves the waiting claim.
    await cp.access.request(
      'PATCH',
      poolPath('InClusterIPPool', ns, 'broken'),
      { spec: { gateway: '10.7.0.1' } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(await waitForAddress(cp.access, ns, 'on-broken')).toBe('10.7.0.2');
    await waitFor('the pool Ready=True', async () => {
      const p = await get(cp.access, poolPath('InClusterIPPool', ns, 'broken'));
      return readyOf(p)?.status === 'True' && readyOf(p)?.reason === 'Ready';
    });
  });

  it('says why a pool with thousands of invalid addresses is invalid, within what the schemas take', async () => {
    // Every bad entry is named in the message: 3,000 of them are ~250 KB, where a condition's
    // message may have 32,768 characters (more and the whole status write is refused).
    const addresses = Array.from({ length: 3000 }, (_, i) => `not-an-address-${i}`);
    await createPool(cp.access, 'InClusterIPPool', ns, 'many-bad', { addresses, prefix: 24 });
    await createClaim(cp.access, ns, 'on-many-bad', { kind: 'InClusterIPPool', name: 'many-bad' });
    const claim = await waitForReason(cp.access, ns, 'on-many-bad', 'PoolNotReady');
    const message = readyOf(claim)?.message ?? '';
    expect(message).toContain('not-an-address-0');
    expect(message.length).toBeLessThanOrEqual(32_768);
    const poolReady = await waitFor('the pool Ready=False', async () => {
      const c = readyOf(await get(cp.access, poolPath('InClusterIPPool', ns, 'many-bad')));
      return c?.status === 'False' ? c : undefined;
    });
    expect(poolReady.reason).toBe('InvalidSpec');
    expect(poolReady.message.length).toBeLessThanOrEqual(32_768);
  });

  it('keeps pool status exact, with free never negative after the pool shrinks', async () => {
    await createPool(cp.access, 'InClusterIPPool', ns, 'shrink', {
      addresses: ['10.8.0.10-10.8.0.13'],
      prefix: 24,
    });
    for (const n of [0, 1, 2])
      await createClaim(cp.access, ns, `s-${n}`, { kind: 'InClusterIPPool', name: 'shrink' });
    for (const n of [0, 1, 2]) await waitForAddress(cp.access, ns, `s-${n}`);
    await waitFor('status 4/3/1', async () => {
      const p = await get(cp.access, poolPath('InClusterIPPool', ns, 'shrink'));
      const s = p?.status?.ipAddresses;
      return s?.total === 4 && s.used === 3 && s.free === 1 && s.outOfRange === 0;
    });
    // Without the webhook nothing stops a shrink below the allocations (as with the Go provider).
    await cp.access.request(
      'PATCH',
      poolPath('InClusterIPPool', ns, 'shrink'),
      { spec: { addresses: ['10.8.0.10'] } },
      { contentType: 'application/merge-patch+json' },
    );
    const status = await waitFor('status after shrink', async () => {
      const p = await get(cp.access, poolPath('InClusterIPPool', ns, 'shrink'));
      const s = p?.status?.ipAddresses;
      return s?.total === 1 ? s : undefined;
    });
    expect(status).toEqual({ total: 1, used: 3, free: 0, outOfRange: 2 });
    const pool = await get(cp.access, poolPath('InClusterIPPool', ns, 'shrink'));
    expect(pool?.metadata.finalizers).toContain('ipam.cluster.x-k8s.io/ProtectPool');
  });

  it('releases the address when the claim is deleted, and the pool goes once nothing refers to it', async () => {
    await createPool(cp.access, 'InClusterIPPool', ns, 'gone', { addresses: ['10.9.0.1'], prefix: 24 });
    await createClaim(cp.access, ns, 'g', { kind: 'InClusterIPPool', name: 'gone' });
    await waitForAddress(cp.access, ns, 'g');
    await waitFor('the pool finalizer', async () =>
      (await get(cp.access, poolPath('InClusterIPPool', ns, 'gone')))?.metadata.finalizers?.includes(
        'ipam.cluster.x-k8s.io/ProtectPool',
      ),
    );
    await cp.access.request('DELETE', poolPath('InClusterIPPool', ns, 'gone'));
    const terminating = await get(cp.access, poolPath('InClusterIPPool', ns, 'gone'));
    expect(terminating?.metadata.deletionTimestamp).toBeDefined();
    await cp.access.request('DELETE', claimPath(ns, 'g'));
    await waitFor('claim, address and pool to be gone', async () => {
      const left = await Promise.all([
        get(cp.access, claimPath(ns, 'g')),
        get(cp.access, addressPath(ns, 'g')),
        get(cp.access, poolPath('InClusterIPPool', ns, 'gone')),
      ]);
      return left.every((o) => o === undefined);
    });
  });

  it('reports two IPAddresses with one address in one pool instead of ignoring it', async () => {
    const taken = await waitForAddress(cp.access, ns, 'vm-0');
    const dup = await cp.access.request('POST', addressPath(ns), {
      apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
      kind: 'IPAddress',
      metadata: { name: 'hand-made' },
      spec: {
        address: taken,
        prefix: 24,
        claimRef: { name: 'hand-made' },
        poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', kind: 'InClusterIPPool', name: 'basic' },
      },
    });
    expect(dup.status).toBe(201);
    await waitFor('the duplicate metric', async () => {
      const total = (await ctl.metrics.duplicates.get()).values.reduce((sum, v) => sum + v.value, 0);
      return total >= 1;
    });
    const events = await waitFor('a DuplicateAddress event on the pool', async () => {
      const res = await cp.access.request<{ items: { reason: string; message: string }[] }>(
        'GET',
        `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name=basic`,
      );
      const found = res.body.items.filter((e) => e.reason === 'DuplicateAddress');
      return found.length > 0 ? found : undefined;
    });
    expect(events[0]?.message).toContain(taken);
    // Counted now, not only once seen: the gauge (and IPAMDuplicateAddress) clears when it is gone.
    const now = async () =>
      (await ctl.metrics.registry.getSingleMetricAsString('ipam_pool_duplicate_addresses')).match(
        /pool="[^"]*\/basic"} (\d+)/,
      )?.[1];
    await waitFor('one duplicate now', async () => (await now()) === '1');
    expect((await cp.access.request('DELETE', addressPath(ns, 'hand-made'))).status).toBe(200);
    await waitFor('no duplicate now', async () => (await now()) === '0');
  });

  it('sets AllocationFailed when an IPAddress named like the claim belongs to another pool', async () => {
    await createPool(cp.access, 'InClusterIPPool', ns, 'mine', { addresses: ['10.11.0.0/24'], prefix: 24 });
    const squatter = await cp.access.request('POST', addressPath(ns), {
      apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
      kind: 'IPAddress',
      metadata: { name: 'squatted' },
      spec: {
        address: '192.0.2.1',
        prefix: 24,
        claimRef: { name: 'squatted' },
        poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', kind: 'InClusterIPPool', name: 'someone-else' },
      },
    });
    expect(squatter.status).toBe(201);
    await createClaim(cp.access, ns, 'squatted', { kind: 'InClusterIPPool', name: 'mine' });
    const claim = await waitForReason(cp.access, ns, 'squatted', 'AllocationFailed');
    expect(readyOf(claim)?.message).toContain('someone-else');
  });

  it('keeps a released address for the pool grace period before the IPAddress goes', async () => {
    await createPool(cp.access, 'InClusterIPPool', ns, 'graceful', {
      addresses: ['10.12.0.1'],
      prefix: 24,
      addressReuseGracePeriodSeconds: 2,
    });
    await createClaim(cp.access, ns, 'grace', { kind: 'InClusterIPPool', name: 'graceful' });
    await waitForAddress(cp.access, ns, 'grace');
    const deleted = Date.now();
    await cp.access.request('DELETE', claimPath(ns, 'grace'));
    // Within the grace period both objects are still there and the address is not reused.
    const held = await get(cp.access, addressPath(ns, 'grace'));
    expect(held?.spec?.address).toBe('10.12.0.1');
    expect((await get(cp.access, claimPath(ns, 'grace')))?.metadata.deletionTimestamp).toBeDefined();
    await waitFor(
      'the IPAddress to go after the grace period',
      async () => !(await get(cp.access, addressPath(ns, 'grace'))),
    );
    // deletionTimestamp has second precision: allow for the truncation.
    expect(Date.now() - deleted).toBeGreaterThanOrEqual(1000);
  });

  it('leaves a claim with the paused annotation alone', async () => {
    await createClaim(
      cp.access,
      ns,
      'paused-claim',
      { kind: 'InClusterIPPool', name: 'basic' },
      {
        annotations: { 'cluster.x-k8s.io/paused': 'true' },
      },
    );
    await waitFor('the Paused condition on the claim', async () => {
      const c = await get(cp.access, claimPath(ns, 'paused-claim'));
      return c?.status?.conditions?.find((x) => x.type === 'Paused' && x.status === 'True');
    });
    expect(await get(cp.access, addressPath(ns, 'paused-claim'))).toBeUndefined();
    expect((await get(cp.access, claimPath(ns, 'paused-claim')))?.metadata.finalizers).toBeUndefined();
  });

  it('still releases a deleted claim whose Cluster is gone', async () => {
    await createPool(cp.access, 'InClusterIPPool', ns, 'orphaned', {
      addresses: ['10.13.0.0/24'],
      prefix: 24,
    });
    const cluster = await cp.access.request(
      'POST',
      `/apis/cluster.x-k8s.io/v1beta2/namespaces/${ns}/clusters`,
      {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Cluster',
        metadata: { name: 'short-lived' },
        spec: { paused: false },
      },
    );
    expect(cluster.status).toBe(201);
    await createClaim(
      cp.access,
      ns,
      'outlives',
      { kind: 'InClusterIPPool', name: 'orphaned' },
      { clusterName: 'short-lived' },
    );
    await waitForAddress(cp.access, ns, 'outlives');
    await cp.access.request('DELETE', `/apis/cluster.x-k8s.io/v1beta2/namespaces/${ns}/clusters/short-lived`);
    await waitFor(
      'the Cluster to be gone',
      async () =>
        !(await get(cp.access, `/apis/cluster.x-k8s.io/v1beta2/namespaces/${ns}/clusters/short-lived`)),
    );
    await cp.access.request('DELETE', claimPath(ns, 'outlives'));
    await waitFor('claim and IPAddress to be gone', async () => {
      const left = await Promise.all([
        get(cp.access, claimPath(ns, 'outlives')),
        get(cp.access, addressPath(ns, 'outlives')),
      ]);
      return left.every((o) => o === undefined);
    });
  });

  it('skips the grace period when the pool is being deleted, then lets the pool go', async () => {
    await createPool(cp.access, 'InClusterIPPool', ns, 'leaving', {
      addresses: ['10.14.0.1'],
      prefix: 24,
      addressReuseGracePeriodSeconds: 3600,
    });
    await createClaim(cp.access, ns, 'last', { kind: 'InClusterIPPool', name: 'leaving' });
    await waitForAddress(cp.access, ns, 'last');
    await waitFor('the pool finalizer', async () =>
      (await get(cp.access, poolPath('InClusterIPPool', ns, 'leaving')))?.metadata.finalizers?.includes(
        'ipam.cluster.x-k8s.io/ProtectPool',
      ),
    );
    const series = async () =>
      (await ctl.metrics.poolAddresses.get()).values.filter((v) =>
        String(v.labels.pool).endsWith('/leaving'),
      );
    await waitFor('the pool in ipam_pool_addresses', async () => (await series()).length === 4);
    await cp.access.request('DELETE', poolPath('InClusterIPPool', ns, 'leaving'));
    await cp.access.request('DELETE', claimPath(ns, 'last'));
    // An hour of grace would hold the claim; a pool being deleted skips it (as the Go provider does).
    await waitFor('claim, address and pool to be gone', async () => {
      const left = await Promise.all([
        get(cp.access, claimPath(ns, 'last')),
        get(cp.access, addressPath(ns, 'last')),
        get(cp.access, poolPath('InClusterIPPool', ns, 'leaving')),
      ]);
      return left.every((o) => o === undefined);
    });
    // Its series go with it: IPAMPoolFull and the dashboard would show it until a restart.
    await waitFor('the pool gone from ipam_pool_addresses', async () => (await series()).length === 0);
  });

  it('keeps conditions another writer set: a status write from a stale copy conflicts', async () => {
    await createClaim(cp.access, other, 'shared-status', { kind: 'GlobalInClusterIPPool', name: 'later' });
    await waitForReason(cp.access, other, 'shared-status', 'PoolNotFound');
    const stale = (await get(cp.access, claimPath(other, 'shared-status'))) as unknown as LiveClaim;
    const foo = { type: 'Foo', status: 'True', reason: 'Set', message: 'by someone else' };
    const patched = await cp.access.request(
      'PATCH',
      `${claimPath(other, 'shared-status')}/status`,
      {
        status: {
          conditions: [
            ...(stale.status?.conditions ?? []),
            { ...foo, lastTransitionTime: '2026-12-01T00:00:00Z' },
          ],
        },
      },
      { contentType: 'application/merge-patch+json' },
    );
    expect(patched.status).toBe(200);
    // What a reconcile of the copy from before that write would send.
    const ctx = {
      client: ctl.client,
      claimResource: {
        group: 'ipam.cluster.x-k8s.io',
        version: 'v1beta2',
        plural: 'ipaddressclaims',
        namespaced: true,
        kind: 'IPAddressClaim',
      },
      capiApiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
      fieldManager: 'test',
      log: pino({ level: 'silent' }),
    } as unknown as ControllerContext;
    const write = writeConditions(
      {
        ctx,
        key: `${other}/shared-status`,
        claim: stale,
        signal: new AbortController().signal,
        written: new Map(),
        schema: { v1beta2StatusPruned: false },
      },
      [{ type: 'Ready', status: 'False', reason: 'PoolExhausted', message: 'stale' }],
      undefined,
    );
    await expect(write).rejects.toSatisfy(isConflict);
    // The controller itself works from its cache, which has Foo by now, and keeps it.
    await createPool(cp.access, 'GlobalInClusterIPPool', '', 'later', {
      addresses: ['10.30.0.0/30'],
      prefix: 24,
    });
    await waitForAddress(cp.access, other, 'shared-status');
    const claim = await waitFor('Ready=True', async () => {
      const c = await get(cp.access, claimPath(other, 'shared-status'));
      return readyOf(c)?.status === 'True' ? c : undefined;
    });
    expect(claim.status?.conditions).toContainEqual(expect.objectContaining(foo));
  });

  it('hands out distinct addresses to a burst of claims with few status writes', async () => {
    const n = 2000;
    await createPool(cp.access, 'GlobalInClusterIPPool', '', 'burst', {
      addresses: ['10.20.0.0/20'],
      prefix: 20,
    });
    await waitFor(
      'the pool status',
      async () => (await get(cp.access, poolPath('GlobalInClusterIPPool', '', 'burst')))?.status,
    );
    const writesBefore = (await ctl.metrics.statusWrites.get()).values[0]?.value ?? 0;
    const names = Array.from({ length: n }, (_, i) => `burst-${i}`);
    const started = Date.now();
    for (let i = 0; i < n; i += 100) {
      await Promise.all(
        names
          .slice(i, i + 100)
          .map((name) =>
            createClaim(cp.access, other, name, { kind: 'GlobalInClusterIPPool', name: 'burst' }),
          ),
      );
    }
    await waitFor(
      'every burst claim bound',
      async () =>
        (await listAddresses(cp.access, other)).filter((a) => a.metadata.name.startsWith('burst-')).length ===
        n,
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const addresses = (await listAddresses(cp.access, other)).filter((a) =>
      a.metadata.name.startsWith('burst-'),
    );
    expect(new Set(addresses.map((a) => a.spec?.address)).size).toBe(n);
    const status = await waitFor('status used = n', async () => {
      const s = (await get(cp.access, poolPath('GlobalInClusterIPPool', '', 'burst')))?.status?.ipAddresses;
      return s?.used === n ? s : undefined;
    });
    expect(status).toEqual({ total: 4094, used: n, free: 4094 - n, outOfRange: 0 });
    const writes = ((await ctl.metrics.statusWrites.get()).values[0]?.value ?? 0) - writesBefore;
    expect(writes).toBeGreaterThan(0);
    // Coalesced: at most one write per window however many allocations happened in it (other
    // pools of this file may take a few windows too), and far fewer writes than allocations.
    const windows = Math.ceil((Date.now() - started) / STATUS_WINDOW_MS);
    expect(writes).toBeLessThanOrEqual(windows + 5);
    expect(writes).toBeLessThan(n / 4);
  }, 240_000);
});
