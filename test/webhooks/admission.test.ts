import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookServer } from '../../src/webhooks/server.js';
import { crdPaths } from '../controllers/fixture.js';
import { ControlPlane } from '../harness/control-plane.js';
import { type CertificateAuthority, servedCertificateSerial } from '../harness/pki.js';
import { registerWebhooks, startTestWebhookServer, type TestWebhookServer } from './setup.js';

const poolYaml = (name: string, spec: string, annotations = '') => `apiVersion: ipam.cluster.x-k8s.io/v1alpha2
kind: InClusterIPPool
metadata:
  name: ${name}
  namespace: default${annotations ? `\n  annotations:\n    ${annotations}` : ''}
spec:
${spec}
`;

describe('the admission webhooks through the API server', () => {
  let cp: ControlPlane;
  let server: WebhookServer;
  let ca: CertificateAuthority;
  let hooks: TestWebhookServer;
  const allocated = new Map<string, string[]>();
  const observed = {
    started: [] as string[],
    finished: [] as { webhook: string; code: number; seconds: number }[],
  };

  const writeServingCert = (name: string): Promise<void> => hooks.writeServingCert(name);

  beforeAll(async () => {
    hooks = await startTestWebhookServer(
      { allocatedAddresses: (kind, ns, name) => allocated.get(`${kind}/${ns ?? ''}/${name}`) ?? [] },
      'webhook',
      {
        started: (webhook) => observed.started.push(webhook),
        finished: (webhook, code, seconds) => observed.finished.push({ webhook, code, seconds }),
      },
    );
    server = hooks.server;
    ca = hooks.ca;
    cp = await ControlPlane.start({ crds: crdPaths });
    const registration = await registerWebhooks(cp.access, server.port, ca.certPem, { name: 'ipam' });
    expect(registration.statuses).toEqual([201, 201]);
  });
  afterAll(async () => {
    await hooks?.close();
    await cp?.stop();
  });

  it('rejects an invalid pool with a message naming the field', async () => {
    const res = await cp.access.kubectl(['apply', '-f', '-'], {
      input: poolYaml('bad', '  addresses: ["10.0.0.1", "fd00::1"]\n  prefix: 24'),
    });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('spec.addresses');
    expect(res.stderr).toContain('provided addresses are of mixed IP families');
  });

  it('rejects a gateway that does not parse, quoting the Go parser', async () => {
    const res = await cp.access.kubectl(['apply', '-f', '-'], {
      input: poolYaml('bad-gw', '  addresses: ["10.0.0.0/24"]\n  prefix: 24\n  gateway: "x"'),
    });
    expect(res.stderr).toContain('spec.gateway: Invalid value: "x"');
  });

  it('admits a valid pool', async () => {
    const res = await cp.access.kubectl(['apply', '-f', '-'], {
      input: poolYaml('good', '  addresses: ["10.0.0.0/24"]\n  prefix: 24\n  gateway: "10.0.0.1"'),
    });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
  });

  it('refuses an update that would leave an allocated address outside the pool', async () => {
    allocated.set('InClusterIPPool/default/good', ['10.0.0.200']);
    const res = await cp.access.kubectl(['apply', '-f', '-'], {
      input: poolYaml('good', '  addresses: ["10.0.0.0/25"]\n  prefix: 24\n  gateway: "10.0.0.1"'),
    });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(
      'pool addresses do not contain allocated addresses: [10.0.0.200-10.0.0.200]',
    );
  });

  it('refuses deletion while addresses are allocated, unless the skip annotation is set', async () => {
    const refused = await cp.access.kubectl(['delete', 'inclusterippool', 'good', '-n', 'default']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('Pool has IPAddresses allocated');
    await cp.access.kubectl([
      'annotate',
      'inclusterippool',
      'good',
      '-n',
      'default',
      'ipam.cluster.x-k8s.io/skip-validate-delete-webhook=',
    ]);
    const allowed = await cp.access.kubectl(['delete', 'inclusterippool', 'good', '-n', 'default']);
    expect(allowed.stderr).toBe('');
    expect(allowed.code).toBe(0);
  });

  it('tells the metrics of every admission request the API server sent, by webhook path', () => {
    expect(observed.finished.length).toBeGreaterThan(0);
    expect(observed.started.length).toBe(observed.finished.length);
    const paths = new Set(observed.finished.map((f) => f.webhook));
    expect(paths).toContain('/mutate-ipam-cluster-x-k8s-io-v1alpha2-inclusterippool');
    expect(paths).toContain('/validate-ipam-cluster-x-k8s-io-v1alpha2-inclusterippool');
    // Denials are admission answers too: HTTP 200 with allowed false.
    expect(observed.finished.every((f) => f.code === 200 && f.seconds > 0)).toBe(true);
  });

  it('serves a rotated certificate without a restart', async () => {
    const serial = () => servedCertificateSerial(server.port, ca.certPem);
    const before = await serial();
    await writeServingCert('serving-2');
    server.reloadCertificates();
    const after = await serial();
    expect(after).not.toBe(before);
    const res = await cp.access.kubectl(['apply', '-f', '-'], {
      input: poolYaml('after-rotation', '  addresses: ["10.1.0.0/24"]\n  prefix: 24'),
    });
    expect(res.code).toBe(0);
  });
});
