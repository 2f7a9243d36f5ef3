/**
 * The pool status writer when the API server refuses part of its work: a ValidatingAdmissionPolicy
 * (evaluated inside the API server, no webhook needed) refuses every update of the pools it names,
 * so the ProtectPool finalizer cannot go on, while their status subresource stays writable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import {
  createPool,
  get,
  poolPath,
  type RunningController,
  STATUS_WINDOW_MS,
  startController,
  startControlPlane,
} from './fixture.js';

const POLICY = 'refuse-guarded-pool-updates';

// Real creates pass, so that a pool can be made; a dry-run create tells when the policy is active.
const policy = {
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingAdmissionPolicy',
  metadata: { name: POLICY },
  spec: {
    failurePolicy: 'Fail',
    matchConstraints: {
      resourceRules: [
        {
          apiGroups: ['ipam.cluster.x-k8s.io'],
          apiVersions: ['*'],
          operations: ['CREATE', 'UPDATE'],
          resources: ['globalinclusterippools'],
        },
      ],
    },
    validations: [
      {
        expression:
          "!object.metadata.name.startsWith('guarded') || (request.operation == 'CREATE' && !request.dryRun)",
        message: 'updates of guarded pools are refused',
      },
    ],
  },
};

const binding = {
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingAdmissionPolicyBinding',
  metadata: { name: POLICY },
  spec: { policyName: POLICY, validationActions: ['Deny'] },
};

const ADMISSION = '/apis/admissionregistration.k8s.io/v1';

describe('the pool status writer, refused its finalizer patch', () => {
  let cp: ControlPlane;
  let ctl: RunningController;

  const poolErrors = async () =>
    (await ctl.metrics.reconcileErrors.get()).values.find(
      (v) => v.labels.controller === 'globalinclusterippool',
    )?.value ?? 0;

  beforeAll(async () => {
    cp = await startControlPlane();
    ctl = await startController(cp);
    for (const [plural, obj] of [
      ['validatingadmissionpolicies', policy],
      ['validatingadmissionpolicybindings', binding],
    ] as const) {
      const res = await cp.access.request('POST', `${ADMISSION}/${plural}`, obj);
      expect(res.status, res.text).toBe(201);
    }
    await waitFor('the admission policy to refuse', async () => {
      const res = await cp.access.request('POST', `${poolPath('GlobalInClusterIPPool', '')}?dryRun=All`, {
        apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
        kind: 'GlobalInClusterIPPool',
        metadata: { name: 'guarded-probe' },
        spec: { addresses: ['10.70.0.0/24'], prefix: 24 },
      });
      return res.status === 422 && res.text.includes('updates of guarded pools are refused');
    });
  });
  afterAll(async () => {
    await ctl?.stop();
    await cp?.stop();
  });

  it('still writes its status, retries with a growing backoff, and protects it once allowed', async () => {
    // When each count of refused writes was first seen, sampled every 10 ms.
    const seenAt: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const n = await poolErrors();
        while (seenAt.length < n) seenAt.push(Date.now());
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await createPool(cp.access, 'GlobalInClusterIPPool', '', 'guarded', {
      addresses: ['10.70.0.10-10.70.0.19'],
      prefix: 24,
    });
    const path = poolPath('GlobalInClusterIPPool', '', 'guarded');
    // The counts and the Ready condition land although the metadata patch was refused.
    const seen = await waitFor('the status of the guarded pool', async () => {
      const pool = await get(cp.access, path);
      return pool?.status?.ipAddresses?.total === 10 ? pool : undefined;
    });
    expect(seen.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(seen.metadata.finalizers ?? []).not.toContain('ipam.cluster.x-k8s.io/ProtectPool');

    // Retried, each retry waiting twice as long as the one before, then the coalescing window:
    // from the second refusal to the fourth 2+1 and 4+1 windows (with no backoff, 1+1 each).
    await waitFor('four refused writes', () => seenAt.length >= 4);
    sampling = false;
    await sampler;
    expect((seenAt[3] ?? 0) - (seenAt[1] ?? 0)).toBeGreaterThanOrEqual(6 * STATUS_WINDOW_MS);
    const retries = (await ctl.metrics.queueRetries.get()).values.find(
      (v) => v.labels.name === 'globalinclusterippool',
    );
    expect(retries?.value).toBeGreaterThanOrEqual(3);

    // Once the policy goes, the pending retry puts the finalizer on, with no change to the pool.
    const res = await cp.access.request('DELETE', `${ADMISSION}/validatingadmissionpolicybindings/${POLICY}`);
    expect(res.status, res.text).toBe(200);
    await waitFor(
      'the ProtectPool finalizer',
      async () =>
        (await get(cp.access, path))?.metadata.finalizers?.includes('ipam.cluster.x-k8s.io/ProtectPool'),
      { timeoutMs: 30_000 },
    );
  });
});
