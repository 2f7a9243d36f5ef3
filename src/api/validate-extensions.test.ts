import { describe, expect, it } from 'vitest';
import { effectiveAllocationStrategy, isAllocationStrategy } from './constants.js';
import { formatFieldError } from './errors.js';
import type { IPPoolSpec, PreAllocation } from './ippool-types.js';
import type { PrefixPoolSpec } from './prefixpool-types.js';
import { specOfShape, validateIPPoolObject, validateIPPoolSpec, validateIPPoolUpdate } from './validate.js';
import {
  changedPreAllocations,
  preAllocatedAddresses,
  preAllocationClaimKey,
  preAllocationsHeldByOthers,
} from './validate-extensions.js';
import { validatePrefixPoolObject, validatePrefixPoolSpec } from './validate-prefix.js';

const NS = 'InClusterIPPool';
const GLOBAL = 'GlobalInClusterIPPool';
const PREFIX_NS = 'InClusterPrefixPool';
const PREFIX_GLOBAL = 'GlobalInClusterPrefixPool';

const ipPool = (more: Partial<IPPoolSpec> = {}): IPPoolSpec => ({
  addresses: ['10.0.0.0/24'],
  prefix: 24,
  gateway: '10.0.0.1',
  excludedAddresses: ['10.0.0.100-10.0.0.110'],
  ...more,
});
const prefixPool = (more: Partial<PrefixPoolSpec> = {}): PrefixPoolSpec => ({
  prefixes: ['fd00::/48'],
  excludedPrefixes: ['fd00:0:0:9::/64'],
  ...more,
});
const ipMessages = (spec: IPPoolSpec, kind?: string) => validateIPPoolSpec(spec, kind).map(formatFieldError);
const prefixMessages = (spec: PrefixPoolSpec, kind?: string) =>
  validatePrefixPoolSpec(spec, kind).map(formatFieldError);
const pin = (claimName: string, address: string, namespace?: string): PreAllocation => ({
  claimName,
  address,
  ...(namespace === undefined ? {} : { namespace }),
});

