/**
 * Pure rules of a Service's addresses, one per IP family it asks for: which families
 * (spec.ipFamilies under spec.ipFamilyPolicy), the claim each comes from — the Service's own, or
 * the one its sharing key names — and the address a person pinned for each family.
 */
import { createHash } from 'node:crypto';
import { canonicalIP, type IPFamily, parseIP } from '../ip/index.js';
import type { ServiceObject } from './service-lb-rules.js';

/** Services of one namespace with the same key share one address (per family). */
export const ANNOTATION_SHARED_IP_KEY = 'ipam.cluster.x-k8s.io/shared-ip-key';
/**
 * Where a sharing key is read, first found wins: ours, then AKO's, MetalLB's (both prefixes) and
 * Cilium's, so that Services moved from those keep sharing as they did.
 */
export const SHARING_ANNOTATIONS = [
  ANNOTATION_SHARED_IP_KEY,
  'ako.vmware.com/enable-shared-vip',
  'metallb.io/allow-shared-ip',
  'metallb.universe.tf/allow-shared-ip',
  'lbipam.cilium.io/sharing-key',
] as const;
/** On a shared claim: its key as a label value, to find it with `-l`. */
export const LABEL_SERVICE_LB_SHARED_KEY = 'ipam.cluster.x-k8s.io/service-lb-shared-key';
/** kube-vip announces the address in this annotation, as kube-vip-cloud-provider writes it. */
export const ANNOTATION_KUBE_VIP_IPS = 'kube-vip.io/loadbalancerIPs';
/** Annotations of other load-balancer implementations that pin a Service's address. */
export const PIN_ANNOTATIONS = [
  'metallb.io/loadBalancerIPs',
  'metallb.universe.tf/loadBalancerIPs',
  'lbipam.cilium.io/ips',
] as const;
/** Our condition in the Service's status.conditions. */
export const SERVICE_LB_CONDITION = 'ipam.cluster.x-k8s.io/LoadBalancerAddress';

/**
 * The claim is `<service>` + this (its first family's); `-ipv4`/`-ipv6` is added for the second
 * family of a dual-stack Service. A dot never comes out of the dash-built names of other
 * consumers (CAPV, CAPM3), nor out of a Service name (a DNS label); a claim of this name that the
 * Service does not own is never taken over anyway.
 */
export const SERVICE_CLAIM_SUFFIX = '.service-lb';
const SHARED_CLAIM_SUFFIX = '.service-lb-shared';

/** A sharing key as claim names and label values carry it. */
export interface SharedKey {
  key: string;
  /** The key itself when it is a short DNS label, else a readable part and a hash of it. */
  label: string;
}

/** One address of a Service: its family (undefined: the pool's, no spec.ipFamilies) and claim. */
export interface ServiceSlot {
  family: IPFamily | undefined;
  /** The Service's first family (the only one of a single-stack Service). */
  primary: boolean;
  claimName: string;
  shared: SharedKey | undefined;
}

const SHORT_LABEL = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

export function sharedKey(key: string): SharedKey {
  if (SHORT_LABEL.test(key)) return { key, label: key };
  const readable = key
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 30)
    .replace(/-+$/, '');
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 10);
  return { key, label: `${readable || 'key'}-${hash}` };
}

/** The Service's sharing key, if it has one. */
export function sharingKeyOf(svc: ServiceObject): SharedKey | undefined {
  const annotations = svc.metadata?.annotations ?? {};
  for (const name of SHARING_ANNOTATIONS) {
    const key = annotations[name]?.trim();
    if (key) return sharedKey(key);
  }
  return undefined;
}

/** The families a Service has addresses of, in its order: all of spec.ipFamilies unless SingleStack. */
export function serviceFamilies(svc: ServiceObject): (IPFamily | undefined)[] {
  const families = (svc.spec?.ipFamilies ?? []).flatMap((f) =>
    f === 'IPv4' ? [4 as const] : f === 'IPv6' ? [6 as const] : [],
  );
  if (families.length === 0) return [undefined];
  const policy = svc.spec?.ipFamilyPolicy;
  return policy === 'PreferDualStack' || policy === 'RequireDualStack'
    ? [...new Set(families)]
    : families.slice(0, 1);
}

const familySuffix = (f: IPFamily | undefined) => (f === undefined ? '' : `-ipv${f}`);

export function serviceClaimName(serviceName: string, family?: IPFamily, primary = true): string {
  return `${serviceName}${SERVICE_CLAIM_SUFFIX}${primary ? '' : familySuffix(family)}`;
}

