import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterAccess, type ClusterInfo } from './access.js';
import { type ControlPlaneBinaries, ensureBinaries } from './binaries.js';
import { type ConversionTarget, installCustomResourceDefinitions } from './crds.js';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  createServiceAccountKeys,
  issueCertificate,
} from './pki.js';

export interface ControlPlaneOptions {
  /** Also run kube-controller-manager (garbage collector + namespace controller). */
  controllerManager?: boolean;
  /** Extra kube-apiserver flags, e.g. ['--watch-cache=false']. */
  apiServerArgs?: string[];
  /** CRD manifests (files or directories of *.yaml) installed once the API server is ready. */
  crds?: string[];
  /** Where the CRDs' conversion webhook is served; without it conversion is strategy None. */
  conversion?: ConversionTarget;
  /** Print component logs to stderr while they run (for the demo and debugging). */
  verbose?: boolean;
}

/** Picks a free 127.0.0.1 port by letting the kernel choose one and releasing it. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

interface Component {
  name: string;
  process: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
}

// Every live control plane of this process, so that Ctrl-C, SIGTERM or a crash still stops the
// child processes and removes their directories.
const live = new Set<ControlPlane>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const cp of live) cp.killNow();
  });
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      const code = 128 + (constants.signals[signal] ?? 0);
      if (stopping) {
        // A second signal while stopping (Ctrl-C twice, a supervisor's timeout): stop waiting. Dying
        // of it instead would skip the exit hook and leave etcd running.
        for (const cp of live) cp.killNow();
        process.exit(code);
      }
      stopping = true;
      // Stop gracefully (etcd flushes, the API server closes watches), but never hang on it.
      const stops = [...live].map((cp) => cp.stop().catch(() => cp.killNow()));
      void Promise.race([Promise.all(stops), sleep(10_000)]).finally(() => {
        for (const cp of live) cp.killNow();
        process.exit(code);
      });
    });
  }
}

/**
 * etcd + kube-apiserver (+ kube-controller-manager on request) on free loopback ports with
 * client-certificate auth, in one temporary directory that stop() removes.
 */
export class ControlPlane {
  readonly dir: string;
  readonly access: ClusterAccess;
  private readonly components = new Map<string, Component>();
  private apiServerArgs: string[] = [];
  private etcdArgs: string[] = [];
  private stopped = false;
  private clusterCa: CertificateAuthority | undefined;
  private users = 0;

