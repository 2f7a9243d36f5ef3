/**
 * Shared set-up of the webhook tests: our webhook server on https://127.0.0.1:<port> with a
 * serving certificate from a throw-away test CA, and the Validating/MutatingWebhookConfigurations
 * that point an API server at it, built from the same route table the server registers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AllocationView } from '../../src/webhooks/admission.js';
import { webhookRoutes } from '../../src/webhooks/routes.js';
import {
  startWebhookServer,
  type WebhookServer,
  type WebhookServerOptions,
} from '../../src/webhooks/server.js';
import type { ClusterAccess } from '../harness/access.js';
import { freePort } from '../harness/control-plane.js';
import { type CertificateAuthority, createCertificateAuthority, issueCertificate } from '../harness/pki.js';

export interface TestWebhookServer {
  server: WebhookServer;
  ca: CertificateAuthority;
  certDir: string;
  /** Issues a new serving certificate for 127.0.0.1 and writes it as tls.crt / tls.key. */
  writeServingCert(name: string): Promise<void>;
  /** Closes the server and removes the certificate directory. */
  close(): Promise<void>;
}

export async function startTestWebhookServer(
  view: AllocationView,
  prefix = 'webhook',
  observe?: WebhookServerOptions['observe'],
): Promise<TestWebhookServer> {
  const certDir = mkdtempSync(join(tmpdir(), `${prefix}-certs-`));
  const ca = await createCertificateAuthority(certDir, `${prefix}-ca`);
  const writeServingCert = async (name: string): Promise<void> => {
    const cert = await issueCertificate(certDir, ca, {
      name,
      commonName: 'webhook',
      altNames: ['IP:127.0.0.1'],
      usage: 'server',
    });
    writeFileSync(join(certDir, 'tls.key'), cert.keyPem);
    writeFileSync(join(certDir, 'tls.crt'), cert.certPem);
  };
  await writeServingCert('serving-1');
  const server = await startWebhookServer({
    port: await freePort(),
    host: '127.0.0.1',
    certDir,
    certName: 'tls.crt',
    keyName: 'tls.key',
    view,
    ...(observe ? { observe } : {}),
  });
  return {
    server,
    ca,
    certDir,
    writeServingCert,
    close: async () => {
      await server.close();
      rmSync(certDir, { recursive: true, force: true });
    },
  };
}

export interface LabelSelector {
  matchLabels: Record<string, string>;
}

export interface WebhookRegistrationOptions {
  /** metadata.name of the two configurations: `<name>-validating` and `<name>-mutating`. */
  name: string;
  /** Only objects of these namespaces go to the InClusterIPPool hooks (by default: all). */
  namespaceSelector?: LabelSelector;
  /** Only GlobalInClusterIPPools with these labels go to their hooks (by default: all). */
  globalObjectSelector?: LabelSelector;
}

/** The webhooks of one type, as a configuration lists them, for our server. */
export function webhookEntries(
  type: 'mutate' | 'validate',
  port: number,
  caPem: string,
  opts: Omit<WebhookRegistrationOptions, 'name'> = {},
): Record<string, unknown>[] {
  const caBundle = Buffer.from(caPem).toString('base64');
  return webhookRoutes()
    .filter((r) => r.type === type)
    .map((r) => {
      const global = r.kind.startsWith('Global');
      return {
        name: r.name,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        matchPolicy: 'Equivalent',
        clientConfig: { url: `https://127.0.0.1:${port}${r.path}`, caBundle },
        rules: [
          {
            apiGroups: ['ipam.cluster.x-k8s.io'],
            apiVersions: ['v1alpha2'],
            operations: r.operations,
            resources: [r.plural],
          },
        ],
        ...(!global && opts.namespaceSelector ? { namespaceSelector: opts.namespaceSelector } : {}),
        ...(global && opts.globalObjectSelector ? { objectSelector: opts.globalObjectSelector } : {}),
      };
    });
}

export interface WebhookRegistration {
  /** HTTP statuses of the two creates (201 each when registered). */
  statuses: [number, number];
  /** Deletes both configurations (before the server stops, so nothing is left calling it). */
  remove(): Promise<void>;
}

/** Registers our server as the validating and mutating webhooks of both pool kinds. */
export async function registerWebhooks(
  access: ClusterAccess,
  port: number,
  caPem: string,
  opts: WebhookRegistrationOptions,
): Promise<WebhookRegistration> {
  const base = '/apis/admissionregistration.k8s.io/v1';
  const validating = `${opts.name}-validating`;
  const mutating = `${opts.name}-mutating`;
  const v = await access.request('POST', `${base}/validatingwebhookconfigurations`, {
    metadata: { name: validating },
    webhooks: webhookEntries('validate', port, caPem, opts),
  });
  const m = await access.request('POST', `${base}/mutatingwebhookconfigurations`, {
    metadata: { name: mutating },
    webhooks: webhookEntries('mutate', port, caPem, opts),
  });
  return {
    statuses: [v.status, m.status],
    remove: async () => {
      await access.request('DELETE', `${base}/validatingwebhookconfigurations/${validating}`);
      await access.request('DELETE', `${base}/mutatingwebhookconfigurations/${mutating}`);
    },
  };
}
