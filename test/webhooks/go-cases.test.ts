/**
 * The Go provider's IP-pool webhook scenarios (its internal/webhooks tests), replayed through a
 * real API server for both pool kinds: each invalid pool is refused with the Go message naming the
 * field, on create and on update; the valid ones are admitted unchanged. Runs on the shared control
 * plane: the hooks only see this file's namespace and GlobalInClusterIPPools with this file's label.
 */
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { webhookRoutes } from '../../src/webhooks/routes.js';
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
const SKIP_DELETE = 'ipam.cluster.x-k8s.io/skip-validate-delete-webhook';

interface StatusBody {
  code?: number;
  reason?: string;
  message?: string;
  details?: { group?: string; kind?: string; causes?: { field?: string }[] };
}
type Spec = Record<string, unknown>;
type Answer = { status: number; body: StatusBody };

const KINDS = [
  { kind: 'InClusterIPPool', plural: 'inclusterippools', namespaced: true },
  { kind: 'GlobalInClusterIPPool', plural: 'globalinclusterippools', namespaced: false },
] as const;
type Kind = (typeof KINDS)[number];

interface InvalidCase {
  name: string;
  spec: Spec;
  /** Substrings of the API server's answer, e.g. `spec.gateway: Invalid value: "x": …`. */
  expected: string[];
  /** Set when the CRD schema refuses the pool before our webhook is asked: what the webhook says. */
  webhookAlone?: string[];
}

const gw = '10.0.0.1';
const pool = (addresses: string[], prefix: number, more: Spec = {}): Spec => ({ addresses, prefix, ...more });
const A3 = ['10.0.0.25', '10.0.0.26', '10.0.0.27'];
const V6 = ['fe01::2', 'fe01::3-fe01::5', 'fe01::1:1/126'];
const RANGE = ['10.0.0.10-10.0.0.20'];
const BASE = { addresses: RANGE, prefix: 24, gateway: '10.0.0.1' };
const notValid = (entry: string, field = 'spec.addresses') =>
  `${field}: Invalid value: "${entry}": provided address is not a valid IP, range, nor CIDR`;
const otherSubnet = (entry: string) =>
  `spec.addresses: Invalid value: "${entry}": provided address belongs to a different subnet than others`;
const mixedGateway = (gateway: string) =>
  `spec.gateway: Invalid value: "${gateway}": provided gateway and addresses are of mixed IP families`;
const refused = (name: string, spec: Spec, expected: string[], webhookAlone?: string[]): InvalidCase => ({
  name,
  spec,
  expected,
  ...(webhookAlone ? { webhookAlone } : {}),
});
const outsideSubnet = (name: string, entry: string, flagged: string[]) =>
  refused(name, pool(['10.0.1.0', entry], 24, { gateway: gw }), flagged.map(otherSubnet));
const schemaMin = (field: string, value: number, bound: string) =>
  `spec.${field}: Invalid value: ${value}: spec.${field} in body should be ${bound}`;

