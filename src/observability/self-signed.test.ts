import { createPrivateKey, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { selfSignedCertificate, serialNumber } from './self-signed.js';

describe('selfSignedCertificate', () => {
  const now = new Date('2026-12-01T10:00:00Z');
  const cert = selfSignedCertificate(['localhost', '127.0.0.1', '::1'], 365, now);
  const x509 = new X509Certificate(cert.certPem);

  it('is a P-256 server certificate for the hosts, signed by its own key', () => {
    expect(x509.subject).toBe(`CN=localhost@${Math.floor(now.getTime() / 1000)}`);
    expect(x509.issuer).toBe(x509.subject);
    expect(x509.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(x509.ca).toBe(false);
    expect(x509.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(x509.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    expect(x509.checkPrivateKey(createPrivateKey(cert.keyPem))).toBe(true);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.checkHost('localhost')).toBe('localhost');
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  it('is valid from a minute before now for the days asked', () => {
    expect(new Date(x509.validFrom).toISOString()).toBe('2026-12-01T09:59:00.000Z');
    expect(new Date(x509.validTo).toISOString()).toBe('2027-12-01T10:00:00.000Z');
    expect(cert.notAfter.toISOString()).toBe('2027-12-01T10:00:00.000Z');
    const late = new X509Certificate(
      selfSignedCertificate(['localhost'], 30, new Date('2049-12-20T00:00:00Z')).certPem,
    );
    expect(new Date(late.validTo).toISOString()).toBe('2050-01-19T00:00:00.000Z');
  });

  it('gets every certificate its own key and serial', () => {
    const other = new X509Certificate(selfSignedCertificate(['localhost']).certPem);
    expect(other.serialNumber).not.toBe(x509.serialNumber);
    expect(other.publicKey.export({ format: 'jwk' })).not.toEqual(x509.publicKey.export({ format: 'jwk' }));
  });

  it('serves TLS that a client trusting it verifies', async () => {
    const fresh = selfSignedCertificate(['localhost', '127.0.0.1']);
    const server = createServer({ cert: fresh.certPem, key: fresh.keyPem }, (s) => s.end('hello'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    try {
      const socket = connect({ host: '127.0.0.1', port, ca: fresh.certPem, servername: 'localhost' });
      const [data] = (await once(socket, 'data')) as [Buffer];
      expect(socket.authorized).toBe(true);
      expect(data.toString()).toBe('hello');
      socket.destroy();
    } finally {
      server.close();
    }
  });

  it('encodes every serial as a minimal positive DER INTEGER', () => {
    for (const first of [0x00, 0x01, 0x3f, 0x40, 0x7f, 0x80, 0xff]) {
      const random = Buffer.from([first, 0x05, ...Array(14).fill(0xa5)]);
      const serial = serialNumber(random);
      expect(serial).toHaveLength(16);
      // Positive (top bit clear) and no leading zero byte, whatever the random bytes were.
      expect(serial[0]).toBeGreaterThanOrEqual(0x40);
      expect(serial[0]).toBeLessThan(0x80);
      expect(serial.subarray(1)).toEqual(random.subarray(1));
    }
    // Certificates in a row all parse (the old serial failed one in ~256).
    for (let i = 0; i < 300; i++) {
      const c = new X509Certificate(selfSignedCertificate(['localhost'], 1, now).certPem);
      expect(c.serialNumber.length).toBe(32);
    }
  });
});
