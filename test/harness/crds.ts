import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments, stringify } from 'yaml';
import type { ClusterAccess } from './access.js';

interface CrdDoc {
  kind?: string;
  metadata?: { name?: string };
  spec?: {
    group: string;
    names: { plural: string };
    versions: { name: string; served: boolean }[];
    conversion?: { strategy?: string; webhook?: { clientConfig?: unknown } };
  };
}

/** Where a test's API server reaches the conversion webhook: a server on 127.0.0.1. */
export interface ConversionTarget {
  url: string;
  caBundle: string;
}

/**
 * Our CRDs send conversions to the webhook Service of an installed provider. A test control plane
 * has no Service network, so the stanza either points at the test's own server or, when the test
 * runs none, is set to strategy None (the API server then only rewrites apiVersion).
 */
function retargetConversion(crd: CrdDoc, target: ConversionTarget | undefined): CrdDoc {
  const conversion = crd.spec?.conversion;
  if (!crd.spec || conversion?.strategy !== 'Webhook') return crd;
  const webhook = { ...conversion.webhook, clientConfig: target };
  return {
    ...crd,
    spec: { ...crd.spec, conversion: target ? { ...conversion, webhook } : { strategy: 'None' } },
  };
}

function manifestFiles(paths: string[]): string[] {
  return paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p)
          .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
          .sort()
          .map((f) => join(p, f))
      : [p],
  );
}

/**
 * Installs CRDs with server-side apply (client-side apply fails on large CRDs: the
 * last-applied annotation gets too long) and returns once each is Established and every served
 * version is in discovery — before that, creating a custom object can still 404.
 */
export async function installCustomResourceDefinitions(
  access: ClusterAccess,
  paths: string[],
  conversion?: ConversionTarget,
): Promise<string[]> {
  const files = manifestFiles(paths);
  if (files.length === 0) return [];
  const crds: CrdDoc[] = files.flatMap((f) =>
    parseAllDocuments(readFileSync(f, 'utf8'))
      .map((d) => d.toJS() as CrdDoc | null)
      .filter((d): d is CrdDoc => d?.kind === 'CustomResourceDefinition')
      .map((d) => retargetConversion(d, conversion)),
  );
  const dir = mkdtempSync(join(tmpdir(), 'crds-'));
  try {
    const manifest = join(dir, 'crds.yaml');
    writeFileSync(manifest, crds.map((c) => `---\n${stringify(c)}`).join(''));
    const applied = await access.kubectl([
      'apply',
      '--server-side',
      '--force-conflicts',
      '--field-manager=ipam-test-harness',
      '-f',
      manifest,
    ]);
    if (applied.code !== 0) throw new Error(`installing CRDs failed: ${applied.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const deadline = Date.now() + 60_000;
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    for (;;) {
      if (Date.now() > deadline) throw new Error(`CRD ${name} did not become established and discoverable`);
      if (await established(access, crd)) break;
      await sleep(100);
    }
  }
  return crds.map((c) => c.metadata?.name ?? '');
}

async function established(access: ClusterAccess, crd: CrdDoc): Promise<boolean> {
  const res = await access.request<{ status?: { conditions?: { type: string; status: string }[] } }>(
    'GET',
    `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata?.name}`,
  );
  if (res.status !== 200) return false;
  if (!res.body.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'))
    return false;
  for (const v of crd.spec?.versions ?? []) {
    if (!v.served) continue;
    const base = `/apis/${crd.spec?.group}/${v.name}`;
    const disc = await access.request<{ resources?: { name: string }[] }>('GET', base);
    if (disc.status !== 200 || !disc.body.resources?.some((r) => r.name === crd.spec?.names.plural))
      return false;
    // Discovery can list a resource whose storage is still initialising (429); a list proves it serves.
    const list = await access.request('GET', `${base}/${crd.spec?.names.plural}?limit=1`);
    if (list.status !== 200) return false;
  }
  return true;
}
