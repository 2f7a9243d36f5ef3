/**
 * The self-signed certificate secure diagnostics serve when no certificate is given, as
 * controller-runtime's metrics server does: scrapers verify the bearer token, not the server.
 *
 * Written here rather than with node-forge or @peculiar/x509 because loading either costs the
 * process 12–21 MB of RSS for one certificate at start-up (measured), and this controller has a
 * memory budget. Node makes the key, exports its SubjectPublicKeyInfo and signs; what is left is
 * the DER of one TBSCertificate, below.
 */
import { generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';

export interface SelfSignedCertificate {
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime until 2049, GeneralizedTime after, as RFC 5280 §4.1.2.5 asks. */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return d.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`))
    : tlv(0x18, Buffer.from(`${iso}Z`));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.concat(groups.map((g) => Buffer.from(g.padStart(4, '0'), 'hex')));
}

/**
 * A certificate serial from random bytes, as DER wants an INTEGER: positive (top bit clear) and
 * minimal (no leading zero byte, which OpenSSL refuses as "illegal padding" — one certificate in
 * ~256 when only the top bit was cleared).
 */
export function serialNumber(random: Buffer): Buffer {
  const serial = Buffer.from(random);
  serial[0] = 0x40 | ((serial[0] ?? 0) & 0x3f);
  return serial;
}

const ECDSA_WITH_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

/**
 * An ECDSA P-256 certificate for `hosts` (DNS names and IPs; the first is the common name), valid
 * from a minute ago for `days`: a server certificate that is its own issuer.
 */
export function selfSignedCertificate(hosts: string[], days = 365, now = new Date()): SelfSignedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const name = seq(
    set(
      seq(
        oid('2.5.4.3'),
        tlv(0x0c, Buffer.from(`${hosts[0] ?? 'localhost'}@${Math.floor(now.getTime() / 1000)}`)),
      ),
    ),
  );
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + days * 86_400_000);
  const serial = serialNumber(randomBytes(16));
  const altNames = hosts.map((h) => (isIP(h) ? tlv(0x87, ipBytes(h)) : tlv(0x82, Buffer.from(h))));
  const extension = (id: string, critical: boolean, value: Buffer) =>
    seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
  const extensions = tlv(
    0xa3,
    seq(
      // keyUsage: digitalSignature
      extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x07, 0x80]))),
      // extKeyUsage: serverAuth
      extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))),
      // basicConstraints: not a CA
      extension('2.5.29.19', true, seq()),
      extension('2.5.29.17', false, seq(...altNames)),
    ),
  );
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, serial),
    ECDSA_WITH_SHA256,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const der = seq(tbs, ECDSA_WITH_SHA256, tlv(0x03, Buffer.from([0]), signature));
  return { certPem: pem('CERTIFICATE', der), keyPem: keyPem(privateKey), notAfter };
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function keyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}