describe('IP pool pre-allocations', () => {
  it('admits pins of allocatable addresses, in both kinds', () => {
    expect(
      ipMessages(ipPool({ preAllocations: [pin('vip', '10.0.0.10'), pin('web-0-0', '10.0.0.254')] }), NS),
    ).toEqual([]);
    expect(
      ipMessages(
        ipPool({ preAllocations: [pin('vip', '10.0.0.10', 'a'), pin('vip', '10.0.0.11', 'b')] }),
        GLOBAL,
      ),
    ).toEqual([]);
    // The same claim name in two namespaces is two claims.
  });

  it('admits a reserved address once allocateReservedIPAddresses is set', () => {
    expect(
      ipMessages(ipPool({ allocateReservedIPAddresses: true, preAllocations: [pin('a', '10.0.0.0')] }), NS),
    ).toEqual([]);
  });

  it.each<[string, PreAllocation, string]>([
    [
      'the network address',
      pin('a', '10.0.0.0'),
      'spec.preAllocations[0].address: Invalid value: "10.0.0.0": provided address is the network address of the subnet 10.0.0.0/24, which is reserved unless allocateReservedIPAddresses is true',
    ],
    [
      'the broadcast address',
      pin('a', '10.0.0.255'),
      'spec.preAllocations[0].address: Invalid value: "10.0.0.255": provided address is the broadcast address of the subnet 10.0.0.0/24, which is reserved unless allocateReservedIPAddresses is true',
    ],
    [
      'the gateway',
      pin('a', '10.0.0.1'),
      'spec.preAllocations[0].address: Invalid value: "10.0.0.1": provided address is the gateway (spec.gateway), which is never handed out',
    ],
    [
      'an excluded address',
      pin('a', '10.0.0.105'),
      'spec.preAllocations[0].address: Invalid value: "10.0.0.105": provided address is excluded by spec.excludedAddresses',
    ],
    [
      'an address outside the pool',
      pin('a', '10.0.1.5'),
      'spec.preAllocations[0].address: Invalid value: "10.0.1.5": provided address is not in spec.addresses',
    ],
    [
      'an address of the other family',
      pin('a', 'fd00::5'),
      'spec.preAllocations[0].address: Invalid value: "fd00::5": provided address and addresses are of mixed IP families',
    ],
    [
      'a CIDR',
      pin('a', '10.0.0.5/32'),
      'spec.preAllocations[0].address: Invalid value: "10.0.0.5/32": provided address is not a single valid IP: ParseAddr("10.0.0.5/32"): unexpected character (at "/32")',
    ],
    [
      'a range',
      pin('a', '10.0.0.5-10.0.0.6'),
      'spec.preAllocations[0].address: Invalid value: "10.0.0.5-10.0.0.6": provided address is not a single valid IP',
    ],
    ['an empty address', pin('a', ''), 'spec.preAllocations[0].address: Required value'],
    ['an empty claim name', pin('', '10.0.0.5'), 'spec.preAllocations[0].claimName: Required value'],
    [
      'a claim name that is no DNS-1123 subdomain',
      pin('Web_0', '10.0.0.5'),
      'spec.preAllocations[0].claimName: Invalid value: "Web_0": a lowercase RFC 1123 subdomain must consist of',
    ],
    [
      'a namespace on the namespaced kind',
      pin('a', '10.0.0.5', 'default'),
      'spec.preAllocations[0].namespace: Forbidden: an InClusterIPPool serves only claims of its own namespace; leave namespace unset',
    ],
  ])('in an InClusterIPPool, refuses %s', (_what, p, expected) => {
    const got = ipMessages(ipPool({ preAllocations: [p] }), NS);
    expect(got).toHaveLength(1);
    expect(got[0]).toContain(expected);
  });

  it('names the IPv6 subnet-router anycast address', () => {
    expect(
      ipMessages({ addresses: ['fd00::/120'], prefix: 64, preAllocations: [pin('a', 'fd00::')] }, NS),
    ).toEqual([
      'spec.preAllocations[0].address: Invalid value: "fd00::": provided address is the subnet-router anycast address of the subnet fd00::/64, which is reserved unless allocateReservedIPAddresses is true',
    ]);
  });

  it.each<[string, PreAllocation, string]>([
    [
      'a pin without namespace',
      pin('a', '10.0.0.5'),
      'spec.preAllocations[0].namespace: Required value: the namespace of the claim is required: a Global pool serves claims of every namespace',
    ],
    [
      'a namespace that is no DNS-1123 label',
      pin('a', '10.0.0.5', 'team.a'),
      'spec.preAllocations[0].namespace: Invalid value: "team.a": must not contain dots',
    ],
  ])('in a GlobalInClusterIPPool, refuses %s', (_what, p, expected) => {
    expect(ipMessages(ipPool({ preAllocations: [p] }), GLOBAL)).toEqual([expected]);
  });

  it('refuses an address twice, compared as IPs, and a claim twice', () => {
    expect(
      ipMessages(
        {
          addresses: ['fd00::/64'],
          prefix: 64,
          preAllocations: [pin('a', 'fd00::5'), pin('b', 'fd00:0::5'), pin('a', 'fd00::6')],
        },
        NS,
      ),
    ).toEqual([
      'spec.preAllocations[1].address: Duplicate value: "fd00:0::5": pre-allocated twice: spec.preAllocations[0] has the same address',
      'spec.preAllocations[2].claimName: Duplicate value: "a": claim a is pre-allocated twice: spec.preAllocations[0] names it too; a claim gets one address',
    ]);
    expect(
      ipMessages(ipPool({ preAllocations: [pin('a', '10.0.0.5', 'x'), pin('a', '10.0.0.6', 'x')] }), GLOBAL),
    ).toEqual([
      'spec.preAllocations[1].claimName: Duplicate value: "a": claim x/a is pre-allocated twice: spec.preAllocations[0] names it too; a claim gets one address',
    ]);
  });

  it('without a kind, takes two namespaces’ claims of one name as two claims', () => {
    expect(
      ipMessages(ipPool({ preAllocations: [pin('vip', '10.0.0.5', 'x'), pin('vip', '10.0.0.6', 'y')] })),
    ).toEqual([]);
    expect(
      ipMessages(ipPool({ preAllocations: [pin('vip', '10.0.0.5', 'x'), pin('vip', '10.0.0.6', 'x')] }))[0],
    ).toContain('claim x/vip is pre-allocated twice');
  });

  it('without a kind, checks neither the namespace rule nor the selector’s scope', () => {
    expect(ipMessages(ipPool({ preAllocations: [pin('a', '10.0.0.5', 'x'), pin('b', '10.0.0.6')] }))).toEqual(
      [],
    );
    expect(ipMessages(ipPool({ namespaceSelector: { matchLabels: { a: 'b' } } }))).toEqual([]);
  });

  it('checks only the pins’ form while the rest of the pool is invalid', () => {
    const got = ipMessages(
      { addresses: ['garbage'], prefix: 24, preAllocations: [pin('a', '10.9.9.9'), pin('B', 'x')] },
      NS,
    );
    expect(got).toEqual([
      'spec.addresses: Invalid value: "garbage": provided address is not a valid IP, range, nor CIDR',
      expect.stringContaining('spec.preAllocations[1].claimName: Invalid value: "B"'),
      expect.stringContaining(
        'spec.preAllocations[1].address: Invalid value: "x": provided address is not a single valid IP',
      ),
    ]);
  });

  it('refuses each rule in an update too', () => {
    const check = validateIPPoolUpdate(ipPool(), ipPool({ preAllocations: [pin('a', '10.0.0.1')] }), [], NS);
    expect(check.allowed).toBe(false);
    if (!check.allowed && check.reason === 'Invalid') {
      expect(check.errors.map(formatFieldError)).toEqual([
        'spec.preAllocations[0].address: Invalid value: "10.0.0.1": provided address is the gateway (spec.gateway), which is never handed out',
      ]);
    }
  });
});

