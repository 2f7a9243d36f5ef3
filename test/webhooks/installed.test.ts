/**
 * The webhooks as installed: manifests/webhook.yaml applied to a real API server (its Service
 * reference turned into this test's https://127.0.0.1 URL), the CRDs converting through the same
 * server, and the controller in-process behind them, so update, delete and overlap checks see the
 * live allocations. The certificate is mounted the way the kubelet mounts a Secret (symlinks swapped
 * atomically), and rotated while requests flow.
 */
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { startWebhookServer, type WebhookServer } from '../../src/webhooks/server.js';
import {
  claimPath,
  crdPaths,
  createClaim,
  createNamespace,
  createPool,
  type RunningController,
  startController,
  waitForAddress,
} from '../controllers/fixture.js';
import { ControlPlane, freePort } from '../harness/control-plane.js';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  issueCertificate,
  servedCertificateSerial,
} from '../harness/pki.js';
import { waitFor } from '../harness/wait.js';

const root = join(import.meta.dirname, '..', '..');
const NS = 'installed';

const pool = (name: string, spec: string) => `apiVersion: ipam.cluster.x-k8s.io/v1alpha2
kind: InClusterIPPool
metadata:
  name: ${name}
  namespace: ${NS}
spec:
${spec}
`;

interface WebhookDoc {
  kind: string;
  webhooks?: { clientConfig: { service?: { path: string }; url?: string; caBundle?: string } }[];
}

