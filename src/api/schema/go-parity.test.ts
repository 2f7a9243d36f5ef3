import { describe, expect, it } from 'vitest';
import type { JSONSchemaProps } from './builder.js';
import { conditionsSchema } from './capi-ipam.js';
import { buildCrd, type PrinterColumn } from './crd.js';
import { OUR_CRD_SOURCES } from './index.js';

/** Our fields beyond the Go provider's (issue "Addresses people choose"): all optional, no default. */
const OUR_SPEC_FIELDS = ['preAllocations', 'namespaceSelector', 'allocationStrategy'];
const OUR_STATUS_FIELDS = ['lastAllocated'];
const OUR_COUNT_FIELDS = ['preAllocated'];

function without(schema: JSONSchemaProps | undefined, names: string[]): JSONSchemaProps | undefined {
  if (schema?.properties === undefined) return schema;
  const properties = Object.fromEntries(
    Object.entries(schema.properties).filter(([k]) => !names.includes(k)),
  );
  return { ...schema, properties };
}

/** A version's schema with our additions taken out: what must equal the Go provider's. */
function goPart(schema: JSONSchemaProps): JSONSchemaProps {
  const props = schema.properties ?? {};
  const status = without(props.status, OUR_STATUS_FIELDS);
  const counts = without(status?.properties?.ipAddresses, OUR_COUNT_FIELDS);
  return {
    ...schema,
    properties: {
      ...props,
      spec: without(props.spec, OUR_SPEC_FIELDS) ?? {},
      ...(status
        ? { status: { ...status, properties: { ...status.properties, ipAddresses: counts ?? {} } } }
        : {}),
    },
  };
}

/** The columns `kubectl get` shows without -o wide. */
const defaultColumns = (columns: PrinterColumn[]) => columns.filter((c) => (c.priority ?? 0) === 0);

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
      columns: defaultColumns(v.printerColumns).map((c) => [c.name, c.type, c.jsonPath]),
      schema: shape(goPart(v.schema)),
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
      columns: defaultColumns(v.printerColumns).map((c) => [c.name, c.type, c.jsonPath, c.description]),
      schema: shape(goPart(v.schema)),
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

describe('our additions to the Go provider’s pools', () => {
  const v1alpha2 = (kind: string) =>
    OUR_CRD_SOURCES.find((s) => s.kind === kind)!.versions.find((v) => v.name === 'v1alpha2')!;
  const allKinds = [
    'InClusterIPPool',
    'GlobalInClusterIPPool',
    'InClusterPrefixPool',
    'GlobalInClusterPrefixPool',
  ];

  it.each(allKinds)('are optional and default nothing in %s, so Go manifests store as written', (kind) => {
    const version = v1alpha2(kind);
    const spec = version.schema.properties?.spec;
    const status = version.schema.properties?.status;
    const global = kind.startsWith('Global');
    expect(Object.keys(spec?.properties ?? {})).toEqual(
      expect.arrayContaining(global ? OUR_SPEC_FIELDS : ['preAllocations', 'allocationStrategy']),
    );
    // A namespaced pool serves its own namespace: no selector in its schema, so the API server prunes one.
    if (!global) expect(spec?.properties?.namespaceSelector).toBeUndefined();
    for (const name of [...OUR_SPEC_FIELDS, ...OUR_STATUS_FIELDS]) {
      expect(spec?.required ?? []).not.toContain(name);
      expect(status?.required ?? []).not.toContain(name);
    }
    expect(status?.properties?.ipAddresses?.required).not.toContain('preAllocated');
    const defaults: string[] = [];
    const walk = (s: JSONSchemaProps | undefined, path: string) => {
      if (s === undefined) return;
      if (s.default !== undefined) defaults.push(path);
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`);
      walk(s.items, `${path}[]`);
    };
    for (const name of OUR_SPEC_FIELDS) walk(spec?.properties?.[name], `spec.${name}`);
    expect(defaults).toEqual([]);
    expect(spec?.properties?.allocationStrategy?.enum).toEqual(['Lowest', 'Highest', 'Random', 'RoundRobin']);
    const pin = spec?.properties?.preAllocations?.items;
    expect(pin?.required).toEqual(global ? ['address', 'claimName', 'namespace'] : ['address', 'claimName']);
    // Kept on namespaced kinds so the webhook can refuse it rather than the API server dropping it.
    expect(pin?.properties?.namespace).toBeDefined();
  });

  it.each(allKinds)('add only wide columns to %s', (kind) => {
    const extra = v1alpha2(kind).printerColumns.filter((c) => (c.priority ?? 0) !== 0);
    expect(extra.map((c) => [c.name, c.jsonPath, c.priority])).toEqual([
      ['Ready', '.status.conditions[?(@.type=="Ready")].status', 1],
      ['Strategy', '.spec.allocationStrategy', 1],
      ['PreAllocated', '.status.ipAddresses.preAllocated', 1],
    ]);
  });

  it('leave the v1alpha1 schema and columns of the IP pools alone', () => {
    for (const kind of ['InClusterIPPool', 'GlobalInClusterIPPool']) {
      const v1 = OUR_CRD_SOURCES.find((s) => s.kind === kind)!.versions.find((v) => v.name === 'v1alpha1')!;
      for (const name of OUR_SPEC_FIELDS)
        expect(v1.schema.properties?.spec?.properties?.[name]).toBeUndefined();
      expect(v1.printerColumns.every((c) => c.priority === undefined)).toBe(true);
    }
  });
});
