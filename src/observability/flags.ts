/**
 * Command-line flags, spelled as the Go provider's and Cluster API's (`--leader-elect`,
 * `--watch-filter`, …) and parsed as Go's pflag does: `--flag=value`, `--flag value`, a bare
 * boolean `--flag` meaning true (`--leader-elect=false` turns it off), the boolean spellings of
 * strconv.ParseBool, `--` ending the flags, and `-h`/`--help` asking for the usage.
 */
export interface Flags {
  kubeconfig?: string;
  leaderElect: boolean;
  leaderElectionNamespace?: string;
  namespace?: string;
  watchFilter?: string;
  healthProbeBindAddress: string;
  webhookPort: number;
  webhookHost?: string;
  webhookCertDir: string;
  webhookCertName: string;
  webhookKeyName: string;
  diagnosticsAddress: string;
  insecureDiagnostics: boolean;
  tlsMinVersion: string;
  tlsCipherSuites?: string;
  tlsCurvePreferences?: string;
  claimConcurrency: number;
  clusterEndpoints: boolean;
  serviceLbClass?: string;
  serviceLbDefault: boolean;
  logLevel: string;
}

/** A command line that cannot be run; main prints it with the usage and exits 2, as pflag does. */
export class FlagError extends Error {}

/** `-h` or `--help`: main prints the usage and exits 0, as pflag does. */
export class HelpRequested extends Error {}

type Kind = 'string' | 'bool' | 'int';
interface FlagSpec {
  field: keyof Flags;
  kind: Kind;
  help: string;
}

const spec: Record<string, FlagSpec> = {
  kubeconfig: {
    field: 'kubeconfig',
    kind: 'string',
    help: 'Path to a kubeconfig. Only required if out-of-cluster.',
  },
  'leader-elect': {
    field: 'leaderElect',
    kind: 'bool',
    help: 'Elect a leader, so that only one replica reconciles at a time (--leader-elect=false for one replica only).',
  },
  'leader-election-namespace': {
    field: 'leaderElectionNamespace',
    kind: 'string',
    help: "Namespace of the leader-election lease (default: the pod's own namespace).",
  },
  namespace: {
    field: 'namespace',
    kind: 'string',
    help: 'Watch and cache namespaced objects of this namespace only (default: all namespaces).',
  },
  'watch-filter': {
    field: 'watchFilter',
    kind: 'string',
    help: 'Reconcile only claims whose cluster.x-k8s.io/watch-filter label has this value.',
  },
  'health-probe-bind-address': {
    field: 'healthProbeBindAddress',
    kind: 'string',
    help: 'Address of /healthz and /readyz ("0" disables them).',
  },
  'webhook-port': {
    field: 'webhookPort',
    kind: 'int',
    help: 'Port of the webhook server (0 disables it).',
  },
  'webhook-host': {
    field: 'webhookHost',
    kind: 'string',
    help: 'Address the webhook server binds (default: every interface of both IP families).',
  },
  'webhook-cert-dir': {
    field: 'webhookCertDir',
    kind: 'string',
    help: "Directory of the webhook server's certificate and key.",
  },
  'webhook-cert-name': {
    field: 'webhookCertName',
    kind: 'string',
    help: "File name of the webhook server's certificate in --webhook-cert-dir.",
  },
  'webhook-key-name': {
    field: 'webhookKeyName',
    kind: 'string',
    help: "File name of the webhook server's key in --webhook-cert-dir.",
  },
  'diagnostics-address': {
    field: 'diagnosticsAddress',
    kind: 'string',
    help: 'Address of /metrics, /debug/flags/v and the profiles under /debug/pprof/: HTTPS behind authentication and authorization, unless --insecure-diagnostics ("0" disables it).',
  },
  'insecure-diagnostics': {
    field: 'insecureDiagnostics',
    kind: 'bool',
    help: 'Serve /metrics over plain HTTP without authentication or authorization.',
  },
  'tls-min-version': {
    field: 'tlsMinVersion',
    kind: 'string',
    help: 'Lowest TLS version served: VersionTLS12 or VersionTLS13.',
  },
  'tls-cipher-suites': {
    field: 'tlsCipherSuites',
    kind: 'string',
    help: 'Comma-separated TLS 1.2 cipher suites, by their IANA names (default: Node.js defaults).',
  },
  'tls-curve-preferences': {
    field: 'tlsCurvePreferences',
    kind: 'string',
    help: 'Comma-separated key-exchange groups, as Go CurveIDs (23, 24, 25, 29, 4588) (default: Node.js defaults).',
  },
  'ipaddressclaim-concurrency': {
    field: 'claimConcurrency',
    kind: 'int',
    help:
      'Number of IPAddressClaims reconciled at the same time, also of one pool (addresses are reserved in memory, so this is safe). ' +
      "The default, 32, comes from bench:e2e: with fewer the API server idles between a claim's requests (a backlog of 5,000 claims took " +
      "~1.3x a plain client's time at 10, ~1.2x at 32).",
  },
  'cluster-endpoints': {
    field: 'clusterEndpoints',
    kind: 'bool',
    help:
      "Give a Cluster annotated with ipam.cluster.x-k8s.io/control-plane-endpoint-pool an IPAddressClaim from that pool and write its address into the Cluster's spec.controlPlaneEndpoint. " +
      '--cluster-endpoints=false turns this off: no such claim is made and no Cluster is ever written.',
  },
  'service-lb-class': {
    field: 'serviceLbClass',
    kind: 'string',
    help:
      'Give Services of type LoadBalancer whose spec.loadBalancerClass is this class an address from a pool, through an IPAddressClaim owned by the Service. ' +
      'Neither this nor --service-lb-default: no Service is watched, and none is ever released for it.',
  },
  'service-lb-default': {
    field: 'serviceLbDefault',
    kind: 'bool',
    help: 'Also give Services of type LoadBalancer without a spec.loadBalancerClass an address from a pool, as kube-vip-cloud-provider and MetalLB do.',
  },
  v: { field: 'logLevel', kind: 'int', help: 'Log verbosity, as klog: 0-1 info, 2-4 debug, 5+ trace.' },
  'log-level': {
    field: 'logLevel',
    kind: 'string',
    help: 'Log level by name (trace, debug, info, warn, error); LOG_LEVEL sets the default.',
  },
};