export function sharedClaimName(key: SharedKey, family: IPFamily | undefined): string {
  return `${key.label}${SHARED_CLAIM_SUFFIX}${familySuffix(family)}`;
}

/**
 * The claims a Service's addresses come from. Its own: `<service>.service-lb` for its first
 * family (the name a single-stack Service always had), `…-ipv6`/`…-ipv4` for its second. Shared:
 * one per key and family, whichever Service's first family that is.
 */
export function serviceSlots(svc: ServiceObject): ServiceSlot[] {
  const shared = sharingKeyOf(svc);
  const name = svc.metadata?.name ?? '';
  return serviceFamilies(svc).map((family, i) => ({
    family,
    primary: i === 0,
    shared,
    claimName: shared ? sharedClaimName(shared, family) : serviceClaimName(name, family, i === 0),
  }));
}

export function familyOf(address: string): IPFamily | undefined {
  const ip = parseIP(address);
  return ip.ok ? ip.value.family : undefined;
}

/** The address a Service asks for in one family: pinned by a person, or adopted from its status. */
export type Pin =
  | { address: string; source: string; adopted: boolean }
  | { invalid: string }
  | { conflict: string }
  | undefined;

const entries = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/**
 * kube-vip's annotation as we wrote it (our condition True, naming the addresses in the ingress)
 * is not a pin: only one a person set is.
 */
function kubeVipAnnotationIsOurs(svc: ServiceObject): boolean {
  const ours = svc.status?.conditions?.find((c) => c.type === SERVICE_LB_CONDITION);
  const ingress = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter(Boolean);
  return (
    ours?.status === 'True' && svc.metadata?.annotations?.[ANNOTATION_KUBE_VIP_IPS] === ingress.join(',')
  );
}

/**
 * The address asked for in `family`: spec.loadBalancerIP and the pinning annotations of kube-vip
 * (set by a person), MetalLB and Cilium — lists, of which the entry of this family counts.
 * Without any, the address of this family it already carries in status.loadBalancer.ingress
 * (kube-vip-cloud-provider's, adopted). Pins that disagree, or are not addresses, are refused.
 */
export function pinOf(svc: ServiceObject, family: IPFamily | undefined): Pin {
  const annotations = svc.metadata?.annotations ?? {};
  const sources: [string, string][] = [];
  const invalid: string[] = [];
  const consider = (source: string, values: string[]) => {
    for (const value of values) {
      const f = familyOf(value);
      if (f === undefined) invalid.push(`${source} has ${JSON.stringify(value)}, not an IP address`);
      else if (family === undefined || f === family) {
        sources.push([source, canonicalIP(value) ?? value]);
        // Without a known family, a list's first entry is the one.
        if (family === undefined) return;
      }
    }
  };
  const lbIP = svc.spec?.loadBalancerIP?.trim();
  if (lbIP) consider('spec.loadBalancerIP', [lbIP]);
  const pinAnnotations = kubeVipAnnotationIsOurs(svc)
    ? PIN_ANNOTATIONS
    : [ANNOTATION_KUBE_VIP_IPS, ...PIN_ANNOTATIONS];
  for (const name of pinAnnotations) consider(`annotation ${name}`, entries(annotations[name]));
  if (invalid.length > 0) return { invalid: invalid.join('; ') };
  const distinct = new Set(sources.map(([, a]) => a));
  if (distinct.size > 1)
    return {
      conflict: `the Service asks for different addresses (${sources.map(([s, a]) => `${s} ${a}`).join(', ')}): none of them is assigned until they agree`,
    };
  const [first] = sources;
  if (first) return { address: first[1], source: first[0], adopted: false };
  const held = svc.status?.loadBalancer?.ingress
    ?.map((i) => i.ip)
    .find((ip): ip is string => !!ip && (family === undefined || familyOf(ip) === family));
  return held === undefined
    ? undefined
    : { address: canonicalIP(held) ?? held, source: 'status.loadBalancer.ingress', adopted: true };
}

/** The address of a pin, or undefined for none, an invalid or a conflicting one. */
export function pinnedAddress(pin: Pin): string | undefined {
  return pin && 'address' in pin ? pin.address : undefined;
}

/** The Services' index by sharing group: `namespace/<key label>`. */
export const SERVICE_SHARING_INDEX = 'sharingKey';

export function serviceSharingIndex(svc: ServiceObject): string[] {
  const key = sharingKeyOf(svc);
  return key ? [`${svc.metadata?.namespace ?? ''}/${key.label}`] : [];
}
