/**
 * A fuzz of the running webhook server over HTTPS: thousands of random AdmissionReviews and
 * ConversionReviews (random pool specs, garbage types, huge arrays, long and unicode strings, deep
 * nesting, missing or odd requests) and raw malformed bodies, POSTed over keep-alive connections
 * with some concurrency. Every request must be answered in time, every review answer must echo the
 * uid and be allowed or denied with a message, and the server must still work at the end.
 * Seeded: FUZZ_SEED=<n> replays a run; a failure names the seed and the request's index.
 */
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONVERSION_PATH, webhookRoutes } from '../../src/webhooks/routes.js';
import { startTestWebhookServer, type TestWebhookServer } from './setup.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const ADMISSION_REVIEWS = 3200;
const CONVERSION_REVIEWS = 400;
const CONCURRENCY = 16;
const DEADLINE_MS = 20_000;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

class Gen {
  constructor(private readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  times<T>(n: number, f: () => T): T[] {
    return Array.from({ length: n }, f);
  }

  // Valid and near-valid addresses, ranges and CIDRs, whitespace, unicode look-alikes, control characters.
  private static readonly ENTRIES = [
    '10.0.0.0/24|10.0.0.1|10.0.0.10-10.0.0.20|10.0.1.0/23|192.168.0.1|0.0.0.0/0|255.255.255.255|fd00::/64',
    'fd00::1|fd00::1-fd00::ff|::/0|::|::ffff:10.0.0.1|fe80::1%eth0|10.0.0.20-10.0.0.10|10.0.0.1/33',
    'fd00::/129|10.0.0.256|010.0.0.1|0x0a.0.0.1|10.0.0|10.0.0.1-|-10.0.0.1|10.0.0.1-fd00::1|10.0.0.1/24/8',
    '1.2.3.4 | 1.2.3.4||-|/|:::|garbage|１０.０.０.１|10.0.0.1\u0000|🌐.0.0.1|ℵ::1|10.0.0.1\n|\u202e1.0.0.01',
  ]
    .join('|')
    .split('|');

  entry(long = true): string {
    if (long && this.chance(0.02))
      return this.pick(['1.', ':', '1-', 'x', 'é']).repeat(1 + this.int(100_000));
    if (this.chance(0.05)) return this.unicode(1 + this.int(64));
    return this.pick(Gen.ENTRIES);
  }

  unicode(n: number): string {
    // printable ASCII, Latin to CJK symbols, lone surrogates, emoji
    const ranges: [number, number][] = [
      [0x20, 0x7e],
      [0xa0, 0x2fff],
      [0xd800, 0xdfff],
      [0x1f300, 0x1faff],
    ];
    return this.times(n, () => {
      const [lo, hi] = this.pick(ranges);
      return String.fromCodePoint(lo + this.int(hi - lo + 1));
    }).join('');
  }

  private static readonly NUMBERS =
    '0 -0 1 -1 24 32 64 128 129 -129 3.5 1e308 -1e308 9007199254740992 2147483648 -2147483648'
      .split(' ')
      .map(Number);

  number(): number {
    return this.pick(Gen.NUMBERS);
  }

  /** Any JSON value, up to `depth` levels of arrays and objects. */
  garbage(depth = 3): Json {
    const roll = this.int(depth > 0 ? 8 : 5);
    if (roll === 0) return null;
    if (roll === 1) return this.chance(0.5);
    if (roll === 2) return this.number();
    if (roll === 3) return this.entry();
    if (roll === 4) return this.unicode(this.int(20));
    if (roll === 5) return this.deep(1 + this.int(this.chance(0.1) ? 1500 : 50));
    if (roll === 6) return this.times(this.int(5), () => this.garbage(depth - 1));
    const obj: { [key: string]: Json } = {};
    for (let i = this.int(5); i > 0; i--)
      obj[this.pick(['spec', 'addresses', 'a', 'uid', '', 'ü'])] = this.garbage(depth - 1);
    return obj;
  }

  deep(levels: number): Json {
    let v: Json = this.entry();
    for (let i = 0; i < levels; i++) v = this.chance(0.5) ? [v] : { addresses: v };
    return v;
  }

  list(): Json {
    if (this.chance(0.01)) return this.times(10_000 + this.int(40_000), () => this.entry(false));
    return this.times(this.int(6), () => (this.chance(0.05) ? this.garbage(1) : this.entry()));
  }

  /** A pool spec that mostly looks right: each field present by chance, garbage now and then. */
  spec(): Json {
    const fields: [string, number, () => Json][] = [
      ['addresses', 0.9, () => this.list()],
      ['prefix', 0.9, () => (this.chance(0.8) ? this.int(140) - 5 : this.number())],
      ['gateway', 0.5, () => this.entry()],
      ['excludedAddresses', 0.4, () => this.list()],
      ['addressReuseGracePeriodSeconds', 0.2, () => this.int(100) - 10],
      ['allocateReservedIPAddresses', 0.2, () => this.chance(0.5)],
      // ours: chosen addresses
      ['preAllocations', 0.2, () => this.times(this.int(4), () => this.preAllocation())],
      ['namespaceSelector', 0.1, () => this.selector()],
      [
        'allocationStrategy',
        0.1,
        () => this.pick(['Lowest', 'Highest', 'Random', 'RoundRobin', 'lowest', '']),
      ],
      // v1alpha1 fields, for the conversion route
      ['subnet', 0.2, () => this.entry()],
      ['start', 0.1, () => this.entry()],
      ['end', 0.1, () => this.entry()],
    ];
    const spec: { [key: string]: Json } = {};
    for (const [key, p, good] of fields)
      if (this.chance(p)) spec[key] = this.chance(0.12) ? this.garbage() : good();
    return spec;
  }

  private static readonly NAMES = ['a', 'vip', 'web-md-0-x7k2p-0-0', 'team-a', '', 'Bad_Name', 'a.b', '-a'];

  /** A pin, mostly of the right shape, naming an entry (IP, range, CIDR or worse). */
  preAllocation(): Json {
    if (this.chance(0.05)) return this.garbage(1);
    const pin: { [key: string]: Json } = {};
    if (this.chance(0.95)) pin.claimName = this.chance(0.9) ? this.pick(Gen.NAMES) : this.garbage(0);
    if (this.chance(0.5)) pin.namespace = this.chance(0.9) ? this.pick(Gen.NAMES) : this.garbage(0);
    if (this.chance(0.95)) pin.address = this.chance(0.9) ? this.entry() : this.garbage(0);
    return pin;
  }

  /** A label selector, mostly of the right shape. */
  selector(): Json {
    if (this.chance(0.1)) return this.garbage(2);
    const key = () => this.pick([...Gen.NAMES, 'kubernetes.io/metadata.name', 'a/b/c', this.unicode(3)]);
    const selector: { [key: string]: Json } = {};
    if (this.chance(0.5)) selector.matchLabels = { [key()]: this.pick(Gen.NAMES) };
    if (this.chance(0.6)) {
      selector.matchExpressions = this.times(this.int(3), () => ({
        key: key(),
        operator: this.pick(['In', 'NotIn', 'Exists', 'DoesNotExist', 'in', '']),
        ...(this.chance(0.6) ? { values: this.times(this.int(3), () => this.pick(Gen.NAMES)) } : {}),
      }));
    }
    return selector;
  }

  pool(apiVersions: readonly string[]): Json {
    if (this.chance(0.04)) return this.garbage();
    const metadata: { [key: string]: Json } = { name: this.pick(['p', 'busy', 'not-synced', '']) };
    if (this.chance(0.2)) {
      metadata.annotations = this.chance(0.8)
        ? { 'ipam.cluster.x-k8s.io/skip-validate-delete-webhook': this.pick(['', 'true']) }
        : this.garbage(1);
    }
    if (this.chance(0.05)) metadata.labels = this.garbage(1);
    const pool: { [key: string]: Json } = {
      apiVersion: this.pick(apiVersions),
      kind: this.pick(['InClusterIPPool', 'GlobalInClusterIPPool', '']),
      metadata: this.chance(0.05) ? this.garbage(1) : metadata,
    };
    if (!this.chance(0.05)) pool.spec = this.chance(0.03) ? null : this.spec();
    return pool;
  }
}

// Mostly the operations the API server sends, sometimes others.
const OPERATIONS = 'CREATE UPDATE DELETE CREATE UPDATE DELETE CONNECT PATCH'.split(' ').concat('');
const POOL_VERSIONS = ['ipam.cluster.x-k8s.io/v1alpha2', 'ipam.cluster.x-k8s.io/v1alpha1'] as const;

interface Case {
  index: number;
  path: string;
  body: string;
  /** The uid the answer must echo; undefined for a review without a request object. */
  uid: string | undefined;
  conversion: boolean;
  /** How many objects a ConversionReview carries (pinned ones: 1). */
  objects?: number;
}

function admissionCase(g: Gen, index: number, path: string): Case {
  const uid = `fuzz-${index}-${g.unicode(g.int(4))}`;
  const review: { [key: string]: Json } = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' };
  const done = (withUid: string | undefined): Case => ({
    index,
    path,
    body: JSON.stringify(review),
    uid: withUid,
    conversion: false,
  });
  const shape = g.int(100);
  if (shape < 4) return done(undefined); // no request at all
  if (shape < 7) {
    review.request = g.pick([null, 5, 'request', true]);
    return done(undefined);
  }
  const operation = g.pick(OPERATIONS);
  const kind = g.pick(['InClusterIPPool', 'GlobalInClusterIPPool']);
  const req: { [key: string]: Json } = {
    uid,
    kind: { group: 'ipam.cluster.x-k8s.io', version: 'v1alpha2', kind },
    operation: g.chance(0.03) ? g.garbage(1) : operation,
    name: g.chance(0.05) ? g.garbage(1) : g.pick(['p', 'busy', 'not-synced', '']),
  };
  if (g.chance(0.6)) req.namespace = g.chance(0.05) ? g.garbage(1) : g.pick(['default', 'ns-1', '']);
  // Mostly the objects the API server sends for the operation; sometimes missing or surplus ones.
  if (operation !== 'DELETE' ? !g.chance(0.05) : g.chance(0.2))
    req.object = g.pool(POOL_VERSIONS.slice(0, 1));
  if (operation !== 'CREATE' ? !g.chance(0.1) : g.chance(0.1))
    req.oldObject = g.pool(POOL_VERSIONS.slice(0, 1));
  if (g.chance(0.02)) req.dryRun = g.garbage(1);
  review.request = req;
  return done(uid);
}

function conversionCase(g: Gen, index: number): Case {
  const uid = `fuzz-${index}`;
  const path = CONVERSION_PATH;
  if (g.chance(0.04))
    return { index, path, body: '{"kind":"ConversionReview"}', uid: undefined, conversion: true, objects: 0 };
  const objects = g.chance(0.03)
    ? []
    : g.times(1 + g.int(g.chance(0.02) ? 500 : 4), () => g.pool(POOL_VERSIONS));
  const desiredAPIVersion = g.chance(0.9) ? g.pick(POOL_VERSIONS) : g.garbage(1);
  const request = { uid, desiredAPIVersion, objects };
  const body = JSON.stringify({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview', request });
  return { index, path, body, uid, conversion: true, objects: objects.length };
}

type Answer = { status: number; text: string };

interface ReviewAnswer {
  kind?: unknown;
  response?: {
    uid?: unknown;
    allowed?: unknown;
    status?: { message?: unknown };
    result?: { status?: unknown; message?: unknown };
    convertedObjects?: unknown[];
  };
}

/** What is wrong with an answer to a review, or undefined if nothing. */
function problemWith(c: Case, answer: Answer): string | undefined {
  if (answer.status !== 200) return `HTTP ${answer.status}: ${answer.text.slice(0, 200)}`;
  let review: ReviewAnswer;
  try {
    review = JSON.parse(answer.text) as ReviewAnswer;
  } catch {
    return `not JSON: ${answer.text.slice(0, 200)}`;
  }
  const res = review.response;
  if (review.kind !== (c.conversion ? 'ConversionReview' : 'AdmissionReview') || !res)
    return 'not a review answer';
  if (res.uid !== (c.uid ?? ''))
    return `uid ${JSON.stringify(res.uid)} instead of ${JSON.stringify(c.uid ?? '')}`;
  const nonEmpty = (m: unknown) => typeof m === 'string' && m.length > 0;
  if (c.conversion) {
    if (res.result?.status === 'Failure')
      return nonEmpty(res.result.message) ? undefined : 'failure without a message';
    if (res.result?.status !== 'Success') return `result ${JSON.stringify(res.result)}`;
    const converted = res.convertedObjects?.length ?? -1;
    return converted === (c.objects ?? 1) ? undefined : `${converted} objects converted of ${c.objects ?? 1}`;
  }
  if (res.allowed === true) return undefined;
  if (res.allowed !== false) return `allowed is ${JSON.stringify(res.allowed)}`;
  return nonEmpty(res.status?.message) ? undefined : 'denied without a message';
}

const ALLOCATED = ['10.0.0.10', 'fd00::5', 'not-an-ip', '10.0.0.0'];
const adm = (operation: string, object: Json, oldObject: Json = null): Json => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: { uid: 'pinned', name: 'p', operation, object, ...(oldObject ? { oldObject } : {}) },
});
const conv = (desiredAPIVersion: string, objects: Json): Json => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'ConversionReview',
  request: { uid: 'pinned', desiredAPIVersion, objects },
});
const [V1, V2] = ['ipam.cluster.x-k8s.io/v1alpha1', 'ipam.cluster.x-k8s.io/v1alpha2'];
const oldPool = { spec: { addresses: ['10.0.0.0/24'], prefix: 24 } };
const pool = (more: { [key: string]: Json }): Json => ({ spec: { ...oldPool.spec, ...more } });

