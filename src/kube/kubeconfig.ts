/**
 * Kubeconfig loading and credentials, without @kubernetes/client-node: its KubeConfig module
 * imports the whole generated API (~80 MB RSS), and the controller only needs a server, TLS
 * material and an Authorization header. Covers what the controller used of it: kubeconfig files
 * (KUBECONFIG with several paths merged as kubectl does), the in-cluster service account, client
 * certificates and CAs from files or data, bearer tokens and token files, basic auth,
 * impersonation of a user, and exec credential plugins (client.authentication.k8s.io/v1, v1beta1).
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { RequestOptions as HttpsRequestOptions } from 'node:https';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KubeConfigError } from './errors.js';
import { type ExecConfig, type ExecCredentialStatus, parseExec, runExecPlugin } from './exec-credential.js';

export type { ExecConfig, ExecEnvVar } from './exec-credential.js';
export { KubeConfigError };

export interface KubeCluster {
  name: string;
  server: string;
  caFile?: string;
  /** base64, as in the kubeconfig. */
  caData?: string;
  skipTLSVerify: boolean;
  tlsServerName?: string;
  proxyUrl?: string;
}

/**
 * What a Connection needs from a kubeconfig. Shaped like client-node's KubeConfig (which also
 * fits), so callers holding one of those keep working.
 */
export interface KubeConfig {
  getCurrentCluster(): KubeCluster | null;
  /** Sets headers, auth, ca/cert/key, rejectUnauthorized and servername for the current user. */
  applyToHTTPSOptions(opts: HttpsRequestOptions): Promise<void>;
  /** The server refused the credentials: cached ones (an exec plugin's) must not be reused. */
  invalidateCredentials?(): void;
}

export interface KubeUser {
  name: string;
  token?: string;
  tokenFile?: string;
  certFile?: string;
  certData?: string;
  keyFile?: string;
  keyData?: string;
  username?: string;
  password?: string;
  impersonate?: string;
  exec?: ExecConfig;
}

export interface KubeContext {
  name: string;
  cluster: string;
  user?: string;
  namespace?: string;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
// The connection keeps credentials up to 10 s; renewing this early means an expiring exec token
// is never sent after its expiry.
const EXEC_EXPIRY_MARGIN_MS = 30_000;
type Json = Record<string, unknown>;

function record(v: unknown): Json | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function named(list: unknown, key: string, where: string): { name: string; body: Json }[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new KubeConfigError(`${where}: ${key}s is not a list`);
  return list.map((item, i) => {
    const entry = record(item);
    const name = str(entry?.name);
    if (!entry || !name) throw new KubeConfigError(`${where}: ${key}s[${i}].name is missing`);
    return { name, body: record(entry[key]) ?? {} };
  });
}

function absolute(dir: string, file: string | undefined): string | undefined {
  return file === undefined || isAbsolute(file) ? file : join(dir, file);
}

/** The clusters, users and contexts of one kubeconfig file; relative paths made absolute. */
export interface KubeConfigData {
  currentContext?: string;
  clusters: KubeCluster[];
  users: KubeUser[];
  contexts: KubeContext[];
}

export function parseKubeConfig(text: string, dir: string, where = 'kubeconfig'): KubeConfigData {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new KubeConfigError(`${where}: ${(err as Error).message}`);
  }
  const root = record(doc) ?? {};
  const clusters = named(root.clusters, 'cluster', where).map(({ name, body }) => {
    const server = str(body.server);
    if (!server) throw new KubeConfigError(`${where}: cluster ${name} has no server`);
    const c: KubeCluster = {
      name,
      server: server.replace(/\/+$/, ''),
      skipTLSVerify: body['insecure-skip-tls-verify'] === true,
    };
    const caFile = absolute(dir, str(body['certificate-authority']));
    const caData = str(body['certificate-authority-data']);
    const tlsServerName = str(body['tls-server-name']);
    const proxyUrl = str(body['proxy-url']);
    if (caFile) c.caFile = caFile;
    if (caData) c.caData = caData;
    if (tlsServerName) c.tlsServerName = tlsServerName;
    if (proxyUrl) c.proxyUrl = proxyUrl;
    return c;
  });
  const users = named(root.users, 'user', where).map(({ name, body }) => {
    if (record(body['auth-provider'])) {
      const provider = str(record(body['auth-provider'])?.name) ?? '?';
      throw new KubeConfigError(
        `${where}: user ${name}: auth-provider ${provider} is not supported; use an exec credential plugin`,
      );
    }
    const path = (key: string) => absolute(dir, str(body[key]));
    const u: KubeUser = { name };
    const set = <K extends keyof KubeUser>(field: K, value: KubeUser[K] | undefined) => {
      if (value !== undefined) u[field] = value;
    };
    set('token', str(body.token));
    // client-go spells it tokenFile; client-node read token-file, so older files may have that.
    set('tokenFile', path('tokenFile') ?? path('token-file'));
    set('certFile', path('client-certificate'));
    set('certData', str(body['client-certificate-data']));
    set('keyFile', path('client-key'));
    set('keyData', str(body['client-key-data']));
    set('username', str(body.username));
    set('password', str(body.password));
    set('impersonate', str(body.as));
    const exec = record(body.exec);
    if (exec) u.exec = parseExec(exec, dir, `${where}: user ${name}`);
    return u;
  });
  const contexts = named(root.contexts, 'context', where).map(({ name, body }) => {
    const cluster = str(body.cluster);
    if (!cluster) throw new KubeConfigError(`${where}: context ${name} has no cluster`);
    const c: KubeContext = { name, cluster };
    const user = str(body.user);
    const namespace = str(body.namespace);
    if (user) c.user = user;
    if (namespace) c.namespace = namespace;
    return c;
  });
  const data: KubeConfigData = { clusters, users, contexts };
  const current = str(root['current-context']);
  if (current) data.currentContext = current;
  return data;
}

