/**
 * The webhook server: fastify over HTTPS on --webhook-port, routes from routes.ts. The serving
 * certificate is read from --webhook-cert-dir and read again when the files change (cert-manager
 * renews them in place), without a restart: new TLS handshakes get the new certificate.
 */
import { readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  type AdmissionReview,
  type AllocationView,
  type ConversionReview,
  convert,
  mutate,
  validate,
} from './admission.js';
import { CONVERSION_PATH, webhookRoutes } from './routes.js';

export interface WebhookServerOptions {
  port: number;
  host?: string;
  certDir: string;
  certName: string;
  keyName: string;
  /** Go names: VersionTLS12 (default) or VersionTLS13. */
  tlsMinVersion?: string;
  /** Comma-separated OpenSSL cipher names. */
  tlsCipherSuites?: string;
  view: AllocationView;
}

export interface WebhookServer {
  port: number;
  /** Re-reads the certificate files now (also done automatically when they change). */
  reloadCertificates(): void;
  close(): Promise<void>;
}

function tlsVersion(go: string | undefined): 'TLSv1.2' | 'TLSv1.3' {
  if (!go || go === 'VersionTLS12') return 'TLSv1.2';
  if (go === 'VersionTLS13') return 'TLSv1.3';
  throw new Error(`unsupported --tls-min-version ${go} (VersionTLS12 or VersionTLS13)`);
}

export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const read = (): SecureContextOptions => ({
    cert: readFileSync(join(opts.certDir, opts.certName)),
    key: readFileSync(join(opts.certDir, opts.keyName)),
  });
  const app: FastifyInstance = Fastify({
    https: {
      ...read(),
      minVersion: tlsVersion(opts.tlsMinVersion),
      ...(opts.tlsCipherSuites ? { ciphers: opts.tlsCipherSuites.replaceAll(',', ':') } : {}),
    },
    bodyLimit: 8 << 20,
    logger: false,
  });
  for (const route of webhookRoutes()) {
    app.post(route.path, async (req) => {
      const review = req.body as AdmissionReview;
      return route.type === 'mutate' ? mutate(review) : validate(review, route.kind, opts.view);
    });
  }
  app.post(CONVERSION_PATH, async (req) => convert(req.body as ConversionReview));
  app.get('/readyz', async () => 'ok');

  const reloadCertificates = () => {
    try {
      // setSecureContext swaps the certificate for new handshakes; open connections keep theirs.
      (app.server as unknown as { setSecureContext(o: SecureContextOptions): void }).setSecureContext({
        ...read(),
        minVersion: tlsVersion(opts.tlsMinVersion),
      });
    } catch {
      // A rotation writes two files; a half-written pair is retried on the next change event.
    }
  };
  const watcher = watch(opts.certDir, () => reloadCertificates());
  await app.listen({ port: opts.port, host: opts.host ?? '0.0.0.0' });
  const address = app.server.address();
  return {
    port: typeof address === 'object' && address ? address.port : opts.port,
    reloadCertificates,
    close: async () => {
      watcher.close();
      await app.close();
    },
  };
}
