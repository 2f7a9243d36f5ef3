/**
 * The controller manager: `node dist/main.js [flags]`. Flags are named as the Go provider's (and
 * Cluster API's), so its Deployment args work unchanged.
 */
import { Manager } from './controllers/manager.js';
import { AccessReviews, KubeClient, LeaderElector } from './kube/index.js';
import { DelegatedAuth } from './observability/delegated-auth.js';
import { FlagError, HelpRequested, levelOf, parseFlags, usage } from './observability/flags.js';
import { HeapStrategy, LARGE_CACHE_OBJECTS } from './observability/heap.js';
import { processLogger } from './observability/log.js';
import { Metrics } from './observability/metrics.js';
import { Profiler } from './observability/profiler.js';
import { startHealthServer, startMetricsServer, startSecureMetricsServer } from './observability/servers.js';
import { tlsSettings } from './webhooks/tls.js';

const LEADER_ELECTION_ID = '7bb7acb4.ipam.cluster.x-k8s.io';

const HEAP_CHECK_MS = 60_000;

async function main(): Promise<number> {
  // First, before the caches fill: see src/observability/heap.ts.
  const heap = new HeapStrategy();
  const flags = parseCommandLine(process.argv.slice(2));
  if (flags === undefined) return 0;
  // `controller` is the reconciler's key (as controller-runtime logs it): the process goes by `logger`.
  const log = processLogger(flags.logLevel);
  const metrics = new Metrics({ defaultMetrics: true });
  let host = '';
  const connectionOptions = {
    observe: (method: string, code: string, seconds: number) => {
      metrics.restRequests.inc({ code, method, host });
      metrics.restLatency.observe({ verb: method, host }, seconds);
    },
  };
  const client = flags.kubeconfig
    ? KubeClient.fromFile(flags.kubeconfig, connectionOptions)
    : KubeClient.fromDefault(connectionOptions);
  host = client.connection.server.host;
  const manager = new Manager({
    client,
    log,
    metrics,
    namespace: flags.namespace,
    watchFilter: flags.watchFilter,
    claimConcurrency: flags.claimConcurrency,
    clusterEndpoints: flags.clusterEndpoints,
    serviceLoadBalancers: { className: flags.serviceLbClass, serveDefault: flags.serviceLbDefault },
    cacheSyncTimeoutMs: cacheSyncTimeoutFromEnvironment(),
    onSynced: () => updateHeap(),
    // A large cache is known from the first pages of its list, before it fills the heap.
    onListProgress: (expected) => {
      if (expected >= LARGE_CACHE_OBJECTS && heap.update(expected))
        log.info({ expectedObjects: expected }, 'large cache: the heap now favours memory');
    },
  });
  const updateHeap = () => {
    const cached = manager.cachedObjects();
    if (heap.update(cached))
      log.info({ cachedObjects: cached, memoryFirst: heap.memoryFirst }, 'heap strategy changed');
  };
  // Clusters grow and shrink: look again now and then.
  setInterval(updateHeap, HEAP_CHECK_MS).unref();
  let elector: LeaderElector | undefined;
  const stopAll = new AbortController();
  const metricsServer = flags.insecureDiagnostics
    ? await startMetricsServer(flags.diagnosticsAddress, metrics)
    : await startSecureMetricsServer(flags.diagnosticsAddress, metrics, {
        auth: new DelegatedAuth(new AccessReviews(client.connection)),
        tls: tlsSettings(flags.tlsMinVersion, flags.tlsCipherSuites, flags.tlsCurvePreferences),
        profiler: new Profiler(),
        setVerbosity: (value) => {
          const v = Number(value);
          if (value === '' || !Number.isInteger(v) || v < 0)
            throw new Error(
              `failed to set the log verbosity: ${JSON.stringify(value)} is not a non-negative integer`,
            );
          log.level = levelOf(v);
          return `successfully set the log verbosity to ${v} (log level ${log.level})`;
        },
        onRefused: (decision, path) => {
          if (decision.status === 500) {
            log.error({ err: String(decision.cause), path }, decision.message);
          } else {
            log.debug({ path, reason: decision.reason }, decision.message);
          }
        },
      });
  const webhooks =
    flags.webhookPort === 0
      ? undefined
      : // Loaded only when served: fastify is ~24 MB of RSS a --webhook-port=0 replica does not need.
        await (await import('./webhooks/server.js')).startWebhookServer({
          port: flags.webhookPort,
          ...(flags.webhookHost ? { host: flags.webhookHost } : {}),
          certDir: flags.webhookCertDir,
          certName: flags.webhookCertName,
          keyName: flags.webhookKeyName,
          tlsMinVersion: flags.tlsMinVersion,
          tlsCurvePreferences: flags.tlsCurvePreferences,
          tlsCipherSuites: flags.tlsCipherSuites,
          view: manager,
          observe: {
            started: (webhook) => metrics.webhookInFlight.inc({ webhook }),
            finished: (webhook, code, seconds) => {
              metrics.webhookInFlight.dec({ webhook });
              metrics.webhookRequests.inc({ webhook, code: String(code) });
              metrics.webhookLatency.observe({ webhook }, seconds);
            },
          },
          onError: (err, path) =>
            log.error({ err: err.message, stack: err.stack, path }, 'webhook handler failed'),
        });
  const health = await startHealthServer(flags.healthProbeBindAddress, {
    // Every replica keeps its caches (a standby's webhooks need them): ready once they synced.
    controller: () => (manager.isSynced() ? undefined : 'caches not synced'),
    ...(webhooks ? { webhooks: () => webhooks.checkServing() } : {}),
  });
  // SIGTERM: stop taking work, finish in-flight writes, then release the lease, then exit 0.
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  const electionStop = new AbortController();
  const shutdown = async (signal: string) => {
    if (stopAll.signal.aborted) return;
    log.info({ signal }, 'shutting down: finishing in-flight work');
    stopAll.abort();
    await manager.stop({ drain: true });
    electionStop.abort();
    stopped();
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  let exitCode = 0;
  // Also how a start whose caches never sync ends: the lease is handed back (a clean stop), so
  // another replica can take over at once, and the exit code tells the kubelet to restart us.
  const fail = (err: unknown) => {
    log.error({ err: (err as Error).message }, 'manager failed');
    exitCode = 1;
    void shutdown('error');
  };
  if (flags.leaderElect) {
    const namespace = flags.leaderElectionNamespace ?? (await inClusterNamespace()) ?? 'default';
    elector = new LeaderElector({ client, namespace, name: LEADER_ELECTION_ID, logger: log });
    metrics.leaderElection.set({ name: LEADER_ELECTION_ID }, 0);
    const outcome = await elector.run(
      {
        onStartedLeading: (signal) => {
          metrics.leaderElection.set({ name: LEADER_ELECTION_ID }, 1);
          manager.lead(AbortSignal.any([signal, stopAll.signal])).catch(fail);
        },
        // Another replica leads: stand by with caches, so that our webhooks can answer. (A replica
        // that leads at once lists after taking the lease, and needs no second list.)
        onNewLeader: (identity) => {
          if (identity !== elector?.identity) manager.startCaches(stopAll.signal).catch(fail);
        },
        onStoppedLeading: (reason) => {
          metrics.leaderElection.set({ name: LEADER_ELECTION_ID }, 0);
          if (reason === 'lost') {
            // Another replica may already allocate: stop at once, like controller-runtime.
            log.error({}, 'leader election lost; exiting');
            process.exit(1);
          }
        },
      },
      electionStop.signal,
    );
    if (outcome === 'lost') exitCode = 1;
  } else {
    manager.start(stopAll.signal).catch(fail);
  }
  await done;
  await webhooks?.close();
  await health.close();
  await metricsServer?.close();
  await client.close();
  log.info({}, 'stopped');
  return exitCode;
}

/** As pflag: usage on stderr, exit 0 for --help and 2 for a command line that cannot run. */
function parseCommandLine(argv: string[]) {
  try {
    return parseFlags(argv);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stderr.write(usage());
      return undefined;
    }
    if (err instanceof FlagError) {
      process.stderr.write(`${err.message}\n${usage()}`);
      process.exit(2);
    }
    throw err;
  }
}

/**
 * controller-runtime's CacheSyncTimeout (2 minutes) has no flag in Cluster API's providers, so none
 * here: IPAM_CACHE_SYNC_TIMEOUT_MS changes it, for tests and for a cluster whose lists take longer.
 */
function cacheSyncTimeoutFromEnvironment(): number | undefined {
  const value = process.env.IPAM_CACHE_SYNC_TIMEOUT_MS;
  if (value === undefined || value === '') return undefined;
  const ms = Number(value);
  if (Number.isInteger(ms) && ms > 0) return ms;
  process.stderr.write(`invalid IPAM_CACHE_SYNC_TIMEOUT_MS ${JSON.stringify(value)}: a positive integer\n`);
  process.exit(2);
}

async function inClusterNamespace(): Promise<string | undefined> {
  try {
    const { readFile } = await import('node:fs/promises');
    return (await readFile('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8')).trim();
  } catch {
    return undefined;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
