/**
 * docs/upgrading.md, followed against a real API server: pools, claims, IPAddresses and the leader's
 * Lease exactly as the Go provider leaves them (its CRDs — ours without our additions, which
 * src/api/schema/go-parity.test.ts holds equal to the Go provider's —, its finalizers, owner
 * references, labels and status, `free` below zero included), then the page's console blocks, with
 * this provider started where the page replaces the Deployment. Every address is kept (same
 * IPAddress objects, no IPAddress created or deleted), no claim is given another address, the Go
 * leader's Lease is waited out, and each pool's first status write is already right.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  buildCrd,
  type CustomResourceDefinition,
  FINALIZER_PROTECT_ADDRESS,
  FINALIZER_PROTECT_POOL,
  FINALIZER_RELEASE_ADDRESS,
  INSTALL_NAMESPACE,
  OUR_CRD_SOURCES,
} from '../../src/api/index.js';
import { LEADER_ELECTION_ID } from '../../src/install/monitoring.js';
import { type ControllerProcess, startControllerProcess } from '../e2e/controller-process.js';
import type { ClusterInfo } from '../harness/access.js';
import { ControlPlane, freePort } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { blocks, readPage, root } from './markdown.js';
import { readerEnv, runConsole, UPGRADE_PAGE } from './runner.js';

const IPAM = 'ipam.cluster.x-k8s.io';
const GROUP = `/apis/${IPAM}`;

/** The Go provider's CRD of a pool kind: ours without the fields, columns and status it lacks. */
function goProviderCrd(crd: CustomResourceDefinition): CustomResourceDefinition {
  const out = structuredClone(crd) as CustomResourceDefinition & {
    spec: {
      versions: { additionalPrinterColumns?: { priority?: number }[]; schema: { openAPIV3Schema: Schema } }[];
    };
  };
  for (const v of out.spec.versions) {
    if (v.additionalPrinterColumns)
      v.additionalPrinterColumns = v.additionalPrinterColumns.filter((c) => !c.priority);
    const props = v.schema.openAPIV3Schema.properties ?? {};
    for (const f of ['preAllocations', 'namespaceSelector', 'allocationStrategy'])
      delete props.spec?.properties?.[f];
    delete props.status?.properties?.conditions;
    delete props.status?.properties?.lastAllocated;
    delete props.status?.properties?.ipAddresses?.properties?.preAllocated;
  }
  return out;
}
interface Schema {
  properties?: Record<string, Schema>;
}

interface Obj {
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion: string;
    finalizers?: string[];
    labels?: Record<string, string>;
    ownerReferences?: unknown[];
  };
  spec?: Record<string, unknown>;
  status?: {
    addressRef?: { name: string };
    ipAddresses?: Record<string, number>;
    conditions?: {
      type: string;
      status: string;
      reason: string;
      message: string;
      lastTransitionTime: string;
    }[];
  };
}

interface WatchEvent {
  type: string;
  object: Obj;
}

/** A raw watch of one resource list, collecting every event until stopped. */
function watch(
  info: ClusterInfo,
  path: string,
  resourceVersion: string,
): { events: WatchEvent[]; stop(): void } {
  const events: WatchEvent[] = [];
  let buffer = '';
  const url = new URL(`${path}?watch=true&resourceVersion=${resourceVersion}`, info.server);
  const req = request(
    url,
    { ca: info.caPem, cert: info.clientCertPem, key: info.clientKeyPem },
    (res: IncomingMessage) => {
      res.on('data', (c: Buffer) => {
        buffer += c.toString();
        for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.trim()) events.push(JSON.parse(line) as WatchEvent);
        }
      });
    },
  );
  req.on('error', () => {});
  req.end();
  return { events, stop: () => req.destroy() };
}

