/**
 * The guide in docs/, followed as a reader would: every ```console block of every page runs, in
 * order, against a real kube-apiserver with our CRDs and Cluster API's, the controller running as
 * its own process with its webhooks registered (as installed: invalid pools are refused). Each
 * command's output must read as the page shows it; reads are retried for a while, because the
 * controller writes what they show a moment later. See test/docs/markdown.ts for the conventions,
 * test/docs/runner.ts for how commands run (DOCS_RECORD=1 prints their output, to write a page).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSTALL_NAMESPACE } from '../../src/api/index.js';
import { webhookConfigurations } from '../../src/webhooks/manifests.js';
import { crdPaths } from '../controllers/fixture.js';
import { type ControllerProcess, startControllerProcess } from '../e2e/controller-process.js';
import { ControlPlane, freePort } from '../harness/control-plane.js';
import { createWebhookCertificates } from '../harness/pki.js';
import { waitFor } from '../harness/wait.js';
import { vsphereMachineTemplateStandIn } from './capv-stand-in.js';
import { blocks, readPage, root } from './markdown.js';
import { RUN_ORDER, readerEnv, runConsole } from './runner.js';

describe('the guide, followed on a real API server', () => {
  let cp: ControlPlane;
  let controller: ControllerProcess;
  let scratch: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'docs-pages-'));
    const certDir = join(scratch, 'certs');
    mkdirSync(certDir);
    const { caBundle } = await createWebhookCertificates(certDir, 'docs-webhook-ca');
    const [webhookPort, healthPort] = [await freePort(), await freePort()];
    const url = `https://127.0.0.1:${webhookPort}`;
    cp = await ControlPlane.start({
      controllerManager: true,
      crds: crdPaths,
      conversion: { url: `${url}/convert`, caBundle },
    });
    // The provider's namespace, where it keeps its leader-election Lease (operations.md shows it).
    const ns = await cp.access.kubectl(['create', 'namespace', INSTALL_NAMESPACE]);
    expect(ns.code, ns.stderr).toBe(0);
    controller = startControllerProcess([
      `--kubeconfig=${cp.kubeconfigPath}`,
      `--leader-election-namespace=${INSTALL_NAMESPACE}`,
      `--webhook-port=${webhookPort}`,
      '--webhook-host=127.0.0.1',
      `--webhook-cert-dir=${certDir}`,
      `--health-probe-bind-address=127.0.0.1:${healthPort}`,
      '--diagnostics-address=0',
      // docs/service-load-balancers.md and docs/migrating-from-kube-vip.md: Services are served.
      '--service-lb-class=ipam.cluster.x-k8s.io/in-cluster',
      '--service-lb-default',
    ]);
    await waitFor(
      'the controller to be ready',
      async () =>
        (await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined))?.status === 200,
      { timeoutMs: 60_000 },
    );
    const webhooks = join(scratch, 'webhooks.json');
    writeFileSync(
      webhooks,
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: webhookConfigurations({ url, caBundle }) }),
    );
    const registered = await cp.access.kubectl(['apply', '-f', webhooks]);
    expect(registered.code, registered.stderr).toBe(0);
    // CAPV's kind, for the claims page's machine template (see capv-stand-in.ts).
    const capv = await cp.access.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify(vsphereMachineTemplateStandIn),
    });
    expect(capv.code, capv.stderr).toBe(0);
    const established = await cp.access.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      `crd/${vsphereMachineTemplateStandIn.metadata.name}`,
    ]);
    expect(established.code, established.stderr).toBe(0);
    env = readerEnv(scratch, cp.binaries.kubectl, cp.kubeconfigPath);
    // Webhook configurations reach the admission chain a moment after they are stored.
    await waitFor(
      'the webhooks to answer',
      async () => {
        const res = await cp.access.kubectl(['apply', '--dry-run=server', '-f', '-'], {
          input: JSON.stringify({
            apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
            kind: 'GlobalInClusterIPPool',
            metadata: { name: 'probe' },
            spec: { addresses: ['10.0.0.1-10.0.0.300'], prefix: 24 },
          }),
        });
        return res.stderr.includes('not a valid IP');
      },
      { timeoutMs: 30_000 },
    );
  }, 180_000);

  afterAll(async () => {
    controller?.kill();
    await cp?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  // DOCS_PAGES=docs/a.md,docs/b.md runs only those pages (in that order), to write one; the test
  // suite runs them all (structure.test.ts checks every page with console blocks is in RUN_ORDER).
  const pages = process.env.DOCS_PAGES?.split(',').filter(Boolean) ?? RUN_ORDER;
  for (const page of pages) {
    it(`${page}: every console block runs and prints what the page shows`, async () => {
      const console = blocks(readPage(page)).filter((b) => b.lang === 'console');
      expect(console.length, `${page} has console blocks`).toBeGreaterThan(0);
      expect(await runConsole(page, console, env, root)).toBeUndefined();
    }, 300_000);
  }
});
