import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DelegatedAuth } from './delegated-auth.js';
import { Metrics } from './metrics.js';
import { startSecureMetricsServer } from './servers.js';

/** The certificate a new TLS connection is served. */
function served(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

describe('startSecureMetricsServer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('serves a fresh self-signed certificate and replaces it a month before it expires', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let now = Date.parse('2026-12-01T00:00:00Z');
    const auth = new DelegatedAuth({
      authenticate: async () => undefined,
      authorize: async () => ({ allowed: false }),
    });
    const server = await startSecureMetricsServer('127.0.0.1:0', new Metrics(), {
      auth,
      tls: { minVersion: 'TLSv1.2' },
      now: () => now,
    });
    try {
      const first = server.certPem();
      expect(await served(server.port)).toBe(new X509Certificate(first).fingerprint256);
      expect(new Date(new X509Certificate(first).validTo).toISOString()).toBe('2027-12-01T00:00:00.000Z');
      now += 300 * 86_400_000; // 65 days left: kept
      vi.advanceTimersByTime(86_400_000);
      expect(server.certPem()).toBe(first);
      now += 40 * 86_400_000; // 25 days left: renewed
      vi.advanceTimersByTime(86_400_000);
      const second = new X509Certificate(server.certPem());
      expect(server.certPem()).not.toBe(first);
      expect(new Date(second.validTo).getTime()).toBe(now + 365 * 86_400_000);
      // New connections get the new one, without a restart.
      expect(await served(server.port)).toBe(second.fingerprint256);
    } finally {
      await server.close();
    }
  });
});
