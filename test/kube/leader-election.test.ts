import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import {
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  LeaderElector,
  type Lease,
  leaseResource,
} from '../../src/kube/leader-election.js';
import { uniqueName, useNamespace } from '../harness/namespace.js';
import { waitFor } from '../harness/wait.js';
import { clientFor, TcpProxy } from './helpers.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/elector.ts');

interface Happening {
  event: 'started' | 'stopped' | 'exit';
  identity: string;
  at: number;
  reason?: string;
  outcome?: string;
}

/** An elector in a child process; its printed happenings are collected as they come. */
class ElectorProcess {
  readonly happenings: Happening[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<void>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffered = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        this.happenings.push(JSON.parse(buffered.slice(0, nl)) as Happening);
        buffered = buffered.slice(nl + 1);
      }
    });
    this.exited = new Promise((resolve) => this.child.on('exit', () => resolve()));
  }

  started(): Happening | undefined {
    return this.happenings.find((h) => h.event === 'started');
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

const ms = (time: string | undefined) => (time ? Date.parse(time) : Number.NaN);

describe('Lease leader election', () => {
  const ns = useNamespace('kube-leader');
  const info = inject('cluster');
  let client: KubeClient;
  const processes: ElectorProcess[] = [];

  beforeAll(() => {
    client = clientFor(info);
  });

  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.kill()));
  });

  afterAll(async () => {
    await client.close();
  });

  const readLease = (name: string) => client.get<Lease>(leaseResource, name, ns.name);

  it('uses controller-runtime’s timings unless told otherwise', () => {
    expect([DEFAULT_LEASE_DURATION_MS, DEFAULT_RENEW_DEADLINE_MS, DEFAULT_RETRY_PERIOD_MS]).toEqual([
      15_000, 10_000, 2_000,
    ]);
    const elector = new LeaderElector({ client, namespace: ns.name, name: 'defaults' });
    expect(elector.identity).toMatch(/_[0-9a-f-]{36}$/);
    expect(
      () =>
        new LeaderElector({
          client,
          namespace: 'x',
          name: 'y',
          leaseDurationMs: 5000,
          renewDeadlineMs: 5000,
        }),
    ).toThrow();
  });

  it('lets exactly one of two replicas lead, and the other take over within the lease duration when it is killed', async () => {
    const lease = uniqueName('two');
    const [leaseMs, renewMs, retryMs] = [3000, 2000, 500];
    const args = (id: string) => [
      info.kubeconfigPath,
      ns.name,
      lease,
      id,
      `${leaseMs}`,
      `${renewMs}`,
      `${retryMs}`,
    ];
    const a = new ElectorProcess(args('replica-a'));
    const b = new ElectorProcess(args('replica-b'));
    processes.push(a, b);

    const first = await waitFor('a leader', () => a.started() ?? b.started());
    const [leader, follower] = first.identity === 'replica-a' ? [a, b] : [b, a];
    // Let the leader renew for longer than a lease lasts: the follower must keep waiting.
    await waitFor('the leader to hold the lease past one lease duration', async () => {
      const l = await readLease(lease);
      return ms(l.spec?.renewTime) - ms(l.spec?.acquireTime) > leaseMs + retryMs;
    });
    expect(follower.started()).toBeUndefined();

    await leader.kill();
    const killedAt = Date.now();
    const lastRenew = ms((await readLease(lease)).spec?.renewTime);
    const takeover = await waitFor('the follower to take over', () => follower.started(), {
      timeoutMs: 30_000,
    });
    const after = await readLease(lease);
    expect(after.spec?.holderIdentity).toBe(follower === a ? 'replica-a' : 'replica-b');
    expect(after.spec?.leaseTransitions).toBe(1);
    expect(takeover.at).toBeGreaterThan(killedAt);
    const acquired = ms(after.spec?.acquireTime);
    process.stderr.write(
      `leader election: took over ${acquired - lastRenew} ms after the last renewal (lease ${leaseMs} ms)\n`,
    );
    // Safe: not before the killed leader's last renewal has expired.
    expect(acquired - lastRenew).toBeGreaterThanOrEqual(leaseMs);
    // Live: within the lease duration, plus the retry periods it takes to notice (with jitter).
    expect(acquired - lastRenew).toBeLessThanOrEqual(leaseMs + 3 * retryMs);
  });

  it('stops leading at once when another replica takes the lease', async () => {
    const name = uniqueName('stolen');
    const elector = new LeaderElector({
      client,
      namespace: ns.name,
      name,
      identity: 'victim',
      leaseDurationMs: 3000,
      renewDeadlineMs: 2000,
      retryPeriodMs: 200,
    });
    let leadership: AbortSignal | undefined;
    const stopped: string[] = [];
    const outcome = elector.run(
      {
        onStartedLeading: (signal) => {
          leadership = signal;
        },
        onStoppedLeading: (reason) => stopped.push(reason),
      },
      new AbortController().signal,
    );
    await waitFor('leading', () => elector.isLeader());
    const lease = await readLease(name);
    const now = new Date().toISOString().replace('Z', '000Z');
    await client.update<Lease>(leaseResource, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: 'intruder', renewTime: now, acquireTime: now },
    });
    expect(await outcome).toBe('lost');
    expect(stopped).toEqual(['lost']);
    expect(leadership?.aborted).toBe(true);
    expect(elector.isLeader()).toBe(false);
  });

  it('gives up leading before its lease can expire when it cannot reach the API server', async () => {
    const proxy = await TcpProxy.start(info.server);
    const viaProxy = clientFor(info, { server: proxy.url });
    try {
      const name = uniqueName('cut-off');
      const leaseMs = 3000;
      const elector = new LeaderElector({
        client: viaProxy,
        namespace: ns.name,
        name,
        identity: 'cut-off',
        leaseDurationMs: leaseMs,
        renewDeadlineMs: 2000,
        retryPeriodMs: 300,
      });
      const outcome = elector.run({ onStartedLeading: () => {} }, new AbortController().signal);
      await waitFor('leading', () => elector.isLeader());
      proxy.freeze({ newConnections: true });
      expect(await outcome).toBe('lost');
      const gaveUpAt = Date.now();
      const lease = await readLease(name);
      expect(lease.spec?.holderIdentity).toBe('cut-off');
      // Nobody else may lead before the lease expires; we stopped before that moment.
      expect(gaveUpAt).toBeLessThan(ms(lease.spec?.renewTime) + leaseMs);
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
  });

  it('releases the lease on a clean shutdown, so a successor need not wait for it to expire', async () => {
    const name = uniqueName('handover');
    const leaseMs = 10_000;
    const make = (identity: string) =>
      new LeaderElector({
        client,
        namespace: ns.name,
        name,
        identity,
        leaseDurationMs: leaseMs,
        renewDeadlineMs: 5000,
        retryPeriodMs: 300,
      });
    const first = make('first');
    const second = make('second');
    const stopFirst = new AbortController();
    const stopSecond = new AbortController();
    const firstOutcome = first.run({ onStartedLeading: () => {} }, stopFirst.signal);
    await waitFor('first leads', () => first.isLeader());
    const secondOutcome = second.run({ onStartedLeading: () => {} }, stopSecond.signal);

    stopFirst.abort();
    expect(await firstOutcome).toBe('released');
    const released = await readLease(name);
    expect(released.spec?.holderIdentity ?? '').toBe('');
    await waitFor('second leads', () => second.isLeader());
    const taken = await readLease(name);
    expect(taken.spec?.holderIdentity).toBe('second');
    expect(ms(taken.spec?.acquireTime) - ms(released.spec?.renewTime)).toBeLessThan(leaseMs);

    stopSecond.abort();
    expect(await secondOutcome).toBe('released');
  });
});