// TestInvalidScenarios of the Go provider, in its order, then two rules it has no case for.
const invalidCases: InvalidCase[] = [
  refused('no addresses are given', pool([], 24, { gateway: gw }), [
    'spec.addresses: Invalid value: []: addresses is required',
  ]),
  refused('the gateway is not an IP', pool(A3, 24, { gateway: 'invalid' }), [
    'spec.gateway: Invalid value: "invalid": ParseAddr("invalid"): unable to parse IP',
  ]),
  refused(
    'one address is in another subnet',
    pool(['10.0.0.25', '10.0.0.26', '10.0.1.27'], 24, { gateway: gw }),
    [otherSubnet('10.0.1.27')],
  ),
  refused('one address is garbage', pool(['10.0.0.25', '10.0.0.26', 'garbage'], 24, { gateway: gw }), [
    notValid('garbage'),
  ]),
  // The CRD schema (the Go provider's has the same bounds) answers these before any webhook.
  refused(
    'the prefix is negative',
    pool(['10.0.0.25', '10.0.0.26'], -1, { gateway: gw }),
    [schemaMin('prefix', -1, 'greater than or equal to 0')],
    ['spec.prefix: Invalid value: ', 'a valid prefix is required'],
  ),
  refused(
    'the prefix is 9999',
    pool(['10.0.0.25', '10.0.0.26'], 9999, { gateway: gw }),
    [schemaMin('prefix', 9999, 'less than or equal to 128')],
    ['spec.prefix: Invalid value: 9999: provided prefix is not valid'],
  ),
  refused('a range runs backwards', pool(['10.0.0.10-10.0.0.5'], 24, { gateway: gw }), [
    notValid('10.0.0.10-10.0.0.5'),
  ]),
  refused('a CIDR has prefix 33', pool(['10.0.0.10/33'], 24, { gateway: gw }), [notValid('10.0.0.10/33')]),
  // The subnet is the lowest address with the pool's prefix; every entry outside it is named.
  outsideSubnet('a range lies below the other address', '10.0.0.10-10.0.0.20', ['10.0.1.0']),
  outsideSubnet('a range lies above the prefix', '10.0.2.10-10.0.2.20', ['10.0.2.10-10.0.2.20']),
  outsideSubnet('a range starts below the prefix', '10.0.0.20-10.0.1.20', [
    '10.0.1.0',
    '10.0.0.20-10.0.1.20',
  ]),
  outsideSubnet('a range ends above the prefix', '10.0.1.20-10.0.2.20', ['10.0.1.20-10.0.2.20']),
  outsideSubnet('a CIDR lies below the other address', '10.0.0.1/24', ['10.0.1.0']),
  outsideSubnet('a CIDR lies above the prefix', '10.0.2.1/24', ['10.0.2.1/24']),
  outsideSubnet('a CIDR starts below the prefix', '10.0.0.0/23', ['10.0.1.0', '10.0.0.0/23']),
  outsideSubnet('a CIDR ends above the prefix', '10.0.1.0/23', ['10.0.1.0', '10.0.1.0/23']),
  refused(
    'IPv4 addresses have an IPv6 gateway',
    pool(['10.0.1.0', '10.0.0.2-10.0.0.250'], 24, { gateway: 'fd00::1' }),
    [mixedGateway('fd00::1')],
  ),
  refused(
    'IPv6 addresses have an IPv4 gateway',
    pool(['fd00::1', 'fd00::100-fd00::200'], 24, { gateway: gw }),
    [mixedGateway(gw)],
  ),
  refused(
    'the addresses mix IPv4 and IPv6',
    pool(['fd00::1', 'fd00::100-fd00::200', '10.0.1.0', '10.0.0.2-10.0.0.250'], 24, { gateway: gw }),
    ['spec.addresses: Invalid value: [', ']: provided addresses are of mixed IP families', mixedGateway(gw)],
  ),
  refused(
    'the excluded addresses mix IPv4 and IPv6',
    pool(['10.0.1.0', '10.0.0.2-10.0.0.250'], 24, {
      gateway: gw,
      excludedAddresses: ['fd00::1', '10.0.0.4'],
    }),
    [
      'spec.excludedAddresses: Invalid value: [',
      ']: provided addresses are of mixed IP families',
      ']: addresses and excluded addresses are of mixed IP families',
    ],
  ),
  refused(
    'the excluded addresses are IPv6 in an IPv4 pool',
    pool(['10.0.1.0', '10.0.0.2-10.0.0.250'], 24, { gateway: gw, excludedAddresses: ['fd00::1'] }),
    [
      'spec.excludedAddresses: Invalid value: [',
      ']: addresses and excluded addresses are of mixed IP families',
    ],
  ),
  refused(
    'addressReuseGracePeriodSeconds is negative',
    pool(RANGE, 24, { gateway: gw, addressReuseGracePeriodSeconds: -1 }),
    [schemaMin('addressReuseGracePeriodSeconds', -1, 'greater than or equal to 0')],
    [
      'spec.addressReuseGracePeriodSeconds: Invalid value: -1: addressReuseGracePeriodSeconds must not be negative',
    ],
  ),
  refused(
    'an excluded address does not parse',
    pool(['10.0.0.0/24'], 24, { excludedAddresses: ['10.0.0.300'] }),
    [notValid('10.0.0.300', 'spec.excludedAddresses')],
  ),
  refused('an IPv4 pool has prefix 33', pool(['10.0.0.1'], 33), [
    'spec.prefix: Invalid value: 33: provided prefix is not valid',
  ]),
];

