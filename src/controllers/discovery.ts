/**
 * What the cluster serves: which Cluster API version the claims come in, whether Clusters exist,
 * and which of our pool kinds have CRDs. Asked at start-up, and for Clusters again later while they
 * are not served: Cluster API may be installed after us.
 *
 * "Not served" is only ever a 404 from discovery. Any other failure (5xx, a timeout, no connection)
 * says nothing about what is served: it is asked again, never taken for an answer.
 */
import type { Logger } from 'pino';
import {
  CAPI_VERSION_V1BETA1,
  CAPI_VERSION_V1BETA2,
  CLUSTER_GROUP,
  IPAM_GROUP,
  POOL_KINDS,
  POOL_VERSION_V1ALPHA2,
  type PoolKind,
  PREFIX_POOL_KINDS,
} from '../api/constants.js';
import { Backoff, type KubeClient, sleep } from '../kube/index.js';
import { poolResource } from './inclusterippool.js';

/** The versions of Cluster API's kinds we read, newest first. */
export const CAPI_VERSIONS = [CAPI_VERSION_V1BETA2, CAPI_VERSION_V1BETA1] as const;

export interface ServedKinds {
  /** The version the claims and IPAddresses are served in. */
  claimVersion: string;
  /** The version Clusters are served in; undefined when Cluster API's Cluster kind is not served. */
  clusterVersion: string | undefined;
  poolKinds: PoolKind[];
}

/** What the manager caches, asked at its start; rejects when the claims or IP pools are not served. */
export async function discoverServedKinds(
  client: KubeClient,
  log: Logger,
  signal: AbortSignal,
): Promise<ServedKinds> {
  const ask = (group: string, plural: string) =>
    untilAnswered(
      { group, resource: plural },
      () => servedVersion(client, group, plural, CAPI_VERSIONS),
      log,
      signal,
    );
  const claimVersion = await ask(IPAM_GROUP, 'ipaddressclaims');
  if (!claimVersion) throw new Error(`${IPAM_GROUP} IPAddressClaim is not served: install Cluster API first`);
  const clusterVersion = await ask(CLUSTER_GROUP, 'clusters');
  log.info({ claimVersion, clusterVersion }, 'discovered Cluster API versions');
  return { claimVersion, clusterVersion, poolKinds: await servedPoolKinds(client, log, signal) };
}

/** The first of `versions` in which `group` serves `plural`; undefined when none does (404s). Throws on a failed request. */
export async function servedVersion(
  client: KubeClient,
  group: string,
  plural: string,
  versions: readonly string[],
): Promise<string | undefined> {
  for (const v of versions) {
    const list = await client.discover(group, v);
    if (list?.resources.some((r) => r.name === plural)) return v;
  }
  return undefined;
}

/**
 * Asks until discovery answers: a failed request is retried after 0.5 s doubling to 30 s, as the
 * informers retry a list. Rejects (with the signal's reason) only when `signal` aborts.
 */
export async function untilAnswered<T>(
  /** Log keys naming what is asked (group, version, resource). */
  what: Record<string, string>,
  ask: () => Promise<T>,
  log: Logger,
  signal: AbortSignal,
): Promise<T> {
  const backoff = new Backoff();
  for (;;) {
    signal.throwIfAborted();
    try {
      return await ask();
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const delay = backoff.next();
      log.warn({ ...what, err: String(err), retryInMs: Math.round(delay) }, 'discovery failed, retrying');
      await sleep(delay, signal);
    }
  }
}

/**
 * The pool kinds this cluster serves. The prefix pools came later than the IP pools: an install
 * whose CRDs predate them (the image swapped on an older release) would otherwise list a resource
 * that does not exist, retry forever and never sync. Without the IP pools nothing can work. A
 * discovery request that fails is asked again until `signal` aborts.
 */