// Inputs the random run turned up (seed 20261201), one per former crash site, kept so they stay
// fixed: each once crashed a handler (HTTP 500 with a TypeError instead of a review). The API server
// sends the mutating hooks (and /convert) objects its schema has not checked yet. The comment above
// each names the function that threw.
type Route = 'mutate' | 'validate' | 'convert';
const knownCrashes: [Route, string, Json][] = [
  // was: validate.ts defaultIPPoolSpec: "(spec.addresses ?? []) is not iterable"
  ['mutate', 'addresses a number', adm('CREATE', { spec: { addresses: 5, prefix: 24 } })],
  // was: validate.ts defaultIPPoolSpec: "Cannot read properties of null (reading 'addresses')"
  ['mutate', 'spec null', adm('UPDATE', { spec: null }, oldPool)],
  // was: validate.ts validateIPPoolSpec: "Cannot read properties of null (reading 'addresses')"
  ['validate', 'spec null', adm('CREATE', { spec: null })],
  // was: validate.ts entryFamilies: "entries is not iterable"
  ['validate', 'addresses an object', adm('CREATE', { spec: { addresses: { a: 1 }, prefix: 24 } })],
  // was: validate.ts entryFamilies: "entries is not iterable"
  ['validate', 'excludedAddresses a number', adm('UPDATE', pool({ excludedAddresses: 5 }), oldPool)],
  // was: ip/entry.ts parseEntry (from validate.ts entryFamilies): "text.includes is not a function"
  ['validate', 'an address a number', adm('CREATE', { spec: { addresses: [5], prefix: 24 } })],
  // was: ip/entry.ts parseEntry: "Cannot read properties of null (reading 'includes')"
  ['validate', 'an excluded address null', adm('CREATE', pool({ excludedAddresses: [null] }))],
  // was: ip/address.ts parseIP (from validateIPPoolSpec): "Cannot read properties of null (reading 'length')"
  ['validate', 'gateway null', adm('CREATE', pool({ gateway: null }))],
  // was: convert.ts convertIPPoolSpecToV1Alpha1: "Cannot read properties of undefined (reading 'addresses')"
  ['convert', 'a v1alpha2 object without spec', conv(V1, [{ apiVersion: V2, kind: 'InClusterIPPool' }])],
  // was: convert.ts convertIPPoolSpecToV1Alpha2: "(spec.addresses ?? []) is not iterable"
  ['convert', 'v1alpha1 addresses a number', conv(V2, [{ apiVersion: V1, spec: { addresses: 5 } }])],
  // was: ip/entry.ts parseCIDR (from convertIPPoolSpecToV1Alpha2): "text.lastIndexOf is not a function"
  ['convert', 'a v1alpha1 subnet a number', conv(V2, [{ apiVersion: V1, spec: { subnet: 5 } }])],
  // was: convert.ts convertIPPool: "Cannot read properties of null (reading 'apiVersion')"
  ['convert', 'a null object', conv(V2, [null])],
  // was: admission.ts convert: "number 5 is not iterable"
  ['convert', 'objects a number', conv(V2, 5)],
];

