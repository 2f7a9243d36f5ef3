import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { sleep } from './backoff.js';
import type { KubeClient } from './client.js';
import { isAlreadyExists, isConflict, isNotFound } from './errors.js';
import { type Logger, silentLogger } from './logger.js';
import type { KubeObject, ResourceDescriptor } from './resource.js';

export const leaseResource: ResourceDescriptor = {
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  namespaced: true,
  kind: 'Lease',
};

export interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** controller-runtime's defaults. */
export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  /** The Lease's name, e.g. 'ipam-in-cluster-leader'. */
  name: string;
  /** Unique per replica; default hostname_uuid like controller-runtime. */
  identity?: string;
  /** How long others wait after the last renewal they saw before taking over. Whole seconds. */
  leaseDurationMs?: number;
  /** The leader gives up if it could not renew for this long; must be below the lease duration. */
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger?: Logger;
}

export interface LeaderCallbacks {
  /** Leadership begins; `signal` aborts the moment it ends. */
  onStartedLeading(signal: AbortSignal): void;
  /**
   * Leadership ended: 'lost' (another holder, or no renewal within the deadline — exit now, like
   * controller-runtime, since another replica may already be leading) or 'released' (clean stop).
   */
  onStoppedLeading?(reason: 'lost' | 'released'): void;
  /** Someone (maybe us) was seen holding the lease. */
  onNewLeader?(identity: string): void;
}

export type ElectionOutcome = 'lost' | 'released' | 'stopped';

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Lease-based leader election, the same protocol as client-go's, so our replicas interoperate
 * with each other and with tools that read the Lease. Expiry is judged by the local time at
 * which we last saw the record change, never by comparing our clock with the holder's.
 */
export class LeaderElector {
  readonly identity: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly log: Logger;
  private observed: { record: string; at: number; holder: string; lease?: Lease } = {
    record: '',
    at: 0,
    holder: '',
  };
  private leading = false;

  constructor(private readonly opts: LeaderElectionOptions) {
    this.identity = opts.identity ?? `${hostname()}_${randomUUID()}`;
    this.leaseDurationMs = opts.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
    this.retryPeriodMs = opts.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
    if (this.renewDeadlineMs >= this.leaseDurationMs)
      throw new Error('renew deadline must be below the lease duration');
    if (this.retryPeriodMs >= this.renewDeadlineMs)
      throw new Error('retry period must be below the renew deadline');
    this.log = opts.logger ?? silentLogger;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until leading, then renews until the lease is lost or `signal` aborts (then the
   * lease is released so a successor need not wait for it to expire).
   */
  async run(callbacks: LeaderCallbacks, signal: AbortSignal): Promise<ElectionOutcome> {
    const ctx = { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.identity };
    while (!(await this.tryAcquireOrRenew(signal, callbacks))) {
      if (!(await sleep(this.retryPeriodMs * (1 + 0.2 * Math.random()), signal))) return 'stopped';
    }
    this.leading = true;
    const leadership = new AbortController();
    this.log.info(ctx, 'became leader');
    callbacks.onStartedLeading(leadership.signal);
    let lastRenew = Date.now();
    for (;;) {
      if (!(await sleep(this.retryPeriodMs, signal))) break;
      const deadline = lastRenew + this.renewDeadlineMs;
      const attempt = AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, deadline - Date.now()))]);
      const renewed = await this.tryAcquireOrRenew(attempt, callbacks);
      if (signal.aborted) break;
      if (renewed) {
        lastRenew = Date.now();
        continue;
      }
      // Someone else holds it, or we could not renew in time: stop before they may start.
      if (this.observed.holder !== this.identity || Date.now() >= deadline) {
        this.leading = false;
        leadership.abort();
        this.log.error(ctx, 'leader election lost');
        callbacks.onStoppedLeading?.('lost');
        return 'lost';
      }
    }
    this.leading = false;
    leadership.abort();
    await this.release();
    this.log.info(ctx, 'released leadership');
    callbacks.onStoppedLeading?.('released');
    return 'released';
  }

  private async tryAcquireOrRenew(signal: AbortSignal, callbacks: LeaderCallbacks): Promise<boolean> {
    const { client, namespace, name } = this.opts;
    const durationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    try {
      let lease: Lease;
      try {
        lease = await client.get<Lease>(leaseResource, name, namespace, signal);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        const now = Date.now();
        const created = await client.create<Lease>(
          leaseResource,
          {
            metadata: { name, namespace },
            spec: {
              holderIdentity: this.identity,
              leaseDurationSeconds: durationSeconds,
              acquireTime: microTime(now),
              renewTime: microTime(now),
              leaseTransitions: 0,
            },
          },
          { signal },
        );
        this.observe(created, Date.now(), callbacks);
        return true;
      }
      const now = Date.now();
      this.observe(lease, now, callbacks);
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const heldByOther = holder !== '' && holder !== this.identity;
      const expiresAt = this.observed.at + (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (heldByOther && now < expiresAt) return false;
      const ours = holder === this.identity;
      const updated = await client.update<Lease>(
        leaseResource,
        {
          ...lease,
          spec: {
            holderIdentity: this.identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: ours && spec.acquireTime ? spec.acquireTime : microTime(now),
            renewTime: microTime(now),
            leaseTransitions: (spec.leaseTransitions ?? 0) + (ours ? 0 : 1),
          },
        },
        { signal },
      );
      this.observe(updated, Date.now(), callbacks);
      return true;
    } catch (err) {
      // Conflict/AlreadyExists: another replica wrote first; it will be seen on the next try.
      if (!isConflict(err) && !isAlreadyExists(err) && !signal.aborted) {
        this.log.warn({ lease: `${namespace}/${name}`, err: String(err) }, 'leader election request failed');
      }
      return false;
    }
  }

  private observe(lease: Lease, at: number, callbacks: LeaderCallbacks): void {
    const record = JSON.stringify(lease.spec ?? {});
    if (record === this.observed.record) {
      this.observed.lease = lease; // same record, maybe a newer resourceVersion to write against
      return;
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const changedHolder = holder !== this.observed.holder;
    this.observed = { record, at, holder, lease };
    if (changedHolder && holder) callbacks.onNewLeader?.(holder);
  }

  /** Hands the lease back (empty holder, 1 s duration) so a successor takes over at once. */
  private async release(): Promise<void> {
    const lease = this.observed.lease;
    if (!lease || this.observed.holder !== this.identity) return;
    const now = Date.now();
    try {
      await this.opts.client.update<Lease>(
        leaseResource,
        {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            acquireTime: microTime(now),
            renewTime: microTime(now),
          },
        },
        { signal: AbortSignal.timeout(this.renewDeadlineMs) },
      );
    } catch (err) {
      this.log.warn(
        { lease: `${this.opts.namespace}/${this.opts.name}`, err: String(err) },
        'releasing the lease failed',
      );
    }
  }
}
