import { describe, expect, it } from 'vitest';
import { aggregateMessage, formatFieldError, invalidStatus } from './errors.js';
import type { IPPoolSpec } from './ippool-types.js';
import {
  allocatedOutsidePool,
  defaultIPPoolSpec,
  validateIPPoolCreate,
  validateIPPoolDelete,
  validateIPPoolSpec,
  validateIPPoolUpdate,
} from './validate.js';

function messages(spec: IPPoolSpec): string[] {
  return validateIPPoolSpec(spec).map(formatFieldError);
}

// The Go provider's webhook test table (internal/webhooks/inclusterippool_test.go TestInvalidScenarios),
// re-expressed: each spec must be refused with a message containing the expected text.
const invalidScenarios: [string, IPPoolSpec, string][] = [
  ['addresses must be set', { addresses: [], prefix: 24, gateway: '10.0.0.1' }, 'addresses is required'],
  [
    'invalid gateway should not be allowed',
    { addresses: ['10.0.0.25', '10.0.0.26', '10.0.0.27'], prefix: 24, gateway: 'invalid' },
    'spec.gateway: Invalid value: "invalid": ParseAddr("invalid"): unable to parse IP',
  ],
  [
    'an address in another subnet',
    { addresses: ['10.0.0.25', '10.0.0.26', '10.0.1.27'], prefix: 24, gateway: '10.0.0.1' },
    'spec.addresses: Invalid value: "10.0.1.27": provided address belongs to a different subnet than others',
  ],
  [
    'an address that is invalid',
    { addresses: ['10.0.0.25', '10.0.0.26', 'garbage'], prefix: 24, gateway: '10.0.0.1' },
    'spec.addresses: Invalid value: "garbage": provided address is not a valid IP, range, nor CIDR',
  ],
  [
    'negative prefix',
    { addresses: ['10.0.0.25', '10.0.0.26'], prefix: -1, gateway: '10.0.0.1' },
    'spec.prefix: Invalid value: -1: a valid prefix is required',
  ],
  [
    'an invalid prefix',
    { addresses: ['10.0.0.25', '10.0.0.26'], prefix: 9999, gateway: '10.0.0.1' },
    'spec.prefix: Invalid value: 9999: provided prefix is not valid',
  ],
  [
    'range out of order',
    { addresses: ['10.0.0.10-10.0.0.5'], prefix: 24, gateway: '10.0.0.1' },
    'provided address is not a valid IP, range, nor CIDR',
  ],
  [
    'CIDR with invalid prefix',
    { addresses: ['10.0.0.10/33'], prefix: 24, gateway: '10.0.0.1' },
    'provided address is not a valid IP, range, nor CIDR',
  ],
  ...(
    [
      ['range below prefix', '10.0.0.10-10.0.0.20'],
      ['range above prefix', '10.0.2.10-10.0.2.20'],
      ['range start below prefix', '10.0.0.20-10.0.1.20'],
      ['range end above prefix', '10.0.1.20-10.0.2.20'],
      ['CIDR below prefix', '10.0.0.1/24'],
      ['CIDR above prefix', '10.0.2.1/24'],
      ['CIDR start below prefix', '10.0.0.0/23'],
      ['CIDR end above prefix', '10.0.1.0/23'],
    ] as const
  ).map(([name, entry]): [string, IPPoolSpec, string] => [
    name,
    { addresses: ['10.0.1.0', entry], prefix: 24, gateway: '10.0.0.1' },
    'provided address belongs to a different subnet than others',
  ]),
  [
    'IPv4 addresses with an IPv6 gateway',
    { addresses: ['10.0.1.0', '10.0.0.2-10.0.0.250'], prefix: 24, gateway: 'fd00::1' },
    'spec.gateway: Invalid value: "fd00::1": provided gateway and addresses are of mixed IP families',
  ],
  [
    'IPv6 addresses with an IPv4 gateway',
    { addresses: ['fd00::1', 'fd00::100-fd00::200'], prefix: 24, gateway: '10.0.0.1' },
    'provided gateway and addresses are of mixed IP families',
  ],
  [
    'addresses of mixed families',
    {
      addresses: ['fd00::1', 'fd00::100-fd00::200', '10.0.1.0', '10.0.0.2-10.0.0.250'],
      prefix: 24,
      gateway: '10.0.0.1',
    },
    'spec.addresses: Invalid value: ["fd00::1","fd00::100-fd00::200","10.0.1.0","10.0.0.2-10.0.0.250"]: provided addresses are of mixed IP families',
  ],
  [
    'excluded addresses of mixed families',
    {
      addresses: ['10.0.1.0', '10.0.0.2-10.0.0.250'],
      prefix: 24,
      gateway: '10.0.0.1',
      excludedAddresses: ['fd00::1', '10.0.0.4'],
    },
    'spec.excludedAddresses: Invalid value: ["fd00::1","10.0.0.4"]: provided addresses are of mixed IP families',
  ],
  [
    'addresses and excluded addresses of different families',
    {
      addresses: ['10.0.1.0', '10.0.0.2-10.0.0.250'],
      prefix: 24,
      gateway: '10.0.0.1',
      excludedAddresses: ['fd00::1'],
    },
    'spec.excludedAddresses: Invalid value: ["fd00::1"]: addresses and excluded addresses are of mixed IP families',
  ],
  [
    'an excluded address that is invalid',
    { addresses: ['10.0.0.0/24'], prefix: 24, excludedAddresses: ['10.0.0.300'] },
    'spec.excludedAddresses: Invalid value: "10.0.0.300": provided address is not a valid IP, range, nor CIDR',
  ],
  [
    'negative addressReuseGracePeriodSeconds',
    {
      addresses: ['10.0.0.10-10.0.0.20'],
      prefix: 24,
      gateway: '10.0.0.1',
      addressReuseGracePeriodSeconds: -1,
    },
    'spec.addressReuseGracePeriodSeconds: Invalid value: -1: addressReuseGracePeriodSeconds must not be negative',
  ],
  [
    'IPv4 prefix longer than 32',
    { addresses: ['10.0.0.1'], prefix: 33 },
    'spec.prefix: Invalid value: 33: provided prefix is not valid',
  ],
];

