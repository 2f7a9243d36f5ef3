import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  addressPath,
  claimPath,
  crdPaths,
  createClaim,
  createNamespace,
  createPool,
  get,
  waitForAddress,
} from '../controllers/fixture.js';
import {
  assignedAddress,
  createService,
  getService,
  LB_CLASS,
  SERVICE_LB_POOL_LABEL,
  serviceClaims,
  servicePath,
} from '../controllers/service-lb-fixture.js';
import { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import type { ControllerProcess } from './controller-process.js';
import { kubeconfigWithGeneratedRbac, startAsControllerUser } from './generated-rbac.js';

const NS = 'service-lb-e2e';

describe('the controller process with the generated RBAC gives Services their addresses', () => {
  let cp: ControlPlane;
  let kubeconfig: string;
  let ctl: ControllerProcess | undefined;
  const output = () => (ctl ? ctl.stdout() + ctl.stderr() : '');
  const start = (...flags: string[]) => startAsControllerUser(kubeconfig, ...flags);

  beforeAll(async () => {
    cp = await ControlPlane.start({ crds: crdPaths });
    await createNamespace(cp.access, NS);
    kubeconfig = await kubeconfigWithGeneratedRbac(cp);
    await createPool(
      cp.access,
      'InClusterIPPool',
      NS,
      'vips',
      { addresses: ['10.84.0.1-10.84.0.9'], prefix: 24 },
      { labels: { [SERVICE_LB_POOL_LABEL]: 'true' } },
    );
  });
  afterEach(() => {
    ctl?.kill();
    ctl = undefined;
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('claims, assigns, cleans and releases, and is never forbidden', async () => {
    ctl = start(`--service-lb-class=${LB_CLASS}`);
    await createService(cp.access, NS, 'web', { loadBalancerClass: LB_CLASS });
    const address = await waitFor('the Service assigned', () => assignedAddress(cp.access, NS, 'web'), {
      timeoutMs: 60_000,
    });
    expect(address).toBe('10.84.0.1');
    expect(await serviceClaims(cp.access, NS, 'web')).toHaveLength(1);
    // Switched away: no garbage collector runs here, so only the controller's delete releases it.
    const res = await cp.access.request(
      'PATCH',
      servicePath(NS, 'web'),
      { spec: { type: 'ClusterIP', loadBalancerClass: null } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(res.status, res.text).toBe(200);
    await waitFor('the claim and its IPAddress gone, the Service cleaned', async () => {
      const claim = await get(cp.access, claimPath(NS, 'web.service-lb'));
      const ip = await get(cp.access, addressPath(NS, 'web.service-lb'));
      const svc = await getService(cp.access, NS, 'web');
      return claim === undefined && ip === undefined && !svc?.status?.conditions?.length;
    });
    expect(output()).toMatch(/"Service":\{"name":"web","namespace":"service-lb-e2e"\}/);
    expect(output()).not.toMatch(/forbidden/i);
  });

  it('shares one address between two Services of one key, and releases it with the last, never forbidden', async () => {
    ctl = start(`--service-lb-class=${LB_CLASS}`);
    const key = { 'ipam.cluster.x-k8s.io/shared-ip-key': 'front' };
    await createService(cp.access, NS, 'front-http', { loadBalancerClass: LB_CLASS, annotations: key });
    await createService(cp.access, NS, 'front-dns', {
      loadBalancerClass: LB_CLASS,
      annotations: key,
      spec: { ports: [{ port: 53, protocol: 'UDP' }] },
    });
    const assigned = (name: string) =>
      waitFor(`${name} assigned`, () => assignedAddress(cp.access, NS, name), { timeoutMs: 60_000 });
    const address = await assigned('front-http');
    expect(await assigned('front-dns')).toBe(address);
    // No garbage collector runs here: only the controller leaves and deletes the shared claim.
    for (const name of ['front-http', 'front-dns'])
      expect((await cp.access.request('DELETE', servicePath(NS, name))).status).toBe(200);
    await waitFor('the shared claim and its IPAddress gone', async () => {
      const claim = await get(cp.access, claimPath(NS, 'front.service-lb-shared-ipv4'));
      const ip = await get(cp.access, addressPath(NS, 'front.service-lb-shared-ipv4'));
      return claim === undefined && ip === undefined;
    });
    expect(output()).not.toMatch(/forbidden/i);
  });

  it('without the flags watches no Service and claims nothing', async () => {
    ctl = start();
    await createService(cp.access, NS, 'off', { loadBalancerClass: LB_CLASS });
    // A machine's claim made after the Service is served: the controller has seen past the Service.
    await createClaim(cp.access, NS, 'after-off', { kind: 'InClusterIPPool', name: 'vips' });
    await waitForAddress(cp.access, NS, 'after-off', 60_000);
    expect(await serviceClaims(cp.access, NS, 'off')).toEqual([]);
    expect(output()).not.toMatch(/forbidden/i);
  });
});
