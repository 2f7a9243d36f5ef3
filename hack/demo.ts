// `make demo`: a working in-cluster IPAM on this machine with no cluster at hand. Starts etcd,
// kube-apiserver and kube-controller-manager on loopback, installs our CRDs and Cluster API's
// (test/demo copies), shows what is installed and keeps running until Ctrl-C, which stops
// everything and removes every temporary file.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
await kubectl(['api-resources', '--api-group=ipam.cluster.x-k8s.io']);

say('demo: the control plane is running. In another terminal:');
say(`  export KUBECONFIG=${cp.kubeconfigPath}`);
say(`  alias kubectl=${cp.binaries.kubectl}`);
say('  kubectl get globalinclusterippools,inclusterippools -A');
say('  kubectl get ipaddressclaims.ipam.cluster.x-k8s.io,ipaddresses.ipam.cluster.x-k8s.io -A');
say('demo: press Ctrl-C to stop; everything started here is stopped and removed.');

// The harness stops the control plane on SIGINT/SIGTERM and removes its directory; say so.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => say(`\ndemo: ${signal}: stopping the control plane and removing its files ...`));
}
setInterval(() => {}, 1 << 30);
