/**
 * The image, without a container engine: hack/check-image.ts carries out the Dockerfile's stages
 * as written (npm ci, the compiler, npm ci --omit=dev, the copies into the final stage) and runs
 * its ENTRYPOINT --help as user 65532. Then the controller starts from that pruned tree, as user
 * 65532 with NODE_ENV=production, against a real API server — webhook server, secure diagnostics,
 * leader election, an allocation, a clean SIGTERM — and strace shows that it opens no file for
 * writing, so the image runs with readOnlyRootFilesystem: true.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asImageUser, entrypointCommand, parseDockerfile } from '../../hack/check-image.js';
import {
  crdPaths,
  createClaim,
  createNamespace,
  createPool,
  waitForAddress,
} from '../controllers/fixture.js';
import { ControlPlane, freePort } from '../harness/control-plane.js';
import { createWebhookCertificates } from '../harness/pki.js';
import { waitFor } from '../harness/wait.js';
import { root } from './markdown.js';
import { writesIn } from './strace.js';

const exec = promisify(execFile);
const hasStrace = spawnSync('strace', ['-V']).status === 0;
const isRoot = process.getuid?.() === 0;

let work = '';
let output = '';
let built: Promise<void> | undefined;

/** hack/check-image.ts once per file, its tree kept for the run below. */
function buildOnce(): Promise<void> {
  built ??= (async () => {
    work = mkdtempSync(join(tmpdir(), 'docs-image-'));
    const res = await exec(
      process.execPath,
      ['--import', 'tsx', join(root, 'hack/check-image.ts'), '--keep', work],
      {
        cwd: root,
        maxBuffer: 16 << 20,
      },
    ).catch((err: { stdout: string; stderr: string }) => ({ stdout: err.stdout, stderr: err.stderr }));
    output = res.stdout + res.stderr;
  })();
  return built;
}

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the image, its stages run outside Docker', () => {
  beforeAll(buildOnce, 300_000);

  it('reads writes out of strace’s lines (and only writes)', () => {
    const log = [
      '12 openat(AT_FDCWD, "/app/dist/main.js", O_RDONLY|O_CLOEXEC) = 17',
      '12 openat(AT_FDCWD, "/tmp/x", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 18',
      '12 openat(AT_FDCWD, "/nope", O_RDWR) = -1 EROFS (Read-only file system)',
      '13 mkdir("/app/cache", 0777) = 0',
      '13 openat(AT_FDCWD, "/dev/null", O_RDWR|O_CLOEXEC) = 19',
    ].join('\n');
    expect(writesIn(log)).toEqual(['/tmp/x', 'mkdir /app/cache']);
  });

  it('builds, prunes, and starts --help from the pruned tree as its USER', () => {
    expect(output).toContain('check-image: ok');
    if (isRoot) expect(output).toContain('ENTRYPOINT --help as user 65532:65532: exit 0');
    expect(output).toMatch(/size: image ≈ \d+\.\d MB/);
  });

  it('has no npm, no shell command, no HEALTHCHECK in its last stage, and runs as 65532 with NODE_ENV=production', () => {
    const stages = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
    const image = stages[stages.length - 1];
    expect(image?.from).toMatch(/^gcr\.io\/distroless\/nodejs24-debian1\d:nonroot$/);
    const ops = image?.instructions.map((i) => i.op) ?? [];
    expect(ops).not.toContain('RUN');
    expect(ops).not.toContain('HEALTHCHECK');
    expect(image?.instructions.find((i) => i.op === 'USER')?.args).toBe('65532:65532');
    expect(image?.instructions.find((i) => i.op === 'ENV')?.args).toBe('NODE_ENV=production');
    expect(readdirSync(join(work, 'image/app/node_modules'))).not.toContain('npm');
  });
});