// TestInClusterIPPoolDefaulting (specs the webhooks leave as they are), TestIPPool_Prefix, and more.
const validCases: { name: string; spec: Spec }[] = (
  [
    ['addresses, gateway and prefix', pool(A3, 28, { gateway: '10.0.0.24' })],
    ['addresses and prefix without a gateway', pool(A3, 28)],
    ['excluded addresses next to the pool', pool(A3, 28, { excludedAddresses: ['10.0.0.23', '10.0.0.24'] })],
    ['IPv6 addresses with a gateway', pool(V6, 28, { gateway: 'fe01::1' })],
    ['IPv6 addresses without a gateway', pool(V6, 28)],
    [
      'IPv6 excluded addresses',
      pool(V6, 28, { excludedAddresses: ['fe01::4', 'fe01::6-fe01::8', 'fe01::1:10/126'] }),
    ],
    [
      'a reuse grace period',
      pool(A3.slice(0, 2), 28, { gateway: '10.0.0.24', addressReuseGracePeriodSeconds: 60 }),
    ],
    ['prefix 0', pool(RANGE, 0, { gateway: gw })],
    ['an IPv6 /64 CIDR', pool(['fd00:1::/64'], 64, { gateway: 'fd00:1::1' })],
    ['a gateway outside the subnet', pool(['10.0.0.0/24'], 24, { gateway: '192.168.0.1' })],
    [
      'excluded addresses outside the pool',
      pool(['10.0.0.0/24'], 24, { excludedAddresses: ['10.10.0.16/28'] }),
    ],
    ['a CIDR with host bits set', pool(['10.0.0.5/24'], 24)],
    ['reserved addresses allocatable', pool(['10.0.0.0/24'], 24, { allocateReservedIPAddresses: true })],
  ] as const
).map(([name, spec]) => ({ name, spec }));

