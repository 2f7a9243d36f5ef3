import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  crdPaths,
  createClaim,
  createNamespace,
  createPool,
  waitForAddress,
} from '../controllers/fixture.js';
import { ControlPlane, freePort } from '../harness/control-plane.js';
import { type CertificateAuthority, createWebhookCertificates } from '../harness/pki.js';
import { postJson } from '../harness/post-json.js';
import { waitFor } from '../harness/wait.js';
import { type ControllerProcess, startControllerProcess } from './controller-process.js';

const LEASE = '/apis/coordination.k8s.io/v1/namespaces/default/leases/7bb7acb4.ipam.cluster.x-k8s.io';
const VALIDATE = '/validate-ipam-cluster-x-k8s-io-v1alpha2-globalinclusterippool';

interface Replica extends ControllerProcess {
  healthPort: number;
  metricsPort: number;
  webhookPort: number;
}

function review(operation: 'UPDATE' | 'DELETE', object: unknown, oldObject: unknown) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: `u-${operation}`, name: 'shared', operation, object, oldObject },
  };
}

// Two replicas with leader election, as a Deployment with replicas: 2 runs them.
describe('a replica standing by for the lease', () => {
  let cp: ControlPlane;
  let ca: CertificateAuthority;
  let certDir: string;
  const replicas: Replica[] = [];
  const ns = 'standby';
  const pool = { addresses: ['10.60.0.0/24'], prefix: 24 };

  const start = async (): Promise<Replica> => {
    const [healthPort, metricsPort, webhookPort] = [await freePort(), await freePort(), await freePort()];
    const replica = {
      ...startControllerProcess([
        `--kubeconfig=${cp.kubeconfigPath}`,
        `--health-probe-bind-address=127.0.0.1:${healthPort}`,
        `--diagnostics-address=127.0.0.1:${metricsPort}`,
        '--insecure-diagnostics',
        `--webhook-port=${webhookPort}`,
        '--webhook-host=127.0.0.1',
        `--webhook-cert-dir=${certDir}`,
      ]),
      healthPort,
      metricsPort,
      webhookPort,
    };
    replicas.push(replica);
    return replica;
  };

  const ready = (r: Replica) =>
    waitFor(
      'the replica to be ready',
      async () =>
        (await fetch(`http://127.0.0.1:${r.healthPort}/readyz`).catch(() => undefined))?.status === 200,
      { timeoutMs: 60_000 },
    );

  const metric = async (r: Replica, line: RegExp): Promise<number | undefined> => {
    const text = await (await fetch(`http://127.0.0.1:${r.metricsPort}/metrics`)).text();
    const m = line.exec(text);
    return m ? Number(m[1]) : undefined;
  };

  const admit = (r: Replica, body: unknown) =>
    postJson<{ response?: Record<string, unknown> }>(r.webhookPort, VALIDATE, body, ca.certPem);

  const holder = async () =>
    ((await cp.access.request('GET', LEASE)).body as { spec?: { holderIdentity?: string } }).spec
      ?.holderIdentity ?? '';

  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'e2e-standby-certs-'));
    ({ ca } = await createWebhookCertificates(certDir, 'e2e-standby-ca'));
    cp = await ControlPlane.start({ crds: crdPaths });
    await createNamespace(cp.access, ns);
    await createPool(cp.access, 'GlobalInClusterIPPool', '', 'shared', pool);
  });
  afterAll(async () => {
    for (const r of replicas) r.kill();
    await cp?.stop();
    rmSync(certDir, { recursive: true, force: true });
  });

  it('the first replica leads and allocates', async () => {
    const leader = await start();
    await ready(leader);
    await waitFor('the lease to be held', async () => (await holder()) !== '');
    await createClaim(cp.access, ns, 'first', { kind: 'GlobalInClusterIPPool', name: 'shared' });
    expect(await waitForAddress(cp.access, ns, 'first')).toBe('10.60.0.1');
  });

  it('a second replica stands by: ready with synced caches, and reconciling nothing', async () => {
    const leaderHolder = await holder();
    const standby = await start();
    await ready(standby);
    expect(await holder()).toBe(leaderHolder);
    await createClaim(cp.access, ns, 'second', { kind: 'GlobalInClusterIPPool', name: 'shared' });
    expect(await waitForAddress(cp.access, ns, 'second')).toBe('10.60.0.2');
    expect(
      await metric(
        standby,
        /^controller_runtime_reconcile_total\{controller="ipaddressclaim",result="success"\} (\d+)/m,
      ),
    ).toBeFalsy();
    expect(await metric(standby, /^leader_election_master_status\{[^}]*\} (\d+)/m)).toBe(0);
  });

  it('its webhooks judge pool updates and deletes from its own caches, not "not synced"', async () => {
    const standby = replicas[1] as Replica;
    const old = { metadata: { name: 'shared' }, spec: pool };
    // Shrinking the pool below its allocations (10.60.0.1 and .2) is refused as in use.
    const shrunk = await admit(
      standby,
      review(
        'UPDATE',
        { metadata: { name: 'shared' }, spec: { addresses: ['10.60.0.100-10.60.0.200'], prefix: 24 } },
        old,
      ),
    );
    expect(shrunk.status).toBe(200);
    expect(shrunk.body.response).toMatchObject({
      allowed: false,
      status: { message: expect.stringContaining('10.60.0.1') },
    });
    // A change that keeps them is allowed, and so is metadata only.
    const grown = await admit(
      standby,
      review(
        'UPDATE',
        { metadata: { name: 'shared' }, spec: { addresses: ['10.60.0.0/23'], prefix: 23 } },
        old,
      ),
    );
    expect(grown.body.response).toMatchObject({ allowed: true });
    const deleted = await admit(standby, review('DELETE', null, old));
    expect(deleted.body.response).toMatchObject({
      allowed: false,
      status: { message: expect.stringContaining('Pool has IPAddresses allocated') },
    });
  });

  it('takes over when the leader stops, and allocates no address twice', async () => {
    const [leader, standby] = replicas as [Replica, Replica];
    const before = await holder();
    leader.proc.kill('SIGTERM');
    expect(await leader.exited).toBe(0);
    await waitFor('the standby to take the lease', async () => {
      const h = await holder();
      return h !== '' && h !== before;
    });
    await createClaim(cp.access, ns, 'third', { kind: 'GlobalInClusterIPPool', name: 'shared' });
    expect(await waitForAddress(cp.access, ns, 'third')).toBe('10.60.0.3');
    expect(await metric(standby, /^leader_election_master_status\{[^}]*\} (\d+)/m)).toBe(1);
  });
});
