import { describe, expect, it } from 'vitest';
import { conditionsSchema } from './capi-ipam.js';
import { buildCrd } from './crd.js';
import { OUR_CRD_SOURCES } from './index.js';

/** A schema with descriptions removed: what the API server enforces. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== 'description')
        .map(([k, v]) => [k, shape(v)]),
    );
  }
  return value;
}

const str = { type: 'string' };
const strings = { type: 'array', items: str };
const count = { type: 'integer' };
const status = {
  type: 'object',
  properties: {
    ipAddresses: {
      type: 'object',
      properties: { total: count, free: count, used: count, outOfRange: count },
      required: ['free', 'outOfRange', 'total', 'used'],
    },
    // Ours only: a Ready condition on pools. Additive, so the Go provider's objects still apply.
    conditions: shape(conditionsSchema('')),
  },
};
const root = (spec: unknown) => ({
  type: 'object',
  properties: { apiVersion: str, kind: str, metadata: { type: 'object' }, spec, status },
});

// Written from the Go provider's generated CRDs (config/crd/bases, kubebuilder markers in
// api/v1alpha{1,2}); only descriptions and the v1alpha1 First/Last column paths differ.
const expectedVersions = (withV1alpha1Addresses: boolean) => [
  {
    name: 'v1alpha1',
    served: true,
    storage: false,
    deprecated: true,
    columns: [
      ['Subnet', 'string', '.spec.subnet'],
      ['First', 'string', '.spec.start'],
      ['Last', 'string', '.spec.end'],
      ...(withV1alpha1Addresses ? [['Addresses', 'string', '.spec.addresses']] : []),
      ['Total', 'integer', '.status.ipAddresses.total'],
      ['Free', 'integer', '.status.ipAddresses.free'],
      ['Used', 'integer', '.status.ipAddresses.used'],
    ],
    schema: root({
      type: 'object',
      properties: {
        addresses: strings,
        subnet: str,
        start: str,
        end: str,
        prefix: { type: 'integer', maximum: 128 },
        gateway: str,
      },
    }),
  },
  {
    name: 'v1alpha2',
    served: true,
    storage: true,
    columns: [
      ['Addresses', 'string', '.spec.addresses'],
      ['Total', 'integer', '.status.ipAddresses.total'],
      ['Free', 'integer', '.status.ipAddresses.free'],
      ['Used', 'integer', '.status.ipAddresses.used'],
    ],
    schema: root({
      type: 'object',
      properties: {
        addresses: strings,
        prefix: { type: 'integer', minimum: 0, maximum: 128 },
        gateway: str,
        allocateReservedIPAddresses: { type: 'boolean' },
        excludedAddresses: strings,
        addressReuseGracePeriodSeconds: { type: 'integer', format: 'int32', minimum: 0 },
      },
      required: ['addresses', 'prefix'],
    }),
  },
];

describe('our IP pool CRDs enforce what the Go provider’s enforce', () => {
  it.each([
    ['InClusterIPPool', 'inclusterippools', 'Namespaced', true],
    ['GlobalInClusterIPPool', 'globalinclusterippools', 'Cluster', false],
  ] as const)('%s', (kind, plural, scope, v1alpha1Addresses) => {
    const source = OUR_CRD_SOURCES.find((s) => s.kind === kind)!;
    const crd = buildCrd(source);
    expect(crd.metadata.name).toBe(`${plural}.ipam.cluster.x-k8s.io`);
    expect(crd.spec.scope).toBe(scope);
    expect(crd.spec.names).toEqual({
      kind,
      listKind: `${kind}List`,
      plural,
      singular: kind.toLowerCase(),
      categories: ['cluster-api'],
    });
    const versions = source.versions.map((v) => ({
      name: v.name,
      served: v.served,
      storage: v.storage,
      ...(v.deprecated ? { deprecated: true } : {}),
      columns: v.printerColumns.map((c) => [c.name, c.type, c.jsonPath]),
      schema: shape(v.schema),
    }));
    expect(versions).toEqual(expectedVersions(v1alpha1Addresses));
    for (const v of crd.spec.versions) expect(v).toMatchObject({ subresources: { status: {} } });
  });
});

describe('our prefix pool CRDs enforce what the Go provider’s enforce', () => {
  it.each([
    ['InClusterPrefixPool', 'inclusterprefixpools', 'Namespaced'],
    ['GlobalInClusterPrefixPool', 'globalinclusterprefixpools', 'Cluster'],
  ] as const)('%s', (kind, plural, scope) => {
    const source = OUR_CRD_SOURCES.find((s) => s.kind === kind)!;
    const crd = buildCrd(source);
    expect(crd.metadata.name).toBe(`${plural}.ipam.cluster.x-k8s.io`);
    expect(crd.metadata.labels).toEqual({ 'clusterctl.cluster.x-k8s.io/move-hierarchy': '' });
    expect(crd.spec.scope).toBe(scope);
    expect(crd.spec.names).toEqual({
      kind,
      listKind: `${kind}List`,
      plural,
      singular: kind.toLowerCase(),
      categories: ['cluster-api'],
    });
    const versions = source.versions.map((v) => ({
      name: v.name,
      served: v.served,
      storage: v.storage,
      columns: v.printerColumns.map((c) => [c.name, c.type, c.jsonPath, c.description]),
      schema: shape(v.schema),
    }));
    expect(versions).toEqual([
      {
        name: 'v1alpha2',
        served: true,
        storage: true,
        columns: [
          ['Prefixes', 'string', '.spec.prefixes', 'List of prefixes to allocate sub-prefixes from'],
          ['Total', 'integer', '.status.ipAddresses.total', 'Count of allocatable sub-prefixes in the pool'],
          ['Free', 'integer', '.status.ipAddresses.free', 'Count of unallocated sub-prefixes in the pool'],
          ['Used', 'integer', '.status.ipAddresses.used', 'Count of allocated sub-prefixes in the pool'],
        ],
        schema: root({
          type: 'object',
          properties: {
            prefixes: strings,
            allocationPrefixLength: { type: 'integer', default: 64, minimum: 1, maximum: 128 },
            gateway: str,
            excludedPrefixes: strings,
          },
          required: ['prefixes'],
        }),
      },
    ]);
    expect(crd.spec.versions).toHaveLength(1);
    for (const v of crd.spec.versions) expect(v).toMatchObject({ subresources: { status: {} } });
  });
});