/** The values Go's strconv.ParseBool takes, which pflag uses for boolean flags. */
const BOOLEANS: Record<string, boolean> = Object.fromEntries([
  ...['1', 't', 'T', 'TRUE', 'true', 'True'].map((s) => [s, true]),
  ...['0', 'f', 'F', 'FALSE', 'false', 'False'].map((s) => [s, false]),
]);

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** klog verbosity → pino level: 0–1 info, 2–4 debug, 5+ trace. */
export function levelOf(v: number): string {
  return v >= 5 ? 'trace' : v >= 2 ? 'debug' : 'info';
}

function defaults(): Flags {
  return {
    leaderElect: true,
    healthProbeBindAddress: ':8081',
    webhookPort: 9443,
    webhookCertDir: '/tmp/k8s-webhook-server/serving-certs',
    webhookCertName: 'tls.crt',
    webhookKeyName: 'tls.key',
    diagnosticsAddress: ':8443',
    insecureDiagnostics: false,
    tlsMinVersion: 'VersionTLS12',
    claimConcurrency: 32,
    clusterEndpoints: true,
    serviceLbDefault: false,
    logLevel: process.env.LOG_LEVEL ?? 'info',
  };
}

/** What `--help` prints: every flag with its type and default, as pflag lays it out. */
export function usage(program = 'manager'): string {
  const d = defaults() as unknown as Record<string, unknown>;
  const rows = Object.entries(spec).map(([name, s]) => {
    const value = name === 'v' ? undefined : d[s.field];
    const left = `      --${name}${s.kind === 'bool' ? '' : ` ${s.kind}`}`;
    const shown =
      value === undefined || value === '' || value === false ? '' : ` (default ${JSON.stringify(value)})`;
    return [left, `${s.help}${s.kind === 'string' ? shown : shown.replace(/"/g, '')}`] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length)) + 3;
  return `Usage of ${program}:\n${rows.map(([l, r]) => `${l.padEnd(width)}${r}\n`).join('')}`;
}

export function parseFlags(argv: readonly string[]): Flags {
  const flags = defaults();
  const out = flags as unknown as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      if (i + 1 < argv.length) throw new FlagError(`unexpected argument "${argv[i + 1]}"`);
      break;
    }
    if (!arg.startsWith('-') || arg === '-') throw new FlagError(`unexpected argument "${arg}"`);
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    if (name === 'h' || name === 'help') throw new HelpRequested('help requested');
    const entry = spec[name];
    if (!entry) throw new FlagError(`unknown flag: --${name}`);
    const { field, kind } = entry;
    let value = eq < 0 ? undefined : body.slice(eq + 1);
    if (value === undefined && kind !== 'bool') {
      value = argv[++i];
      if (value === undefined) throw new FlagError(`flag needs an argument: --${name}`);
    }
    if (kind === 'bool') {
      const b = value === undefined ? true : BOOLEANS[value];
      if (b === undefined)
        throw new FlagError(`invalid argument "${value}" for "--${name}" flag: not a boolean`);
      out[field] = b;
    } else if (kind === 'int') {
      const n = Number(value);
      if (value === '' || !Number.isInteger(n) || n < 0)
        throw new FlagError(`invalid argument "${value}" for "--${name}" flag: not a non-negative integer`);
      out[field] = name === 'v' ? levelOf(n) : n;
    } else {
      out[field] = value;
    }
  }
  if (flags.claimConcurrency < 1)
    throw new FlagError('invalid argument for "--ipaddressclaim-concurrency" flag: must be at least 1');
  if (flags.serviceLbClass === '')
    throw new FlagError('invalid argument "" for "--service-lb-class" flag: name a load-balancer class');
  if (!LOG_LEVELS.includes(flags.logLevel))
    throw new FlagError(
      `invalid log level "${flags.logLevel}" (--log-level or LOG_LEVEL): one of ${LOG_LEVELS.join(', ')}`,
    );
  return flags;
}

/** ":8081" → all interfaces, "127.0.0.1:8081" → that host; "0" disables. */
export function parseBindAddress(address: string): { host: string | undefined; port: number } | undefined {
  if (address === '0' || address === '') return undefined;
  const colon = address.lastIndexOf(':');
  const host = colon > 0 ? address.slice(0, colon).replace(/^\[|\]$/g, '') : undefined;
  const port = Number(address.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`invalid bind address "${address}"`);
  return { host, port };
}
