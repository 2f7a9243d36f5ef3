import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookServer, type WebhookServer } from '../../src/webhooks/server.js';
import { crdPaths } from '../controllers/fixture.js';
import { ControlPlane, freePort } from '../harness/control-plane.js';
import { createWebhookCertificates } from '../harness/pki.js';

const IPAM = '/apis/ipam.cluster.x-k8s.io';

describe('v1alpha1 pools through the conversion webhook', () => {
  let cp: ControlPlane;
  let server: WebhookServer;
  let certDir: string;

  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'conversion-certs-'));
    const { caBundle } = await createWebhookCertificates(certDir, 'conversion-ca');
    server = await startWebhookServer({
      port: await freePort(),
      host: '127.0.0.1',
      certDir,
      certName: 'tls.crt',
      keyName: 'tls.key',
      view: { allocatedAddresses: () => [] },
    });
    // The CRDs' conversion stanza (a Service in an installed cluster) points at this test's server.
    cp = await ControlPlane.start({
      crds: crdPaths,
      conversion: {
        url: `https://127.0.0.1:${server.port}/convert`,
        caBundle,
      },
    });
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
      const created = await cp.access.request('POST', `${IPAM}/v1alpha1${nsPath}/${plural}`, body);
      expect(created.status, created.text).toBe(201);
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

    it(`keeps the fields of chosen addresses of a ${kind} (and its status) through a v1alpha1 read-modify-write`, async () => {
      const global = kind === 'GlobalInClusterIPPool';
      const spec = {
        addresses: ['10.4.0.10-10.4.0.50'],
        prefix: 24,
        gateway: '10.4.0.1',
        preAllocations: [
          { claimName: 'cluster-a-vip', address: '10.4.0.10', ...(global ? { namespace: 'team-a' } : {}) },
          {
            claimName: 'web-md-0-x7k2p-0-0',
            address: '10.4.0.11',
            ...(global ? { namespace: 'team-b' } : {}),
          },
        ],
        allocationStrategy: 'RoundRobin',
        ...(global
          ? {
              namespaceSelector: {
                matchLabels: { env: 'prod' },
                matchExpressions: [
                  { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['team-a', 'team-b'] },
                ],
              },
            }
          : {}),
      };
      const created = await cp.access.request('POST', `${IPAM}/v1alpha2${nsPath}/${plural}`, {
        apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
        kind,
        metadata: { name: 'chosen' },
        spec,
      });
      expect(created.status, created.text).toBe(201);
      const status = {
        ipAddresses: { total: 41, free: 37, used: 2, outOfRange: 0, preAllocated: 2 },
        lastAllocated: '10.4.0.12',
      };
      const written = await cp.access.request(
        'PATCH',
        `${IPAM}/v1alpha2${nsPath}/${plural}/chosen/status`,
        { status },
        { contentType: 'application/merge-patch+json' },
      );
      expect(written.status, written.text).toBe(200);
      const path = `${IPAM}/v1alpha1${nsPath}/${plural}/chosen`;
      const old = await cp.access.request<{ spec: Record<string, unknown>; status: unknown }>('GET', path);
      expect(old.body.spec).toEqual({ addresses: ['10.4.0.10-10.4.0.50'], prefix: 24, gateway: '10.4.0.1' });
      expect(old.body.status).toEqual(status);
      const put = await cp.access.request('PUT', path, {
        ...old.body,
        spec: { ...old.body.spec, gateway: '10.4.0.2' },
      });
      expect(put.status, put.text).toBe(200);
      const v2 = await cp.access.request<{ spec: Record<string, unknown>; status: unknown }>(
        'GET',
        `${IPAM}/v1alpha2${nsPath}/${plural}/chosen`,
      );
      expect(v2.body.spec).toEqual({ ...spec, gateway: '10.4.0.2' });
      expect(v2.body.status).toEqual(status);
    });

    it(`keeps v1alpha2-only fields of a ${kind} through a v1alpha1 read-modify-write`, async () => {
      const created = await cp.access.request('POST', `${IPAM}/v1alpha2${nsPath}/${plural}`, {
        apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
        kind,
        metadata: { name: 'modern' },
        spec: {
          addresses: ['10.2.0.10-10.2.0.50'],
          prefix: 24,
          gateway: '10.2.0.1',
          excludedAddresses: ['10.2.0.20'],
          allocateReservedIPAddresses: true,
          addressReuseGracePeriodSeconds: 30,
        },
      });
      expect(created.status, created.text).toBe(201);
      const path = `${IPAM}/v1alpha1${nsPath}/${plural}/modern`;
      const old = await cp.access.request<{ spec: Record<string, unknown> }>('GET', path);
      expect(old.body.spec).toEqual({ addresses: ['10.2.0.10-10.2.0.50'], prefix: 24, gateway: '10.2.0.1' });
      // A v1alpha1 client changes what it knows (the gateway) and writes the whole object back.
      const put = await cp.access.request('PUT', path, {
        ...old.body,
        spec: { ...old.body.spec, gateway: '10.2.0.2' },
      });
      expect(put.status, put.text).toBe(200);
      const v2 = await cp.access.request<{ spec: Record<string, unknown> }>(
        'GET',
        `${IPAM}/v1alpha2${nsPath}/${plural}/modern`,
      );
      expect(v2.body.spec).toEqual({
        addresses: ['10.2.0.10-10.2.0.50'],
        prefix: 24,
        gateway: '10.2.0.2',
        excludedAddresses: ['10.2.0.20'],
        allocateReservedIPAddresses: true,
        addressReuseGracePeriodSeconds: 30,
      });
    });
  }

  it('shows real SUBNET, FIRST and LAST values in the v1alpha1 columns', async () => {
    const created = await cp.access.request('POST', `${IPAM}/v1alpha1/namespaces/default/inclusterippools`, {
      apiVersion: 'ipam.cluster.x-k8s.io/v1alpha1',
      kind: 'InClusterIPPool',
      metadata: { name: 'columns' },
      spec: { subnet: '10.3.0.0/24', start: '10.3.0.10', end: '10.3.0.20', gateway: '10.3.0.1' },
    });
    expect(created.status, created.text).toBe(201);
    const out = await cp.access.kubectl([
      'get',
      'inclusterippools.v1alpha1.ipam.cluster.x-k8s.io',
      'columns',
      '-n',
      'default',
    ]);
    expect(out.code, out.stderr).toBe(0);
    const [header, row] = out.stdout.trim().split('\n');
    expect(header?.split(/\s+/).slice(0, 4)).toEqual(['NAME', 'SUBNET', 'FIRST', 'LAST']);
    expect(row?.split(/\s+/).slice(0, 4)).toEqual(['columns', '10.3.0.0/24', '10.3.0.10', '10.3.0.20']);
  });
});
