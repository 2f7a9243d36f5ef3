import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type SecureVersion } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookServer, type WebhookServer } from '../../src/webhooks/server.js';
import { freePort } from '../harness/control-plane.js';
import { type CertificateAuthority, createWebhookCertificates } from '../harness/pki.js';

/** What a client limited to `version` (and, optionally, `ciphers`) negotiates, or why it failed. */
function handshake(
  port: number,
  ca: string,
  opts: { version: SecureVersion; ciphers?: string; ecdhCurve?: string },
): Promise<{ protocol: string | null; cipher: string } | { error: string }> {
  return new Promise((resolve) => {
    const s = connect({
      host: '127.0.0.1',
      port,
      ca,
      minVersion: opts.version,
      maxVersion: opts.version,
      ...(opts.ciphers ? { ciphers: opts.ciphers } : {}),
      ...(opts.ecdhCurve ? { ecdhCurve: opts.ecdhCurve } : {}),
    });
    s.once('secureConnect', () => {
      resolve({ protocol: s.getProtocol(), cipher: s.getCipher().name });
      s.end();
    });
    s.once('error', (err) => resolve({ error: err.message }));
  });
}

describe('the webhook server TLS settings', () => {
  let dir: string;
  let ca: CertificateAuthority;
  const servers: WebhookServer[] = [];

  async function serve(
    tlsMinVersion?: string,
    tlsCipherSuites?: string,
    tlsCurvePreferences?: string,
  ): Promise<WebhookServer> {
    const server = await startWebhookServer({
      port: await freePort(),
      host: '127.0.0.1',
      certDir: dir,
      certName: 'tls.crt',
      keyName: 'tls.key',
      tlsMinVersion,
      tlsCipherSuites,
      tlsCurvePreferences,
      view: { allocatedAddresses: () => [] },
    });
    servers.push(server);
    return server;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'webhook-tls-'));
    // The harness issues EC P-256 keys, so the ECDSA suites apply.
    ({ ca } = await createWebhookCertificates(dir, 'tls-ca'));
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses TLS 1.1 and speaks 1.2 and 1.3 by default', async () => {
    const server = await serve();
    expect(await handshake(server.port, ca.certPem, { version: 'TLSv1.1' })).toHaveProperty('error');
    expect(await handshake(server.port, ca.certPem, { version: 'TLSv1.2' })).toMatchObject({
      protocol: 'TLSv1.2',
    });
    expect(await handshake(server.port, ca.certPem, { version: 'TLSv1.3' })).toMatchObject({
      protocol: 'TLSv1.3',
    });
  });

  it('refuses TLS 1.2 with --tls-min-version=VersionTLS13', async () => {
    const server = await serve('VersionTLS13');
    expect(await handshake(server.port, ca.certPem, { version: 'TLSv1.2' })).toHaveProperty('error');
    expect(await handshake(server.port, ca.certPem, { version: 'TLSv1.3' })).toMatchObject({
      protocol: 'TLSv1.3',
    });
  });

  it('offers only the Go-named suites of --tls-cipher-suites on TLS 1.2, also after a certificate reload', async () => {
    const server = await serve('VersionTLS12', 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384');
    const check = async () => {
      expect(
        await handshake(server.port, ca.certPem, {
          version: 'TLSv1.2',
          ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256',
        }),
      ).toHaveProperty('error');
      expect(await handshake(server.port, ca.certPem, { version: 'TLSv1.2' })).toMatchObject({
        cipher: 'ECDHE-ECDSA-AES256-GCM-SHA384',
      });
      expect(await handshake(server.port, ca.certPem, { version: 'TLSv1.3' })).toMatchObject({
        protocol: 'TLSv1.3',
      });
    };
    await check();
    server.reloadCertificates();
    await check();
  });

  it('does not start with a cipher suite Go would not know', async () => {
    await expect(serve('VersionTLS12', 'ECDHE-ECDSA-AES256-GCM-SHA384')).rejects.toThrow(
      /--tls-cipher-suites/,
    );
  });

  it('agrees only on the key exchange groups of --tls-curve-preferences, on TLS 1.2 and 1.3', async () => {
    const server = await serve(undefined, undefined, '23,4588');
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      expect(await handshake(server.port, ca.certPem, { version, ecdhCurve: 'X25519' })).toHaveProperty(
        'error',
      );
      expect(await handshake(server.port, ca.certPem, { version, ecdhCurve: 'P-256' })).toMatchObject({
        protocol: version,
      });
    }
    // The post-quantum hybrid (Go's CurveID 4588), on TLS 1.3 only.
    expect(
      await handshake(server.port, ca.certPem, { version: 'TLSv1.3', ecdhCurve: 'X25519MLKEM768' }),
    ).toMatchObject({ protocol: 'TLSv1.3' });
  });
});