describe('validateIPPoolSpec refuses', () => {
  it.each(invalidScenarios)('%s', (_name, spec, expected) => {
    expect(messages(spec).join('\n')).toContain(expected);
  });
});

// TestInClusterIPPoolDefaulting (valid specs, unchanged by defaulting) and TestIPPool_Prefix.
const validSpecs: [string, IPPoolSpec][] = [
  [
    'addresses with gateway and prefix',
    { addresses: ['10.0.0.25', '10.0.0.26', '10.0.0.27'], gateway: '10.0.0.24', prefix: 28 },
  ],
  [
    'addresses with prefix and no gateway',
    { addresses: ['10.0.0.25', '10.0.0.26', '10.0.0.27'], prefix: 28 },
  ],
  [
    'addresses with prefix and excluded addresses',
    {
      addresses: ['10.0.0.25', '10.0.0.26', '10.0.0.27'],
      prefix: 28,
      excludedAddresses: ['10.0.0.23', '10.0.0.24'],
    },
  ],
  [
    'IPv6 addresses with gateway and prefix',
    { addresses: ['fe01::2', 'fe01::3-fe01::5', 'fe01::1:1/126'], gateway: 'fe01::1', prefix: 28 },
  ],
  [
    'IPv6 addresses and prefix with no gateway',
    { addresses: ['fe01::2', 'fe01::3-fe01::5', 'fe01::1:1/126'], prefix: 28 },
  ],
  [
    'IPv6 addresses, prefix and excluded addresses',
    {
      addresses: ['fe01::2', 'fe01::3-fe01::5', 'fe01::1:1/126'],
      prefix: 28,
      excludedAddresses: ['fe01::4', 'fe01::6-fe01::8', 'fe01::1:10/126'],
    },
  ],
  [
    'addresses with gateway, prefix and grace period',
    {
      addresses: ['10.0.0.25', '10.0.0.26'],
      gateway: '10.0.0.24',
      prefix: 28,
      addressReuseGracePeriodSeconds: 60,
    },
  ],
  ['prefix 0', { addresses: ['10.0.0.10-10.0.0.20'], prefix: 0, gateway: '10.0.0.1' }],
  ['a gateway outside the subnet', { addresses: ['10.0.0.0/24'], prefix: 24, gateway: '192.168.0.1' }],
  [
    'excluded addresses outside the pool',
    { addresses: ['10.0.0.0/24'], prefix: 24, excludedAddresses: ['10.10.0.16/28'] },
  ],
  ['a CIDR with host bits set', { addresses: ['10.0.0.5/24'], prefix: 24 }],
  [
    'the Go samples',
    {
      addresses: ['10.0.0.2-10.0.0.254'],
      prefix: 24,
      gateway: '10.0.0.1',
      excludedAddresses: ['10.0.0.3-10.0.1.6', '10.0.0.10', '10.0.0.192/26'],
    },
  ],
  [
    'the README pool',
    {
      addresses: ['10.0.0.0/24', '10.0.1.10-10.0.1.100', '10.0.2.1', '10.0.2.2'],
      prefix: 22,
      gateway: '10.0.0.1',
    },
  ],
];

describe('validateIPPoolSpec accepts', () => {
  it.each(validSpecs)('%s', (_name, spec) => {
    expect(messages(spec)).toEqual([]);
    expect(validateIPPoolCreate(spec)).toEqual({ allowed: true });
  });

  it.each(validSpecs)('%s, unchanged by defaulting', (_name, spec) => {
    expect(defaultIPPoolSpec(spec)).toEqual(spec);
  });
});

