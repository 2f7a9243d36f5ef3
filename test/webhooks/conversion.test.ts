import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookServer, type WebhookServer } from '../../src/webhooks/server.js';
import { crdPaths } from '../controllers/fixture.js';
import { ControlPlane, freePort } from '../harness/control-plane.js';
import { createCertificateAuthority, issueCertificate } from '../harness/pki.js';
import { waitFor } from '../harness/wait.js';

const IPAM = '/apis/ipam.cluster.x-k8s.io';

describe('v1alpha1 pools through the conversion webhook', () => {
  let cp: ControlPlane;
  let server: WebhookServer;
  let certDir: string;

  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'conversion-certs-'));
    const ca = await createCertificateAuthority(certDir, 'conversion-ca');
    const cert = await issueCertificate(certDir, ca, {
      name: 'serving',
      commonName: 'webhook',
      altNames: ['IP:127.0.0.1'],
      usage: 'server',
    });
    writeFileSync(join(certDir, 'tls.crt'), cert.certPem);
    writeFileSync(join(certDir, 'tls.key'), cert.keyPem);
    server = await startWebhookServer({
      port: await freePort(),
      host: '127.0.0.1',
      certDir,
      certName: 'tls.crt',
      keyName: 'tls.key',
      view: { allocatedAddresses: () => [] },
    });
    cp = await ControlPlane.start({ crds: crdPaths });
    const conversion = {
      spec: {
        conversion: {
          strategy: 'Webhook',
          webhook: {
            conversionReviewVersions: ['v1'],
            clientConfig: {
              url: `https://127.0.0.1:${server.port}/convert`,
              caBundle: Buffer.from(ca.certPem).toString('base64'),
            },
          },
        },
      },
    };
    for (const crd of ['inclusterippools', 'globalinclusterippools']) {
      const res = await cp.access.request(
        'PATCH',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd}.ipam.cluster.x-k8s.io`,
        conversion,
        { contentType: 'application/merge-patch+json' },
      );
      expect(res.status).toBe(200);
    }
  });
  afterAll(async () => {
    await server?.close();
    await cp?.stop();
    rmSync(certDir, { recursive: true, force: true });
  });

  for (const [kind, plural, nsPath] of [
    ['InClusterIPPool', 'inclusterippools', '/namespaces/default'],
    ['GlobalInClusterIPPool', 'globalinclusterippools', ''],
  ] as const) {
    it(`stores a v1alpha1 ${kind} as v1alpha2 and reads it back as written`, async () => {
      const body = {
        apiVersion: 'ipam.cluster.x-k8s.io/v1alpha1',
        kind,
        metadata: { name: 'legacy' },
        spec: { subnet: '10.1.1.0/24', gateway: '10.1.1.1' },
      };
      // The CRD change takes a moment to reach the API server's handlers: retry until converted.
      await waitFor('the v1alpha1 create', async () => {
        const res = await cp.access.request('POST', `${IPAM}/v1alpha1${nsPath}/${plural}`, body);
        return res.status === 201 || res.status === 409;
      });
      const v2 = await cp.access.request<{ spec: { addresses: string[]; prefix: number; gateway: string } }>(
        'GET',
        `${IPAM}/v1alpha2${nsPath}/${plural}/legacy`,
      );
      expect(v2.body.spec).toMatchObject({
        addresses: ['10.1.1.1-10.1.1.254'],
        prefix: 24,
        gateway: '10.1.1.1',
      });
      const v1 = await cp.access.request<{ spec: Record<string, unknown> }>(
        'GET',
        `${IPAM}/v1alpha1${nsPath}/${plural}/legacy`,
      );
      expect(v1.body.spec).toMatchObject({ subnet: '10.1.1.0/24', gateway: '10.1.1.1' });
    });
  }
});
