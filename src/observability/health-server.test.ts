import { describe, expect, it } from 'vitest';
import { startHealthServer } from './servers.js';

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