describe('validateIPPoolSpec reports', () => {
  it('every bad entry, not only the first', () => {
    expect(messages({ addresses: ['x', '10.0.0.1', 'y'], prefix: 24 })).toEqual([
      'spec.addresses: Invalid value: "x": provided address is not a valid IP, range, nor CIDR',
      'spec.addresses: Invalid value: "y": provided address is not a valid IP, range, nor CIDR',
    ]);
  });

  it('subnet errors only when everything else is valid, as the Go provider does', () => {
    expect(messages({ addresses: ['10.0.0.1', '10.0.5.1'], prefix: 24, gateway: 'bad' })).toEqual([
      'spec.gateway: Invalid value: "bad": ParseAddr("bad"): unable to parse IP',
    ]);
  });

  it('the lowest address, not the first listed, as the subnet base', () => {
    expect(messages({ addresses: ['10.0.0.200', '10.0.0.5'], prefix: 25 })).toEqual([
      'spec.addresses: Invalid value: "10.0.0.200": provided address belongs to a different subnet than others',
    ]);
  });

  it('a 422 status worded like the API server', () => {
    const errors = validateIPPoolSpec({ addresses: [], prefix: 24 });
    const status = invalidStatus('ipam.cluster.x-k8s.io', 'InClusterIPPool', 'p', errors);
    expect(status.code).toBe(422);
    expect(status.message).toBe(
      'InClusterIPPool.ipam.cluster.x-k8s.io "p" is invalid: spec.addresses: Invalid value: []: addresses is required',
    );
    expect(status.details?.causes).toEqual([
      {
        reason: 'FieldValueInvalid',
        field: 'spec.addresses',
        message: 'Invalid value: []: addresses is required',
      },
    ]);
    expect(aggregateMessage([...errors, ...errors])).toBe(formatFieldError(errors[0]!));
  });
});

describe('validateIPPoolUpdate', () => {
  const pool: IPPoolSpec = { addresses: ['10.0.0.10-10.0.0.20'], prefix: 24, gateway: '10.0.0.1' };

  it('refuses removing allocated addresses from the pool (TestUpdatingPoolInUseAddresses)', () => {
    const shrunk = { ...pool, addresses: ['10.0.0.15-10.0.0.20'] };
    expect(validateIPPoolUpdate(pool, shrunk, ['10.0.0.10'])).toEqual({
      allowed: false,
      reason: 'BadRequest',
      message: 'pool addresses do not contain allocated addresses: [10.0.0.10-10.0.0.10]',
    });
  });

  it('allows changes that keep every allocated address', () => {
    expect(
      validateIPPoolUpdate(pool, { ...pool, addresses: ['10.0.0.10-10.0.0.30'] }, ['10.0.0.10', '10.0.0.20']),
    ).toEqual({
      allowed: true,
    });
  });

  it('refuses excluding, gatewaying, or un-reserving an allocated address', () => {
    const alloc = ['10.0.0.0', '10.0.0.12', '10.0.0.13', '10.0.0.14'];
    const base: IPPoolSpec = { addresses: ['10.0.0.0/24'], prefix: 24, allocateReservedIPAddresses: true };
    expect(validateIPPoolUpdate(base, base, alloc)).toEqual({ allowed: true });
    const next: IPPoolSpec = {
      ...base,
      allocateReservedIPAddresses: false,
      gateway: '10.0.0.12',
      excludedAddresses: ['10.0.0.13-10.0.0.14'],
    };
    expect(allocatedOutsidePool(next, alloc)).toEqual(['10.0.0.0-10.0.0.0', '10.0.0.12-10.0.0.14']);
  });

  it('skips allocated addresses that do not parse, and reports those of the other family', () => {
    expect(allocatedOutsidePool(pool, ['not-an-ip', '10.0.0.11', 'fd00::1'])).toEqual(['fd00::1-fd00::1']);
  });

  it('reports an invalid new spec as Invalid before looking at allocations', () => {
    const result = validateIPPoolUpdate(pool, { ...pool, addresses: [] }, ['10.0.0.10']);
    expect(result.allowed).toBe(false);
    expect(result.allowed === false && result.reason).toBe('Invalid');
  });
});

describe('validateIPPoolDelete', () => {
  it('refuses while addresses are allocated, allows after (TestPoolDeletionWithExistingIPAddresses)', () => {
    expect(validateIPPoolDelete({ metadata: { name: 'p' } }, 2)).toEqual({
      allowed: false,
      reason: 'BadRequest',
      message: 'Pool has IPAddresses allocated. Cannot delete Pool until all IPAddresses have been removed.',
    });
    expect(validateIPPoolDelete({ metadata: { name: 'p' } }, 0)).toEqual({ allowed: true });
  });

  it('allows with the skip annotation, whatever its value (TestDeleteSkip)', () => {
    const pool = { metadata: { annotations: { 'ipam.cluster.x-k8s.io/skip-validate-delete-webhook': '' } } };
    expect(validateIPPoolDelete(pool, 5)).toEqual({ allowed: true });
  });
});
