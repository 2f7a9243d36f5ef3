import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import type { ClusterInfo } from './harness/access.js';
import { ControlPlane } from './harness/control-plane.js';

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterInfo;
  }
}

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/** The CRDs every integration test may use: ours (generated) and Cluster API's test copies. */
export const testCrdPaths = [join(root, 'crds'), join(root, 'test/crds/capi')].filter(existsSync);

// One control plane (with garbage collection) for the whole run; each test file works in its own
// namespace (harness/namespace.ts). Files that restart the API server start a control plane of their own.
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const cp = await ControlPlane.start({ controllerManager: true, crds: testCrdPaths });
  process.stderr.write(`control plane ready at ${cp.info.server} in ${Date.now() - started} ms\n`);
  project.provide('cluster', cp.info);
  return async () => {
    await cp.stop();
  };
}
