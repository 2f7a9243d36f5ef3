// `make demo`: a working in-cluster IPAM on this machine with no cluster at hand. Starts etcd,
// kube-apiserver and kube-controller-manager on loopback, installs our CRDs and Cluster API's
// (test/demo copies), shows what is installed and keeps running until Ctrl-C, which stops
// everything and removes every temporary file.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ControlPlane } from '../test/harness/control-plane.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const say = (line = '') => process.stdout.write(`${line}\n`);

say('demo: starting etcd, kube-apiserver and kube-controller-manager on 127.0.0.1 ...');
const cp = await ControlPlane.start({
  controllerManager: true,
  crds: [join(root, 'crds'), join(root, 'test/crds/capi')].filter(existsSync),
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
    '--webhook-port=0',
    '--health-probe-bind-address=127.0.0.1:0',
    '--diagnostics-address=0',
    '--insecure-diagnostics',
  ],
  { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn' } },
);
const controllerExited = new Promise<void>((resolve) => controller.on('exit', () => resolve()));
process.on('exit', () => controller.kill('SIGKILL'));

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
  if (items.length > 0 && items.every((c) => c.status?.addressRef)) break;
  if (Date.now() > deadline) {
    say('demo: the claims did not get addresses within a minute; showing what is there');
    break;
  }
  await sleep(200);
}
await kubectl(['get', 'globalinclusterippools,inclusterippools', '-A']);
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

say('demo: the provider is running. In another terminal:');
say(`  export KUBECONFIG=${cp.kubeconfigPath}`);
say(`  alias kubectl=${cp.binaries.kubectl}`);
say('  kubectl get globalinclusterippools,inclusterippools -A');
say('  kubectl get ipaddressclaims.ipam.cluster.x-k8s.io,ipaddresses.ipam.cluster.x-k8s.io -A');
say('  kubectl apply -f your-claim.yaml   # claims get addresses while this runs');
say('demo: press Ctrl-C to stop; everything started here is stopped and removed.');

// The harness stops the control plane on SIGINT/SIGTERM and removes its directory; the controller
// is stopped first so that it drains and exits cleanly.
let signalled = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.prependOnceListener(signal, () => {
    signalled = true;
    say(`\ndemo: ${signal}: stopping the controller and the control plane, removing their files ...`);
    controller.kill('SIGTERM');
  });
}
await controllerExited;
if (!signalled) {
  say('demo: the controller exited unexpectedly; stopping.');
  await cp.stop();
  process.exit(1);
}