describe('prefix pool pre-allocations', () => {
  it('admits children of the pool, in both kinds', () => {
    expect(prefixMessages(prefixPool({ preAllocations: [pin('a', 'fd00:0:0:5::/64')] }), PREFIX_NS)).toEqual(
      [],
    );
    expect(
      prefixMessages(prefixPool({ preAllocations: [pin('a', 'fd00:0:0:5::/64', 'team-a')] }), PREFIX_GLOBAL),
    ).toEqual([]);
    expect(
      prefixMessages(
        {
          prefixes: ['fd00::/56'],
          allocationPrefixLength: 80,
          preAllocations: [pin('a', 'fd00:0:0:1:2::/80')],
        },
        PREFIX_NS,
      ),
    ).toEqual([]);
  });

  it.each<[string, PreAllocation, string]>([
    ['garbage', pin('a', 'garbage'), 'Invalid value: "garbage": provided entry is not a valid IPv6 CIDR'],
    [
      'a bare address',
      pin('a', 'fd00:0:0:5::'),
      'Invalid value: "fd00:0:0:5::": provided entry is not a valid IPv6 CIDR',
    ],
    [
      'an IPv4 CIDR',
      pin('a', '10.0.0.0/24'),
      'Invalid value: "10.0.0.0/24": only IPv6 prefixes are supported',
    ],
    [
      'host bits',
      pin('a', 'fd00:0:0:5::1/64'),
      'Invalid value: "fd00:0:0:5::1/64": CIDR must be network-aligned',
    ],
    [
      'another length',
      pin('a', 'fd00:0:0:10::/60'),
      'Invalid value: "fd00:0:0:10::/60": prefix length must be allocationPrefixLength (64)',
    ],
    [
      'a prefix outside',
      pin('a', 'fd01::/64'),
      'Invalid value: "fd01::/64": provided prefix is not inside spec.prefixes',
    ],
    [
      'an excluded prefix',
      pin('a', 'fd00:0:0:9::/64'),
      'Invalid value: "fd00:0:0:9::/64": provided prefix overlaps spec.excludedPrefixes',
    ],
    [
      'a namespace in the namespaced kind',
      pin('a', 'fd00:0:0:5::/64', 'x'),
      'spec.preAllocations[0].namespace: Forbidden: an InClusterPrefixPool serves only claims of its own namespace',
    ],
  ])('in an InClusterPrefixPool, refuses %s', (_what, p, expected) => {
    const got = prefixMessages(prefixPool({ preAllocations: [p] }), PREFIX_NS);
    expect(got).toHaveLength(1);
    expect(got[0]).toContain(
      expected.startsWith('spec.') ? expected : `spec.preAllocations[0].address: ${expected}`,
    );
  });

  it('refuses a pin overlapping an excluded range, and a prefix twice however it is written', () => {
    expect(
      prefixMessages(
        prefixPool({
          excludedPrefixes: ['fd00:0:0:7::10-fd00:0:0:7::20'],
          preAllocations: [
            pin('a', 'fd00:0:0:7::/64'),
            pin('b', 'fd00:0:0:5::/64'),
            pin('c', 'fd00:0:0:5:0::/64'),
          ],
        }),
        PREFIX_NS,
      ),
    ).toEqual([
      'spec.preAllocations[0].address: Invalid value: "fd00:0:0:7::/64": provided prefix overlaps spec.excludedPrefixes',
      'spec.preAllocations[2].address: Duplicate value: "fd00:0:0:5:0::/64": pre-allocated twice: spec.preAllocations[1] has the same address',
    ]);
  });

  it('takes the default length of 64 when allocationPrefixLength is unset', () => {
    expect(prefixMessages(prefixPool({ preAllocations: [pin('a', 'fd00:0:0:5::/80')] }), PREFIX_NS)).toEqual([
      'spec.preAllocations[0].address: Invalid value: "fd00:0:0:5::/80": prefix length must be allocationPrefixLength (64)',
    ]);
  });

  it('requires the namespace in the Global kind', () => {
    expect(
      prefixMessages(prefixPool({ preAllocations: [pin('a', 'fd00:0:0:5::/64')] }), PREFIX_GLOBAL),
    ).toEqual([
      'spec.preAllocations[0].namespace: Required value: the namespace of the claim is required: a Global pool serves claims of every namespace',
    ]);
  });
});

