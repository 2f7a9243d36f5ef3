import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr || e.message}`);
  }
}

export interface CertificateAuthority {
  certFile: string;
  keyFile: string;
  certPem: string;
}

export interface IssuedCertificate {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

/** A throw-away CA (EC P-256) valid for two days: long enough for any run, useless afterwards. */
export async function createCertificateAuthority(
  dir: string,
  name = 'ipam-test-ca',
): Promise<CertificateAuthority> {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    keyFile,
    '-subj',
    `/CN=${name}`,
    '-days',
    '2',
    '-out',
    certFile,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { certFile, keyFile, certPem: await readFile(certFile, 'utf8') };
}

export interface CertificateRequest {
  name: string;
  commonName: string;
  organization?: string;
  /** Subject alternative names, e.g. ['DNS:localhost', 'IP:127.0.0.1']. */
  altNames?: string[];
  usage: 'server' | 'client';
  days?: number;
}

export async function issueCertificate(
  dir: string,
  ca: CertificateAuthority,
  req: CertificateRequest,
): Promise<IssuedCertificate> {
  const keyFile = join(dir, `${req.name}.key`);
  const csrFile = join(dir, `${req.name}.csr`);
  const certFile = join(dir, `${req.name}.crt`);
  const extFile = join(dir, `${req.name}.ext`);
  const subject = `/CN=${req.commonName}${req.organization ? `/O=${req.organization}` : ''}`;
  const ext = [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${req.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
    ...(req.altNames?.length ? [`subjectAltName=${req.altNames.join(',')}`] : []),
  ];
  await writeFile(extFile, `${ext.join('\n')}\n`);
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]);
  await openssl(['req', '-new', '-key', keyFile, '-subj', subject, '-out', csrFile]);
  await openssl([
    'x509',
    '-req',
    '-in',
    csrFile,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-CAcreateserial',
    '-days',
    String(req.days ?? 2),
    '-extfile',
    extFile,
    '-out',
    certFile,
  ]);
  return {
    certFile,
    keyFile,
    certPem: await readFile(certFile, 'utf8'),
    keyPem: await readFile(keyFile, 'utf8'),
  };
}

/** RSA key pair the API server signs and verifies service-account tokens with. */
export async function createServiceAccountKeys(
  dir: string,
): Promise<{ keyFile: string; publicKeyFile: string }> {
  const keyFile = join(dir, 'sa.key');
  const publicKeyFile = join(dir, 'sa.pub');
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyFile]);
  await openssl(['pkey', '-in', keyFile, '-pubout', '-out', publicKeyFile]);
  return { keyFile, publicKeyFile };
}

/** A CA and a webhook serving certificate for 127.0.0.1, as `tls.crt`/`tls.key` in `dir`. */
export interface WebhookCertificates {
  ca: CertificateAuthority;
  /** base64 of the CA certificate, for a caBundle. */
  caBundle: string;
}

export async function createWebhookCertificates(
  dir: string,
  caName = 'webhook-ca',
): Promise<WebhookCertificates> {
  const ca = await createCertificateAuthority(dir, caName);
  const cert = await issueCertificate(dir, ca, {
    name: 'serving',
    commonName: 'webhook',
    altNames: ['IP:127.0.0.1'],
    usage: 'server',
  });
  await writeFile(join(dir, 'tls.crt'), cert.certPem);
  await writeFile(join(dir, 'tls.key'), cert.keyPem);
  return { ca, caBundle: Buffer.from(ca.certPem).toString('base64') };
}

/** The serial number of the certificate a TLS server on 127.0.0.1:`port` presents (verified with `caPem`). */
export function servedCertificateSerial(port: number, caPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: caPem }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.on('error', reject);
  });
}
