import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane } from './control-plane.js';
import { waitFor } from './wait.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a control plane of its own', () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    // Without the watch cache every read reaches etcd, so compaction is observable.
    cp = await ControlPlane.start({ apiServerArgs: ['--watch-cache=false'] });
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('keeps its data and its address when the API server is killed and started again', async () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'survivor' }, data: { k: 'v' } };
    expect((await cp.access.request('POST', '/api/v1/namespaces/default/configmaps', cm)).status).toBe(201);
    const before = cp.pids()['kube-apiserver'];
    await cp.restartApiServer('SIGKILL');
    expect(cp.pids()['kube-apiserver']).not.toBe(before);
    const got = await cp.access.request<{ data: Record<string, string> }>(
      'GET',
      '/api/v1/namespaces/default/configmaps/survivor',
    );
    expect(got.status).toBe(200);
    expect(got.body.data).toEqual({ k: 'v' });
  });

  it('refuses connections while the API server is stopped and serves again after start', async () => {
    await cp.stopApiServer();
    await expect(cp.access.request('GET', '/readyz', undefined, { timeoutMs: 2000 })).rejects.toThrow();
    await cp.startApiServer();
    expect((await cp.access.request('GET', '/readyz')).text).toBe('ok');
  });

  it('makes old resourceVersions unusable when etcd is compacted', async () => {
    const list = await cp.access.request<{ metadata: { resourceVersion: string } }>(
      'GET',
      '/api/v1/namespaces/default/configmaps',
    );
    const oldRv = list.body.metadata.resourceVersion;
    await cp.access.request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'later' } });
    const revision = await cp.compactEtcd();
    expect(revision).toBeGreaterThan(Number(oldRv));
    // A list at an exact compacted revision must reach etcd and fails with 410 Gone.
    const res = await cp.access.request<{ code: number }>(
      'GET',
      `/api/v1/namespaces/default/configmaps?resourceVersion=${oldRv}&resourceVersionMatch=Exact`,
    );
    expect(res.status).toBe(410);
  });

  it('stops every process and removes its directory', async () => {
    const other = await ControlPlane.start();
    const pids = Object.values(other.pids());
    expect(pids.length).toBe(2);
    expect(existsSync(other.dir)).toBe(true);
    await other.stop();
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(other.dir)).toBe(false);
  });

  for (const [signal, times] of [
    ['SIGINT', 1],
    ['SIGTERM', 1],
    ['SIGTERM', 2],
  ] as const) {
    const how = times === 1 ? signal : `${signal} twice in a row`;
    it(`leaves no process and no directory behind when the run is interrupted with ${how}`, async () => {
      const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/hold-control-plane.ts');
      const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      const started = await waitFor(
        'the fixture to report its control plane',
        () => {
          const line = out.split('\n')[0];
          return out.includes('\n') && line
            ? (JSON.parse(line) as { dir: string; pids: Record<string, number> })
            : undefined;
        },
        { timeoutMs: 60_000 },
      );
      const pids = Object.values(started.pids);
      expect(pids.every(alive)).toBe(true);
      child.kill(signal);
      if (times === 2) {
        // Again once the graceful stop is under way (the API server goes first, etcd after it).
        const apiServer = started.pids['kube-apiserver'] ?? 0;
        await waitFor('the graceful stop to begin', () => !alive(apiServer), { intervalMs: 5 });
        child.kill(signal);
      }
      await exited;
      await waitFor('the components to be gone', () => pids.every((p) => !alive(p)));
      expect(existsSync(started.dir)).toBe(false);
    });
  }
});