describe('the Go provider webhook scenarios through the API server', () => {
  const ns = useNamespace('go-cases');
  const run = uniqueName('gocases');
  const allocated = new Map<string, string[]>();
  const asked = new Set<string>();
  let agent: Agent;
  let hooks: TestWebhookServer;
  let registration: WebhookRegistration;
  let seq = 0;

  const nextName = () => `${run}-${++seq}`;
  const collection = (k: Kind) =>
    k.namespaced ? `${IPAM}/namespaces/${ns.name}/${k.plural}` : `${IPAM}/${k.plural}`;
  const poolObject = (k: Kind, name: string, spec: Spec, annotations?: Record<string, string>) => ({
    apiVersion: `${GROUP}/v1alpha2`,
    kind: k.kind,
    metadata: { name, labels: { [RUN_LABEL]: run }, ...(annotations ? { annotations } : {}) },
    spec,
  });
  const create = (k: Kind, name: string, spec: Spec, annotations?: Record<string, string>) =>
    ns.access.request<StatusBody>('POST', collection(k), poolObject(k, name, spec, annotations));
  const jsonPatch = { contentType: 'application/json-patch+json' };
  const replaceSpec = (k: Kind, name: string, spec: Spec) =>
    ns.access.request<StatusBody>(
      'PATCH',
      `${collection(k)}/${name}`,
      [{ op: 'replace', path: '/spec', value: spec }],
      jsonPatch,
    );
  const remove = (k: Kind, name: string) =>
    ns.access.request<StatusBody>('DELETE', `${collection(k)}/${name}`);
  const key = (k: Kind, name: string) => `${k.kind}/${k.namespaced ? ns.name : ''}/${name}`;

  /** Asks our webhook server directly, as the API server would for a CREATE. */
  async function askWebhook(k: Kind, spec: Spec): Promise<{ allowed?: boolean; status?: StatusBody }> {
    const path = webhookRoutes().find((r) => r.kind === k.kind && r.type === 'validate')?.path ?? '';
    const req = { uid: 'direct', name: 'p', operation: 'CREATE', object: poolObject(k, 'p', spec) };
    const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: req });
    const headers = { 'content-type': 'application/json' };
    const res = await request(`https://127.0.0.1:${hooks.server.port}${path}`, {
      method: 'POST',
      dispatcher: agent,
      headers,
      body,
    });
    const review = (await res.body.json()) as { response?: { allowed?: boolean; status?: StatusBody } };
    return review.response ?? {};
  }

  function expectWebhookDenial(res: Answer, k: Kind, name: string, expected: string[]) {
    expect(res.status).toBe(422);
    expect(res.body.reason).toBe('Invalid');
    expect(res.body.details).toMatchObject({ group: GROUP, kind: k.kind });
    expect(res.body.message).toContain(
      `admission webhook "validation.${k.kind.toLowerCase()}.${GROUP}" denied the request: ${k.kind}.${GROUP} "${name}" is invalid: `,
    );
    for (const text of expected) expect(res.body.message).toContain(text);
  }

  beforeAll(async () => {
    hooks = await startTestWebhookServer({
      allocatedAddresses: (kind, namespace, name) => {
        asked.add(`${kind}/${namespace ?? ''}/${name}`);
        return allocated.get(`${kind}/${namespace ?? ''}/${name}`) ?? [];
      },
    });
    agent = new Agent({ connect: { ca: hooks.ca.certPem } });
    registration = await registerWebhooks(ns.access, hooks.server.port, hooks.ca.certPem, {
      name: run,
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns.name } },
      globalObjectSelector: { matchLabels: { [RUN_LABEL]: run } },
    });
    expect(registration.statuses).toEqual([201, 201]);
    // The API server picks new configurations up from a watch: wait until both kinds are checked.
    for (const k of KINDS) {
      await waitFor(`the ${k.kind} webhook`, async () => {
        const res = await ns.access.request<StatusBody>(
          'POST',
          `${collection(k)}?dryRun=All`,
          poolObject(k, 'probe', { addresses: [], prefix: 24 }),
        );
        return res.body.message?.includes('admission webhook') === true;
      });
    }
  });
  afterAll(async () => {
    // Pools first (the webhooks still answer their deletes), then the hooks, then the server.
    allocated.clear();
    const selector = `labelSelector=${encodeURIComponent(`${RUN_LABEL}=${run}`)}`;
    const globals = await ns.access.request('DELETE', `${IPAM}/globalinclusterippools?${selector}`);
    const namespaced = await ns.access.request('DELETE', `${IPAM}/namespaces/${ns.name}/inclusterippools`);
    await registration?.remove();
    await agent?.close();
    await hooks?.close();
    expect([globals.status, namespaced.status]).toEqual([200, 200]);
  });

  describe.each(KINDS)('a $kind', (k) => {
    it.each(invalidCases)('is refused on create when $name', async ({ spec, expected, webhookAlone }) => {
      const name = nextName();
      const res = await create(k, name, spec);
      if (webhookAlone === undefined) {
        expectWebhookDenial(res, k, name, expected);
        return;
      }
      // The CRD schema answers first (as with the Go provider's CRD); the webhook alone says Go's text.
      expect(res.status).toBe(422);
      expect(res.body.message).not.toContain('admission webhook');
      for (const text of expected) expect(res.body.message).toContain(text);
      const direct = await askWebhook(k, spec);
      expect(direct.allowed).toBe(false);
      for (const text of webhookAlone) expect(direct.status?.message).toContain(text);
    });

    it.each(invalidCases)('is refused on update when $name', async ({ spec, expected, webhookAlone }) => {
      const name = nextName();
      expect((await create(k, name, BASE)).status).toBe(201);
      const res = await replaceSpec(k, name, spec);
      if (webhookAlone === undefined) expectWebhookDenial(res, k, name, expected);
      else for (const text of expected) expect(res.body.message).toContain(text);
    });

    it.each(validCases)('is admitted unchanged with $name', async ({ spec }) => {
      const name = nextName();
      const res = await create(k, name, spec);
      expect(res.status).toBe(201);
      const stored = await ns.access.request<{ spec: Spec }>('GET', `${collection(k)}/${name}`);
      expect(stored.body.spec).toEqual(spec);
    });

    // The Go webhook alone takes a missing prefix as 0; the CRD (ours and Go's) requires it.
    it('without a prefix is refused by the schema', async () => {
      const res = await create(k, nextName(), { addresses: RANGE, gateway: gw });
      expect(res.status).toBe(422);
      expect(res.body.message).toContain('spec.prefix: Required value');
    });

    it('refuses an update that would drop an allocated address, and a delete until it is released', async () => {
      const name = nextName();
      expect((await create(k, name, BASE)).status).toBe(201);
      allocated.set(key(k, name), ['10.0.0.10']);
      const update = await replaceSpec(k, name, {
        addresses: ['10.0.0.15-10.0.0.20'],
        prefix: 24,
        gateway: gw,
      });
      expect(update.status).toBe(400);
      expect(update.body.message).toContain(
        'pool addresses do not contain allocated addresses: [10.0.0.10-10.0.0.10]',
      );
      const refused = await remove(k, name);
      expect(refused.status).toBe(400);
      expect(refused.body.message).toContain(
        'Pool has IPAddresses allocated. Cannot delete Pool until all IPAddresses have been removed.',
      );
      allocated.delete(key(k, name));
      expect((await remove(k, name)).status).toBe(200);
    });

    it('is deleted with addresses allocated when it carries the skip annotation', async () => {
      const name = nextName();
      expect((await create(k, name, BASE, { [SKIP_DELETE]: '' })).status).toBe(201);
      allocated.set(key(k, name), ['10.0.0.10']);
      expect((await remove(k, name)).status).toBe(200);
    });

    it('is refused by kubectl apply with the field named on stderr', async () => {
      const name = nextName();
      const manifest = [
        `apiVersion: ${GROUP}/v1alpha2`,
        `kind: ${k.kind}`,
        'metadata:',
        `  name: ${name}`,
        ...(k.namespaced ? [`  namespace: ${ns.name}`] : []),
        `  labels: {${RUN_LABEL}: ${run}}`,
        'spec:',
        '  addresses: ["10.0.0.25", "garbage"]',
        '  prefix: 24',
      ].join('\n');
      const res = await ns.access.kubectl(['apply', '-f', '-'], { input: manifest });
      expect(res.code).not.toBe(0);
      expect(res.stderr).toContain(notValid('garbage'));
    });
  });

  // The Go provider README's InClusterIPPool samples, applied one after the other as its users would.
  const sample = (spec: string) =>
    `apiVersion: ${GROUP}/v1alpha2\nkind: InClusterIPPool\nmetadata:\n  name: inclusterippool-sample\nspec:\n${spec}`;
  const applySample = (spec: string) =>
    ns.access.kubectl(['apply', '-n', ns.name, '-f', '-'], { input: sample(spec) });
  const nonContiguous = (excluded: string) =>
    `  addresses:\n    - 10.0.0.0/24\n    - 10.0.1.10-10.0.1.100\n    - 10.0.2.1\n    - 10.0.2.2\n  ${excluded}:\n    - 10.10.0.16/28\n    - 10.10.0.242\n    - 10.0.1.25-10.0.1.30\n  prefix: 22\n  gateway: 10.0.0.1\n`;
  it.each([
    ['a /24 with a gateway', '  addresses:\n    - 10.0.0.0/24\n  prefix: 24\n  gateway: 10.0.0.1\n'],
    ['non-contiguous addresses with exclusions', nonContiguous('excludedAddresses')],
    [
      'reserved addresses allocatable',
      '  addresses:\n    - 10.0.0.0/24\n  prefix: 24\n  gateway: 10.0.0.1\n  allocateReservedIPAddresses: true\n',
    ],
  ])('applies the README sample with %s through kubectl', async (_what, spec) => {
    const res = await applySample(spec);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const stored = await ns.access.request<{ spec: Spec }>(
      'GET',
      `${collection(KINDS[0])}/inclusterippool-sample`,
    );
    expect(stored.body.spec).toEqual((parse(sample(spec)) as { spec: Spec }).spec);
  });

  it('saw the README samples in its webhooks (the updates asked for allocations)', () => {
    expect([...asked]).toContain(`InClusterIPPool/${ns.name}/inclusterippool-sample`);
  });

  // The README prints the field as "excludeAddresses"; kubectl validates strictly, so the API server
  // refuses the manifest before any webhook (so it would with the Go provider's CRD).
  it('refuses the README sample as printed, naming its misspelt field', async () => {
    const res = await applySample(nonContiguous('excludeAddresses'));
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('strict decoding error: unknown field "spec.excludeAddresses"');
  });
});
