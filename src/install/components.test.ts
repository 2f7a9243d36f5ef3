import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { INSTALL_NAMESPACE } from '../api/index.js';
import {
  componentObjects,
  GO_PROVIDER_SERIES,
  RELEASE_SERIES,
  renderComponents,
  renderMetadata,
} from './components.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: { template?: { spec?: { containers?: { image: string }[] } } };
}

const CLUSTER_SCOPED = new Set([
  'CustomResourceDefinition',
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
]);

describe('the clusterctl release artifacts', () => {
  const objects = componentObjects('registry.example/ipam:v1.2.0') as Obj[];

  it('metadata.yaml is up to date on disk and lists the version in package.json', () => {
    expect(readFileSync(join(root, 'metadata.yaml'), 'utf8')).toBe(renderMetadata());
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const [major = 0, minor = 0] = version.split('.').map(Number);
    expect(RELEASE_SERIES).toContainEqual({ major, minor, contract: 'v1beta2' });
    // clusterctl upgrades from the Go provider only to a higher version that its metadata covers.
    for (const s of GO_PROVIDER_SERIES) {
      expect(RELEASE_SERIES).toContainEqual(s);
      expect(major * 1000 + minor).toBeGreaterThan(s.major * 1000 + s.minor);
    }
  });

  it('holds the four CRDs first, then every provider and webhook object once', () => {
    const ids = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.slice(0, 4)).toEqual([
      'CustomResourceDefinition/inclusterippools.ipam.cluster.x-k8s.io',
      'CustomResourceDefinition/globalinclusterippools.ipam.cluster.x-k8s.io',
      'CustomResourceDefinition/inclusterprefixpools.ipam.cluster.x-k8s.io',
      'CustomResourceDefinition/globalinclusterprefixpools.ipam.cluster.x-k8s.io',
    ]);
    for (const kind of ['Deployment', 'Service', 'Certificate', 'Issuer', 'ValidatingWebhookConfiguration']) {
      expect(
        objects.some((o) => o.kind === kind),
        kind,
      ).toBe(true);
    }
  });

  it('labels every object with the provider and keeps the namespaced ones in one namespace, as clusterctl needs', () => {
    for (const o of objects) {
      expect(o.metadata.labels?.['cluster.x-k8s.io/provider'], o.kind).toBe('ipam-in-cluster');
      if (CLUSTER_SCOPED.has(o.kind)) expect(o.metadata.namespace, o.kind).toBeUndefined();
      else expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(INSTALL_NAMESPACE);
    }
  });

  it('runs the image it is given and asks clusterctl for no variables', () => {
    const deployment = objects.find((o) => o.kind === 'Deployment');
    expect(deployment?.spec?.template?.spec?.containers?.map((c) => c.image)).toEqual([
      'registry.example/ipam:v1.2.0',
    ]);
    const text = renderComponents('registry.example/ipam:v1.2.0', 'v1.2.0');
    expect(text).not.toContain('${');
    const parsed = parseAllDocuments(text).map((d) => d.toJS() as Obj);
    expect(parsed).toEqual(objects);
    // The Service load-balancer flags, for a user to uncomment (manifests.test.ts checks them).
    expect(text).toMatch(/^ +# - --service-lb-class=\S+\n(?: +#.*\n)? +# - --service-lb-default$/m);
  });
});
