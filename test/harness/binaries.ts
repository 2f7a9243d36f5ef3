import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The Kubernetes release the test bed runs; hack/controlplane/go.mod pins the same one. */
export const KUBERNETES_VERSION = '1.36.3';

export interface ControlPlaneBinaries {
  kubeApiServer: string;
  etcd: string;
  kubectl: string;
  /** Absent when the user's envtest assets do not ship it; then garbage collection is unavailable. */
  kubeControllerManager?: string;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const buildScript = join(repoRoot, 'hack/build-control-plane.sh');

function executable(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return undefined;
  }
}

export function storeDirectory(): string {
  const data = process.env.XDG_DATA_HOME || join(homedir(), '.local/share');
  return join(data, 'kubebuilder-envtest/k8s', `${KUBERNETES_VERSION}-linux-amd64`);
}

function fromDirectory(dir: string): ControlPlaneBinaries | undefined {
  const kubeApiServer = executable(join(dir, 'kube-apiserver'));
  const etcd = executable(join(dir, 'etcd'));
  const kubectl = executable(join(dir, 'kubectl'));
  if (!kubeApiServer || !etcd || !kubectl) return undefined;
  return {
    kubeApiServer,
    etcd,
    kubectl,
    kubeControllerManager: executable(join(dir, 'kube-controller-manager')),
  };
}

/**
 * Finds the binaries the way envtest does (TEST_ASSET_*, then KUBEBUILDER_ASSETS), then in
 * setup-envtest's store; returns undefined when they still have to be built.
 */
export function findBinaries(): ControlPlaneBinaries | undefined {
  const env = process.env;
  if (env.TEST_ASSET_KUBE_APISERVER || env.TEST_ASSET_ETCD) {
    const kubeApiServer = executable(env.TEST_ASSET_KUBE_APISERVER);
    const etcd = executable(env.TEST_ASSET_ETCD);
    if (!kubeApiServer || !etcd) {
      throw new Error('TEST_ASSET_KUBE_APISERVER and TEST_ASSET_ETCD must both name executable files');
    }
    const dir = dirname(kubeApiServer);
    const kubectl = executable(env.TEST_ASSET_KUBECTL) ?? executable(join(dir, 'kubectl'));
    if (!kubectl) throw new Error('set TEST_ASSET_KUBECTL to a kubectl binary');
    return {
      kubeApiServer,
      etcd,
      kubectl,
      kubeControllerManager:
        executable(env.TEST_ASSET_KUBE_CONTROLLER_MANAGER) ??
        executable(join(dir, 'kube-controller-manager')),
    };
  }
  if (env.KUBEBUILDER_ASSETS) {
    const found = fromDirectory(env.KUBEBUILDER_ASSETS);
    if (!found)
      throw new Error(`KUBEBUILDER_ASSETS=${env.KUBEBUILDER_ASSETS} lacks kube-apiserver, etcd or kubectl`);
    return found;
  }
  const found = fromDirectory(storeDirectory());
  return found?.kubeControllerManager ? found : undefined;
}

/** Finds the binaries, building them once with hack/build-control-plane.sh when they are missing. */
export async function ensureBinaries(): Promise<ControlPlaneBinaries> {
  const found = findBinaries();
  if (found) return found;
  // The script prints progress on stderr; pass it through so an 8-minute first build is visible.
  const child = promisify(execFile)('bash', [buildScript], { maxBuffer: 1 << 20 });
  child.child.stderr?.pipe(process.stderr);
  await child;
  const built = findBinaries();
  if (!built) throw new Error(`${buildScript} finished but the binaries are not in ${storeDirectory()}`);
  return built;
}
