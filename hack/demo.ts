// `make demo`: a working in-cluster IPAM on this machine with no cluster at hand. Starts etcd,
// kube-apiserver and kube-controller-manager on loopback, installs our CRDs and Cluster API's
// (test/demo copies), shows what is installed, gives Cluster API's claims and then LoadBalancer
// Services their addresses (two Services sharing one), and keeps running until Ctrl-C, which
// stops everything and removes every temporary file.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { webhookConfigurations } from '../src/webhooks/manifests.js';
import { ControlPlane, freePort } from '../test/harness/control-plane.js';
import { createWebhookCertificates } from '../test/harness/pki.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const say = (line = '') => process.stdout.write(`${line}\n`);

// The webhook server's certificate, as cert-manager would mount it; removed on exit.
const certDir = mkdtempSync(join(tmpdir(), 'ipam-demo-certs-'));
process.on('exit', () => rmSync(certDir, { recursive: true, force: true }));
const { caBundle } = await createWebhookCertificates(certDir, 'demo-webhook-ca');
const [webhookPort, healthPort] = [await freePort(), await freePort()];
const webhookUrl = `https://127.0.0.1:${webhookPort}`;

say('demo: starting etcd, kube-apiserver and kube-controller-manager on 127.0.0.1 ...');
const cp = await ControlPlane.start({
  controllerManager: true,
  crds: [join(root, 'crds'), join(root, 'test/crds/capi')].filter(existsSync),
  // Without a Service network the CRDs convert through the controller's server on loopback.
  conversion: { url: `${webhookUrl}/convert`, caBundle },
});

const kubectl = async (args: string[]) => {
  const res = await cp.access.kubectl(args);
  say(`$ kubectl ${args.join(' ')}`);
  say((res.stdout || res.stderr).trimEnd());
  say();
};

await kubectl(['version']);
await kubectl(['get', 'crds', '-L', 'clusterctl.cluster.x-k8s.io/move-hierarchy']);

// The controller runs as it does in a pod: the built binary, its own process, our flags.
say('demo: starting the controller (node dist/main.js) ...');
const controller = spawn(
  process.execPath,
  [
    join(root, 'dist/main.js'),
    `--kubeconfig=${cp.kubeconfigPath}`,
    '--leader-elect=false',
    `--webhook-port=${webhookPort}`,
    // The API server calls it on loopback; nothing else on the network needs to reach it.
    '--webhook-host=127.0.0.1',
    `--webhook-cert-dir=${certDir}`,
    `--health-probe-bind-address=127.0.0.1:${healthPort}`,
    '--diagnostics-address=0',
    '--insecure-diagnostics',
    // LoadBalancer Services without a class get addresses too (docs/service-load-balancers.md).
    '--service-lb-default',
  ],
  { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn' } },
);
const controllerExited = new Promise<void>((resolve) => controller.on('exit', () => resolve()));
process.on('exit', () => controller.kill('SIGKILL'));

let ready = false;
for (const until = Date.now() + 60_000; !ready && Date.now() < until && controller.exitCode === null; ) {
  const res = await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined);
  ready = res?.status === 200;
  if (!ready) await sleep(200);
}
if (!ready)
  say('demo: the controller did not become ready within a minute; continuing to show what is there');
// The webhook configurations of manifests/webhook.yaml, pointed at the controller on loopback.
const webhooksFile = join(certDir, 'webhooks.json');
writeFileSync(
  webhooksFile,
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: webhookConfigurations({ url: webhookUrl, caBundle }),
  }),
);
const registered = await cp.access.kubectl(['apply', '-f', webhooksFile]);
say(
  `$ kubectl apply -f <manifests/webhook.yaml pointed at ${webhookUrl}>\n${(registered.stdout || registered.stderr).trimEnd()}\n`,
);
// A configuration reaches the API server's admission chain a moment after it is stored.
const invalidPool = JSON.stringify({
  apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
  kind: 'InClusterIPPool',
  metadata: { name: 'not-a-pool', namespace: 'default' },
  spec: { addresses: ['10.0.0.1-10.0.0.300'], prefix: 24 },
});
let rejected = { stdout: '', stderr: '' };
for (let i = 0; i < 50; i++, await sleep(200)) {
  rejected = await cp.access.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: invalidPool });
  if (rejected.stderr.includes('not a valid IP')) break;
}
say(
  `$ kubectl apply -f <a pool with addresses 10.0.0.1-10.0.0.300>   # the webhook rejects it\n${rejected.stderr.trimEnd()}\n`,
);

