/**
 * The release artifacts clusterctl installs a provider from (`clusterctl init --ipam in-cluster`
 * with this provider's URL in clusterctl.yaml): `ipam-components.yaml` — our CRDs, the provider
 * objects and the webhook objects in one file, every object labelled
 * `cluster.x-k8s.io/provider: ipam-in-cluster` as the Go provider's kustomize commonLabels do — and
 * `metadata.yaml`, which maps release series to the Cluster API contract. `npm run release`
 * writes both to out/.
 */
import { buildCrd, INSTALLED_CRD_OPTIONS, OUR_CRD_SOURCES, toYaml } from '../api/index.js';
import { webhookConfigurations, webhookServingObjects } from '../webhooks/manifests.js';
import { PROVIDER_LABELS, providerObjects, renderObject } from './manifests.js';

/**
 * The Go provider's release series, as its metadata.yaml maps them, then ours above them. clusterctl
 * upgrades only to a newer version and looks up the installed one in the target's metadata, so a
 * cluster running the Go provider (v1.0.x, v1.1.x) can `clusterctl upgrade apply` to this one only
 * if both hold. Our series are v1beta2 (Cluster API ≥ 1.11); the code also serves v1beta1 claims.
 */
export const GO_PROVIDER_SERIES = [
  { major: 0, minor: 1, contract: 'v1beta1' },
  { major: 1, minor: 0, contract: 'v1beta1' },
  { major: 1, minor: 1, contract: 'v1beta2' },
] as const;
export const RELEASE_SERIES = [...GO_PROVIDER_SERIES, { major: 1, minor: 2, contract: 'v1beta2' }] as const;

interface Labelled {
  metadata: { labels?: Record<string, string> };
}

function labelled<T extends object>(obj: T): T {
  const o = structuredClone(obj) as T & Labelled;
  o.metadata.labels = { ...(o.metadata.labels ?? {}), ...PROVIDER_LABELS };
  return o;
}

/** Every object of an install, in the order they apply: CRDs, then the provider, then webhooks. */
export function componentObjects(image: string): object[] {
  return [
    ...OUR_CRD_SOURCES.map((s) => buildCrd(s, INSTALLED_CRD_OPTIONS)),
    ...providerObjects(image),
    ...webhookServingObjects(),
    ...webhookConfigurations(),
  ].map(labelled);
}

export function renderComponents(image: string, version: string): string {
  const header = [
    `# cluster-api-ipam-provider-in-cluster-ts ${version}: the components clusterctl installs.`,
  ];
  return componentObjects(image)
    .map((o, i) => renderObject(o, i === 0 ? header : []))
    .join('');
}

export function renderMetadata(): string {
  return toYaml({
    apiVersion: 'clusterctl.cluster.x-k8s.io/v1alpha3',
    kind: 'Metadata',
    releaseSeries: RELEASE_SERIES,
  });
}
