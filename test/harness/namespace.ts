import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import { ClusterAccess } from './access.js';

/** Access to the run's shared control plane (started by test/global-setup.ts). */
export function sharedCluster(): ClusterAccess {
  return new ClusterAccess(inject('cluster'));
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * Gives the calling test file a namespace of its own on the shared control plane, created before
 * its tests and deleted after them.
 */
export function useNamespace(prefix = 'test'): { readonly name: string; readonly access: ClusterAccess } {
  const access = sharedCluster();
  const name = uniqueName(prefix);
  beforeAll(async () => {
    const res = await access.request('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
    });
    if (res.status !== 201) throw new Error(`creating namespace ${name}: ${res.status} ${res.text}`);
  });
  afterAll(async () => {
    await access.request('DELETE', `/api/v1/namespaces/${name}`);
    access.close();
  });
  return { name, access };
}
