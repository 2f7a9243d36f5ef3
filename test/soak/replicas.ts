/**
 * Controller replicas as a Deployment with `replicas: 2` runs them: src/main.ts as child processes
 * with leader election on (the real flags, webhooks off), each restarted when it dies, as the
 * kubelet restarts a container. The leader is whichever replica's /metrics says
 * leader_election_master_status 1. Every log goes to a file of its own in `logDir`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../harness/control-plane.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** How long a killed replica stays down before it is started again (the kubelet waits longer). */
const RESTART_DELAY_MS = 1000;
/** A replica that keeps crashing is restarted after 2, 4, 8, … up to 30 s, as CrashLoopBackOff does. */
const CRASH_BACKOFF_MAX_MS = 30_000;

export interface ReplicaOptions {
  kubeconfig: string;
  logDir: string;
  count: number;
  /** The controllers' LOG_LEVEL; `info` logs every allocation and release, for reading a failure. */
  logLevel: string;
}

export interface Replica {
  id: number;
  process: ChildProcess;
  metricsPort: number;
  logFile: string;
  killedOnPurpose: boolean;
}

/** Why a replica ended: killed by the soak, exited after losing its lease (by design), or anything else. */
export type ExitCause = 'killed' | 'leaseLost' | 'crashed';

export interface ReplicaExit {
  replica: number;
  cause: ExitCause;
  code: number | null;
  signal: string | null;
  /** For a crash: the end of its log. */
  logTail?: string;
}

export class Replicas {
  readonly exits: ReplicaExit[] = [];
  private readonly running = new Map<number, Replica>();
  private started = 0;
  private stopping = false;
  private crashesInARow = 0;
  private readonly restarts = new Set<Promise<void>>();
  private readonly killAll = () => this.killNow();

  constructor(private readonly opts: ReplicaOptions) {}

  async start(): Promise<void> {
    process.on('exit', this.killAll);
    for (let i = 0; i < this.opts.count; i++) await this.spawnReplica();
  }

  /** The replica that says it leads, waiting up to `timeoutMs` for one (a lease changes hands in ~15 s). */
  async leader(timeoutMs: number): Promise<Replica | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (!this.stopping) {
      for (const replica of this.running.values()) {
        if ((await this.metric(replica, /^leader_election_master_status\{[^}]*\} (\d+)$/m)) === 1)
          return replica;
      }
      if (Date.now() > deadline) return undefined;
      await sleep(250);
    }
    return undefined;
  }

  /** Kill -9 the leader; a new replica takes its place. False when no replica led in time. */
  async killLeader(timeoutMs: number): Promise<boolean> {
    const leader = await this.leader(timeoutMs);
    if (!leader) return false;
    leader.killedOnPurpose = true;
    leader.process.kill('SIGKILL');
    return true;
  }

  /** Sum of one counter (all label sets) over the replicas running now. */
  async sumOf(metric: string): Promise<number> {
    let sum = 0;
    for (const replica of this.running.values()) {
      const text = await this.metricsText(replica);
      for (const line of text?.split('\n') ?? []) {
        if (line.startsWith(`${metric}{`) || line.startsWith(`${metric} `))
          sum += Number(line.split(' ').pop());
      }
    }
    return sum;
  }

  /** SIGTERM, as a rollout stops pods; SIGKILL whatever is still running after 10 s. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.restarts);
    const exits = [...this.running.values()].map(async (replica) => {
      if (replica.process.exitCode !== null || replica.process.signalCode !== null) return;
      const exited = new Promise((resolve) => replica.process.once('exit', resolve));
      replica.killedOnPurpose = true;
      replica.process.kill('SIGTERM');
      if (!(await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]))) {
        replica.process.kill('SIGKILL');
        await exited;
      }
    });
    await Promise.all(exits);
    this.running.clear();
    process.off('exit', this.killAll);
  }

  /** Synchronous last resort for exit handlers. */
  killNow(): void {
    this.stopping = true;
    for (const replica of this.running.values()) {
      if (replica.process.exitCode === null && replica.process.signalCode === null) {
        replica.killedOnPurpose = true;
        replica.process.kill('SIGKILL');
      }
    }
  }

  private async spawnReplica(): Promise<void> {
    const id = ++this.started;
    const [healthPort, metricsPort] = [await freePort(), await freePort()];
    const logFile = join(this.opts.logDir, `replica-${id}.log`);
    const log = openSync(logFile, 'a');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'src/main.ts'),
        `--kubeconfig=${this.opts.kubeconfig}`,
        '--leader-elect=true',
        '--leader-election-namespace=default',
        `--health-probe-bind-address=127.0.0.1:${healthPort}`,
        `--diagnostics-address=127.0.0.1:${metricsPort}`,
        '--insecure-diagnostics',
        '--webhook-port=0',
      ],
      { cwd: root, stdio: ['ignore', log, log], env: { ...process.env, LOG_LEVEL: this.opts.logLevel } },
    );
    closeSync(log);
    const replica: Replica = { id, process: child, metricsPort, logFile, killedOnPurpose: false };
    this.running.set(id, replica);
    child.once('exit', (code, signal) => this.onExit(replica, code, signal));
  }

  private onExit(replica: Replica, code: number | null, signal: string | null): void {
    this.running.delete(replica.id);
    const log = readTail(replica.logFile);
    const cause: ExitCause = replica.killedOnPurpose
      ? 'killed'
      : code === 1 && log.includes('leader election lost')
        ? 'leaseLost'
        : 'crashed';
    this.exits.push({
      replica: replica.id,
      cause,
      code,
      signal,
      ...(cause === 'crashed' ? { logTail: log } : {}),
    });
    if (this.stopping) return;
    this.crashesInARow = cause === 'crashed' ? this.crashesInARow + 1 : 0;
    const delay = Math.min(RESTART_DELAY_MS * 2 ** this.crashesInARow, CRASH_BACKOFF_MAX_MS);
    const restart = sleep(delay)
      .then(() => (this.stopping ? undefined : this.spawnReplica()))
      .finally(() => this.restarts.delete(restart));
    this.restarts.add(restart);
  }

  private async metricsText(replica: Replica): Promise<string | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${replica.metricsPort}/metrics`, {
        signal: AbortSignal.timeout(2000),
      });
      return res.ok ? await res.text() : undefined;
    } catch {
      return undefined;
    }
  }

  private async metric(replica: Replica, line: RegExp): Promise<number | undefined> {
    const m = line.exec((await this.metricsText(replica)) ?? '');
    return m ? Number(m[1]) : undefined;
  }
}

function readTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-6).join('\n');
  } catch {
    return '(no log)';
  }
}
