import { describe, expect, it } from 'vitest';
import { errorFromResponse, isConflict, isGone, KubeApiError } from './errors.js';
import {
  compareResourceVersions,
  objectKey,
  type ResourceDescriptor,
  resourcePath,
  splitObjectKey,
} from './resource.js';

const configMaps: ResourceDescriptor = {
  group: '',
  version: 'v1',
  plural: 'configmaps',
  namespaced: true,
  kind: 'ConfigMap',
};
const globalPools: ResourceDescriptor = {
  group: 'ipam.cluster.x-k8s.io',
  version: 'v1alpha2',
  plural: 'globalinclusterippools',
  namespaced: false,
  kind: 'GlobalInClusterIPPool',
};

describe('resource paths', () => {
  it('builds core, group, namespaced, cluster-scoped and subresource paths', () => {
    expect(resourcePath(configMaps, 'ns')).toBe('/api/v1/namespaces/ns/configmaps');
    expect(resourcePath(configMaps)).toBe('/api/v1/configmaps');
    expect(resourcePath(configMaps, 'ns', 'a')).toBe('/api/v1/namespaces/ns/configmaps/a');
    expect(resourcePath(globalPools, undefined, 'g', 'status')).toBe(
      '/apis/ipam.cluster.x-k8s.io/v1alpha2/globalinclusterippools/g/status',
    );
    expect(() => resourcePath(configMaps, undefined, 'a')).toThrow(/needs a namespace/);
  });

  it('keys objects as namespace/name and splits the key back', () => {
    expect(objectKey({ metadata: { namespace: 'n', name: 'a' } })).toBe('n/a');
    expect(objectKey({ metadata: { name: 'g' } })).toBe('g');
    expect(splitObjectKey('n/a')).toEqual({ namespace: 'n', name: 'a' });
    expect(splitObjectKey('g')).toEqual({ name: 'g' });
  });

  it('orders resourceVersions numerically, beyond the range of a JS number', () => {
    expect(compareResourceVersions('9', '10')).toBe(-1);
    expect(compareResourceVersions('18446744073709551615', '18446744073709551614')).toBe(1);
    expect(compareResourceVersions('5', '5')).toBe(0);
    expect(compareResourceVersions('abc', '5')).toBeUndefined();
  });
});

describe('errors', () => {
  it('maps the server Status reason to a kind, and the HTTP code when no reason is given', () => {
    const conflict = errorFromResponse(
      409,
      { kind: 'Status', reason: 'Conflict', message: 'changed', code: 409 },
      'PUT x',
    );
    expect(isConflict(conflict)).toBe(true);
    expect(conflict.message).toBe('PUT x: changed');
    expect(
      errorFromResponse(409, { kind: 'Status', reason: 'AlreadyExists', code: 409 }, 'POST').reason,
    ).toBe('AlreadyExists');
    expect(isGone(errorFromResponse(410, { kind: 'Status', reason: 'Expired', code: 410 }, 'GET'))).toBe(
      true,
    );
    expect(errorFromResponse(422, 'bad', 'POST').reason).toBe('Invalid');
    expect(errorFromResponse(503, undefined, 'GET')).toBeInstanceOf(KubeApiError);
    expect(errorFromResponse(503, undefined, 'GET').reason).toBe('Unavailable');
  });
});
