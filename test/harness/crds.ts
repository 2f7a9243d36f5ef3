import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import type { ClusterAccess } from './access.js';

interface CrdDoc {
  kind?: string;
  metadata?: { name?: string };
  spec?: { group: string; names: { plural: string }; versions: { name: string; served: boolean }[] };
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
): Promise<string[]> {
  const files = manifestFiles(paths);
  if (files.length === 0) return [];
  const crds: CrdDoc[] = files.flatMap((f) =>
    parseAllDocuments(readFileSync(f, 'utf8'))
      .map((d) => d.toJS() as CrdDoc | null)
      .filter((d): d is CrdDoc => d?.kind === 'CustomResourceDefinition'),
  );
  const applied = await access.kubectl([
    'apply',
    '--server-side',
    '--force-conflicts',
    '--field-manager=ipam-test-harness',
    ...files.flatMap((f) => ['-f', f]),
  ]);
  if (applied.code !== 0) throw new Error(`installing CRDs failed: ${applied.stderr}`);
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
