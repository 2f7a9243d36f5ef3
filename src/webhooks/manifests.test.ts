import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderWebhookManifestFiles, webhookConfigurations } from './manifests.js';
import { webhookRoutes } from './routes.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('webhook manifests', () => {
  it('are up to date on disk (run `npm run generate` after changing routes or manifests)', () => {
    for (const file of renderWebhookManifestFiles()) {
      expect(readFileSync(join(root, file.path), 'utf8'), file.path).toBe(file.content);
    }
  });

  it('configure every served route once, fail closed, without side effects, for equivalent versions', () => {
    const entries = webhookConfigurations().flatMap((c) => c.webhooks.map((w) => ({ kind: c.kind, ...w })));
    expect(entries.map((e) => e.clientConfig.service?.path).sort()).toEqual(
      webhookRoutes()
        .map((r) => r.path)
        .sort(),
    );
    for (const e of entries) {
      expect(e).toMatchObject({ failurePolicy: 'Fail', sideEffects: 'None', matchPolicy: 'Equivalent' });
      expect(e.kind).toBe(
        e.name.startsWith('default.') ? 'MutatingWebhookConfiguration' : 'ValidatingWebhookConfiguration',
      );
    }
    expect(entries.find((e) => e.name === 'validation.inclusterippool.ipam.cluster.x-k8s.io')?.rules).toEqual(
      [
        {
          apiGroups: ['ipam.cluster.x-k8s.io'],
          apiVersions: ['v1alpha2'],
          operations: ['CREATE', 'UPDATE', 'DELETE'],
          resources: ['inclusterippools'],
        },
      ],
    );
  });

  it('point at a URL with a CA bundle, and drop the cert-manager injection, when asked (tests, demo)', () => {
    for (const c of webhookConfigurations({ url: 'https://127.0.0.1:9443', caBundle: 'Q0E=' })) {
      expect(c.metadata.annotations).toBeUndefined();
      for (const w of c.webhooks) {
        expect(w.clientConfig.url).toMatch(/^https:\/\/127\.0\.0\.1:9443\/(mutate|validate)-/);
        expect(w.clientConfig.caBundle).toBe('Q0E=');
        expect(w.clientConfig.service).toBeUndefined();
      }
    }
  });
});
