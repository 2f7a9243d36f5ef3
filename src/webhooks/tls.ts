/**
 * The TLS flags as Cluster API spells them (--tls-min-version VersionTLS12, --tls-cipher-suites with
 * IANA names such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256), turned into Node's options. Node speaks
 * OpenSSL names, so a Go-style list passed through unchanged would fail or, worse, silently mean
 * something else; unknown names are an error that names the flag.
 */
import type { SecureVersion } from 'node:tls';

const IANA_TO_OPENSSL: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
};

/** TLS 1.3 suites: Go always enables them and ignores them in the flag; so do we. */
const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

export interface TlsSettings {
  minVersion: SecureVersion;
  /** Undefined: Node's defaults. */
  ciphers?: string;
  /** Key exchange groups, OpenSSL names joined by ':'; undefined: Node's defaults. */
  ecdhCurve?: string;
}

/** Go's crypto/tls CurveID numbers, which Cluster API's --tls-curve-preferences takes, as OpenSSL names them. */
const GO_CURVES: Readonly<Record<string, string>> = {
  '23': 'P-256',
  '24': 'P-384',
  '25': 'P-521',
  '29': 'X25519',
  '4588': 'X25519MLKEM768',
};

/** A comma-separated flag value's items, trimmed, empty ones dropped (as pflag's StringSlice). */
function commaList(flag: string | undefined): string[] {
  return (flag ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
}

/** Comma-separated CurveIDs → the groups' OpenSSL names; as in Go, the order carries no meaning. */
export function tlsCurveList(flag: string | undefined): string | undefined {
  const ids = commaList(flag);
  if (ids.length === 0) return undefined;
  const unknown = ids.filter((id) => !(id in GO_CURVES));
  if (unknown.length > 0) {
    const known = Object.entries(GO_CURVES)
      .map(([id, name]) => `${id} (${name})`)
      .join(', ');
    throw new Error(
      `--tls-curve-preferences: unsupported curve ID(s) ${unknown.join(', ')}; supported: ${known}`,
    );
  }
  return [...new Set(ids.map((id) => GO_CURVES[id]))].join(':');
}

export function tlsMinVersion(flag: string | undefined): SecureVersion {
  if (!flag || flag === 'VersionTLS12') return 'TLSv1.2';
  if (flag === 'VersionTLS13') return 'TLSv1.3';
  throw new Error(
    `--tls-min-version: unsupported value ${JSON.stringify(flag)} (VersionTLS12 or VersionTLS13)`,
  );
}

/** Go's comma-separated IANA names → an OpenSSL cipher string that keeps TLS 1.3 on. */
export function tlsCipherList(flag: string | undefined): string | undefined {
  const names = commaList(flag);
  if (names.length === 0) return undefined;
  const unknown = names.filter((n) => !(n in IANA_TO_OPENSSL) && !TLS13_SUITES.includes(n));
  if (unknown.length > 0) {
    throw new Error(`--tls-cipher-suites: unsupported cipher suite(s) ${unknown.join(', ')}`);
  }
  const tls12 = [...new Set(names.filter((n) => n in IANA_TO_OPENSSL).map((n) => IANA_TO_OPENSSL[n]))];
  return [...TLS13_SUITES, ...tls12].join(':');
}

export function tlsSettings(
  minVersionFlag: string | undefined,
  cipherSuitesFlag: string | undefined,
  curvePreferencesFlag?: string,
): TlsSettings {
  const ciphers = tlsCipherList(cipherSuitesFlag);
  const ecdhCurve = tlsCurveList(curvePreferencesFlag);
  return {
    minVersion: tlsMinVersion(minVersionFlag),
    ...(ciphers ? { ciphers } : {}),
    ...(ecdhCurve ? { ecdhCurve } : {}),
  };
}
