import { execFile } from 'node:child_process';
import { Agent, request as httpsRequest } from 'node:https';

/** What a test needs to reach a running control plane; plain data so vitest can hand it to workers. */
export interface ClusterInfo {
  server: string;
  kubeconfigPath: string;
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  kubectlPath: string;
}

export interface RawResponse<T = unknown> {
  status: number;
  body: T;
  text: string;
}

export interface RequestOptions {
  contentType?: string;
  timeoutMs?: number;
  /** The API server names a writer's managedFields entry after it (else "unknown"). */
  userAgent?: string;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Talks to the API server as the admin user, below any client library: the harness must not
 * depend on the code it is used to test.
 */
export class ClusterAccess {
  private readonly agent: Agent;

  constructor(readonly info: ClusterInfo) {
    this.agent = new Agent({
      keepAlive: true,
      ca: info.caPem,
      cert: info.clientCertPem,
      key: info.clientKeyPem,
    });
  }

  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    opts: RequestOptions = {},
  ): Promise<RawResponse<T>> {
    const url = new URL(path, this.info.server);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            accept: 'application/json',
            ...(opts.userAgent ? { 'user-agent': opts.userAgent } : {}),
            ...(payload !== undefined
              ? {
                  'content-type': opts.contentType ?? 'application/json',
                  'content-length': Buffer.byteLength(payload),
                }
              : {}),
          },
          timeout: opts.timeoutMs ?? 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON (e.g. /readyz answers "ok"); keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T, text });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Runs kubectl against this control plane; never throws on a non-zero exit (tests assert on it). */
  kubectl(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<KubectlResult> {
    return new Promise((resolve) => {
      const child = execFile(
        this.info.kubectlPath,
        ['--kubeconfig', this.info.kubeconfigPath, ...args],
        { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