/** kubectl's merge of several files: the first file to set a value (or name an entry) wins. */
export function mergeKubeConfigs(configs: KubeConfigData[]): KubeConfigData {
  const merged: KubeConfigData = { clusters: [], users: [], contexts: [] };
  for (const c of configs) {
    if (merged.currentContext === undefined && c.currentContext) merged.currentContext = c.currentContext;
    for (const key of ['clusters', 'users', 'contexts'] as const) {
      const list = merged[key] as { name: string }[];
      for (const entry of c[key]) if (!list.some((e) => e.name === entry.name)) list.push(entry);
    }
  }
  return merged;
}

async function readMaybe(file: string | undefined, data: string | undefined): Promise<Buffer | undefined> {
  if (file) return readFile(file);
  if (data) return Buffer.from(data, 'base64');
  return undefined;
}

/**
 * The kubeconfig of one current context. Files it names (CA, client certificate and key, token)
 * are read again on every applyToHTTPSOptions, so rotated files take effect; exec plugin output
 * is kept until it expires or the server refuses it.
 */
export class KubeConfigLoader implements KubeConfig {
  private execCredential: ExecCredentialStatus | undefined;
  private pendingExec: Promise<ExecCredentialStatus> | undefined;

  constructor(
    readonly cluster: KubeCluster,
    readonly user: KubeUser,
    readonly context: KubeContext,
  ) {}

  /** The current context of parsed (possibly merged) kubeconfig data. */
  static fromData(data: KubeConfigData, where = 'kubeconfig'): KubeConfigLoader {
    if (!data.currentContext) throw new KubeConfigError(`${where}: no current-context`);
    const context = data.contexts.find((c) => c.name === data.currentContext);
    if (!context) throw new KubeConfigError(`${where}: context ${data.currentContext} not found`);
    const cluster = data.clusters.find((c) => c.name === context.cluster);
    if (!cluster) throw new KubeConfigError(`${where}: cluster ${context.cluster} not found`);
    // A context without a user talks anonymously, as with kubectl.
    const user = data.users.find((u) => u.name === context.user) ?? { name: context.user ?? '' };
    return new KubeConfigLoader(cluster, user, context);
  }

  static fromString(text: string, dir = process.cwd()): KubeConfigLoader {
    return KubeConfigLoader.fromData(parseKubeConfig(text, dir));
  }

  static fromFile(path: string): KubeConfigLoader {
    return KubeConfigLoader.fromData(parseKubeConfig(readFileSync(path, 'utf8'), dirname(path), path), path);
  }

