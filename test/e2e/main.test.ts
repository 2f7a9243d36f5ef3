import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  claimPath,
  crdPaths,
  createClaim,
  createNamespace,
  createPool,
  get,
  waitForAddress,
} from '../controllers/fixture.js';
import { ControlPlane, freePort } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { type ControllerProcess, startControllerProcess } from './controller-process.js';

// The controller as it runs in a pod: its own process, our flags, leader election on by default.
describe('the controller process', () => {
  let cp: ControlPlane;
  let ctl: ControllerProcess;
  let healthPort: number;
  let metricsPort: number;
  const ns = 'e2e';

  beforeAll(async () => {
    cp = await ControlPlane.start({ crds: crdPaths });
    await createNamespace(cp.access, ns);
    [healthPort, metricsPort] = [await freePort(), await freePort()];
    ctl = startControllerProcess(
      [
        `--kubeconfig=${cp.kubeconfigPath}`,
        `--health-probe-bind-address=127.0.0.1:${healthPort}`,
        `--diagnostics-address=127.0.0.1:${metricsPort}`,
        '--insecure-diagnostics',
        '--webhook-port=0',
        '--watch-filter=team-a',
      ],
      { LOG_LEVEL: 'info' },
    );
  });
  afterAll(async () => {
    ctl?.kill();
    await cp?.stop();
  });

  it('becomes ready once it leads and its caches synced', async () => {
    await waitFor(
      '/readyz',
      async () => {
        const res = await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined);
        return res?.status === 200;
      },
      { timeoutMs: 60_000 },
    );
    expect((await fetch(`http://127.0.0.1:${healthPort}/healthz`)).status).toBe(200);
    // Ready may come first (a replica standing by is ready); the lease follows within a retry period.
    const holder = await waitFor('the leader lease', async () => {
      const lease = await cp.access.request<{ spec: { holderIdentity?: string } }>(
        'GET',
        '/apis/coordination.k8s.io/v1/namespaces/default/leases/7bb7acb4.ipam.cluster.x-k8s.io',
      );
      return lease.status === 200 ? lease.body.spec.holderIdentity : undefined;
    });
    expect(holder).toBeTruthy();
  });

  it('serves only claims carrying the watch-filter label', async () => {
    await createPool(cp.access, 'GlobalInClusterIPPool', '', 'e2e', {
      addresses: ['10.99.0.0/24'],
      prefix: 24,
    });
    await createClaim(cp.access, ns, 'unlabelled', { kind: 'GlobalInClusterIPPool', name: 'e2e' });
    await createClaim(
      cp.access,
      ns,
      'labelled',
      { kind: 'GlobalInClusterIPPool', name: 'e2e' },
      {
        labels: { 'cluster.x-k8s.io/watch-filter': 'team-a' },
      },
    );
    expect(await waitForAddress(cp.access, ns, 'labelled')).toBe('10.99.0.1');
    expect((await get(cp.access, claimPath(ns, 'unlabelled')))?.metadata.finalizers).toBeUndefined();
  });

  it('exposes Prometheus metrics: its own and controller-runtime’s, under their names and labels', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toMatch(/ipam_address_allocations_total\{pool="GlobalInClusterIPPool\/\/e2e"\} 1/);
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    const c = 'controller="ipaddressclaim"';
    const q = 'name="ipaddressclaim",controller="ipaddressclaim"';
    expect(value(`controller_runtime_reconcile_total{${c},result="success"}`)).toBeGreaterThanOrEqual(1);
    expect(value(`controller_runtime_max_concurrent_reconciles{${c}}`)).toBe(32);
    expect(value(`controller_runtime_active_workers{${c}}`)).toBe(0);
    // The pool status writes (coalesced, so a moment later), counted as the Go provider's pool
    // controller of that kind.
    const pool = 'controller="globalinclusterippool"';
    const later = await waitFor('a pool status write in the metrics', async () => {
      const t = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return t.includes(`controller_runtime_reconcile_total{${pool},result="success"}`) ? t : undefined;
    });
    const valueLater = (series: string) => {
      const line = later.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    expect(valueLater(`controller_runtime_reconcile_total{${pool},result="success"}`)).toBeGreaterThanOrEqual(
      1,
    );
    expect(valueLater(`controller_runtime_reconcile_time_seconds_count{${pool}}`)).toBeGreaterThanOrEqual(1);
    expect(valueLater(`controller_runtime_active_workers{${pool}}`)).toBe(0);
    // …and its pending writes as that controller's work queue.
    const pq = 'name="globalinclusterippool",controller="globalinclusterippool"';
    expect(valueLater(`workqueue_adds_total{${pq}}`)).toBeGreaterThanOrEqual(1);
    expect(valueLater(`workqueue_depth{${pq}}`)).toBeGreaterThanOrEqual(0);
    expect(valueLater(`workqueue_queue_duration_seconds_count{${pq}}`)).toBeGreaterThanOrEqual(1);
    expect(valueLater(`workqueue_work_duration_seconds_count{${pq}}`)).toBeGreaterThanOrEqual(1);
    expect(value(`workqueue_adds_total{${q}}`)).toBeGreaterThanOrEqual(1);
    expect(value(`workqueue_depth{${q}}`)).toBe(0);
    expect(value(`workqueue_queue_duration_seconds_count{${q}}`)).toBeGreaterThanOrEqual(1);
    expect(value(`workqueue_work_duration_seconds_count{${q}}`)).toBeGreaterThanOrEqual(1);
    const host = new URL(cp.access.info.server).host;
    // The labelled claim's IPAddress was created: at least one POST answered 201.
    expect(
      value(`rest_client_requests_total{code="201",method="POST",host="${host}"}`),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(`rest_client_request_duration_seconds_count{verb="PATCH",host="${host}"}`),
    ).toBeGreaterThanOrEqual(1);
    expect(value('leader_election_master_status{name="7bb7acb4.ipam.cluster.x-k8s.io"}')).toBe(1);
  });

  it('logs JSON lines with Cluster API keys', () => {
    const lines = ctl
      .stdout()
      .split('\n')
      .filter((l) => l.includes('has been created'));
    expect(lines.length).toBeGreaterThan(0);
    const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(entry).toMatchObject({
      controller: 'ipaddressclaim',
      controllerGroup: 'ipam.cluster.x-k8s.io',
      controllerKind: 'IPAddressClaim',
      IPAddressClaim: { name: 'labelled', namespace: ns },
      namespace: ns,
      name: 'labelled',
    });
    expect(entry.reconcileID).toBeTruthy();
    // One `controller` key per line: JSON.parse keeps the last of duplicates, a log shipper may not.
    expect(lines[0]?.match(/"controller":/g)).toHaveLength(1);
  });

  it('exits 0 on SIGTERM and releases its lease', async () => {
    ctl.proc.kill('SIGTERM');
    expect(await ctl.exited).toBe(0);
    const lease = await cp.access.request<{ spec: { holderIdentity?: string } }>(
      'GET',
      '/apis/coordination.k8s.io/v1/namespaces/default/leases/7bb7acb4.ipam.cluster.x-k8s.io',
    );
    expect(lease.body.spec.holderIdentity ?? '').toBe('');
  });
});
