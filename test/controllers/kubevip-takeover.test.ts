/**
 * Taking over from kube-vip-cloud-provider without moving an address, against the real API server:
 * its ConfigMap converted by src/install/kubevip-pools.ts, the pools applied, its Services as it
 * and kube-vip left them, then our controller started. Every Service keeps its address, each
 * address becomes an IPAddress of the pool kube-vip-cloud-provider took it from, and new Services
 * get what kube-vip-cloud-provider would have given them: the lowest address of its set not in use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertKubeVipConfigMap } from '../../src/install/kubevip-pools.js';
import type { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { createNamespace, startControlPlane } from './fixture.js';
import {
  applyPools,
  createKubeVipConfigMap,
  createKubeVipService,
  KUBE_VIP_IPS,
  serviceIPAddress,
} from './kubevip-takeover-fixture.js';
import {
  assignedAddress,
  conditionOf,
  createService,
  getService,
  LB_CLASS,
  type RunningServiceLb,
  serviceClaims,
  startServiceLb,
} from './service-lb-fixture.js';

/**
 * A global range across a .255/.0 boundary (kube-vip-cloud-provider hands out 10.70.0.250-254 and
 * 10.70.1.1-5) and a namespace CIDR (10.71.0.1-7: not .0, but .7, its broadcast address, yes).
 */
const KUBE_VIP_DATA = { 'range-global': '10.70.0.250-10.70.1.5', 'cidr-web': '10.71.0.0/29' };
const GLOBAL_POOL = 'GlobalInClusterIPPool/kube-vip-global-ipv4';
const WEB_POOL = 'InClusterIPPool/kube-vip-ipv4';

/** Services as kube-vip-cloud-provider left them: namespace, name, address, the pool it is in. */
const EXISTING = [
  ['web', 'api', '10.71.0.1', WEB_POOL],
  ['web', 'admin', '10.71.0.3', WEB_POOL],
  ['shop', 'cart', '10.70.0.250', GLOBAL_POOL],
  ['shop', 'pay', '10.70.0.252', GLOBAL_POOL],
  ['default', 'www', '10.70.1.1', GLOBAL_POOL],
] as const;

describe('taking over from kube-vip-cloud-provider', () => {
  let cp: ControlPlane;
  let ctl: RunningServiceLb | undefined;

  beforeAll(async () => {
    cp = await startControlPlane();
    for (const ns of ['web', 'shop']) await createNamespace(cp.access, ns);
    const configMap = await createKubeVipConfigMap(cp.access, KUBE_VIP_DATA);
    const conversion = convertKubeVipConfigMap(configMap);
    expect(conversion.errors).toEqual([]);
    expect(conversion.notes).toEqual([]);
    await applyPools(
      cp.access,
      conversion.pools.map(({ pool }) => pool),
    );
    for (const [ns, name, address] of EXISTING) await createKubeVipService(cp.access, ns, name, address);
    ctl = await startServiceLb(cp, { className: LB_CLASS, serveDefault: true });
  });
  afterAll(async () => {
    await ctl?.stop();
    await cp?.stop();
  });

  const assigned = (ns: string, name: string) =>
    waitFor(`Service ${ns}/${name} assigned`, () => assignedAddress(cp.access, ns, name), {
      timeoutMs: 30_000,
    });

  it('keeps every address exactly, each an IPAddress of the pool kube-vip-cloud-provider took it from', async () => {
    for (const [ns, name, address, pool] of EXISTING) {
      expect(await assigned(ns, name), `${ns}/${name}`).toBe(address);
      expect(await serviceIPAddress(cp.access, ns, name)).toEqual({ address, pool });
      const svc = await getService(cp.access, ns, name);
      expect(svc?.status?.loadBalancer?.ingress?.map((i) => i.ip)).toEqual([address]);
      expect(svc?.metadata.annotations?.[KUBE_VIP_IPS]).toBe(address);
      expect(svc?.metadata.labels?.implementation).toBe('kube-vip');
      expect(svc?.spec.loadBalancerIP).toBe(address);
    }
  });

  it('gives new Services what kube-vip-cloud-provider would: the lowest free address, never .255 or .0', async () => {
    // 10.70.0.250 and .252 are held; 10.70.0.255 and 10.70.1.0 are never handed out; 10.70.1.1 is held.
    const expected = ['10.70.0.251', '10.70.0.253', '10.70.0.254', '10.70.1.2'];
    for (const [i, address] of expected.entries()) {
      await createService(cp.access, 'shop', `new-${i}`);
      expect(await assigned('shop', `new-${i}`)).toBe(address);
      expect(await serviceIPAddress(cp.access, 'shop', `new-${i}`)).toEqual({ address, pool: GLOBAL_POOL });
    }
  });

  it('serves a namespace with its own CIDR from it alone, its broadcast address included, never from the global pool', async () => {
    for (const [i, address] of ['10.71.0.2', '10.71.0.4', '10.71.0.5', '10.71.0.6', '10.71.0.7'].entries()) {
      await createService(cp.access, 'web', `new-${i}`);
      expect(await assigned('web', `new-${i}`)).toBe(address);
      expect(await serviceIPAddress(cp.access, 'web', `new-${i}`)).toEqual({ address, pool: WEB_POOL });
    }
    // The namespace's pool is used up: kube-vip-cloud-provider would not fall back to the global
    // one either (10.70.1.3-5 are still free there).
    await createService(cp.access, 'web', 'one-too-many');
    const refused = await waitFor('the Service refused', async () => {
      const c = conditionOf(await getService(cp.access, 'web', 'one-too-many'));
      return c?.status === 'False' ? c : undefined;
    });
    expect(refused.reason).toBe('NoPoolAvailable');
    expect(await serviceClaims(cp.access, 'web', 'one-too-many')).toEqual([]);
  });
});
