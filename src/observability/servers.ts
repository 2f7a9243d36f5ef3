import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { SecureVersion } from 'node:tls';
import type { Decision, DelegatedAuth } from './delegated-auth.js';
import { parseBindAddress } from './flags.js';
import type { Metrics } from './metrics.js';
import { ProfileBusy, type ProfileKind, type Profiler, profileSeconds } from './profiler.js';
import { selfSignedCertificate } from './self-signed.js';

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

async function listen(server: Server | HttpsServer, address: string): Promise<RunningServer> {
  const bind = parseBindAddress(address);
  if (!bind) return { port: 0, close: async () => {} };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : bind.port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A named readiness check: undefined when ready, else why not. */
export type ReadyCheck = () => string | undefined | Promise<string | undefined>;

/**
 * /healthz answers while the process runs; /readyz once every check passes (503 with the failing
 * checks' reasons otherwise, as controller-runtime's healthz lists them).
 */
export function startHealthServer(
  address: string,
  checks: Record<string, ReadyCheck>,
): Promise<RunningServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthz' || path === '/livez') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (path === '/readyz') {
      void Promise.all(
        Object.entries(checks).map(async ([name, check]) => {
          const failure = await Promise.resolve()
            .then(check)
            .catch((err: Error) => err.message);
          return failure === undefined ? undefined : `${name}: ${failure}`;
        }),
      ).then((results) => {
        const failures = results.filter((r) => r !== undefined);
        res
          .writeHead(failures.length === 0 ? 200 : 503, { 'content-type': 'text/plain' })
          .end(failures.length === 0 ? 'ok' : failures.join('\n'));
      });
    } else {
      res.writeHead(404).end();
    }
  });
  return listen(server, address);
}

/** Plain-HTTP /metrics (--insecure-diagnostics). */
export function startMetricsServer(address: string, metrics: Metrics): Promise<RunningServer> {
  const server = createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  return listen(server, address);
}

export interface SecureMetricsOptions {
  auth: DelegatedAuth;
  /** From --tls-min-version, --tls-cipher-suites and --tls-curve-preferences (src/webhooks/tls.ts). */
  tls: { minVersion: SecureVersion; ciphers?: string; ecdhCurve?: string };
  /** A 500 (the API server could not review) or a refusal, for the log. */
  onRefused?: (decision: Exclude<Decision, { status: 200 }>, path: string) => void;
  /**
   * PUT /debug/flags/v with a klog verbosity as the body sets the log level at run time, as Cluster
   * API's secure diagnostics do (only there: it is behind the same authorization). Returns the
   * answer, or throws for a value it does not take.
   */
  setVerbosity?: (value: string) => string;
  /**
   * GET /debug/pprof/profile and /debug/pprof/heap (`?seconds=`, default 30): a V8 CPU profile and
   * a sampling heap profile, where Cluster API serves pprof, behind the same authorization.
   */
  profiler?: Profiler;
  /** The clock the certificate's renewal goes by (tests move it). */
  now?: () => number;
  /** Makes the served certificate (tests make it fail). */
  issue?: typeof selfSignedCertificate;
}

const VERBOSITY_PATH = '/debug/flags/v';
const PROFILE_PATHS: Record<string, ProfileKind> = {
  '/debug/pprof/profile': 'cpu',
  '/debug/pprof/heap': 'heap',
};

/** The served self-signed certificate is replaced this long before it expires. */
const RENEW_BEFORE_MS = 30 * 86_400_000;
const RENEW_CHECK_MS = 86_400_000;

/**
 * /metrics over HTTPS for bearer tokens the API server authenticates and authorizes (the default,
 * as Cluster API's `--diagnostics-address=:8443`): a self-signed certificate, as controller-runtime
 * serves, renewed in place before it expires.
 */
export async function startSecureMetricsServer(
  address: string,
  metrics: Metrics,
  opts: SecureMetricsOptions,
): Promise<RunningServer & { certPem: () => string }> {
  const now = opts.now ?? Date.now;
  const issue = opts.issue ?? selfSignedCertificate;
  const hosts = ['localhost', '127.0.0.1'];
  let cert = issue(hosts, 365, new Date(now()));
  const tls = opts.tls;
  const server = createHttpsServer({ ...tls, cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const answered = opts.auth
      .check(req.headers.authorization, req.method ?? 'GET', path)
      .then((decision) => {
        if (decision.status !== 200) {
          opts.onRefused?.(decision, path);
          plain(res, decision.status, decision.message);
        } else if (path === VERBOSITY_PATH && opts.setVerbosity) {
          setVerbosity(req, res, opts.setVerbosity);
        } else if (PROFILE_PATHS[path] && opts.profiler) {
          profile(req, res, opts.profiler, PROFILE_PATHS[path]);
        } else if (path !== '/metrics') {
          res.writeHead(404).end();
        } else {
          metrics.registry.metrics().then(
            (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
            (err: Error) => res.writeHead(500).end(err.message),
          );
        }
      });
    // Whatever throws while answering ends this connection, not the process.
    answered.catch(() => res.destroy());
  });
  const renew = setInterval(() => {
    if (cert.notAfter.getTime() - now() > RENEW_BEFORE_MS) return;
    // A renewal that fails keeps the current certificate (a month of validity left) and is tried
    // again at the next check, rather than ending the process from a timer.
    try {
      const next = issue(hosts, 365, new Date(now()));
      server.setSecureContext({ ...tls, cert: next.certPem, key: next.keyPem });
      cert = next;
    } catch {}
  }, RENEW_CHECK_MS);
  renew.unref();
  const running = await listen(server, address);
  return {
    ...running,
    certPem: () => cert.certPem,
    close: () => {
      clearInterval(renew);
      // A profile's window may have minutes to run: end it, and every connection, so that
      // shutting down waits for nothing.
      opts.profiler?.stopAll();
      const closed = running.close();
      server.closeAllConnections();
      return closed;
    },
  };
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${text}\n`);
}

function setVerbosity(req: IncomingMessage, res: ServerResponse, set: (value: string) => string): void {
  if (req.method !== 'PUT') {
    plain(res, 406, 'unsupported http method');
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    body += chunk;
    // A verbosity is a number: anything long is not one, and is not kept.
    if (body.length > 64) req.destroy();
  });
  req.on('end', () => {
    try {
      plain(res, 200, set(body.trim()));
    } catch (err) {
      plain(res, 400, (err as Error).message);
    }
  });
}

function profile(req: IncomingMessage, res: ServerResponse, profiler: Profiler, kind: ProfileKind): void {
  if (req.method !== 'GET') {
    plain(res, 405, 'unsupported http method');
    return;
  }
  let seconds: number;
  try {
    seconds = profileSeconds(new URL(req.url ?? '', 'https://localhost').searchParams.get('seconds'));
  } catch (err) {
    plain(res, 400, (err as Error).message);
    return;
  }
  // A client that goes away ends the window early (also while it was being authorized, before
  // this listener); its profile is not written anywhere.
  if (req.socket.destroyed || res.destroyed) return;
  const gone = new AbortController();
  res.once('close', () => gone.abort());
  profiler
    .take(kind, seconds, gone.signal)
    .then(
      (taken) => {
        if (gone.signal.aborted) return;
        const file = kind === 'cpu' ? 'cpu.cpuprofile' : 'heap.heapprofile';
        res
          .writeHead(200, {
            'content-type': 'application/json',
            'content-disposition': `attachment; filename="${file}"`,
          })
          .end(JSON.stringify(taken));
      },
      (err: Error) => plain(res, err instanceof ProfileBusy ? 409 : 500, err.message),
    )
    .catch(() => res.destroy());
}
