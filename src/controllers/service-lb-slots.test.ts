import { describe, expect, it } from 'vitest';
import type { ServiceObject } from './service-lb-rules.js';
import {
  pinOf,
  SERVICE_LB_CONDITION,
  serviceFamilies,
  serviceSlots,
  sharedKey,
  sharingKeyOf,
} from './service-lb-slots.js';

function service(
  spec: ServiceObject['spec'] = {},
  annotations?: Record<string, string>,
  status?: ServiceObject['status'],
): ServiceObject {
  return {
    metadata: { name: 'web', namespace: 'a', annotations },
    spec: { type: 'LoadBalancer', ...spec },
    status,
  };
}

describe('families and claims of a Service', () => {
  it('takes the first family unless dual-stack is asked for', () => {
    const both = { ipFamilies: ['IPv6', 'IPv4'] };
    expect(serviceFamilies(service(both))).toEqual([6]);
    expect(serviceFamilies(service({ ...both, ipFamilyPolicy: 'SingleStack' }))).toEqual([6]);
    expect(serviceFamilies(service({ ...both, ipFamilyPolicy: 'PreferDualStack' }))).toEqual([6, 4]);
    expect(serviceFamilies(service({ ...both, ipFamilyPolicy: 'RequireDualStack' }))).toEqual([6, 4]);
    expect(serviceFamilies(service())).toEqual([undefined]);
  });

  it('names its own claims by the Service, the second family suffixed; shared ones by key and family', () => {
    const dual = service({ ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' });
    expect(serviceSlots(dual).map((s) => s.claimName)).toEqual(['web.service-lb', 'web.service-lb-ipv6']);
    const shared = service(dual.spec, { 'metallb.io/allow-shared-ip': 'front' });
    expect(serviceSlots(shared).map((s) => s.claimName)).toEqual([
      'front.service-lb-shared-ipv4',
      'front.service-lb-shared-ipv6',
    ]);
  });

  it('reads the sharing key from ours first, then AKO, MetalLB and Cilium', () => {
    expect(sharingKeyOf(service({}, { 'lbipam.cilium.io/sharing-key': 'c' }))?.key).toBe('c');
    expect(
      sharingKeyOf(
        service(
          {},
          { 'ako.vmware.com/enable-shared-vip': 'ako', 'ipam.cluster.x-k8s.io/shared-ip-key': 'ours' },
        ),
      )?.key,
    ).toBe('ours');
    expect(sharingKeyOf(service({}, { 'metallb.io/allow-shared-ip': '  ' }))).toBeUndefined();
  });

  it('keeps a short DNS-label key as it is, and makes any other a label and a name with a hash', () => {
    expect(sharedKey('front')).toEqual({ key: 'front', label: 'front' });
    const odd = sharedKey('Team A/Front End!');
    expect(odd.label).toMatch(/^team-a-front-end-[0-9a-f]{10}$/);
    expect(sharedKey('team a front end').label).not.toBe(odd.label);
    const long = sharedKey('x'.repeat(300));
    expect(long.label.length).toBeLessThanOrEqual(63);
  });
});

describe('pinOf', () => {
  it('reads spec.loadBalancerIP and the pinning annotations, per family from lists', () => {
    expect(pinOf(service({ loadBalancerIP: '10.0.0.5' }), undefined)).toMatchObject({ address: '10.0.0.5' });
    const dual = service({}, { 'metallb.io/loadBalancerIPs': '10.0.0.7, fd00::7' });
    expect(pinOf(dual, 6)).toMatchObject({ address: 'fd00::7', adopted: false });
    expect(pinOf(dual, 4)).toMatchObject({ address: '10.0.0.7' });
    expect(pinOf(service(), 4)).toBeUndefined();
  });

  it('refuses pins that disagree or are not addresses, and takes pins that agree', () => {
    const agree = service({ loadBalancerIP: '10.0.0.5' }, { 'kube-vip.io/loadbalancerIPs': '10.0.0.5' });
    expect(pinOf(agree, 4)).toMatchObject({ address: '10.0.0.5' });
    const disagree = service({ loadBalancerIP: '10.0.0.5' }, { 'lbipam.cilium.io/ips': '10.0.0.6' });
    expect(pinOf(disagree, 4)).toHaveProperty('conflict');
    expect(pinOf(service({}, { 'lbipam.cilium.io/ips': '10.0.0.300' }), 4)).toHaveProperty('invalid');
  });

  it('adopts the address in status.loadBalancer.ingress of the family when nothing pins one', () => {
    const carried = service({}, undefined, {
      loadBalancer: { ingress: [{ ip: 'fd00::8' }, { ip: '10.0.0.8' }] },
    });
    expect(pinOf(carried, 4)).toMatchObject({ address: '10.0.0.8', adopted: true });
    expect(pinOf(carried, 6)).toMatchObject({ address: 'fd00::8', adopted: true });
  });

  it('does not take our own kube-vip annotation for a pin, but one a person changed', () => {
    const status = {
      loadBalancer: { ingress: [{ ip: '10.0.0.8' }] },
      conditions: [
        {
          type: SERVICE_LB_CONDITION,
          status: 'True' as const,
          reason: 'AddressAssigned',
          message: '',
          lastTransitionTime: 't',
        },
      ],
    };
    const ours = service(
      { loadBalancerIP: '10.0.0.9' },
      { 'kube-vip.io/loadbalancerIPs': '10.0.0.8' },
      status,
    );
    // Only the person's pin counts: no conflict with what we wrote.
    expect(pinOf(ours, 4)).toMatchObject({ address: '10.0.0.9', source: 'spec.loadBalancerIP' });
    const changed = service({}, { 'kube-vip.io/loadbalancerIPs': '10.0.0.7' }, status);
    expect(pinOf(changed, 4)).toMatchObject({ address: '10.0.0.7', adopted: false });
  });
});