describe('namespaceSelector and allocationStrategy', () => {
  it('admits a valid selector on the Global kinds', () => {
    const namespaceSelector = {
      matchExpressions: [{ key: 'env', operator: 'In' as const, values: ['prod'] }],
    };
    expect(ipMessages(ipPool({ namespaceSelector }), GLOBAL)).toEqual([]);
    expect(prefixMessages(prefixPool({ namespaceSelector }), PREFIX_GLOBAL)).toEqual([]);
  });

  it('refuses a selector on the namespaced kinds, if one gets that far', () => {
    expect(ipMessages(ipPool({ namespaceSelector: {} }), NS)).toEqual([
      'spec.namespaceSelector: Forbidden: an InClusterIPPool serves only claims of its own namespace; only the Global pool kinds select namespaces',
    ]);
    expect(prefixMessages(prefixPool({ namespaceSelector: {} }), PREFIX_NS)[0]).toContain(
      'spec.namespaceSelector: Forbidden: an InClusterPrefixPool',
    );
  });

  it('refuses a broken selector with the path of what is wrong', () => {
    const namespaceSelector = {
      matchExpressions: [{ key: 'env', operator: 'Exists' as const, values: ['x'] }],
    };
    expect(ipMessages(ipPool({ namespaceSelector }), GLOBAL)).toEqual([
      "spec.namespaceSelector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
    ]);
  });

  it('takes the four strategies and refuses others as the API server words an enum', () => {
    for (const allocationStrategy of ['Lowest', 'Highest', 'Random', 'RoundRobin'] as const) {
      expect(ipMessages(ipPool({ allocationStrategy }), NS)).toEqual([]);
      expect(prefixMessages(prefixPool({ allocationStrategy }), PREFIX_GLOBAL)).toEqual([]);
    }
    expect(ipMessages(ipPool({ allocationStrategy: 'lowest' as 'Lowest' }), NS)).toEqual([
      'spec.allocationStrategy: Unsupported value: "lowest": supported values: "Lowest", "Highest", "Random", "RoundRobin"',
    ]);
    expect(effectiveAllocationStrategy({})).toBe('Lowest');
    expect(effectiveAllocationStrategy({ allocationStrategy: 'RoundRobin' })).toBe('RoundRobin');
    expect(isAllocationStrategy('Random')).toBe(true);
    expect(isAllocationStrategy('random')).toBe(false);
  });
});

describe('objects of unknown shape', () => {
  it('require a pin’s namespace by schema in the Global kinds, and read the kind off the object', () => {
    const pool = { kind: GLOBAL, spec: ipPool({ preAllocations: [pin('a', '10.0.0.5')] }) };
    expect(validateIPPoolObject(pool).map(formatFieldError)).toEqual([
      'spec.preAllocations[0].namespace: Required value',
    ]);
    expect(validateIPPoolObject({ kind: NS, spec: pool.spec })).toEqual([]);
    expect(validateIPPoolObject({ spec: pool.spec }, NS)).toEqual([]);
    expect(
      validatePrefixPoolObject({
        kind: PREFIX_NS,
        spec: prefixPool({ preAllocations: [pin('a', 'fd00:0:0:5::/64', 'x')] }),
      }).map(formatFieldError)[0],
    ).toContain('spec.preAllocations[0].namespace: Forbidden');
  });

  it('refuse pins of the wrong type', () => {
    expect('errors' in specOfShape({ spec: { ...ipPool(), preAllocations: ['10.0.0.5'] } }, NS)).toBe(true);
    expect('errors' in specOfShape({ spec: { ...ipPool(), preAllocations: [{ claimName: 'a' }] } }, NS)).toBe(
      true,
    );
    expect('errors' in specOfShape({ spec: { ...ipPool(), allocationStrategy: 1 } }, NS)).toBe(true);
    expect('errors' in specOfShape({ spec: { ...ipPool(), namespaceSelector: 'a=b' } }, GLOBAL)).toBe(true);
  });
});