describe.skipIf(!isRoot || !hasStrace)(
  'the controller from the pruned tree, as user 65532, under strace',
  () => {
    let cp: ControlPlane;
    let shared: string;
    let strace = '';
    let exit: Promise<number | null>;
    let proc: ReturnType<typeof spawn>;
    let stderr = '';

    beforeAll(async () => {
      cp = await ControlPlane.start({ crds: crdPaths });
      // What a pod mounts, readable by the image's user: the kubeconfig and the webhook certificate.
      shared = mkdtempSync(join(tmpdir(), 'docs-image-run-'));
      chmodSync(shared, 0o755);
      const certs = join(shared, 'certs');
      mkdirSync(certs);
      await createWebhookCertificates(certs, 'image-ca');
      copyFileSync(cp.kubeconfigPath, join(shared, 'kubeconfig'));
      for (const f of ['kubeconfig', 'certs/tls.crt', 'certs/tls.key']) chmodSync(join(shared, f), 0o644);
      chmodSync(certs, 0o755);
      await createNamespace(cp.access, 'image');
      const [health, metrics, webhook] = [await freePort(), await freePort(), await freePort()];
      const stages = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
      const image = stages[stages.length - 1];
      const user = image?.instructions.find((i) => i.op === 'USER')?.args;
      const entrypoint = JSON.parse(
        image?.instructions.find((i) => i.op === 'ENTRYPOINT')?.args ?? '[]',
      ) as string[];
      const node = join(root, 'node_modules/node/bin/node');
      const command = entrypointCommand(
        { fs: join(work, 'image'), workdir: '/app', env: {}, entrypoint },
        node,
      );
      strace = join(shared, 'strace.log');
      proc = spawn(
        'strace',
        [
          '-f',
          '-qq',
          '-e',
          'trace=open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,rmdir,symlink,link',
          '-o',
          strace,
          ...asImageUser(user),
          ...command,
          `--kubeconfig=${join(shared, 'kubeconfig')}`,
          '--leader-election-namespace=image',
          `--health-probe-bind-address=127.0.0.1:${health}`,
          `--diagnostics-address=127.0.0.1:${metrics}`,
          `--webhook-port=${webhook}`,
          '--webhook-host=127.0.0.1',
          `--webhook-cert-dir=${certs}`,
        ],
        {
          cwd: join(work, 'image/app'),
          env: { PATH: '/usr/bin:/bin', NODE_ENV: 'production' },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      proc.stderr?.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      exit = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
      await waitFor(
        'the controller to be ready',
        async () => (await fetch(`http://127.0.0.1:${health}/readyz`).catch(() => undefined))?.status === 200,
        { timeoutMs: 90_000, intervalMs: 250 },
      );
    }, 180_000);
    /** The controller: strace's one child (setpriv execs node). */
    const controllerPid = () =>
      Number(readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
    afterAll(async () => {
      if (proc && proc.exitCode === null) {
        const pid = controllerPid();
        if (pid > 0) process.kill(pid, 'SIGKILL');
        proc.kill('SIGKILL');
      }
      await cp?.stop();
      if (shared) rmSync(shared, { recursive: true, force: true });
    });

    it('hands out an address, stops cleanly on SIGTERM, and never opens a file for writing', async () => {
      await createPool(cp.access, 'InClusterIPPool', 'image', 'pool', {
        addresses: ['10.90.0.10-10.90.0.20'],
        prefix: 24,
      });
      await createClaim(cp.access, 'image', 'claim', { kind: 'InClusterIPPool', name: 'pool' });
      expect(await waitForAddress(cp.access, 'image', 'claim', 60_000)).toBe('10.90.0.10');
      // SIGTERM to the controller, not to strace (which would detach and leave it running):
      // setpriv execs node, so the controller is strace's one child.
      expect(controllerPid()).toBeGreaterThan(0);
      process.kill(controllerPid(), 'SIGTERM');
      // strace exits with its tracee's exit code.
      expect(await exit, stderr).toBe(0);
      const log = readFileSync(strace, 'utf8');
      expect(log.length).toBeGreaterThan(0);
      expect(writesIn(log)).toEqual([]);
    }, 120_000);
  },
);
