import { describe, expect, it } from 'vitest';
import type { KubeObject } from './resource.js';
import { StringInterner, slimForCache } from './slim.js';

const parse = (o: unknown) => JSON.parse(JSON.stringify(o)) as KubeObject & Record<string, unknown>;

const claim = (name: string) =>
  parse({
    apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
    kind: 'IPAddressClaim',
    metadata: {
      name,
      namespace: 'ns',
      finalizers: ['ipam.cluster.x-k8s.io/ReleaseAddress'],
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":true}', keep: 'me' },
      managedFields: [{ manager: 'kubectl' }],
      ownerReferences: [{ apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Machine', name: `machine-${name}` }],
    },
    spec: { poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', kind: 'GlobalInClusterIPPool', name: 'pool-a' } },
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'AddressAllocated', message: `for ${name}` }],
    },
  });

describe('slimForCache', () => {
  it('drops managedFields and the last-applied annotation, and keeps everything else', () => {
    const original = claim('a');
    const slim = slimForCache()(claim('a'));
    const { managedFields: _m, annotations: _a, ...meta } = original.metadata as Record<string, unknown>;
    expect(slim).toEqual({ ...original, metadata: { ...meta, annotations: { keep: 'me' } } });
  });

  it('leaves no empty annotations behind', () => {
    const obj = parse({
      metadata: { name: 'x', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
    });
    expect(slimForCache()(obj).metadata).toEqual({ name: 'x' });
  });

  it('shares one string for values that repeat across objects, not for unique ones', () => {
    const interner = new StringInterner();
    const slim = slimForCache(interner);
    const a = slim(claim('a')) as unknown as ReturnType<typeof claim>;
    const b = slim(claim('b')) as unknown as ReturnType<typeof claim>;
    // Interned: the same keys and values map to one entry each, whatever the number of objects.
    const sizeAfterTwo = interner.size;
    slim(claim('c'));
    expect(interner.size).toBe(sizeAfterTwo);
    expect(a.apiVersion).toBe(b.apiVersion);
    // The pool's name is shared; the claim's name and the message are left out of the table.
    expect(sizeAfterTwo).toBeLessThan(20);
    expect(a.metadata.name).toBe('a');
  });

  it('stops adding values past its bound and still returns them unchanged', () => {
    const interner = new StringInterner();
    for (let i = 0; i < 25_000; i++) expect(interner.intern(`v${i}`)).toBe(`v${i}`);
    expect(interner.size).toBe(20_000);
  });
});