export async function servedPoolKinds(
  client: KubeClient,
  log: Logger,
  signal: AbortSignal,
): Promise<PoolKind[]> {
  const what = { group: IPAM_GROUP, version: POOL_VERSION_V1ALPHA2 };
  const list = await untilAnswered(
    what,
    () => client.discover(IPAM_GROUP, POOL_VERSION_V1ALPHA2),
    log,
    signal,
  );
  const served = new Set(list?.resources.map((r) => r.name) ?? []);
  const kinds = POOL_KINDS.filter((k) => served.has(poolResource(k).plural));
  const missing = POOL_KINDS.filter((k) => !kinds.includes(k));
  const required = missing.filter((k) => !(PREFIX_POOL_KINDS as readonly string[]).includes(k));
  if (required.length > 0)
    throw new Error(
      `${required.join(', ')} ${IPAM_GROUP}/${POOL_VERSION_V1ALPHA2} not served: install the provider's CRDs`,
    );
  for (const kind of missing)
    log.warn(
      { kind },
      `${kind} is not served (no CRD); claims of it wait as PoolNotFound until a restart after it is installed`,
    );
  return kinds;
}

/** However many claims ask, discovery is asked at most this often on their behalf. */
const PROMPT_GAP_MS = 2_000;

export interface KindWatchOptions {
  client: KubeClient;
  log: Logger;
  group: string;
  plural: string;
  versions: readonly string[];
  /** The first wait between looks; it doubles (jittered) up to `maxIntervalMs`. */
  intervalMs: number;
  maxIntervalMs: number;
  signal: AbortSignal;
  /** The kind is served now, in `version`. Called once; then the watch ends. */
  onServed(version: string): void;
}

/**
 * Looks for a kind that was not served at start-up until it is: one discovery request per look
 * (one per version tried), every 10–30 s by default, and sooner when prompted — a claim naming a
 * Cluster suggests Cluster API was just installed. Nothing is asked per claim beyond that.
 */
export class KindWatch {
  private readonly backoff: Backoff;
  private timer: NodeJS.Timeout | undefined;
  private dueAt = Number.POSITIVE_INFINITY;
  private lastLook = 0;
  private looking = false;
  /** Prompted while a look was under way: its answer may predate what prompted us. */
  private promptedWhileLooking = false;
  private done = false;

  constructor(private readonly opts: KindWatchOptions) {
    this.backoff = new Backoff({ initialMs: opts.intervalMs, maxMs: opts.maxIntervalMs, jitter: 0.2 });
    opts.signal.addEventListener('abort', () => this.stop(), { once: true });
    if (!opts.signal.aborted) this.schedule(this.backoff.next());
  }

  /** Look soon: at once, unless a look started less than 2 s ago. */
  prompt(): void {
    if (this.done) return;
    if (this.looking) {
      this.promptedWhileLooking = true;
      return;
    }
    const wait = Math.max(0, this.lastLook + PROMPT_GAP_MS - Date.now());
    if (Date.now() + wait < this.dueAt) this.schedule(wait);
  }

  stop(): void {
    this.done = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.dueAt = Date.now() + ms;
    this.timer = setTimeout(() => void this.look(), ms);
    // A process that is otherwise done must not wait for the next look.
    this.timer.unref();
  }

  private async look(): Promise<void> {
    const { client, log, group, plural, versions } = this.opts;
    this.dueAt = Number.POSITIVE_INFINITY;
    this.looking = true;
    this.promptedWhileLooking = false;
    this.lastLook = Date.now();
    let version: string | undefined;
    try {
      version = await servedVersion(client, group, plural, versions);
    } catch (err) {
      log.warn({ group, resource: plural, err: String(err) }, 'discovery failed, asking again later');
    } finally {
      this.looking = false;
    }
    if (this.done) return;
    if (version) {
      this.done = true;
      this.opts.onServed(version);
      return;
    }
    this.schedule(this.promptedWhileLooking ? PROMPT_GAP_MS : this.backoff.next());
  }
}
