/**
 * The Go provider's prefix-pool webhook scenarios (internal/webhooks/inclusterprefixpool_test.go)
 * through a real API server, for both kinds: invalid pools refused with the Go messages, defaulting
 * of allocationPrefixLength, immutability, updates that would orphan allocations, delete
 * protection and its skip annotation, and the /128 warnings as kubectl prints them. Runs on the
 * shared control plane: the hooks only see this file's namespace and global pools with its label.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
const HOST_LIKE =
  'spec.allocationPrefixLength=128 behaves like host-address allocation; consider InClusterIPPool for single-address semantics';
const GATEWAY_COLLISION =
  'spec.gateway is within spec.prefixes and is not reserved; with /128 allocationPrefixLength it may also be allocated to claims';

interface StatusBody {
  code?: number;
  reason?: string;
  message?: string;
  spec?: Record<string, unknown>;
}
type Spec = Record<string, unknown>;

const KINDS = [
  { kind: 'InClusterPrefixPool', plural: 'inclusterprefixpools', namespaced: true },
  { kind: 'GlobalInClusterPrefixPool', plural: 'globalinclusterprefixpools', namespaced: false },
] as const;
type Kind = (typeof KINDS)[number];

const invalid = (field: string, value: string, detail: string) =>
  `${field}: Invalid value: ${value}: ${detail}`;
const invalidCases: [string, Spec, string][] = [
  ['no prefixes are given', { prefixes: [] }, invalid('spec.prefixes', '[]', 'prefixes is required')],
  [
    'a prefix is not a CIDR',
    { prefixes: ['fd00::'] },
    invalid('spec.prefixes', '"fd00::"', 'provided entry is not a valid IPv6 CIDR'),
  ],
  [
    'a prefix is IPv4',
    { prefixes: ['10.0.0.0/24'] },
    invalid('spec.prefixes', '"10.0.0.0/24"', 'only IPv6 prefixes are supported'),
  ],
  [
    'a prefix has host bits set',
    { prefixes: ['fd00::1/48'] },
    invalid('spec.prefixes', '"fd00::1/48"', 'CIDR must be network-aligned'),
  ],
  [
    'a prefix is longer than allocationPrefixLength',
    { prefixes: ['fd00::/60'], allocationPrefixLength: 56 },
    invalid('spec.prefixes', '"fd00::/60"', 'CIDR prefix length must be <= allocationPrefixLength (56)'),
  ],
  [
    'the gateway is not an IP',
    { prefixes: ['fd00::/48'], gateway: 'invalid' },
    invalid('spec.gateway', '"invalid"', 'ParseAddr("invalid"): unable to parse IP'),
  ],
  [
    'the gateway is IPv4',
    { prefixes: ['fd00::/48'], gateway: '10.0.0.1' },
    invalid('spec.gateway', '"10.0.0.1"', 'provided gateway must be IPv6'),
  ],
  [
    'an excluded entry is not an IP, range nor CIDR',
    { prefixes: ['fd00::/48'], excludedPrefixes: ['nope'] },
    invalid('spec.excludedPrefixes', '"nope"', 'provided entry is not a valid IP, range, nor CIDR'),
  ],
  [
    'an excluded entry is IPv4',
    { prefixes: ['fd00::/48'], excludedPrefixes: ['10.0.0.0/8'] },
    invalid('spec.excludedPrefixes', '"10.0.0.0/8"', 'only IPv6 excluded prefixes are supported'),
  ],
];

describe('the Go provider prefix pool webhook scenarios through the API server', () => {
  const ns = useNamespace('prefix-cases');
  const run = uniqueName('prefixcases');
  const allocated = new Map<string, string[]>();
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
  const patchSpec = (k: Kind, name: string, spec: Spec) =>
    ns.access.request<StatusBody>(
      'PATCH',
      `${collection(k)}/${name}`,
      { spec },
      {
        contentType: 'application/merge-patch+json',
      },
    );
  const remove = (k: Kind, name: string) =>
    ns.access.request<StatusBody>('DELETE', `${collection(k)}/${name}`);
  const key = (k: Kind, name: string) => `${k.kind}/${k.namespaced ? ns.name : ''}/${name}`;

  beforeAll(async () => {
    hooks = await startTestWebhookServer(
      {
        allocatedAddresses: (kind, namespace, name) =>
          allocated.get(`${kind}/${namespace ?? ''}/${name}`) ?? [],
      },
      'prefix-webhook',
    );
    registration = await registerWebhooks(ns.access, hooks.server.port, hooks.ca.certPem, {
      name: run,
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns.name } },
      globalObjectSelector: { matchLabels: { [RUN_LABEL]: run } },
    });
    expect(registration.statuses).toEqual([201, 201]);
    for (const k of KINDS) {
      await waitFor(`the ${k.kind} webhook`, async () => {
        const res = await ns.access.request<StatusBody>(
          'POST',
          `${collection(k)}?dryRun=All`,
          poolObject(k, 'probe', { prefixes: [] }),
        );
        return res.body.message?.includes('admission webhook') === true;
      });
    }
  });
  afterAll(async () => {
    allocated.clear();
    const selector = `labelSelector=${encodeURIComponent(`${RUN_LABEL}=${run}`)}`;
    const globals = await ns.access.request('DELETE', `${IPAM}/globalinclusterprefixpools?${selector}`);
    const namespaced = await ns.access.request(
      'DELETE',
      `${IPAM}/namespaces/${ns.name}/inclusterprefixpools`,
    );
    await registration?.remove();
    await hooks?.close();
    expect([globals.status, namespaced.status]).toEqual([200, 200]);
  });

  describe.each(KINDS)('a $kind', (k) => {
    it.each(invalidCases)('is refused on create when %s', async (_what, spec, expected) => {
      const name = nextName();
      const res = await create(k, name, spec);
      expect(res.status).toBe(422);
      expect(res.body.message).toContain(
        `admission webhook "validation.${k.kind.toLowerCase()}.${GROUP}" denied the request: ${k.kind}.${GROUP} "${name}" is invalid: ${expected}`,
      );
    });

    it('defaults allocationPrefixLength to 64, also when it is given as 0', async () => {
      const absent = nextName();
      expect((await create(k, absent, { prefixes: ['fd00::/48'] })).status).toBe(201);
      const zero = nextName();
      const res = await create(k, zero, { prefixes: ['fd00::/48'], allocationPrefixLength: 0 });
      expect(res.status).toBe(201);
      expect(res.body.spec).toEqual({ prefixes: ['fd00::/48'], allocationPrefixLength: 64 });
    });

    it('refuses a change of allocationPrefixLength, and one that orphans allocations', async () => {
      const name = nextName();
      expect((await create(k, name, { prefixes: ['fd00::/62'] })).status).toBe(201);
      const longer = await patchSpec(k, name, { allocationPrefixLength: 63 });
      expect(longer.status).toBe(400);
      expect(longer.body.message).toContain('spec.allocationPrefixLength is immutable');
      allocated.set(key(k, name), ['fd00:0:0:3::/64', 'fd00::/64']);
      const shrink = await patchSpec(k, name, { prefixes: ['fd00::/63'], excludedPrefixes: ['fd00::1'] });
      expect(shrink.status).toBe(400);
      expect(shrink.body.message).toContain(
        'existing allocations become non-allocatable: [fd00:0:0:3:: fd00::]',
      );
      // Policy changes that keep every allocation are fine; so is any gateway change.
      const wider = await patchSpec(k, name, {
        prefixes: ['fd00::/48'],
        gateway: 'fe80::1',
        excludedPrefixes: ['fd00:0:0:1::/64'],
      });
      expect(wider.status).toBe(200);
      const refused = await remove(k, name);
      expect(refused.status).toBe(400);
      expect(refused.body.message).toContain(
        'Pool has IPAddresses allocated. Cannot delete Pool until all IPAddresses have been removed.',
      );
      allocated.delete(key(k, name));
      expect((await remove(k, name)).status).toBe(200);
    });

    it('is deleted with allocations when it carries the skip annotation', async () => {
      const name = nextName();
      expect((await create(k, name, { prefixes: ['fd00::/62'] }, { [SKIP_DELETE]: '' })).status).toBe(201);
      allocated.set(key(k, name), ['fd00::/64']);
      expect((await remove(k, name)).status).toBe(200);
    });

    it.each([
      ['without a gateway', '', [HOST_LIKE]],
      ['with a gateway outside the prefixes', '  gateway: fe80::1\n', [HOST_LIKE]],
      ['with a gateway inside the prefixes', '  gateway: fd00::1\n', [HOST_LIKE, GATEWAY_COLLISION]],
    ])('warns about /128 allocation %s', async (what, gateway, warnings) => {
      const manifest = [
        `apiVersion: ${GROUP}/v1alpha2`,
        `kind: ${k.kind}`,
        'metadata:',
        `  name: ${nextName()}`,
        ...(k.namespaced ? [`  namespace: ${ns.name}`] : []),
        `  labels: {${RUN_LABEL}: ${run}}`,
        'spec:',
        '  prefixes: ["fd00::/120"]',
        '  allocationPrefixLength: 128',
        gateway,
      ].join('\n');
      const res = await ns.access.kubectl(['apply', '-f', '-'], { input: manifest });
      expect(res.code, res.stderr).toBe(0);
      for (const w of warnings) expect(res.stderr).toContain(`Warning: ${w}`);
      if (what !== 'with a gateway inside the prefixes') expect(res.stderr).not.toContain('spec.gateway');
    });
  });
});
