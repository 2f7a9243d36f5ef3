/**
 * Addresses people choose, through a real API server with our webhooks: preAllocations,
 * namespaceSelector and allocationStrategy on all four pool kinds. Each invalid pin or selector is
 * refused on create and on update with the field named first; a pool with every new field is
 * admitted and stored as written; and an update that pins an address another claim holds is
 * refused, checked against an AllocationView whose holders are a plain map this file fills (the
 * shape the controller's registry answers with), and refused with 503 while that view says it has
 * not synced. Runs on the shared control plane: the hooks only see this file's namespace and global
 * pools with this file's label.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AllocationView } from '../../src/webhooks/admission.js';
import { uniqueName, useNamespace } from '../harness/namespace.js';
import { waitFor } from '../harness/wait.js';
import {
  registerWebhooks,
  startTestWebhookServer,
  type TestWebhookServer,
  type WebhookRegistration,
} from './setup.js';

const GROUP = 'ipam.cluster.x-k8s.io';
const IPAM = `/apis/${GROUP}/v1alpha2`;
const RUN_LABEL = 'webhook-test.ipam.cluster.x-k8s.io/run';

interface StatusBody {
  code?: number;
  reason?: string;
  message?: string;
  spec?: Spec;
}
type Spec = Record<string, unknown>;

const KINDS = [
  { kind: 'InClusterIPPool', plural: 'inclusterippools', namespaced: true, unit: 'ip' },
  { kind: 'GlobalInClusterIPPool', plural: 'globalinclusterippools', namespaced: false, unit: 'ip' },
  { kind: 'InClusterPrefixPool', plural: 'inclusterprefixpools', namespaced: true, unit: 'prefix' },
  {
    kind: 'GlobalInClusterPrefixPool',
    plural: 'globalinclusterprefixpools',
    namespaced: false,
    unit: 'prefix',
  },
] as const;
type Kind = (typeof KINDS)[number];
const GLOBAL_KINDS = KINDS.filter((k) => !k.namespaced);

const IP_BASE: Spec = {
  addresses: ['10.0.0.0/24'],
  prefix: 24,
  gateway: '10.0.0.1',
  excludedAddresses: ['10.0.0.100-10.0.0.110'],
};
const PREFIX_BASE: Spec = { prefixes: ['fd00::/48'], excludedPrefixes: ['fd00:0:0:9::/64'] };
/** Free addresses of each unit, to pin (index 0–2) and to hold by other claims (3–4). */
const FREE = {
  ip: ['10.0.0.10', '10.0.0.11', '10.0.0.12', '10.0.0.20', '10.0.0.21'],
  prefix: ['fd00:0:0:1::/64', 'fd00:0:0:2::/64', 'fd00:0:0:3::/64', 'fd00:0:0:4::/64', 'fd00:0:0:5::/64'],
};

/** A bad pin: its address, and the detail the webhook gives for `spec.preAllocations[0].address`. */
const BAD_ADDRESSES: Record<Kind['unit'], [string, string, string][]> = {
  ip: [
    ['the gateway', '10.0.0.1', 'provided address is the gateway (spec.gateway), which is never handed out'],
    [
      'the network address',
      '10.0.0.0',
      'provided address is the network address of the subnet 10.0.0.0/24, which is reserved unless allocateReservedIPAddresses is true',
    ],
    [
      'the broadcast address',
      '10.0.0.255',
      'provided address is the broadcast address of the subnet 10.0.0.0/24, which is reserved unless allocateReservedIPAddresses is true',
    ],
    ['an excluded address', '10.0.0.105', 'provided address is excluded by spec.excludedAddresses'],
    ['an address outside the pool', '10.0.1.5', 'provided address is not in spec.addresses'],
    ['an IPv6 address', 'fd00::5', 'provided address and addresses are of mixed IP families'],
    ['a CIDR', '10.0.0.5/32', 'provided address is not a single valid IP: ParseAddr("10.0.0.5/32")'],
  ],
  prefix: [
    ['a prefix with host bits', 'fd00:0:0:1::1/64', 'CIDR must be network-aligned'],
    ['a prefix of another length', 'fd00:0:0:1::/80', 'prefix length must be allocationPrefixLength (64)'],
    ['a prefix outside the pool', 'fd01::/64', 'provided prefix is not inside spec.prefixes'],
    ['an excluded prefix', 'fd00:0:0:9::/64', 'provided prefix overlaps spec.excludedPrefixes'],
    ['an IPv4 CIDR', '10.0.0.0/24', 'only IPv6 prefixes are supported'],
    ['a bare address', 'fd00:0:0:1::', 'provided entry is not a valid IPv6 CIDR'],
  ],
};