describe('docs/upgrading.md: this provider over what the Go provider left', () => {
  let cp: ControlPlane;
  let ctl: ControllerProcess | undefined;
  let scratch: string;
  let env: NodeJS.ProcessEnv;
  let metricsPort: number;
  const uids = new Map<string, string>();
  let leaseExpires = 0;
  let addressesBefore: Obj[] = [];
  const watches: { events: WatchEvent[]; stop(): void }[] = [];
  let addressWatch: { events: WatchEvent[]; stop(): void };
  const poolWatches = new Map<string, { events: WatchEvent[]; stop(): void }>();

  const api = async <T = Obj>(method: string, path: string, body?: unknown, contentType?: string) => {
    const res = await cp.access.request<T>(method, path, body, contentType ? { contentType } : {});
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
    return res.body;
  };
  const mergeStatus = (path: string, status: unknown) =>
    api('PATCH', `${path}/status`, { status }, 'application/merge-patch+json');

  const poolPath = (kind: string, ns: string | undefined, name: string) =>
    `${GROUP}/v1alpha2/${ns ? `namespaces/${ns}/` : ''}${kind.toLowerCase()}s/${name}`;

  /** A pool as the Go provider leaves it: ProtectPool on, its four counts in the status. */
  async function goPool(
    kind: string,
    ns: string | undefined,
    name: string,
    spec: unknown,
    counts: Record<string, number>,
  ) {
    const path = poolPath(kind, ns, name).replace(/\/[^/]+$/, '');
    const pool = await api('POST', path, {
      apiVersion: `${IPAM}/v1alpha2`,
      kind,
      metadata: { name, finalizers: [FINALIZER_PROTECT_POOL] },
      spec,
    });
    uids.set(`${kind}/${ns ?? ''}/${name}`, pool.metadata.uid);
    await mergeStatus(poolPath(kind, ns, name), { ipAddresses: counts });
  }

  /** A claim as the Go provider leaves it: ReleaseAddress on, status.addressRef once its IPAddress is made. */
  async function goClaim(
    ns: string,
    name: string,
    pool: { kind: string; name: string },
    opts: { cluster?: string; addressRef?: boolean } = {},
  ) {
    const claim = await api('POST', `${GROUP}/v1beta2/namespaces/${ns}/ipaddressclaims`, {
      apiVersion: `${IPAM}/v1beta2`,
      kind: 'IPAddressClaim',
      metadata: {
        name,
        finalizers: [FINALIZER_RELEASE_ADDRESS],
        ...(opts.cluster ? { labels: { 'cluster.x-k8s.io/cluster-name': opts.cluster } } : {}),
      },
      spec: { poolRef: { apiGroup: IPAM, ...pool }, ...(opts.cluster ? { clusterName: opts.cluster } : {}) },
    });
    uids.set(`claim/${ns}/${name}`, claim.metadata.uid);
    if (opts.addressRef !== false)
      await mergeStatus(`${GROUP}/v1beta2/namespaces/${ns}/ipaddressclaims/${name}`, {
        addressRef: { name },
      });
  }

  /** The IPAddress the Go provider makes for a claim (pkg/ipamutil/address.go and the reconciler). */
  async function goAddress(
    ns: string,
    name: string,
    pool: { kind: string; name: string; namespace?: string },
    spec: { address: string; prefix: number; gateway?: string },
    cluster?: string,
  ) {
    await api('POST', `${GROUP}/v1beta2/namespaces/${ns}/ipaddresses`, {
      apiVersion: `${IPAM}/v1beta2`,
      kind: 'IPAddress',
      metadata: {
        name,
        finalizers: [FINALIZER_PROTECT_ADDRESS],
        ...(cluster ? { labels: { 'cluster.x-k8s.io/cluster-name': cluster } } : {}),
        ownerReferences: [
          {
            apiVersion: `${IPAM}/v1beta2`,
            kind: 'IPAddressClaim',
            name,
            uid: uids.get(`claim/${ns}/${name}`),
            controller: true,
            blockOwnerDeletion: true,
          },
          {
            apiVersion: `${IPAM}/v1alpha2`,
            kind: pool.kind,
            name: pool.name,
            uid: uids.get(`${pool.kind}/${pool.namespace ?? ''}/${pool.name}`),
            controller: false,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        address: spec.address,
        prefix: spec.prefix,
        ...(spec.gateway ? { gateway: spec.gateway } : {}),
        claimRef: { name },
        poolRef: { apiGroup: IPAM, kind: pool.kind, name: pool.name },
      },
    });
  }

  const POOLS = [
    {
      kind: 'InClusterIPPool',
      ns: 'team-a',
      name: 'nodes',
      go: { total: 10, used: 3, free: 7, outOfRange: 0 },
    },
    // Two addresses, three held (one outside, after a change made with the webhooks off): the Go
    // provider's free is total - used, below zero.
    {
      kind: 'InClusterIPPool',
      ns: 'team-a',
      name: 'full',
      go: { total: 2, used: 3, free: -1, outOfRange: 1 },
    },
    {
      kind: 'InClusterPrefixPool',
      ns: 'team-a',
      name: 'prefixes',
      go: { total: 256, used: 1, free: 255, outOfRange: 0 },
    },
    {
      kind: 'GlobalInClusterIPPool',
      ns: undefined,
      name: 'shared',
      go: { total: 253, used: 2, free: 251, outOfRange: 0 },
    },
  ] as const;
  /** What this provider's first status write of each pool says. */
  const EXPECTED: Record<string, Record<string, number>> = {
    nodes: { total: 10, used: 3, free: 7, outOfRange: 0 },
    full: { total: 2, used: 3, free: 0, outOfRange: 1 },
    prefixes: { total: 256, used: 1, free: 255, outOfRange: 0 },
    shared: { total: 253, used: 2, free: 251, outOfRange: 0 },
  };

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'docs-upgrade-'));
    const goCrds = join(scratch, 'go-crds');
    mkdirSync(goCrds);
    for (const s of OUR_CRD_SOURCES)
      writeFileSync(join(goCrds, `${s.plural}.yaml`), stringify(goProviderCrd(buildCrd(s))));
    cp = await ControlPlane.start({ crds: [join(root, 'test/crds/capi'), goCrds] });
    // The reader's working directory: the repository's crds/ and manifests/, files written beside.
    for (const d of ['crds', 'manifests']) symlinkSync(join(root, d), join(scratch, d));
    env = readerEnv(scratch, cp.binaries.kubectl, cp.kubeconfigPath);

    for (const ns of ['team-a', 'team-b', INSTALL_NAMESPACE])
      await api('POST', '/api/v1/namespaces', { metadata: { name: ns } });
    await api('POST', '/apis/cluster.x-k8s.io/v1beta2/namespaces/team-a/clusters', {
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'Cluster',
      metadata: { name: 'workload' },
      spec: { controlPlaneEndpoint: { host: '10.80.2.10', port: 6443 } },
    });
    const specs: Record<string, unknown> = {
      nodes: { addresses: ['10.80.0.10-10.80.0.19'], prefix: 24, gateway: '10.80.0.1' },
      full: { addresses: ['10.80.1.10-10.80.1.11'], prefix: 24 },
      prefixes: { prefixes: ['fd00:80::/56'], allocationPrefixLength: 64 },
      shared: { addresses: ['10.81.0.0/24'], prefix: 24, gateway: '10.81.0.1' },
    };
    for (const p of POOLS) await goPool(p.kind, p.ns, p.name, specs[p.name], p.go);

    const nodes = { kind: 'InClusterIPPool', name: 'nodes', namespace: 'team-a' };
    const full = { kind: 'InClusterIPPool', name: 'full', namespace: 'team-a' };
    const prefixes = { kind: 'InClusterPrefixPool', name: 'prefixes', namespace: 'team-a' };
    const shared = { kind: 'GlobalInClusterIPPool', name: 'shared' };
    for (const [name, address] of [
      ['node-a', '10.80.0.10'],
      ['node-b', '10.80.0.11'],
      ['node-c', '10.80.0.12'],
    ] as const) {
      // node-c: the Go provider made its IPAddress and stopped before writing the claim's status.
      await goClaim('team-a', name, nodes, { cluster: 'workload', addressRef: name !== 'node-c' });
      await goAddress('team-a', name, nodes, { address, prefix: 24, gateway: '10.80.0.1' }, 'workload');
    }
    for (const [name, address] of [
      ['full-a', '10.80.1.10'],
      ['full-b', '10.80.1.11'],
      ['full-old', '10.80.1.50'],
    ] as const) {
      await goClaim('team-a', name, full);
      await goAddress('team-a', name, full, { address, prefix: 24 });
    }
    // Waiting for an address of the full pool: finalizer on, nothing else.
    await goClaim('team-a', 'full-waiting', full, { addressRef: false });
    await goClaim('team-a', 'node-a-v6', prefixes, { cluster: 'workload' });
    await goAddress('team-a', 'node-a-v6', prefixes, { address: 'fd00:80::', prefix: 64 }, 'workload');
    // One claim name in two namespaces, both of the global pool.
    await goClaim('team-a', 'web', shared);
    await goAddress('team-a', 'web', shared, { address: '10.81.0.2', prefix: 24, gateway: '10.81.0.1' });
    await goClaim('team-b', 'web', shared);
    await goAddress('team-b', 'web', shared, { address: '10.81.0.3', prefix: 24, gateway: '10.81.0.1' });

    // The Go provider's leader, just stopped: its Lease renewed a moment ago, not released.
    const renewed = new Date(Date.now() - 5_000);
    const micro = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    await api('POST', `/apis/coordination.k8s.io/v1/namespaces/${INSTALL_NAMESPACE}/leases`, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: LEADER_ELECTION_ID },
      spec: {
        holderIdentity:
          'capi-ipam-in-cluster-controller-manager-7d4b9c6f8-qv2lx_5f0c2f43-6a8e-4c59-9b0e-2f5e1d6c7a10',
        leaseDurationSeconds: 15,
        acquireTime: micro(new Date(Date.now() - 3_600_000)),
        renewTime: micro(renewed),
        leaseTransitions: 0,
      },
    });
    leaseExpires = renewed.getTime() + 15_000;

    const list = await api<{ items: Obj[]; metadata: { resourceVersion: string } }>(
      'GET',
      `${GROUP}/v1beta2/ipaddresses`,
    );
    addressesBefore = list.items;
    addressWatch = watch(cp.info, `${GROUP}/v1beta2/ipaddresses`, list.metadata.resourceVersion);
    watches.push(addressWatch);
  }, 120_000);

  /** Watches of the pools, from now (a CRD's update ends the watches of its objects). */
  async function watchPools() {
    for (const p of POOLS) {
      const path = poolPath(p.kind, p.ns, p.name).replace(/\/[^/]+$/, '');
      // Right after a CRD's update its storage answers 429 "(re)initializing" for a moment.
      const pools = await waitFor(`${path} to be served`, () =>
        api<{ metadata: { resourceVersion: string } }>('GET', path).catch(() => undefined),
      );
      const w = watch(cp.info, path, pools.metadata.resourceVersion);
      poolWatches.set(p.name, w);
      watches.push(w);
    }
  }

  afterAll(async () => {
    for (const w of watches) w.stop();
    ctl?.kill();
    await cp?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const pageBlocks = () => blocks(readPage(UPGRADE_PAGE)).filter((b) => b.lang === 'console');

  it('the page has three console blocks: before, the CRDs, the check', () => {
    expect(pageBlocks()).toHaveLength(3);
  });

  it('before: the backup and the list of addresses', async () => {
    expect(await runConsole(UPGRADE_PAGE, pageBlocks().slice(0, 1), env, scratch)).toBeUndefined();
  });

  it('the CRDs: ours over the Go provider’s, every stored object kept', async () => {
    expect(await runConsole(UPGRADE_PAGE, pageBlocks().slice(1, 2), env, scratch)).toBeUndefined();
    const list = await api<{ items: Obj[] }>('GET', `${GROUP}/v1beta2/ipaddresses`);
    expect(list.items.map((a) => a.metadata.uid).sort()).toEqual(
      addressesBefore.map((a) => a.metadata.uid).sort(),
    );
  });

  it('starts in place of the Go provider, and waits out its leader’s Lease before any write', async () => {
    await watchPools();
    metricsPort = await freePort();
    const healthPort = await freePort();
    ctl = startControllerProcess([
      `--kubeconfig=${cp.kubeconfigPath}`,
      `--leader-election-namespace=${INSTALL_NAMESPACE}`,
      `--health-probe-bind-address=127.0.0.1:${healthPort}`,
      `--diagnostics-address=127.0.0.1:${metricsPort}`,
      '--insecure-diagnostics',
      '--webhook-port=0',
    ]);
    const lease = `/apis/coordination.k8s.io/v1/namespaces/${INSTALL_NAMESPACE}/leases/${LEADER_ELECTION_ID}`;
    const taken = await waitFor(
      'this provider to take the lease',
      async () => {
        const l = await api<{ spec: { holderIdentity?: string; leaseTransitions?: number } }>('GET', lease);
        return l.spec.holderIdentity?.startsWith('capi-ipam-in-cluster-controller-manager-7d4b9c6f8')
          ? undefined
          : l;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(Date.now()).toBeGreaterThanOrEqual(leaseExpires);
    expect(taken.spec.leaseTransitions).toBe(1);
    await waitFor(
      'every claim to carry a Ready condition',
      async () => {
        const claims = await api<{ items: Obj[] }>('GET', `${GROUP}/v1beta2/ipaddressclaims`);
        return claims.items.every((c) => c.status?.conditions?.some((x) => x.type === 'Ready'));
      },
      { timeoutMs: 60_000 },
    );
    // Nothing was written while the Go provider's leader could still have been writing.
    const claims = await api<{ items: Obj[] }>('GET', `${GROUP}/v1beta2/ipaddressclaims`);
    for (const c of claims.items) {
      const ready = c.status?.conditions?.find((x) => x.type === 'Ready');
      expect(Date.parse(ready?.lastTransitionTime ?? '')).toBeGreaterThanOrEqual(
        Math.floor(leaseExpires / 1000) * 1000,
      );
    }
  }, 90_000);

  it('check: the same addresses, same objects; claims Ready but the one that waited before', async () => {
    expect(await runConsole(UPGRADE_PAGE, pageBlocks().slice(2), env, scratch)).toBeUndefined();
  });

  it('kept every IPAddress as it was: none made, none deleted, none given another address', async () => {
    const after = await api<{ items: Obj[] }>('GET', `${GROUP}/v1beta2/ipaddresses`);
    const view = (a: Obj) => ({
      key: `${a.metadata.namespace}/${a.metadata.name}`,
      uid: a.metadata.uid,
      spec: a.spec,
    });
    expect(after.items.map(view)).toEqual(addressesBefore.map(view));
    // Not even touched: adoption found owner references, finalizer and labels as it would write them.
    expect(
      addressWatch.events.map((e) => `${e.type} ${e.object.metadata.namespace}/${e.object.metadata.name}`),
    ).toEqual([]);
  });

  it('gave no claim another address: each points at its own IPAddress, node-c now too', async () => {
    const claims = await api<{ items: Obj[] }>('GET', `${GROUP}/v1beta2/ipaddressclaims`);
    const refs = Object.fromEntries(
      claims.items.map((c) => [
        `${c.metadata.namespace}/${c.metadata.name}`,
        c.status?.addressRef?.name ?? null,
      ]),
    );
    expect(refs).toEqual({
      'team-a/full-a': 'full-a',
      'team-a/full-b': 'full-b',
      'team-a/full-old': 'full-old',
      'team-a/full-waiting': null,
      'team-a/node-a': 'node-a',
      'team-a/node-a-v6': 'node-a-v6',
      'team-a/node-b': 'node-b',
      'team-a/node-c': 'node-c',
      'team-a/web': 'web',
      'team-b/web': 'web',
    });
    for (const c of claims.items)
      expect(c.metadata.uid).toBe(uids.get(`claim/${c.metadata.namespace}/${c.metadata.name}`));
  });

  it('wrote each pool’s status right the first time, and once', async () => {
    for (const [name, w] of poolWatches) {
      const writes = w.events.filter((e) => e.type === 'MODIFIED' && e.object.metadata.name === name);
      const withCounts = writes.filter((e) => e.object.status?.conditions !== undefined);
      expect(withCounts.length, `${name}: status writes`).toBeGreaterThan(0);
      expect(withCounts[0]?.object.status?.ipAddresses, `${name}: first write`).toEqual(EXPECTED[name]);
      expect(withCounts[0]?.object.status?.conditions?.map((c) => [c.type, c.status])).toEqual([
        ['Ready', 'True'],
      ]);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(/^ipam_pool_status_writes_total (\d+)/m.exec(metrics)?.[1]).toBe(String(POOLS.length));
  });

  it('serves new claims from what is left, next to the adopted addresses', async () => {
    await goClaim(
      'team-a',
      'node-d',
      { kind: 'InClusterIPPool', name: 'nodes' },
      { cluster: 'workload', addressRef: false },
    );
    const address = await waitFor('node-d to get an address', async () => {
      const ip = await cp.access.request<Obj>('GET', `${GROUP}/v1beta2/namespaces/team-a/ipaddresses/node-d`);
      return ip.status === 200 ? (ip.body.spec?.address as string) : undefined;
    });
    expect(address).toBe('10.80.0.13');
  });
});