const applied = await cp.access.kubectl(['apply', '-f', join(root, 'docs/samples')]);
say(`$ kubectl apply -f docs/samples\n${(applied.stdout || applied.stderr).trimEnd()}\n`);
const deadline = Date.now() + 60_000;
for (;;) {
  const res = await cp.access.kubectl([
    'get',
    'ipaddressclaims.ipam.cluster.x-k8s.io',
    '-n',
    'demo',
    '-o',
    'json',
  ]);
  const items =
    res.code === 0
      ? (JSON.parse(res.stdout) as { items: { status?: { addressRef?: unknown } }[] }).items
      : [];
  const pools = await cp.access.kubectl([
    'get',
    'globalinclusterippools,inclusterippools,inclusterprefixpools,globalinclusterprefixpools',
    '-A',
    '-o',
    'json',
  ]);
  const counted =
    pools.code === 0 &&
    (JSON.parse(pools.stdout) as { items: { status?: { ipAddresses?: { used: number } } }[] }).items.every(
      (p) => (p.status?.ipAddresses?.used ?? 0) > 0,
    );
  // Bound claims, and pool status written (coalesced, so it follows the allocations within a second).
  if (items.length > 0 && items.every((c) => c.status?.addressRef) && counted) break;
  if (Date.now() > deadline) {
    say('demo: the claims did not get addresses within a minute; showing what is there');
    break;
  }
  await sleep(200);
}
await kubectl([
  'get',
  'globalinclusterippools,inclusterippools,inclusterprefixpools,globalinclusterprefixpools',
  '-A',
]);
await kubectl([
  'get',
  'ipaddresses.ipam.cluster.x-k8s.io',
  '-A',
  '-o',
  'custom-columns=NAMESPACE:.metadata.namespace,NAME:.metadata.name,ADDRESS:.spec.address,PREFIX:.spec.prefix,GATEWAY:.spec.gateway,POOL:.spec.poolRef.name',
]);
await kubectl([
  'get',
  'ipaddressclaims.ipam.cluster.x-k8s.io',
  '-A',
  '-o',
  'custom-columns=NAMESPACE:.metadata.namespace,NAME:.metadata.name,READY:.status.conditions[?(@.type=="Ready")].status,REASON:.status.conditions[?(@.type=="Ready")].reason,MESSAGE:.status.conditions[?(@.type=="Ready")].message',
]);

// Services of type LoadBalancer, from the pools labelled for them: one alone, then two sharing
// one address by key (DNS on 53/TCP and 53/UDP). The guide's files, applied one step at a time
// as docs/service-load-balancers.md does, so that each step's addresses are always the same.
const serviceExamples = 'docs/examples/service-load-balancers';
const applyFiles = async (...files: string[]) => {
  const res = await cp.access.kubectl([
    'apply',
    ...files.flatMap((f) => ['-f', join(root, serviceExamples, f)]),
  ]);
  say(`$ kubectl apply ${files.map((f) => `-f ${serviceExamples}/${f}`).join(' ')}`);
  say(`${(res.stdout || res.stderr).trimEnd()}\n`);
};
/** Waits until the Services have an address written (or a minute has passed). */
const waitForAddresses = async (...names: string[]) => {
  for (const until = Date.now() + 60_000; Date.now() < until; await sleep(200)) {
    const res = await cp.access.kubectl(['get', 'services', '-n', 'shop', '-o', 'json']);
    type Service = { metadata: { name: string }; status?: { loadBalancer?: { ingress?: unknown[] } } };
    const items = res.code === 0 ? (JSON.parse(res.stdout) as { items: Service[] }).items : [];
    const served = (name: string) =>
      items.some((s) => s.metadata.name === name && s.status?.loadBalancer?.ingress?.length);
    if (names.every(served)) return;
  }
  say(`demo: ${names.join(', ')} did not get an address within a minute; showing what is there`);
};
say(
  'demo: LoadBalancer Services get their addresses from the pools labelled ipam.cluster.x-k8s.io/service-lb ...',
);
await applyFiles('namespace.yaml', 'pools.yaml');
await applyFiles('web.yaml');
await waitForAddresses('web');
await applyFiles('dns-tcp.yaml', 'dns-udp.yaml');
await waitForAddresses('dns-tcp', 'dns-udp');
await kubectl([
  'get',
  'services',
  '-n',
  'shop',
  '-o',
  'custom-columns=NAME:.metadata.name,TYPE:.spec.type,PORTS:.spec.ports[*].port,PROTOCOLS:.spec.ports[*].protocol,SHARED-IP-KEY:.metadata.annotations.ipam\\.cluster\\.x-k8s\\.io/shared-ip-key,EXTERNAL-IP:.status.loadBalancer.ingress[*].ip',
]);
await kubectl([
  'get',
  'ipaddressclaims.ipam.cluster.x-k8s.io',
  '-n',
  'shop',
  '-o',
  'custom-columns=NAME:.metadata.name,POOL:.spec.poolRef.name,OWNERS:.metadata.ownerReferences[*].name,ADDRESS:.status.addressRef.name',
]);

say('demo: the provider is running. In another terminal:');
say(`  export KUBECONFIG=${cp.kubeconfigPath}`);
say(`  alias kubectl=${cp.binaries.kubectl}`);
say('  kubectl get globalinclusterippools,inclusterippools,inclusterprefixpools -A');
say('  kubectl get ipaddressclaims.ipam.cluster.x-k8s.io,ipaddresses.ipam.cluster.x-k8s.io -A');
say('  kubectl apply -f your-claim.yaml   # claims get addresses while this runs');
say('  kubectl get services -A             # LoadBalancer Services too (docs/service-load-balancers.md)');
say('demo: press Ctrl-C to stop; everything started here is stopped and removed.');

// The harness stops the control plane on SIGINT/SIGTERM and removes its directory; the controller
// is stopped first so that it drains and exits cleanly.
let signalled = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.prependOnceListener(signal, () => {
    signalled = true;
    say(`\ndemo: ${signal}: stopping the controller and the control plane, removing their files ...`);
    controller.kill('SIGTERM');
    // The harness re-raises the signal once the control plane is down, which skips exit handlers.
    rmSync(certDir, { recursive: true, force: true });
  });
}
await controllerExited;
if (!signalled) {
  say('demo: the controller exited unexpectedly; stopping.');
  await cp.stop();
  process.exit(1);
}
