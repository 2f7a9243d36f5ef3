/**
 * client-go exec credential plugins (client.authentication.k8s.io/v1, v1beta1): the kubeconfig's
 * `exec` stanza, running the plugin, and reading the ExecCredential it prints.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve as resolvePath, sep } from 'node:path';
import { KubeConfigError } from './errors.js';
import type { KubeCluster } from './kubeconfig.js';

export interface ExecEnvVar {
  name: string;
  value: string;
}

export interface ExecConfig {
  apiVersion: string;
  command: string;
  args: string[];
  env: ExecEnvVar[];
  provideClusterInfo: boolean;
  interactiveMode?: string;
}

const EXEC_API_VERSIONS = new Set([
  'client.authentication.k8s.io/v1',
  'client.authentication.k8s.io/v1beta1',
]);
// A plugin that hangs would stall every request; client-go has no limit, kubectl users notice.
const EXEC_TIMEOUT_MS = 60_000;

export interface ExecCredentialStatus {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  expiresAt: number;
}

type Json = Record<string, unknown>;

function record(v: unknown): Json | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function parseExec(v: Json, dir: string, where: string): ExecConfig {
  const apiVersion = str(v.apiVersion) ?? '';
  if (!EXEC_API_VERSIONS.has(apiVersion))
    throw new KubeConfigError(`${where}: exec apiVersion ${JSON.stringify(apiVersion)} is not supported`);
  let command = str(v.command);
  if (!command) throw new KubeConfigError(`${where}: exec command is missing`);
  // As client-go: a command with a path separator is relative to the kubeconfig's folder, a bare
  // name is looked up on PATH.
  if (command.includes(sep)) command = resolvePath(dir, command);
  const args = Array.isArray(v.args) ? v.args.map(String) : [];
  const env = Array.isArray(v.env)
    ? v.env.flatMap((e) => {
        const r = record(e);
        const name = str(r?.name);
        return name ? [{ name, value: String(r?.value ?? '') }] : [];
      })
    : [];
  const exec: ExecConfig = {
    apiVersion,
    command,
    args,
    env,
    provideClusterInfo: v.provideClusterInfo === true,
  };
  const interactiveMode = str(v.interactiveMode);
  if (interactiveMode) exec.interactiveMode = interactiveMode;
  return exec;
}

/** Runs a client-go exec credential plugin once and returns what it printed. */
export function runExecPlugin(exec: ExecConfig, cluster: KubeCluster): Promise<ExecCredentialStatus> {
  if (exec.interactiveMode === 'Always')
    return Promise.reject(
      new KubeConfigError(`exec plugin ${exec.command} needs a terminal (interactiveMode: Always)`),
    );
  const spec: Json = { interactive: false };
  if (exec.provideClusterInfo) {
    const c: Json = { server: cluster.server, 'insecure-skip-tls-verify': cluster.skipTLSVerify };
    if (cluster.tlsServerName) c['tls-server-name'] = cluster.tlsServerName;
    if (cluster.proxyUrl) c['proxy-url'] = cluster.proxyUrl;
    if (cluster.caData) c['certificate-authority-data'] = cluster.caData;
    else if (cluster.caFile && existsSync(cluster.caFile))
      c['certificate-authority-data'] = readFileSync(cluster.caFile).toString('base64');
    spec.cluster = c;
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion: exec.apiVersion, kind: 'ExecCredential', spec }),
  };
  for (const { name, value } of exec.env) env[name] = value;
  return new Promise((resolve, reject) => {
    execFile(
      exec.command,
      exec.args,
      { env, timeout: EXEC_TIMEOUT_MS, maxBuffer: 4 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const what = `exec plugin ${exec.command}`;
        if (err) {
          reject(new KubeConfigError(`${what} failed: ${stderr.trim() || err.message}`, { cause: err }));
          return;
        }
        try {
          resolve(parseExecCredential(stdout, exec.apiVersion, what));
        } catch (parseErr) {
          reject(parseErr);
        }
      },
    );
  });
}

export function parseExecCredential(stdout: string, apiVersion: string, what: string): ExecCredentialStatus {
  let doc: Json | undefined;
  try {
    doc = record(JSON.parse(stdout));
  } catch {
    throw new KubeConfigError(`${what} printed no JSON ExecCredential`);
  }
  if (doc?.kind !== 'ExecCredential' || doc.apiVersion !== apiVersion)
    throw new KubeConfigError(
      `${what} answered ${String(doc?.apiVersion)} ${String(doc?.kind)}, want ${apiVersion} ExecCredential`,
    );
  const status = record(doc.status) ?? {};
  const out: ExecCredentialStatus = { expiresAt: Number.POSITIVE_INFINITY };
  const token = str(status.token);
  const cert = str(status.clientCertificateData);
  const key = str(status.clientKeyData);
  if (token) out.token = token;
  if (cert && key) {
    out.clientCertificateData = cert;
    out.clientKeyData = key;
  } else if (cert || key) {
    throw new KubeConfigError(`${what}: clientCertificateData and clientKeyData must come together`);
  }
  if (!token && !cert)
    throw new KubeConfigError(`${what}: the ExecCredential has neither token nor certificate`);
  const expiry = str(status.expirationTimestamp);
  if (expiry) {
    const t = Date.parse(expiry);
    if (Number.isNaN(t)) throw new KubeConfigError(`${what}: bad expirationTimestamp ${expiry}`);
    out.expiresAt = t;
  }
  return out;
}
