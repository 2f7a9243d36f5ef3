/**
 * The webhook server: fastify over HTTPS on --webhook-port, routes from routes.ts. The serving
 * certificate is read from --webhook-cert-dir and read again when the files change (cert-manager
 * renews them in place), without a restart: new TLS handshakes get the new certificate.
 */
import { readFileSync, watch } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { connect, type SecureContextOptions } from 'node:tls';
import Fastify, { type FastifyInstance } from 'fastify';
import { isPrefixPoolKind } from '../api/constants.js';
import {
  type AdmissionReview,
  type AllocationView,
  type ConversionReview,
  convert,
  erroredAdmission,
  erroredConversion,
  mutate,
  validate,
} from './admission.js';
import { mutatePrefixPool, validatePrefixPool } from './prefix-admission.js';
import { CONVERSION_PATH, webhookRoutes } from './routes.js';
import { tlsSettings } from './tls.js';

export interface WebhookServerOptions {
  port: number;
  host?: string;
  certDir: string;
  certName: string;
  keyName: string;
  /** Go names: VersionTLS12 (default) or VersionTLS13. */
  tlsMinVersion?: string;
  /** Comma-separated IANA names, as Go's --tls-cipher-suites takes them. */
  tlsCipherSuites?: string;
  /** Comma-separated Go CurveIDs (--tls-curve-preferences). */
  tlsCurvePreferences?: string;
  view: AllocationView;
  /** Called with an unexpected error of a handler (logged by main); the request is still answered. */
  onError?: (err: Error, path: string) => void;
  /** Told of each admission or conversion request (controller-runtime's webhook metrics). */
  observe?: {
    started(webhook: string): void;
    finished(webhook: string, code: number, seconds: number): void;
  };
}

function isObject(body: unknown): body is Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body);
}

export interface WebhookServer {
  port: number;
  /** Re-reads the certificate files now (also done automatically when they change). */
  reloadCertificates(): void;
  /**
   * For /readyz: completes a TLS handshake with the server itself, as controller-runtime's
   * StartedChecker does. Undefined when it did, else why not.
   */
  checkServing(): Promise<string | undefined>;
  close(): Promise<void>;
}

export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const read = (): SecureContextOptions => ({
    cert: readFileSync(join(opts.certDir, opts.certName)),
    key: readFileSync(join(opts.certDir, opts.keyName)),
  });
  const tls = tlsSettings(opts.tlsMinVersion, opts.tlsCipherSuites, opts.tlsCurvePreferences);
  const app: FastifyInstance = Fastify({
    https: { ...read(), ...tls },
    bodyLimit: 8 << 20,
    logger: false,
  });
  const served = new Set([...webhookRoutes().map((r) => r.path), CONVERSION_PATH]);
  const startedAt = new WeakMap<object, number>();
  if (opts.observe) {
    const observe = opts.observe;
    app.addHook('onRequest', async (req) => {
      if (!served.has(req.routeOptions.url ?? '')) return;
      startedAt.set(req, performance.now());
      observe.started(req.routeOptions.url ?? '');
    });
    app.addHook('onResponse', async (req, reply) => {
      const at = startedAt.get(req);
      if (at === undefined) return;
      observe.finished(req.routeOptions.url ?? '', reply.statusCode, (performance.now() - at) / 1000);
    });
  }
  for (const route of webhookRoutes()) {
    app.post(route.path, async (req, reply) => {
      if (!isObject(req.body))
        return reply.code(400).send({ message: 'the body must be an AdmissionReview' });
      const review = req.body as unknown as AdmissionReview;
      try {
        if (isPrefixPoolKind(route.kind)) {
          return route.type === 'mutate'
            ? mutatePrefixPool(review)
            : validatePrefixPool(review, route.kind, opts.view);
        }
        return route.type === 'mutate' ? mutate(review) : validate(review, route.kind, opts.view);
      } catch (err) {
        // A bug must cost one request a clear denial, never the API server an opaque 500.
        opts.onError?.(err as Error, route.path);
        return erroredAdmission(review, err as Error);
      }
    });
  }
  app.post(CONVERSION_PATH, async (req, reply) => {
    if (!isObject(req.body)) return reply.code(400).send({ message: 'the body must be a ConversionReview' });
    const review = req.body as unknown as ConversionReview;
    try {
      return convert(review);
    } catch (err) {
      opts.onError?.(err as Error, CONVERSION_PATH);
      return erroredConversion(review, err as Error);
    }
  });
  app.get('/readyz', async () => 'ok');

  const reloadCertificates = () => {
    try {
      // setSecureContext swaps the certificate for new handshakes; open connections keep theirs.
      // The whole context is replaced, so the TLS settings go in again with the new files.
      (app.server as unknown as { setSecureContext(o: SecureContextOptions): void }).setSecureContext({
        ...read(),
        ...tls,
      });
    } catch {
      // A rotation writes two files; a half-written pair is retried on the next change event.
    }
  };
  const watcher = watch(opts.certDir, () => reloadCertificates());
  await listenEverywhere(app, opts.port, opts.host);
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const host = !opts.host || opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  const checkServing = () =>
    new Promise<string | undefined>((resolve) => {
      // Only the handshake matters here: the serving certificate is the API server's to verify.
      const socket = connect({ host, port, rejectUnauthorized: false, timeout: 2000 });
      const done = (failure: string | undefined) => {
        socket.destroy();
        resolve(failure);
      };
      socket.once('secureConnect', () => done(undefined));
      socket.once('timeout', () => done('TLS handshake timed out'));
      socket.once('error', (err) => done(`TLS handshake failed: ${err.message}`));
    });
  return {
    port,
    reloadCertificates,
    checkServing,
    close: async () => {
      watcher.close();
      await app.close();
    },
  };
}

/**
 * As controller-runtime's `:9443`: every interface of both families, so that the API server can
 * reach the pod over IPv6 too; IPv4 alone where the host has no IPv6.
 */
async function listenEverywhere(app: FastifyInstance, port: number, host: string | undefined): Promise<void> {
  await app.listen({ port, host: host ?? ((await ipv6Available()) ? '::' : '0.0.0.0') });
}

function ipv6Available(): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(0, '::', () => probe.close(() => resolve(true)));
  });
}
