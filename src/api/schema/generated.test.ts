import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { JSONSchemaProps } from './builder.js';
import { buildCrd } from './crd.js';
import { CAPI_TEST_CRD_SOURCES, OUR_CRD_SOURCES, renderCrdFiles, toYaml } from './index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('generated CRD files', () => {
  it('match the schema source (run `npm run generate` when this fails)', () => {
    for (const file of renderCrdFiles()) {
      let onDisk: string;
      try {
        onDisk = readFileSync(join(root, file.path), 'utf8');
      } catch {
        throw new Error(`${file.path} is missing: run \`npm run generate\``);
      }
      expect(onDisk, `${file.path} is stale: run \`npm run generate\``).toBe(file.content);
    }
  });

  it('are the only YAML files in crds/ and test/crds/capi/', () => {
    const expected = renderCrdFiles()
      .map((f) => f.path)
      .sort();
    const actual = ['crds', 'test/crds/capi']
      .flatMap((d) => readdirSync(join(root, d)).map((n) => `${d}/${n}`))
      .filter((p) => p.endsWith('.yaml'))
      .sort();
    expect(actual).toEqual(expected);
  });

  it('mark the Cluster API copies as test/demo-only', () => {
    for (const file of renderCrdFiles().filter((f) => f.path.startsWith('test/'))) {
      expect(file.content.split('\n')[0]).toMatch(/^# TEST \/ DEMO ONLY/);
    }
  });
});

/** Every named property under `schema`, with its path. */
function properties(schema: JSONSchemaProps, path: string): [string, JSONSchemaProps][] {
  const out: [string, JSONSchemaProps][] = [];
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    out.push([`${path}.${name}`, child], ...properties(child, `${path}.${name}`));
  }
  if (schema.items) out.push(...properties(schema.items, `${path}[]`));
  return out;
}

describe('schema source', () => {
  it('describes every field (metadata is described by the API server)', () => {
    for (const source of [...OUR_CRD_SOURCES, ...CAPI_TEST_CRD_SOURCES]) {
      for (const version of source.versions) {
        expect(version.schema.description, `${source.kind} ${version.name}`).toBeTruthy();
        for (const [path, prop] of properties(version.schema, source.kind)) {
          if (path === `${source.kind}.metadata`) continue;
          expect(prop.description, `${version.name} ${path}`).toBeTruthy();
        }
      }
    }
  });

  it('gives our kinds the status subresource, category cluster-api, the move label and no short names', () => {
    for (const source of OUR_CRD_SOURCES) {
      const crd = buildCrd(source);
      expect(crd.metadata.labels).toEqual({ 'clusterctl.cluster.x-k8s.io/move-hierarchy': '' });
      expect(crd.spec.names.categories).toEqual(['cluster-api']);
      expect(crd.spec.names.shortNames).toBeUndefined();
      for (const v of source.versions) expect(v.statusSubresource).toBe(true);
    }
  });

  it('installs our CRDs with conversion through the webhook Service and a cert-manager CA injection', () => {
    for (const file of renderCrdFiles().filter((f) => f.path.startsWith('crds/'))) {
      const crd = parse(file.content.split('---\n')[1] ?? '') as {
        metadata: { annotations?: Record<string, string> };
        spec: { conversion?: unknown };
      };
      expect(crd.metadata.annotations).toEqual({
        'cert-manager.io/inject-ca-from': 'capi-ipam-in-cluster-system/capi-ipam-in-cluster-serving-cert',
      });
      expect(crd.spec.conversion, file.path).toEqual({
        strategy: 'Webhook',
        webhook: {
          clientConfig: {
            service: {
              namespace: 'capi-ipam-in-cluster-system',
              name: 'capi-ipam-in-cluster-webhook-service',
              path: '/convert',
            },
          },
          conversionReviewVersions: ['v1'],
        },
      });
    }
  });

  it('adds a conversion webhook stanza only when asked', () => {
    const source = OUR_CRD_SOURCES[0]!;
    expect(buildCrd(source).spec.conversion).toBeUndefined();
    expect(
      buildCrd(source, {
        conversionWebhook: { service: { namespace: 'ns', name: 'webhook-service' }, caBundle: 'Q0E=' },
      }).spec.conversion,
    ).toEqual({
      strategy: 'Webhook',
      webhook: {
        clientConfig: {
          service: { namespace: 'ns', name: 'webhook-service', path: '/convert' },
          caBundle: 'Q0E=',
        },
        conversionReviewVersions: ['v1'],
      },
    });
    expect(
      buildCrd(source, { conversionWebhook: { url: 'https://127.0.0.1:9443/convert' } }).spec.conversion,
    ).toEqual({
      strategy: 'Webhook',
      webhook: { clientConfig: { url: 'https://127.0.0.1:9443/convert' }, conversionReviewVersions: ['v1'] },
    });
  });
});

describe('toYaml', () => {
  it('quotes strings a YAML 1.1 reader would take for booleans or numbers', () => {
    const out = toYaml({ a: 'True', b: 'on', c: 'y', d: '', e: 'no', f: '0755', g: 'plain' });
    const lines = out.split('\n');
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) {
      expect(
        lines.find((l) => l.startsWith(`${key}:`)),
        key,
      ).toMatch(/: "/);
    }
    expect(lines).toContain('g: plain');
    expect(parse(out)).toEqual({ a: 'True', b: 'on', c: 'y', d: '', e: 'no', f: '0755', g: 'plain' });
  });

  it('orders keys like controller-gen and starts with the header', () => {
    expect(toYaml({ b: 1, a: { d: 1, c: 2 } }, ['# h'])).toBe('# h\n---\na:\n  c: 2\n  d: 1\nb: 1\n');
  });
});