  private constructor(
    readonly binaries: ControlPlaneBinaries,
    readonly info: ClusterInfo,
    dir: string,
    private readonly options: ControlPlaneOptions,
    readonly etcdUrl: string,
  ) {
    this.dir = dir;
    this.access = new ClusterAccess(info);
  }

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await ControlPlane.startOnce(options);
      } catch (err) {
        // Ports are picked free and released before etcd or the API server binds them; on a busy
        // machine another process can take one in between. A fresh start gets fresh ports.
        if (attempt >= 3 || !/address already in use/.test((err as Error).message)) throw err;
      }
    }
  }

  private static async startOnce(options: ControlPlaneOptions): Promise<ControlPlane> {
    const binaries = await ensureBinaries();
    installExitHooks();
    const dir = mkdtempSync(join(tmpdir(), 'ipam-control-plane-'));
    let cp: ControlPlane | undefined;
    try {
      const pki = join(dir, 'pki');
      await mkdir(pki);
      const ca = await createCertificateAuthority(pki);
      const serving = await issueCertificate(pki, ca, {
        name: 'apiserver',
        commonName: 'kube-apiserver',
        altNames: ['DNS:localhost', 'IP:127.0.0.1'],
        usage: 'server',
      });
      const admin = await issueCertificate(pki, ca, {
        name: 'admin',
        commonName: 'admin',
        organization: 'system:masters',
        usage: 'client',
      });
      const sa = await createServiceAccountKeys(pki);
      const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
      const server = `https://127.0.0.1:${apiPort}`;
      const kubeconfigPath = join(dir, 'kubeconfig');
      await writeFile(kubeconfigPath, kubeconfig(server, ca.certPem, admin.certPem, admin.keyPem), {
        mode: 0o600,
      });
      const etcdUrl = `http://127.0.0.1:${etcdPort}`;
      cp = new ControlPlane(
        binaries,
        {
          server,
          kubeconfigPath,
          caPem: ca.certPem,
          clientCertPem: admin.certPem,
          clientKeyPem: admin.keyPem,
          kubectlPath: binaries.kubectl,
        },
        dir,
        options,
        etcdUrl,
      );
      live.add(cp);
      cp.clusterCa = ca;
      cp.etcdArgs = [
        '--name=default',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ];
      cp.apiServerArgs = [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        '--endpoint-reconciler-type=none',
        `--secure-port=${apiPort}`,
        `--cert-dir=${pki}`,
        `--tls-cert-file=${serving.certFile}`,
        `--tls-private-key-file=${serving.keyFile}`,
        `--client-ca-file=${ca.certFile}`,
        `--service-account-issuer=${server}/`,
        `--service-account-key-file=${sa.publicKeyFile}`,
        `--service-account-signing-key-file=${sa.keyFile}`,
        // Room for the Service tests' thousand Services, and dual-stack Services.
        '--service-cluster-ip-range=10.96.0.0/16,fd00:10:96::/108',
        '--authorization-mode=RBAC',
        '--allow-privileged=true',
        '--disable-admission-plugins=ServiceAccount',
        ...(options.apiServerArgs ?? []),
      ];
      await cp.startEtcd();
      await cp.startApiServer();
      // CRDs first: the garbage collector learns resources at start and only rediscovers every 30 s.
      if (options.crds?.length) await cp.installCRDs(options.crds, options.conversion);
      if (options.controllerManager) await cp.startControllerManager();
      return cp;
    } catch (err) {
      if (cp) await cp.stop();
      else rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * A kubeconfig for `user` (and one group) with a client certificate of this cluster's CA: for
   * tests that run something with only the rights RBAC gives that user, not system:masters.
   */
  async kubeconfigFor(user: string, group?: string): Promise<string> {
    if (!this.clusterCa) throw new Error('the control plane has no CA');
    const n = ++this.users;
    const cert = await issueCertificate(join(this.dir, 'pki'), this.clusterCa, {
      name: `user-${n}`,
      commonName: user,
      ...(group ? { organization: group } : {}),
      usage: 'client',
    });
    const path = join(this.dir, `kubeconfig-user-${n}`);
    await writeFile(path, kubeconfig(this.info.server, this.info.caPem, cert.certPem, cert.keyPem), {
      mode: 0o600,
    });
    return path;
  }

  get kubeconfigPath(): string {
    return this.info.kubeconfigPath;
  }

  async installCRDs(paths: string[], conversion?: ConversionTarget): Promise<string[]> {
    return installCustomResourceDefinitions(this.access, paths, conversion);
  }

  async startEtcd(): Promise<void> {
    this.spawnComponent('etcd', this.binaries.etcd, this.etcdArgs);
    await this.waitFor('etcd', async () => {
      const res = await fetch(`${this.etcdUrl}/health`);
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    });
  }

  async stopEtcd(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.stopComponent('etcd', signal);
  }

  async startApiServer(): Promise<void> {
    this.spawnComponent('kube-apiserver', this.binaries.kubeApiServer, this.apiServerArgs);
    await this.waitFor('kube-apiserver', async () => {
      const ready = await this.access.request('GET', '/readyz', undefined, { timeoutMs: 2000 });
      if (ready.status !== 200) return false;
      const ns = await this.access.request('GET', '/api/v1/namespaces/default', undefined, {
        timeoutMs: 2000,
      });
      return ns.status === 200;
    });
  }

  /** Stops the API server; SIGKILL simulates a crash. Data stays in etcd. */
  async stopApiServer(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.stopComponent('kube-apiserver', signal);
  }

  /** Stops and starts the API server on the same port, certificates and etcd data. */
  async restartApiServer(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.stopApiServer(signal);
    await this.startApiServer();
  }

  async startControllerManager(): Promise<void> {
    const bin = this.binaries.kubeControllerManager;
    if (!bin) throw new Error('kube-controller-manager binary is not available');
    this.spawnComponent('kube-controller-manager', bin, [
      `--kubeconfig=${this.info.kubeconfigPath}`,
      '--controllers=garbagecollector,namespace',
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      '--secure-port=0',
    ]);
    // It has no health endpoint without a secure port; a short settle is all we can observe from
    // outside, so tests that need GC wait on its effect instead.
    await sleep(200);
    const c = this.components.get('kube-controller-manager');
    if (c && c.process.exitCode !== null)
      throw new Error(`kube-controller-manager exited:\n${this.logTail(c)}`);
  }

  /**
   * Compacts etcd's history up to its current revision: any watch from an older resourceVersion
   * then gets 410 Gone (start the API server with --watch-cache=false to see it on every resource).
   */
  async compactEtcd(): Promise<number> {
    const range = await fetch(`${this.etcdUrl}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: Buffer.from('/').toString('base64') }),
    });
    const revision = Number(((await range.json()) as { header: { revision: string } }).header.revision);
    const res = await fetch(`${this.etcdUrl}/v3/kv/compaction`, {
      method: 'POST',
      body: JSON.stringify({ revision: String(revision), physical: true }),
    });
    if (!res.ok) throw new Error(`etcd compaction failed: ${res.status} ${await res.text()}`);
    return revision;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const name of ['kube-controller-manager', 'kube-apiserver', 'etcd']) {
      await this.stopComponent(name, 'SIGTERM');
    }
    this.access.close();
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  /** Process ids of the running components (for tests that prove nothing is left behind). */
  pids(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, c] of this.components) if (c.process.pid !== undefined) out[name] = c.process.pid;
    return out;
  }

  /** Synchronous last resort for exit and signal handlers. */
  killNow(): void {
    for (const c of this.components.values()) {
      if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGKILL');
    }
    this.components.clear();
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  private spawnComponent(name: string, bin: string, args: string[]): void {
    if (this.components.has(name)) throw new Error(`${name} is already running`);
    const logFile = join(this.dir, `${name}.log`);
    const log = createWriteStream(logFile, { flags: 'a' });
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: this.dir });
    proc.stdout?.pipe(log, { end: false });
    proc.stderr?.pipe(log, { end: false });
    if (this.options.verbose) proc.stderr?.pipe(process.stderr, { end: false });
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    this.components.set(name, { name, process: proc, logFile, exited });
  }

  private async stopComponent(name: string, signal: NodeJS.Signals): Promise<void> {
    const c = this.components.get(name);
    if (!c) return;
    this.components.delete(name);
    if (c.process.exitCode !== null || c.process.signalCode !== null) return;
    c.process.kill(signal);
    const killed = await Promise.race([c.exited.then(() => true), sleep(5000).then(() => false)]);
    if (!killed) {
      c.process.kill('SIGKILL');
      await c.exited;
    }
  }

  private async waitFor(name: string, ready: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const c = this.components.get(name);
    if (!c) throw new Error(`${name} is not running`);
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    while (Date.now() < deadline) {
      if (c.process.exitCode !== null || c.process.signalCode !== null) {
        this.components.delete(name);
        throw new Error(
          `${name} exited with ${c.process.exitCode ?? c.process.signalCode}:\n${this.logTail(c)}`,
        );
      }
      try {
        if (await ready()) return;
      } catch (err) {
        lastError = (err as Error).message;
      }
      await sleep(100);
    }
    throw new Error(`${name} not ready after ${timeoutMs} ms (${lastError}):\n${this.logTail(c)}`);
  }

  private logTail(c: Component): string {
    try {
      return readFileSync(c.logFile, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

function kubeconfig(server: string, caPem: string, certPem: string, keyPem: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(caPem)}
users:
- name: admin
  user:
    client-certificate-data: ${b64(certPem)}
    client-key-data: ${b64(keyPem)}
contexts:
- name: local
  context:
    cluster: local
    user: admin
current-context: local
`;
}
