import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DelegatedAuth } from './delegated-auth.js';
import { Metrics } from './metrics.js';
import { Profiler } from './profiler.js';
import { selfSignedCertificate } from './self-signed.js';
import { startHealthServer, startSecureMetricsServer } from './servers.js';

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

  it('keeps serving the current certificate when a renewal fails, and renews at a later check', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let now = Date.parse('2026-12-01T00:00:00Z');
    let failing = false;
    const server = await startSecureMetricsServer('127.0.0.1:0', new Metrics(), {
      auth: new DelegatedAuth({
        authenticate: async () => undefined,
        authorize: async () => ({ allowed: false }),
      }),
      tls: { minVersion: 'TLSv1.2' },
      now: () => now,
      issue: (...args) => {
        if (failing) throw new Error('no entropy');
        return selfSignedCertificate(...args);
      },
    });
    try {
      const first = server.certPem();
      failing = true;
      now += 340 * 86_400_000; // 25 days left: due, but the new one cannot be made
      vi.advanceTimersByTime(86_400_000);
      expect(server.certPem()).toBe(first);
      expect(await served(server.port)).toBe(new X509Certificate(first).fingerprint256);
      failing = false;
      now += 86_400_000;
      vi.advanceTimersByTime(86_400_000);
      const second = new X509Certificate(server.certPem());
      expect(second.fingerprint256).not.toBe(new X509Certificate(first).fingerprint256);
      expect(await served(server.port)).toBe(second.fingerprint256);
    } finally {
      await server.close();
    }
  });

  it('serves CPU and heap profiles to whom it authorizes, one of a kind at a time', async () => {
    const paths: string[] = [];
    const auth = new DelegatedAuth({
      authenticate: async (token) =>
        token === 'operator' ? { username: 'operator', groups: [] } : undefined,
      authorize: async (_user, verb, path) => {
        paths.push(`${verb} ${path}`);
        return { allowed: true };
      },
    });
    const profiler = new Profiler();
    const server = await startSecureMetricsServer('127.0.0.1:0', new Metrics(), {
      auth,
      tls: { minVersion: 'TLSv1.2' },
      profiler,
    });
    const call = (method: string, path: string) =>
      new Promise<{ status: number; body: string; disposition?: string }>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: server.port, method, path, rejectUnauthorized: false },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => {
              body += c;
            });
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                body,
                ...(res.headers['content-disposition']
                  ? { disposition: res.headers['content-disposition'] }
                  : {}),
              }),
            );
          },
        );
        req.setHeader('authorization', 'Bearer operator');
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await call('GET', '/debug/pprof/profile?seconds=0')).toEqual({
        status: 400,
        body: 'seconds must be a whole number from 1 to 300, not "0"\n',
      });
      expect((await call('POST', '/debug/pprof/profile')).status).toBe(405);
      const cpu = call('GET', '/debug/pprof/profile?seconds=1');
      while (!profiler.isTaking('cpu')) await new Promise((r) => setTimeout(r, 5));
      const busy = await call('GET', '/debug/pprof/profile?seconds=1');
      expect(busy).toEqual({ status: 409, body: 'a cpu profile is already being taken\n' });
      const heap = await call('GET', '/debug/pprof/heap?seconds=1');
      const done = await cpu;
      expect(done.status).toBe(200);
      expect(done.disposition).toBe('attachment; filename="cpu.cpuprofile"');
      expect(JSON.parse(done.body)).toHaveProperty('nodes');
      expect(heap.status).toBe(200);
      expect(JSON.parse(heap.body)).toHaveProperty('head');
      expect(paths).toContain('get /debug/pprof/profile');
      expect(paths).toContain('get /debug/pprof/heap');
      // Closing the server ends a profile with minutes left to run: shutting down waits for nothing.
      const long = call('GET', '/debug/pprof/profile?seconds=300').catch((err: Error) => err);
      while (!profiler.isTaking('cpu')) await new Promise((r) => setTimeout(r, 5));
      await server.close();
      await long;
      while (profiler.isTaking('cpu')) await new Promise((r) => setTimeout(r, 5));
    } finally {
      await server.close();
    }
  });
});

describe('startHealthServer', () => {
  it('binds an IPv6 address in brackets and lists every failing check on /readyz', async () => {
    let synced = false;
    const server = await startHealthServer('[::1]:0', {
      informers: () => (synced ? undefined : 'caches not synced'),
      leader: () => {
        throw new Error('lease unreadable');
      },
    });
    const get = async (path: string) => {
      const res = await fetch(`http://[::1]:${server.port}${path}`);
      return { status: res.status, body: await res.text() };
    };
    try {
      expect(server.port).toBeGreaterThan(0);
      expect(await get('/healthz')).toEqual({ status: 200, body: 'ok' });
      expect(await get('/readyz')).toEqual({
        status: 503,
        body: 'informers: caches not synced\nleader: lease unreadable',
      });
      synced = true;
      expect(await get('/readyz?verbose')).toEqual({ status: 503, body: 'leader: lease unreadable' });
      expect((await get('/metrics')).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('turns off on "0", as controller-runtime does', async () => {
    const server = await startHealthServer('0', {});
    expect(server.port).toBe(0);
    await server.close();
  });
});