  /** Every existing file of a KUBECONFIG-style list, merged; missing ones are skipped, as kubectl does. */
  static fromFiles(paths: string[]): KubeConfigLoader {
    const existing = paths.filter((p) => p && existsSync(p));
    if (existing.length === 0)
      throw new KubeConfigError(`none of the kubeconfig files exist: ${paths.join(', ')}`);
    const data = existing.map((p) => parseKubeConfig(readFileSync(p, 'utf8'), dirname(p), p));
    return KubeConfigLoader.fromData(mergeKubeConfigs(data), existing.join(delimiter));
  }

  /** A pod's service account: the API server from the environment, token and CA from the mount. */
  static inCluster(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): KubeConfigLoader {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT;
    if (!host || !port)
      throw new KubeConfigError(
        'not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset',
      );
    const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
    const cluster: KubeCluster = {
      name: 'in-cluster',
      server,
      caFile: join(dir, 'ca.crt'),
      skipTLSVerify: false,
    };
    const user: KubeUser = { name: 'in-cluster', tokenFile: join(dir, 'token') };
    const context: KubeContext = { name: 'in-cluster', cluster: cluster.name, user: user.name };
    const nsFile = join(dir, 'namespace');
    if (existsSync(nsFile)) context.namespace = readFileSync(nsFile, 'utf8').trim();
    return new KubeConfigLoader(cluster, user, context);
  }

  /**
   * controller-runtime's order (the --kubeconfig flag is the caller's): KUBECONFIG, then the
   * in-cluster service account, then ~/.kube/config — so a pod never picks up a stray home config.
   */
  static fromDefault(
    env: NodeJS.ProcessEnv = process.env,
    serviceAccountDir = SERVICE_ACCOUNT_DIR,
  ): KubeConfigLoader {
    if (env.KUBECONFIG) return KubeConfigLoader.fromFiles(env.KUBECONFIG.split(delimiter).filter(Boolean));
    if (env.KUBERNETES_SERVICE_HOST && existsSync(join(serviceAccountDir, 'token')))
      return KubeConfigLoader.inCluster(env, serviceAccountDir);
    const home = env.HOME ?? homedir();
    const file = join(home, '.kube', 'config');
    if (existsSync(file)) return KubeConfigLoader.fromFile(file);
    throw new KubeConfigError(
      `no kubeconfig: KUBECONFIG is unset, this is not a pod with a service account and ${file} does not exist`,
    );
  }

  getCurrentCluster(): KubeCluster {
    return this.cluster;
  }

  invalidateCredentials(): void {
    this.execCredential = undefined;
  }

  async applyToHTTPSOptions(opts: HttpsRequestOptions): Promise<void> {
    const { cluster, user } = this;
    const headers: Record<string, string> = {};
    if (cluster.skipTLSVerify) opts.rejectUnauthorized = false;
    if (cluster.tlsServerName) opts.servername = cluster.tlsServerName;
    const ca = await readMaybe(cluster.caFile, cluster.caData);
    if (ca) opts.ca = ca;
    let cert = await readMaybe(user.certFile, user.certData);
    let key = await readMaybe(user.keyFile, user.keyData);
    let token = user.token;
    if (user.tokenFile) token = (await readFile(user.tokenFile, 'utf8')).trim();
    if (user.exec) {
      const status = await this.execCredentials(user.exec);
      if (status.token) token = status.token;
      if (status.clientCertificateData) cert = Buffer.from(status.clientCertificateData);
      if (status.clientKeyData) key = Buffer.from(status.clientKeyData);
    }
    if (cert) opts.cert = cert;
    if (key) opts.key = key;
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (user.username) opts.auth = `${user.username}:${user.password ?? ''}`;
    if (user.impersonate) headers['Impersonate-User'] = user.impersonate;
    opts.headers = { ...opts.headers, ...headers };
  }

  private async execCredentials(exec: ExecConfig): Promise<ExecCredentialStatus> {
    const cached = this.execCredential;
    if (cached && Date.now() < cached.expiresAt - EXEC_EXPIRY_MARGIN_MS) return cached;
    this.pendingExec ??= runExecPlugin(exec, this.cluster).finally(() => {
      this.pendingExec = undefined;
    });
    this.execCredential = await this.pendingExec;
    return this.execCredential;
  }
}