describe('chosen addresses through the API server and our webhooks', () => {
  const ns = useNamespace('chosen');
  const run = uniqueName('chosen');
  /** Pool key (`kind/namespace/name`) → address in the registry's form → holder `namespace/name`. */
  const holders = new Map<string, Map<string, string>>();
  let holdersSynced = true;
  const asked: string[] = [];
  const poolKey = (kind: string, namespace: string | undefined, name: string) =>
    `${kind}/${namespace ?? ''}/${name}`;
  // The view the webhook server is given: plain data, answering as the controller's registry does.
  const view: AllocationView = {
    allocatedAddresses: (kind, namespace, name) => [
      ...(holders.get(poolKey(kind, namespace, name))?.keys() ?? []),
    ],
    addressHolders: (kind, namespace, name) => {
      asked.push(poolKey(kind, namespace, name));
      return holdersSynced ? (holders.get(poolKey(kind, namespace, name)) ?? new Map()) : undefined;
    },
  };
  let hooks: TestWebhookServer;
  let registration: WebhookRegistration;
  let seq = 0;

  const nextName = () => `${run}-${++seq}`;
  const collection = (k: Kind) =>
    k.namespaced ? `${IPAM}/namespaces/${ns.name}/${k.plural}` : `${IPAM}/${k.plural}`;
  const poolObject = (k: Kind, name: string, spec: Spec) => ({
    apiVersion: `${GROUP}/v1alpha2`,
    kind: k.kind,
    metadata: { name, labels: { [RUN_LABEL]: run } },
    spec,
  });
  const create = (k: Kind, name: string, spec: Spec) =>
    ns.access.request<StatusBody>('POST', collection(k), poolObject(k, name, spec));
  const replaceSpec = (k: Kind, name: string, spec: Spec) =>
    ns.access.request<StatusBody>(
      'PATCH',
      `${collection(k)}/${name}`,
      [{ op: 'replace', path: '/spec', value: spec }],
      { contentType: 'application/json-patch+json' },
    );
  const base = (k: Kind): Spec => (k.unit === 'ip' ? IP_BASE : PREFIX_BASE);
  /** The namespace a Global pool's pins name: claims of any namespace may use it. */
  const claimNamespace = (k: Kind) => (k.namespaced ? ns.name : 'team-a');
  const pin = (k: Kind, claimName: string, address: string): Spec => ({
    claimName,
    address,
    ...(k.namespaced ? {} : { namespace: claimNamespace(k) }),
  });
  const withPins = (k: Kind, pins: Spec[], more: Spec = {}): Spec => ({
    ...base(k),
    preAllocations: pins,
    ...more,
  });
  const webhookDenied = (k: Kind, name: string) =>
    `admission webhook "validation.${k.kind.toLowerCase()}.${GROUP}" denied the request: ${k.kind}.${GROUP} "${name}" is invalid: `;

  beforeAll(async () => {
    hooks = await startTestWebhookServer(view, 'chosen-webhook');
    registration = await registerWebhooks(ns.access, hooks.server.port, hooks.ca.certPem, {
      name: run,
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns.name } },
      globalObjectSelector: { matchLabels: { [RUN_LABEL]: run } },
    });
    expect(registration.statuses).toEqual([201, 201]);
    for (const k of KINDS) {
      await waitFor(`the ${k.kind} webhook`, async () => {
        const probe = k.unit === 'ip' ? { addresses: [], prefix: 24 } : { prefixes: [] };
        const res = await ns.access.request<StatusBody>(
          'POST',
          `${collection(k)}?dryRun=All`,
          poolObject(k, 'probe', probe),
        );
        return res.body.message?.includes('admission webhook') === true;
      });
    }
  });
  afterAll(async () => {
    holders.clear();
    holdersSynced = true;
    const selector = `labelSelector=${encodeURIComponent(`${RUN_LABEL}=${run}`)}`;
    const deleted = [];
    for (const k of KINDS) {
      const path = k.namespaced ? `${collection(k)}` : `${collection(k)}?${selector}`;
      deleted.push((await ns.access.request('DELETE', path)).status);
    }
    await registration?.remove();
    await hooks?.close();
    expect(deleted).toEqual([200, 200, 200, 200]);
  });

  describe.each(KINDS)('a $kind', (k) => {
    const badAddresses = BAD_ADDRESSES[k.unit];
    const [a, b, c, heldA] = FREE[k.unit] as [string, string, string, string, string];

    it('with every new field is admitted and stored as written', async () => {
      const name = nextName();
      const spec = withPins(k, [pin(k, 'vip', a), pin(k, 'web-md-0-x7k2p-0-0', b)], {
        allocationStrategy: 'RoundRobin',
        ...(k.namespaced
          ? {}
          : {
              namespaceSelector: {
                matchLabels: { 'kubernetes.io/metadata.name': 'team-a' },
                matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }],
              },
            }),
      });
      const res = await create(k, name, spec);
      expect(res.status, res.body.message).toBe(201);
      const stored = await ns.access.request<{ spec: Spec }>('GET', `${collection(k)}/${name}`);
      // Prefix pools get allocationPrefixLength from the CRD default, as before.
      expect(stored.body.spec).toEqual(k.unit === 'prefix' ? { ...spec, allocationPrefixLength: 64 } : spec);
    });

    it.each(badAddresses)('refuses a pin of %s on create and on update', async (_what, address, detail) => {
      const name = nextName();
      const spec = withPins(k, [pin(k, 'vip', address)]);
      const created = await create(k, name, spec);
      expect(created.status).toBe(422);
      expect(created.body.message).toContain(
        `${webhookDenied(k, name)}spec.preAllocations[0].address: Invalid value: ${JSON.stringify(address)}: ${detail}`,
      );
      expect((await create(k, name, base(k))).status).toBe(201);
      const updated = await replaceSpec(k, name, spec);
      expect(updated.status).toBe(422);
      expect(updated.body.message).toContain(
        `spec.preAllocations[0].address: Invalid value: ${JSON.stringify(address)}: ${detail}`,
      );
    });

    it('refuses an address twice and a claim twice, naming the later pin', async () => {
      const name = nextName();
      const res = await create(k, name, withPins(k, [pin(k, 'vip', a), pin(k, 'api', a), pin(k, 'vip', c)]));
      expect(res.status).toBe(422);
      expect(res.body.message).toContain(webhookDenied(k, name));
      expect(res.body.message).toContain(
        `spec.preAllocations[1].address: Duplicate value: ${JSON.stringify(a)}: pre-allocated twice: spec.preAllocations[0] has the same address`,
      );
      expect(res.body.message).toContain(
        `spec.preAllocations[2].claimName: Duplicate value: "vip": claim ${k.namespaced ? 'vip' : `${claimNamespace(k)}/vip`} is pre-allocated twice`,
      );
    });

    it('refuses a claim name that is no DNS-1123 subdomain', async () => {
      const name = nextName();
      const res = await create(k, name, withPins(k, [pin(k, 'Web_0', a)]));
      expect(res.status).toBe(422);
      expect(res.body.message).toContain(
        `${webhookDenied(k, name)}spec.preAllocations[0].claimName: Invalid value: "Web_0": a lowercase RFC 1123 subdomain must consist of`,
      );
    });

    if (k.namespaced) {
      it('refuses a pin that names a namespace', async () => {
        const name = nextName();
        const res = await create(
          k,
          name,
          withPins(k, [{ claimName: 'vip', namespace: ns.name, address: a }]),
        );
        expect(res.status).toBe(422);
        expect(res.body.message).toContain(
          `${webhookDenied(k, name)}spec.preAllocations[0].namespace: Forbidden: an ${k.kind} serves only claims of its own namespace; leave namespace unset`,
        );
      });
    } else {
      it('requires the namespace of a pin (by schema), and a DNS-1123 label there (by webhook)', async () => {
        const missing = await create(k, nextName(), withPins(k, [{ claimName: 'vip', address: a }]));
        expect(missing.status).toBe(422);
        expect(missing.body.message).toContain('spec.preAllocations[0].namespace: Required value');
        const name = nextName();
        const dotted = await create(
          k,
          name,
          withPins(k, [{ claimName: 'vip', namespace: 'team.a', address: a }]),
        );
        expect(dotted.status).toBe(422);
        expect(dotted.body.message).toContain(
          `${webhookDenied(k, name)}spec.preAllocations[0].namespace: Invalid value: "team.a": must not contain dots`,
        );
      });
    }

    it('refuses an unknown allocationStrategy by the schema’s enum', async () => {
      const res = await create(k, nextName(), { ...base(k), allocationStrategy: 'Fastest' });
      expect(res.status).toBe(422);
      expect(res.body.message).toContain(
        'spec.allocationStrategy: Unsupported value: "Fastest": supported values: "Lowest", "Highest", "Random", "RoundRobin"',
      );
    });

    it('refuses on update a new pin of an address another claim holds, and admits its holder’s own', async () => {
      const name = nextName();
      expect((await create(k, name, base(k))).status).toBe(201);
      const key = poolKey(k.kind, k.namespaced ? ns.name : undefined, name);
      const holder = `${claimNamespace(k)}/web-md-0-x7k2p-0-0`;
      holders.set(key, new Map([[heldA, holder]]));
      const taken = await replaceSpec(k, name, withPins(k, [pin(k, 'vip', heldA)]));
      expect(taken.status).toBe(422);
      expect(taken.body.message).toContain(
        `${webhookDenied(k, name)}spec.preAllocations[0].address: Invalid value: ${JSON.stringify(heldA)}: provided address is already held by claim ${holder} (IPAddress ${holder}); pre-allocate a free address, or release it first`,
      );
      expect(asked).toContain(key);
      // The claim that holds it may be pinned to it: that only keeps what it has.
      const own = await replaceSpec(
        k,
        name,
        withPins(k, [pin(k, 'web-md-0-x7k2p-0-0', heldA), pin(k, 'vip', a)]),
      );
      expect(own.status, own.body.message).toBe(200);
      holders.delete(key);
    });

    it('refuses a pin change with 503 until the holders are synced, and admits other edits', async () => {
      const name = nextName();
      const pinned = withPins(k, [pin(k, 'vip', a)]);
      expect((await create(k, name, pinned)).status).toBe(201);
      holdersSynced = false;
      try {
        const moved = await replaceSpec(k, name, withPins(k, [pin(k, 'vip', b)]));
        expect(moved.status).toBe(503);
        expect(moved.body.message).toContain('the controller has not synced yet; retry');
        // The pins stay as they were: nothing to check against the holders.
        const restrategised = await replaceSpec(k, name, { ...pinned, allocationStrategy: 'Highest' });
        expect(restrategised.status, restrategised.body.message).toBe(200);
      } finally {
        holdersSynced = true;
      }
      expect((await replaceSpec(k, name, withPins(k, [pin(k, 'vip', b)]))).status).toBe(200);
    });
  });

  describe.each(GLOBAL_KINDS)('the namespaceSelector of a $kind', (k) => {
    it.each<[string, unknown, string]>([
      [
        'an operator in the wrong case',
        { matchExpressions: [{ key: 'env', operator: 'in', values: ['prod'] }] },
        'spec.namespaceSelector.matchExpressions[0].operator: Invalid value: "in": not a valid selector operator',
      ],
      [
        'In without values',
        { matchExpressions: [{ key: 'env', operator: 'In' }] },
        "spec.namespaceSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
      ],
      [
        'Exists with values',
        { matchExpressions: [{ key: 'env', operator: 'Exists', values: ['prod'] }] },
        "spec.namespaceSelector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
      ],
      [
        'a label key that is no qualified name',
        { matchLabels: { 'a/b/c': 'x' } },
        'spec.namespaceSelector.matchLabels: Invalid value: "a/b/c": a qualified name must consist of',
      ],
      [
        'a label value with a space',
        { matchExpressions: [{ key: 'env', operator: 'In', values: ['pro d'] }] },
        'spec.namespaceSelector.matchExpressions[0].values[0]: Invalid value: "pro d": a valid label must be',
      ],
    ])('is refused on create and on update with %s', async (_what, namespaceSelector, expected) => {
      const name = nextName();
      const spec = { ...base(k), namespaceSelector };
      const created = await create(k, name, spec);
      expect(created.status).toBe(422);
      expect(created.body.message).toContain(`${webhookDenied(k, name)}${expected}`);
      expect((await create(k, name, base(k))).status).toBe(201);
      const updated = await replaceSpec(k, name, spec);
      expect(updated.status).toBe(422);
      expect(updated.body.message).toContain(expected);
    });

    it('refuses an expression without a key by the schema', async () => {
      const res = await create(k, nextName(), {
        ...base(k),
        namespaceSelector: { matchExpressions: [{ operator: 'Exists' }] },
      });
      expect(res.status).toBe(422);
      expect(res.body.message).toContain('spec.namespaceSelector.matchExpressions[0].key: Required value');
    });
  });

  it('warns, through kubectl, that a pinned claim holding another address keeps it', async () => {
    const k = KINDS[0];
    const name = nextName();
    expect((await create(k, name, IP_BASE)).status).toBe(201);
    const key = poolKey(k.kind, ns.name, name);
    holders.set(key, new Map([['10.0.0.20', `${ns.name}/db`]]));
    const manifest = [
      `apiVersion: ${GROUP}/v1alpha2`,
      `kind: ${k.kind}`,
      'metadata:',
      `  name: ${name}`,
      `  namespace: ${ns.name}`,
      `  labels: {${RUN_LABEL}: ${run}}`,
      'spec:',
      '  addresses: ["10.0.0.0/24"]',
      '  prefix: 24',
      '  gateway: 10.0.0.1',
      '  excludedAddresses: ["10.0.0.100-10.0.0.110"]',
      '  preAllocations:',
      '  - {claimName: db, address: 10.0.0.30}',
    ].join('\n');
    const res = await ns.access.kubectl(['apply', '-f', '-'], { input: manifest });
    holders.delete(key);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain(
      `Warning: spec.preAllocations[0]: claim ${ns.name}/db already holds 10.0.0.20 from this pool and keeps it`,
    );
  });
});
