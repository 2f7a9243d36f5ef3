import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { type CertificateAuthority, createWebhookCertificates } from '../harness/pki.js';
import { postJson } from '../harness/post-json.js';
import { waitFor } from '../harness/wait.js';
import { type ControllerProcess, startControllerProcess } from './controller-process.js';

// The process with its webhook server on and --namespace set, as a namespaced install runs it.
describe('the controller process with --namespace and the webhook server', () => {
  let cp: ControlPlane;
  let ctl: ControllerProcess;
  let healthPort: number;
  let webhookPort: number;
  let ca: CertificateAuthority;
  let certDir: string;

  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'e2e-webhook-certs-'));
    ({ ca } = await createWebhookCertificates(certDir, 'e2e-ca'));
    cp = await ControlPlane.start({ crds: crdPaths });
    for (const ns of ['mine', 'theirs']) await createNamespace(cp.access, ns);
    [healthPort, webhookPort] = [await freePort(), await freePort()];
    ctl = startControllerProcess([
      `--kubeconfig=${cp.kubeconfigPath}`,
      `--health-probe-bind-address=127.0.0.1:${healthPort}`,
      '--diagnostics-address=127.0.0.1:0',
      '--leader-elect=false',
      '--namespace=mine',
      `--webhook-port=${webhookPort}`,
      '--webhook-host=127.0.0.1',
      `--webhook-cert-dir=${certDir}`,
    ]);
  });
  afterAll(async () => {
    ctl?.kill();
    await cp?.stop();
    rmSync(certDir, { recursive: true, force: true });
  });

  it('becomes ready only with its caches synced and its webhook server completing TLS handshakes', async () => {
    const body = await waitFor(
      '/readyz',
      async () => {
        const res = await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined);
        return res?.status === 200 ? res.text() : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(body).toBe('ok');
  });

  it('answers AdmissionReviews on the Go provider paths with the certificate from --webhook-cert-dir', async () => {
    const res = await postJson(
      webhookPort,
      '/validate-ipam-cluster-x-k8s-io-v1alpha2-globalinclusterippool',
      {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: 'u-1',
          name: 'p',
          operation: 'CREATE',
          object: { spec: { addresses: [], prefix: 24 } },
        },
      },
      ca.certPem,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      response: { uid: 'u-1', allowed: false, status: { code: 422 } },
    });
  });

  it('serves claims of its namespace only, from namespaced and global pools', async () => {
    await createPool(cp.access, 'GlobalInClusterIPPool', '', 'shared', {
      addresses: ['10.50.0.0/24'],
      prefix: 24,
    });
    await createPool(cp.access, 'InClusterIPPool', 'mine', 'local', {
      addresses: ['10.51.0.0/24'],
      prefix: 24,
    });
    await createPool(cp.access, 'InClusterIPPool', 'theirs', 'local', {
      addresses: ['10.52.0.0/24'],
      prefix: 24,
    });
    await createClaim(cp.access, 'mine', 'global-claim', { kind: 'GlobalInClusterIPPool', name: 'shared' });
    await createClaim(cp.access, 'mine', 'local-claim', { kind: 'InClusterIPPool', name: 'local' });
    await createClaim(cp.access, 'theirs', 'global-claim', { kind: 'GlobalInClusterIPPool', name: 'shared' });
    await createClaim(cp.access, 'theirs', 'local-claim', { kind: 'InClusterIPPool', name: 'local' });
    expect(await waitForAddress(cp.access, 'mine', 'global-claim')).toBe('10.50.0.1');
    expect(await waitForAddress(cp.access, 'mine', 'local-claim')).toBe('10.51.0.1');
    for (const name of ['global-claim', 'local-claim']) {
      const other = await get(cp.access, claimPath('theirs', name));
      expect(other?.metadata.finalizers).toBeUndefined();
      expect(other?.status?.addressRef).toBeUndefined();
    }
  });

  it('exits 0 on SIGTERM', async () => {
    ctl.proc.kill('SIGTERM');
    expect(await ctl.exited).toBe(0);
  });
});
