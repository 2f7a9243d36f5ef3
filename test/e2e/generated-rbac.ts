/**
 * The e2e tests that run the controller with only the RBAC of its install manifests: the
 * generated roles bound to a user (a certificate's CN cannot hold the service account's
 * 85-character user name; nothing here runs pods, so the Deployment is left out), and the
 * controller process started as that user.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { providerObjects, rbacObjects } from '../../src/install/manifests.js';
import type { ControlPlane } from '../harness/control-plane.js';
import { type ControllerProcess, startControllerProcess } from './controller-process.js';

export const CONTROLLER_USER = 'ipam-controller';

/** Applies the provider's Namespace and its roles bound to CONTROLLER_USER; that user's kubeconfig. */
export async function kubeconfigWithGeneratedRbac(cp: ControlPlane): Promise<string> {
  const objects = [
    ...providerObjects().filter((o) => (o as { kind: string }).kind === 'Namespace'),
    ...rbacObjects([{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: CONTROLLER_USER }]),
  ];
  const file = join(cp.dir, 'provider.json');
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  const applied = await cp.access.kubectl(['apply', '-f', file]);
  expect(applied.code, applied.stderr).toBe(0);
  return cp.kubeconfigFor(CONTROLLER_USER);
}

/** The controller as that user, one replica, no servers but the API client's: plus `flags`. */
export function startAsControllerUser(kubeconfig: string, ...flags: string[]): ControllerProcess {
  return startControllerProcess(
    [
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--health-probe-bind-address=0',
      '--diagnostics-address=0',
      '--webhook-port=0',
      ...flags,
    ],
    { LOG_LEVEL: 'info' },
  );
}
