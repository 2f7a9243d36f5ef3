/**
 * Command-line flags, spelled as the Go provider's and Cluster API's (`--leader-elect`,
 * `--watch-filter`, …) and parsed as Go's flag package does: `--flag=value`, `--flag value`,
 * and a bare boolean `--flag` meaning true (`--leader-elect=false` turns it off).
 */
export interface Flags {
  kubeconfig?: string;
  leaderElect: boolean;
  leaderElectionNamespace?: string;
  namespace?: string;
  watchFilter?: string;
  healthProbeBindAddress: string;
  webhookPort: number;
  webhookCertDir: string;
  webhookCertName: string;
  webhookKeyName: string;
  diagnosticsAddress: string;
  insecureDiagnostics: boolean;
  tlsMinVersion: string;
  tlsCipherSuites?: string;
  tlsCurvePreferences?: string;
  claimConcurrency: number;
  logLevel: string;
}

type Kind = 'string' | 'bool' | 'int';
const spec: Record<string, [keyof Flags, Kind]> = {
  kubeconfig: ['kubeconfig', 'string'],
  'leader-elect': ['leaderElect', 'bool'],
  'leader-election-namespace': ['leaderElectionNamespace', 'string'],
  namespace: ['namespace', 'string'],
  'watch-filter': ['watchFilter', 'string'],
  'health-probe-bind-address': ['healthProbeBindAddress', 'string'],
  'webhook-port': ['webhookPort', 'int'],
  'webhook-cert-dir': ['webhookCertDir', 'string'],
  'webhook-cert-name': ['webhookCertName', 'string'],
  'webhook-key-name': ['webhookKeyName', 'string'],
  'diagnostics-address': ['diagnosticsAddress', 'string'],
  'insecure-diagnostics': ['insecureDiagnostics', 'bool'],
  'tls-min-version': ['tlsMinVersion', 'string'],
  'tls-cipher-suites': ['tlsCipherSuites', 'string'],
  'tls-curve-preferences': ['tlsCurvePreferences', 'string'],
  'ipaddressclaim-concurrency': ['claimConcurrency', 'int'],
  v: ['logLevel', 'int'],
  'log-level': ['logLevel', 'string'],
};

/** klog verbosity → pino level: 0-1 info, 2-4 debug, 5+ trace. */
/** klog verbosity → pino level: 0–1 info, 2–4 debug, 5+ trace. */
export function levelOf(v: number): string {
  return v >= 5 ? 'trace' : v >= 2 ? 'debug' : 'info';
}

export function parseFlags(argv: readonly string[]): Flags {
  const flags: Flags = {
    leaderElect: true,
    healthProbeBindAddress: ':8081',
    webhookPort: 9443,
    webhookCertDir: '/tmp/k8s-webhook-server/serving-certs',
    webhookCertName: 'tls.crt',
    webhookKeyName: 'tls.key',
    diagnosticsAddress: ':8443',
    insecureDiagnostics: false,
    tlsMinVersion: 'VersionTLS12',
    claimConcurrency: 10,
    logLevel: process.env.LOG_LEVEL ?? 'info',
  };
  const out = flags as unknown as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('-')) throw new Error(`unexpected argument "${arg}"`);
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const entry = spec[name];
    if (!entry) throw new Error(`unknown flag --${name}`);
    const [field, kind] = entry;
    let value = eq < 0 ? undefined : body.slice(eq + 1);
    if (value === undefined && kind !== 'bool') {
      value = argv[++i];
      if (value === undefined) throw new Error(`flag --${name} needs a value`);
    }
    if (kind === 'bool') {
      if (value === undefined || value === 'true' || value === '1') out[field] = true;
      else if (value === 'false' || value === '0') out[field] = false;
      else throw new Error(`flag --${name}: invalid boolean "${value}"`);
    } else if (kind === 'int') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0)
        throw new Error(`flag --${name}: "${value}" is not a non-negative integer`);
      out[field] = name === 'v' ? levelOf(n) : n;
    } else {
      out[field] = value;
    }
  }
  if (flags.claimConcurrency < 1) throw new Error('flag --ipaddressclaim-concurrency must be at least 1');
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
