/**
 * Pure rules of Services sharing one load-balancer address (one key, one namespace), as the
 * load balancers people move from enforce them: their (protocol, port) pairs are disjoint, the
 * addresses they pin agree, and with externalTrafficPolicy Local they select the same Pods.
 *
 * Who keeps the address when a rule breaks: the Services already sharing it (the owners of its
 * claim) first, then the others, each group oldest first. So a newcomer never takes the address
 * from a Service it serves, and of two that clash, the one created later waits.
 */
import type { IPFamily } from '../ip/index.js';
import type { ServiceObject } from './service-lb-rules.js';
import { type Pin, pinnedAddress, type SharedKey } from './service-lb-slots.js';

/** A Service of a sharing group, as the rules see it. */
export interface Sharer {
  /** `namespace/name`. */
  key: string;
  /** Holds the shared address already (owns the shared claim). */
  member: boolean;
  created: string;
  ports: string[];
  local: boolean;
  selector: string;
  /** The address it asks for in each family it has. */
  pins: Map<IPFamily | undefined, Pin>;
}

export function sharerOf(svc: ServiceObject, member: boolean, pins: Map<IPFamily | undefined, Pin>): Sharer {
  const spec = (svc.spec ?? {}) as ServiceObject['spec'] & {
    ports?: { port?: number; protocol?: string }[];
    externalTrafficPolicy?: string;
    selector?: Record<string, string>;
  };
  const selector = Object.entries(spec.selector ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    key: `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`,
    member,
    created: svc.metadata?.creationTimestamp ?? '',
    ports: (spec.ports ?? []).map((p) => `${p.port ?? 0}/${p.protocol ?? 'TCP'}`),
    local: spec.externalTrafficPolicy === 'Local',
    selector: JSON.stringify(selector),
    pins,
  };
}

/** Members first, then oldest first; the name breaks ties (timestamps have one-second steps). */
function precedence(a: Sharer, b: Sharer): number {
  if (a.member !== b.member) return a.member ? -1 : 1;
  if (a.created !== b.created) return a.created < b.created ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

const nameOf = (key: string) => key.slice(key.indexOf('/') + 1);

/** Why `s` may not share with `a`, or undefined when it may. */
function clash(s: Sharer, a: Sharer, key: SharedKey): string | undefined {
  const why = a.member
    ? `Service ${nameOf(a.key)} already shares it`
    : `Service ${nameOf(a.key)} was created first`;
  const common = s.ports.filter((p) => a.ports.includes(p));
  if (common.length > 0)
    return `Service ${nameOf(a.key)} shares key "${key.key}" and also uses ${common.join(', ')}: Services sharing an address need distinct (port, protocol) pairs, and ${why}`;
  if ((s.local || a.local) && s.selector !== a.selector)
    return `Service ${nameOf(a.key)} shares key "${key.key}" with another Pod selector: with externalTrafficPolicy Local, Services sharing an address must select the same Pods, and ${why}`;
  return undefined;
}

/**
 * Which Services of a group may share its address. `held` is the address the group's claim has
 * (or was made for) per family. The answer maps each refused Service to its reason's message;
 * Services not in it share.
 */
export function sharingVerdicts(
  sharers: readonly Sharer[],
  key: SharedKey,
  held: ReadonlyMap<IPFamily | undefined, string>,
): Map<string, string> {
  const refused = new Map<string, string>();
  const ordered = [...sharers].sort(precedence);
  // Per family: the address the group has, or the one its pins agree on.
  const agreed = new Map<IPFamily | undefined, { address: string; by: string }>();
  for (const [family, address] of held) agreed.set(family, { address, by: 'the shared claim' });
  const families = new Set(ordered.flatMap((s) => [...s.pins.keys()]));
  for (const family of families) {
    if (agreed.has(family)) continue;
    // Before the group has an address, pins that disagree leave all of them without one (as AKO).
    const pinned = ordered.filter((s) => !s.member && pinnedAddress(s.pins.get(family)) !== undefined);
    const distinct = new Set(pinned.map((s) => pinnedAddress(s.pins.get(family))));
    if (distinct.size > 1) {
      const list = pinned.map((s) => `${nameOf(s.key)}: ${pinnedAddress(s.pins.get(family))}`).join(', ');
      for (const s of ordered)
        refused.set(
          s.key,
          `the Services sharing key "${key.key}" ask for different addresses (${list}): none of them is assigned until they agree`,
        );
      return refused;
    }
  }
  const accepted: Sharer[] = [];
  for (const s of ordered) {
    const other = accepted.map((a) => clash(s, a, key)).find((m) => m !== undefined);
    if (other !== undefined) {
      refused.set(s.key, other);
      continue;
    }
    // A member's pin changed after it got the address is ignored (a warning says so), not refused.
    const wrongPin = s.member
      ? undefined
      : [...s.pins].find(([family, pin]) => {
          const address = pinnedAddress(pin);
          const group = agreed.get(family);
          return address !== undefined && group !== undefined && group.address !== address;
        });
    if (wrongPin) {
      const [family, pin] = wrongPin;
      const group = agreed.get(family);
      refused.set(
        s.key,
        `the Service asks for ${pinnedAddress(pin)}, but the Services sharing key "${key.key}" have ${group?.address} (${group?.by}): Services sharing an address must ask for the same one`,
      );
      continue;
    }
    for (const [family, pin] of s.pins) {
      const address = pinnedAddress(pin);
      if (address !== undefined && !agreed.has(family))
        agreed.set(family, { address, by: `Service ${nameOf(s.key)}` });
    }
    accepted.push(s);
  }
  return refused;
}