describe('pre-allocations for the controller', () => {
  it('key pins by the claim’s namespace/name and the address as the registry holds it', () => {
    expect(
      preAllocatedAddresses('InClusterIPPool', 'team-a', { preAllocations: [pin('vip', '10.0.0.10')] }),
    ).toEqual(new Map([['team-a/vip', '10.0.0.10']]));
    expect(
      preAllocatedAddresses('GlobalInClusterIPPool', undefined, {
        preAllocations: [pin('vip', 'fd00:0:0::10', 'team-b'), pin('bad', 'x', 'team-b')],
      }),
    ).toEqual(new Map([['team-b/vip', 'fd00::10']]));
    expect(
      preAllocatedAddresses('GlobalInClusterPrefixPool', undefined, {
        preAllocations: [pin('node-1', 'fd00:0:0:5:0::/64', 'team-c')],
      }),
    ).toEqual(new Map([['team-c/node-1', 'fd00:0:0:5::/64']]));
    expect(preAllocationClaimKey('InClusterPrefixPool', 'ns', pin('a', 'x', 'ignored'))).toBe('ns/a');
  });
});

describe('the update check against what claims hold', () => {
  const kind = 'InClusterIPPool';
  const before = { preAllocations: [pin('vip', '10.0.0.10')] };
  const holders = new Map([
    ['10.0.0.10', 'ns/vip'],
    ['10.0.0.20', 'ns/web-0-0'],
    ['10.0.0.30', 'ns/db'],
  ]);

  it('refuses a new pin of an address another claim holds', () => {
    const after = { preAllocations: [...before.preAllocations, pin('api', '10.0.0.20')] };
    const { errors } = preAllocationsHeldByOthers(kind, 'ns', before, after, holders);
    expect(errors.map(formatFieldError)).toEqual([
      'spec.preAllocations[1].address: Invalid value: "10.0.0.20": provided address is already held by claim ns/web-0-0 (IPAddress ns/web-0-0); pre-allocate a free address, or release it first',
    ]);
  });

  it('admits a pin whose address its own claim holds, and a free one', () => {
    const after = { preAllocations: [pin('web-0-0', '10.0.0.20'), pin('new', '10.0.0.40')] };
    expect(preAllocationsHeldByOthers(kind, 'ns', undefined, after, holders)).toEqual({
      errors: [],
      warnings: [],
    });
  });

  it('checks a pin moved to another claim or address, not one kept as it was', () => {
    // A pin already there when another claim came to hold its address does not block other edits.
    const kept = { preAllocations: [pin('other', '10.0.0.30')] };
    expect(preAllocationsHeldByOthers(kind, 'ns', kept, kept, holders).errors).toEqual([]);
    expect(changedPreAllocations(kind, 'ns', kept, { preAllocations: [pin('other', '10.0.0.30')] })).toEqual(
      [],
    );
    expect(changedPreAllocations(kind, 'ns', kept, { preAllocations: [pin('other2', '10.0.0.30')] })).toEqual(
      [0],
    );
    expect(
      preAllocationsHeldByOthers(kind, 'ns', kept, { preAllocations: [pin('other2', '10.0.0.30')] }, holders)
        .errors,
    ).toHaveLength(1);
  });

  it('compares Global pins by namespace/name and prefix pins in network/len form', () => {
    const global = preAllocationsHeldByOthers(
      'GlobalInClusterIPPool',
      undefined,
      undefined,
      { preAllocations: [pin('vip', '10.0.0.10', 'ns'), pin('vip', '10.0.0.20', 'other')] },
      holders,
    );
    expect(global.errors.map((e) => e.field)).toEqual(['spec.preAllocations[1].address']);
    const prefixes = preAllocationsHeldByOthers(
      'InClusterPrefixPool',
      'ns',
      undefined,
      { preAllocations: [pin('a', 'fd00:0:0:5:0::/64')] },
      new Map([['fd00:0:0:5::/64', 'ns/b']]),
    );
    expect(prefixes.errors.map(formatFieldError)[0]).toContain('already held by claim ns/b');
  });

  it('warns that a pinned claim holding another address keeps it', () => {
    const { errors, warnings } = preAllocationsHeldByOthers(
      kind,
      'ns',
      undefined,
      { preAllocations: [pin('db', '10.0.0.50')] },
      holders,
    );
    expect(errors).toEqual([]);
    expect(warnings).toEqual([
      'spec.preAllocations[0]: claim ns/db already holds 10.0.0.30 from this pool and keeps it; 10.0.0.50 is kept for it and used only if the claim is allocated anew',
    ]);
  });
});