describe('the webhook server under a fuzz over HTTPS', () => {
  let hooks: TestWebhookServer;
  let agent: Agent;
  let origin: string;
  const pathOf = (type: Route) =>
    type === 'convert' ? CONVERSION_PATH : (webhookRoutes().find((r) => r.type === type)?.path ?? '');

  async function post(path: string, body: string | Buffer, type = 'application/json'): Promise<Answer> {
    const headers = type ? { 'content-type': type } : {};
    const init = {
      method: 'POST',
      dispatcher: agent,
      headers,
      body,
      signal: AbortSignal.timeout(DEADLINE_MS),
    } as const;
    const res = await request(`${origin}${path}`, init);
    return { status: res.statusCode, text: await res.body.text() };
  }

  beforeAll(async () => {
    // "not-synced" pools are refused as by a controller whose caches have not synced; "busy" ones
    // have addresses allocated (one of them not even an address).
    const view = {
      allocatedAddresses: (_kind: string, _ns: string | undefined, name: string) =>
        name === 'not-synced' ? undefined : name === 'busy' ? ALLOCATED : [],
      addressHolders: (_kind: string, _ns: string | undefined, name: string) =>
        name === 'not-synced' ? undefined : new Map(ALLOCATED.map((a, i) => [a, `ns/claim-${i}`])),
    };
    hooks = await startTestWebhookServer(view, 'fuzz');
    origin = `https://127.0.0.1:${hooks.server.port}`;
    agent = new Agent({
      connections: CONCURRENCY,
      keepAliveTimeout: 30_000,
      connect: { ca: hooks.ca.certPem },
    });
  });
  afterAll(async () => {
    await agent?.close();
    await hooks?.close();
  });

  const total = ADMISSION_REVIEWS + CONVERSION_REVIEWS;
  it(`answers ${total} random reviews on every route, each in time and well-formed`, {
    timeout: 240_000,
  }, async () => {
    const g = new Gen(prng(SEED));
    const paths = webhookRoutes().map((r) => r.path);
    // Cases are made as they are sent (one at a time, in index order: the same for a seed).
    const make = (i: number) =>
      i < ADMISSION_REVIEWS ? admissionCase(g, i, paths[i % paths.length] as string) : conversionCase(g, i);
    const problems = new Map<string, { count: number; first: string }>();
    let next = 0;
    const worker = async () => {
      while (next < total) {
        const c = make(next++);
        const problem = await post(c.path, c.body).then(
          (answer) => problemWith(c, answer),
          (err: Error) => `no answer: ${err.message}`,
        );
        if (problem === undefined) continue;
        const signature = `${c.path} ${problem.replace(/fuzz-\d+[^"]*/g, 'fuzz-N')}`;
        const seen = problems.get(signature) ?? {
          count: 0,
          first: `seed ${SEED} case ${c.index}: ${c.body.slice(0, 400)}`,
        };
        problems.set(signature, { ...seen, count: seen.count + 1 });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(
      [...problems].map(([signature, { count, first }]) => `${count}× ${signature}\n    e.g. ${first}`),
    ).toEqual([]);
  });

  it.each(knownCrashes)('answers a %s review with %s with a review', async (type, _name, review) => {
    const body = JSON.stringify(review);
    const c: Case = { index: -1, path: pathOf(type), body, uid: 'pinned', conversion: type === 'convert' };
    expect(problemWith(c, await post(c.path, body))).toBeUndefined();
  });

  it('answers raw malformed bodies on every route with an HTTP status below 500', {
    timeout: 120_000,
  }, async () => {
    const deep = 20_000;
    const raw: [string, string | Buffer, string][] = [
      ['invalid JSON', '{"apiVersion":', 'application/json'],
      ['an empty body', '', 'application/json'],
      // was: admission.ts mutate/validate/convert: "Cannot read properties of null (reading 'request')"
      ['JSON null', 'null', 'application/json'],
      ['a JSON number', '5', 'application/json'],
      ['a JSON string', '"AdmissionReview"', 'application/json'],
      ['a JSON array', '[{"request":{"uid":"u"}}]', 'application/json'],
      ['a prototype-polluting key', '{"__proto__":{"allowed":1},"request":{"uid":"u"}}', 'application/json'],
      ['deeply nested arrays', `${'['.repeat(deep)}${']'.repeat(deep)}`, 'application/json'],
      ['unbalanced nesting', '['.repeat(deep), 'application/json'],
      ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), 'application/json'],
      ['plain text', 'request=1', 'text/plain'],
      ['a form', 'request=1', 'application/x-www-form-urlencoded'],
      ['XML', '<AdmissionReview/>', 'application/xml'],
      ['no content type', '{"request":{"uid":"u"}}', ''],
      ['a body over the 8 MiB limit', `{"a":"${'x'.repeat(9 << 20)}"}`, 'application/json'],
    ];
    const failures: string[] = [];
    for (const path of [...webhookRoutes().map((r) => r.path), CONVERSION_PATH]) {
      for (const [what, body, contentType] of raw) {
        const answer = await post(path, body, contentType).catch((err: Error) => ({
          status: 0,
          text: `${err}`,
        }));
        const text = `${path} ${what}: HTTP ${answer.status || '(no answer)'} ${answer.text.slice(0, 160)}`;
        if (answer.status === 0 || answer.status >= 500) failures.push(text);
      }
    }
    expect(failures).toEqual([]);
  });

  it('still admits a valid pool and reports ready afterwards', async () => {
    const answer = await post(pathOf('validate'), JSON.stringify(adm('CREATE', oldPool)));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ response: { uid: 'pinned', allowed: true } });
    const ready = await request(`${origin}/readyz`, {
      dispatcher: agent,
      signal: AbortSignal.timeout(DEADLINE_MS),
    });
    expect([ready.statusCode, await ready.body.text()]).toEqual([200, 'ok']);
  });
});