describe('the webhooks installed from manifests/webhook.yaml, with the controller behind them', () => {
  let cp: ControlPlane;
  let server: WebhookServer;
  let controller: RunningController;
  let ca: CertificateAuthority;
  let certDir: string;
  let workDir: string;
  let generation = 0;
  let webhooksFile: string;
  let validatingName: string;

  /** Writes a new certificate the way the kubelet updates a mounted Secret: new dir, swap ..data. */
  async function mountServingCert(): Promise<void> {
    generation++;
    const cert = await issueCertificate(workDir, ca, {
      name: `serving-${generation}`,
      commonName: 'webhook',
      altNames: ['IP:127.0.0.1'],
      usage: 'server',
    });
    const data = join(certDir, `..${generation}`);
    mkdirSync(data);
    writeFileSync(join(data, 'tls.crt'), cert.certPem);
    writeFileSync(join(data, 'tls.key'), cert.keyPem);
    symlinkSync(`..${generation}`, join(certDir, '..data_tmp'));
    renameSync(join(certDir, '..data_tmp'), join(certDir, '..data'));
    if (generation === 1) {
      symlinkSync('..data/tls.crt', join(certDir, 'tls.crt'));
      symlinkSync('..data/tls.key', join(certDir, 'tls.key'));
    }
  }

  const serial = () => servedCertificateSerial(server.port, ca.certPem);

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'installed-webhooks-'));
    certDir = join(workDir, 'serving-certs');
    mkdirSync(certDir);
    ca = await createCertificateAuthority(workDir, 'webhook-ca');
    await mountServingCert();
    const port = await freePort();
    const caBundle = Buffer.from(ca.certPem).toString('base64');
    cp = await ControlPlane.start({
      crds: crdPaths,
      conversion: { url: `https://127.0.0.1:${port}/convert`, caBundle },
    });
    await createNamespace(cp.access, NS);
    controller = await startController(cp);
    server = await startWebhookServer({
      port,
      host: '127.0.0.1',
      certDir,
      certName: 'tls.crt',
      keyName: 'tls.key',
      view: controller.manager,
    });
    const docs = parseAllDocuments(readFileSync(join(root, 'manifests/webhook.yaml'), 'utf8'))
      .map((d) => d.toJS() as WebhookDoc)
      .filter((d) => d.kind.endsWith('WebhookConfiguration'));
    expect(docs.map((d) => d.kind)).toEqual([
      'MutatingWebhookConfiguration',
      'ValidatingWebhookConfiguration',
    ]);
    for (const doc of docs) {
      for (const w of doc.webhooks ?? []) {
        w.clientConfig = { url: `https://127.0.0.1:${port}${w.clientConfig.service?.path}`, caBundle };
      }
    }
    validatingName = (docs[1] as WebhookDoc & { metadata: { name: string } }).metadata.name;
    webhooksFile = join(workDir, 'webhooks.yaml');
    writeFileSync(webhooksFile, docs.map((d) => `---\n${JSON.stringify(d)}\n`).join(''));
    await installWebhooks();
  });

  async function installWebhooks(): Promise<void> {
    const applied = await cp.access.kubectl(['apply', '-f', webhooksFile]);
    expect(applied.code, applied.stderr).toBe(0);
    // A configuration takes a moment to reach (and to leave) the API server's admission chain.
    await waitFor('the validating webhook to answer', () => invalidPoolRefused(true));
  }

  async function invalidPoolRefused(refused: boolean): Promise<boolean> {
    const res = await cp.access.kubectl(['apply', '--dry-run=server', '-f', '-'], {
      input: pool('probe', '  addresses: []\n  prefix: 24'),
    });
    return refused ? res.code !== 0 && res.stderr.includes('addresses is required') : res.code === 0;
  }

  afterAll(async () => {
    await server?.close();
    await controller?.stop();
    await cp?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('answer kubectl apply of an invalid pool with the field-level message', async () => {
    const res = await cp.access.kubectl(['apply', '-f', '-'], {
      input: pool('invalid', '  addresses: ["10.0.0.0/24", "fd00::1"]\n  prefix: 24'),
    });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('The InClusterIPPool "invalid" is invalid');
    expect(res.stderr).toContain('spec.addresses: Invalid value');
    expect(res.stderr).toContain('provided addresses are of mixed IP families');
  });

  it('admit a pool whose gateway is outside its subnet, printing a warning', async () => {
    const res = await cp.access.kubectl(['apply', '-f', '-'], {
      input: pool('far-gateway', '  addresses: ["10.1.0.10-10.1.0.20"]\n  prefix: 24\n  gateway: "10.9.9.1"'),
    });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain("Warning: spec.gateway: 10.9.9.1 is outside the pool's subnet 10.1.0.0/24");
  });

  it('admit a pool overlapping one the controller knows, naming it in a warning', async () => {
    await createPool(cp.access, 'InClusterIPPool', NS, 'first', { addresses: ['10.2.0.0/24'], prefix: 24 });
    await waitFor('the controller to know pool first', () =>
      controller.manager.knownPools()?.some((p) => p.name === 'first'),
    );
    const res = await cp.access.kubectl(['apply', '-f', '-'], {
      input: pool('second', '  addresses: ["10.2.0.128/25"]\n  prefix: 24'),
    });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain(
      `Warning: spec.addresses: overlaps InClusterIPPool ${NS}/first (10.2.0.128-10.2.0.254)`,
    );
  });

  it('refuse shrinking a pool under an address the controller allocated, and deleting it', async () => {
    await createPool(cp.access, 'InClusterIPPool', NS, 'used', {
      addresses: ['10.3.0.1-10.3.0.9'],
      prefix: 24,
    });
    await createClaim(cp.access, NS, 'machine-1', { kind: 'InClusterIPPool', name: 'used' });
    expect(await waitForAddress(cp.access, NS, 'machine-1')).toBe('10.3.0.1');
    const shrink = await cp.access.kubectl(['apply', '-f', '-'], {
      input: pool('used', '  addresses: ["10.3.0.5-10.3.0.9"]\n  prefix: 24'),
    });
    expect(shrink.code).not.toBe(0);
    expect(shrink.stderr).toContain('pool addresses do not contain allocated addresses: [10.3.0.1-10.3.0.1]');
    const del = await cp.access.kubectl(['delete', 'inclusterippool', 'used', '-n', NS, '--wait=false']);
    expect(del.code).not.toBe(0);
    expect(del.stderr).toContain('Pool has IPAddresses allocated');
    // Once the claim is gone the same delete goes through.
    expect((await cp.access.request('DELETE', claimPath(NS, 'machine-1'))).status).toBe(200);
    await waitFor('pool used to become deletable', async () => {
      const res = await cp.access.kubectl(['delete', 'inclusterippool', 'used', '-n', NS, '--wait=false']);
      return res.code === 0;
    });
  });

  it('let an invalid pool that got in while they were off be labelled and deleted', async () => {
    const path = `/apis/ipam.cluster.x-k8s.io/v1alpha2/namespaces/${NS}/inclusterippools/stale`;
    const removed = await cp.access.kubectl(['delete', 'validatingwebhookconfiguration', validatingName]);
    expect(removed.code, removed.stderr).toBe(0);
    await waitFor('the validating webhook to be gone', () => invalidPoolRefused(false));
    const applied = await cp.access.kubectl(['apply', '-f', '-'], {
      input: pool('stale', '  addresses: ["10.5.0.10-10.5.0.20"]\n  prefix: 24\n  gateway: "nope"'),
    });
    expect(applied.code, applied.stderr).toBe(0);
    await waitFor('the controller to protect the pool and mark it not ready', async () => {
      const { body } = await cp.access.request<{
        metadata: { finalizers?: string[] };
        status?: { conditions?: { type: string; status: string }[] };
      }>('GET', path);
      return (
        body.metadata.finalizers?.includes('ipam.cluster.x-k8s.io/ProtectPool') &&
        body.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False')
      );
    });
    await installWebhooks();
    // A change of its spec is judged as ever; patches that leave the spec alone are not.
    const edited = await cp.access.kubectl(['apply', '-f', '-'], {
      input: pool('stale', '  addresses: ["10.5.0.10-10.5.0.30"]\n  prefix: 24\n  gateway: "nope"'),
    });
    expect(edited.code).not.toBe(0);
    expect(edited.stderr).toContain('spec.gateway: Invalid value: "nope"');
    const labelled = await cp.access.kubectl(['label', 'inclusterippool', 'stale', '-n', NS, 'team=net']);
    expect(labelled.code, labelled.stderr).toBe(0);
    // Deleting it: the controller's removal of its ProtectPool finalizer passes the webhook.
    const del = await cp.access.kubectl(['delete', 'inclusterippool', 'stale', '-n', NS, '--wait=false']);
    expect(del.code, del.stderr).toBe(0);
    await waitFor('the pool to be gone', async () => (await cp.access.request('GET', path)).status === 404);
  });

  it('pick up a certificate rotated in place while requests flow, without a reload call or a failure', async () => {
    const before = await serial();
    let stop = false;
    const failures: string[] = [];
    let admitted = 0;
    const traffic = (async () => {
      for (let i = 0; !stop; i++) {
        const res = await cp.access.kubectl(['apply', '--dry-run=server', '-f', '-'], {
          input: pool(`flow-${i}`, '  addresses: ["10.4.0.0/24"]\n  prefix: 24'),
        });
        if (res.code === 0) admitted++;
        else failures.push(res.stderr);
      }
    })();
    await waitFor('some requests before the rotation', () => admitted >= 2);
    await mountServingCert();
    const after = await waitFor('the new certificate to be served', async () => {
      const s = await serial();
      return s !== before ? s : undefined;
    });
    const admittedAtRotation = admitted;
    await waitFor('requests after the rotation', () => admitted >= admittedAtRotation + 2);
    stop = true;
    await traffic;
    expect(after).not.toBe(before);
    expect(failures).toEqual([]);
  });

  it('report readiness by completing a TLS handshake with the server, and not after it closed', async () => {
    expect(await server.checkServing()).toBeUndefined();
    const other = await startWebhookServer({
      port: await freePort(),
      host: '127.0.0.1',
      certDir,
      certName: 'tls.crt',
      keyName: 'tls.key',
      view: controller.manager,
    });
    expect(await other.checkServing()).toBeUndefined();
    await other.close();
    expect(await other.checkServing()).toMatch(/TLS handshake failed/);
  });
});
