/**
 * What a CustomResourceDefinition is made of, and the one function that turns our description
 * of a kind into the apiextensions.k8s.io/v1 object the API server installs.
 */
import type { JSONSchemaProps } from './builder.js';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

export interface CrdVersionSource {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  schema: JSONSchemaProps;
  printerColumns: PrinterColumn[];
  /** Status subresource; kinds without status (IPAddress) leave it out. */
  statusSubresource: boolean;
}

export interface CrdSource {
  group: string;
  kind: string;
  plural: string;
  singular: string;
  scope: 'Namespaced' | 'Cluster';
  categories: string[];
  shortNames?: string[];
  labels?: Record<string, string>;
  versions: CrdVersionSource[];
}

/**
 * Where the API server sends ConversionReview requests. Either a Service in the cluster (as the Go
 * provider's kustomize patch does) or a URL (tests and the demo run the webhook on 127.0.0.1).
 */
export type ConversionWebhook = {
  caBundle?: string;
  conversionReviewVersions?: string[];
} & ({ service: { namespace: string; name: string; path?: string; port?: number } } | { url: string });

export interface CrdOptions {
  /** Adds `spec.conversion` with strategy Webhook; absent means strategy None (no conversion). */
  conversionWebhook?: ConversionWebhook;
  /** Extra metadata annotations, e.g. cert-manager's CA injection. */
  annotations?: Record<string, string>;
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      categories?: string[];
      shortNames?: string[];
    };
    scope: 'Namespaced' | 'Cluster';
    conversion?: unknown;
    versions: unknown[];
  };
}

export function crdName(source: Pick<CrdSource, 'plural' | 'group'>): string {
  return `${source.plural}.${source.group}`;
}

/** The conversion stanza of a CRD; exported so webhook set-up can patch an installed CRD with it. */
export function conversionStanza(webhook: ConversionWebhook): Record<string, unknown> {
  const clientConfig: Record<string, unknown> =
    'url' in webhook
      ? { url: webhook.url }
      : {
          service: {
            name: webhook.service.name,
            namespace: webhook.service.namespace,
            path: webhook.service.path ?? '/convert',
            ...(webhook.service.port === undefined ? {} : { port: webhook.service.port }),
          },
        };
  if (webhook.caBundle !== undefined) clientConfig.caBundle = webhook.caBundle;
  return {
    strategy: 'Webhook',
    webhook: { clientConfig, conversionReviewVersions: webhook.conversionReviewVersions ?? ['v1'] },
  };
}

export function buildCrd(source: CrdSource, options: CrdOptions = {}): CustomResourceDefinition {
  const storage = source.versions.filter((v) => v.storage);
  if (storage.length !== 1) throw new Error(`${source.kind}: exactly one storage version is required`);
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: crdName(source),
      ...(source.labels ? { labels: { ...source.labels } } : {}),
      ...(options.annotations ? { annotations: { ...options.annotations } } : {}),
    },
    spec: {
      group: source.group,
      names: {
        kind: source.kind,
        listKind: `${source.kind}List`,
        plural: source.plural,
        singular: source.singular,
        ...(source.categories.length > 0 ? { categories: [...source.categories] } : {}),
        ...(source.shortNames ? { shortNames: [...source.shortNames] } : {}),
      },
      scope: source.scope,
      ...(options.conversionWebhook ? { conversion: conversionStanza(options.conversionWebhook) } : {}),
      versions: source.versions.map((v) => ({
        name: v.name,
        served: v.served,
        storage: v.storage,
        ...(v.deprecated ? { deprecated: true } : {}),
        ...(v.printerColumns.length > 0 ? { additionalPrinterColumns: v.printerColumns } : {}),
        schema: { openAPIV3Schema: v.schema },
        subresources: v.statusSubresource ? { status: {} } : {},
      })),
    },
  };
}
