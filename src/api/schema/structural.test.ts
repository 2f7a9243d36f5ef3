import { describe, expect, it } from 'vitest';
import { formatFieldError } from '../errors.js';
import { validateIPPoolObject } from '../validate.js';
import { object, string, stringList } from './builder.js';
import { ipAddressCrd } from './capi-ipam.js';
import { ipPoolSpecV1Alpha2 } from './ippool.js';
import { validateAgainstSchema } from './structural.js';

const messages = (schema: Parameters<typeof validateAgainstSchema>[0], value: unknown) =>
  validateAgainstSchema(schema, value, 'spec', { unknownFields: true }).map(formatFieldError);

describe('validateAgainstSchema with the IP pool schema', () => {
  it('accepts the Go provider’s sample spec', () => {
    expect(
      messages(ipPoolSpecV1Alpha2, {
        addresses: ['10.0.0.2-10.0.0.254'],
        prefix: 24,
        gateway: '10.0.0.1',
        excludedAddresses: ['10.0.0.3-10.0.1.6', '10.0.0.10', '10.0.0.192/26'],
        allocateReservedIPAddresses: false,
        addressReuseGracePeriodSeconds: 30,
      }),
    ).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    [
      'prefix above 128',
      { addresses: ['10.0.0.1'], prefix: 129 },
      'spec.prefix: Invalid value: 129: spec.prefix in body should be less than or equal to 128',
    ],
    [
      'negative prefix',
      { addresses: ['10.0.0.1'], prefix: -1 },
      'spec.prefix: Invalid value: -1: spec.prefix in body should be greater than or equal to 0',
    ],
    ['missing addresses', { prefix: 24 }, 'spec.addresses: Required value'],
    ['missing prefix', { addresses: ['10.0.0.1'] }, 'spec.prefix: Required value'],
    [
      'a string prefix',
      { addresses: ['10.0.0.1'], prefix: '24' },
      'spec.prefix: Invalid value: "24": spec.prefix in body must be of type integer: "string"',
    ],
    ['a fractional prefix', { addresses: ['10.0.0.1'], prefix: 24.5 }, 'must be of type integer'],
    [
      'a negative grace period',
      { addresses: ['10.0.0.1'], prefix: 24, addressReuseGracePeriodSeconds: -1 },
      'should be greater than or equal to 0',
    ],
    [
      'a grace period beyond int32',
      { addresses: ['10.0.0.1'], prefix: 24, addressReuseGracePeriodSeconds: 2 ** 31 },
      'must be an int32',
    ],
    [
      'a non-string address',
      { addresses: [1], prefix: 24 },
      'spec.addresses[0]: Invalid value: 1: spec.addresses[0] in body must be of type string: "integer"',
    ],
    [
      'an unknown field',
      { addresses: ['10.0.0.1'], prefix: 24, excludeAddresses: [] },
      'spec.excludeAddresses: Invalid value: []: field not declared in schema',
    ],
  ])('refuses %s', (_name, spec, expected) => {
    expect(messages(ipPoolSpecV1Alpha2, spec).join('\n')).toContain(expected);
  });
});

describe('validateAgainstSchema', () => {
  it('checks lengths, patterns and enums', () => {
    const schema = object('x', {
      name: string('n', { minLength: 1, maxLength: 3, pattern: '^[a-z]+$' }),
      mode: string('m', { enum: ['True', 'False'] }),
      list: stringList('l', { maxItems: 1 }),
    });
    expect(messages(schema, { name: 'ABCD', mode: 'yes', list: ['a', 'b'] })).toEqual([
      'spec.name: Too long: may not be more than 3 bytes',
      'spec.name: Invalid value: "ABCD": spec.name in body should match \'^[a-z]+$\'',
      'spec.mode: Unsupported value: "yes": supported values: "True", "False"',
      'spec.list: Too many: 2: must have at most 1 items',
    ]);
  });

  it('checks an IPAddress against the Cluster API v1beta2 schema', () => {
    const v1beta2 = ipAddressCrd.versions.find((v) => v.name === 'v1beta2')!;
    const spec = v1beta2.schema.properties!.spec!;
    const good = {
      address: '10.0.0.1',
      prefix: 24,
      claimRef: { name: 'c' },
      poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', kind: 'InClusterIPPool', name: 'p' },
    };
    expect(messages(spec, good)).toEqual([]);
    // An empty gateway is refused by v1beta2 (minLength 1): the controller must leave it out.
    expect(messages(spec, { ...good, gateway: '' }).join()).toContain('spec.gateway');
  });
});

describe('validateIPPoolObject', () => {
  it('reports the shape first, then the rules', () => {
    expect(validateIPPoolObject({}).map(formatFieldError)).toEqual(['spec: Required value']);
    expect(validateIPPoolObject({ spec: { addresses: 'x', prefix: 24 } }).map(formatFieldError)).toEqual([
      'spec.addresses: Invalid value: "x": spec.addresses in body must be of type array: "string"',
    ]);
    expect(validateIPPoolObject({ spec: { addresses: ['x'], prefix: 24 } }).map(formatFieldError)).toEqual([
      'spec.addresses: Invalid value: "x": provided address is not a valid IP, range, nor CIDR',
    ]);
    expect(validateIPPoolObject({ spec: { addresses: ['10.0.0.0/24'], prefix: 24 } })).toEqual([]);
  });
});
