/**
 * The clusterctl components as a real API server takes them: applied to an empty control plane,
 * every object is accepted and the CRDs are established. cert-manager's Issuer and Certificate are
 * left out — their CRDs belong to cert-manager, which this control plane does not run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { componentObjects } from '../../src/install/components.js';
import { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

const CERT_MANAGER = 'cert-manager.io/v1';

describe('the clusterctl components on a real API server', () => {
  let cp: ControlPlane;
  const objects = (componentObjects('registry.example/ipam:v0.1.0') as Obj[]).filter(
    (o) => o.apiVersion !== CERT_MANAGER,
  );

  beforeAll(async () => {
    cp = await ControlPlane.start();
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('applies without an error and every object is there', async () => {
    const res = await cp.access.kubectl(['apply', '--server-side', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
    });
    expect(res.code, res.stderr).toBe(0);
    const got = await cp.access.kubectl([
      'get',
      '-A',
      '-l',
      'cluster.x-k8s.io/provider=ipam-in-cluster',
      '-o',
      'name',
      'crd,namespace,serviceaccount,clusterrole,clusterrolebinding,role,rolebinding,service,deployment,mutatingwebhookconfiguration,validatingwebhookconfiguration',
    ]);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout.trim().split('\n').length).toBe(objects.length);
  });

  it('establishes the four pool CRDs, served as in the Go provider', async () => {
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
    expect(crds).toHaveLength(4);
    for (const crd of crds) {
      await waitFor(`${crd.metadata.name} established`, async () => {
        const res = await cp.access.request<{ status?: { conditions?: { type: string; status: string }[] } }>(
          'GET',
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
        );
        return res.body.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      });
    }
    const served = await cp.access.request<{ resources: { name: string }[] }>(
      'GET',
      '/apis/ipam.cluster.x-k8s.io/v1alpha2',
    );
    expect(
      served.body.resources
        .map((r) => r.name)
        .filter((n) => !n.includes('/'))
        .sort(),
    ).toEqual([
      'globalinclusterippools',
      'globalinclusterprefixpools',
      'inclusterippools',
      'inclusterprefixpools',
    ]);
  });
});
