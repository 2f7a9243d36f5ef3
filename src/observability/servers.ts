import { createServer, type Server } from 'node:http';
import { parseBindAddress } from './flags.js';
import type { Metrics } from './metrics.js';

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

async function listen(server: Server, address: string): Promise<RunningServer> {
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
