import { describe, expect, it } from 'vitest';
import { tlsCipherList, tlsCurveList, tlsMinVersion, tlsSettings } from './tls.js';

describe('TLS flags', () => {
  it('take the Go version names, TLS 1.2 by default', () => {
    expect(tlsMinVersion(undefined)).toBe('TLSv1.2');
    expect(tlsMinVersion('VersionTLS12')).toBe('TLSv1.2');
    expect(tlsMinVersion('VersionTLS13')).toBe('TLSv1.3');
    expect(() => tlsMinVersion('VersionTLS10')).toThrow(
      /--tls-min-version: unsupported value "VersionTLS10"/,
    );
  });

  it('turn IANA cipher suite names into OpenSSL ones and keep TLS 1.3 suites on', () => {
    expect(
      tlsCipherList('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384'),
    ).toBe(
      'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384',
    );
    expect(tlsCipherList(undefined)).toBeUndefined();
    expect(tlsCipherList(' ')).toBeUndefined();
  });

  it('name every unknown suite in the error', () => {
    expect(() =>
      tlsCipherList('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,ECDHE-RSA-AES128-GCM-SHA256,nope'),
    ).toThrow('--tls-cipher-suites: unsupported cipher suite(s) ECDHE-RSA-AES128-GCM-SHA256, nope');
  });

  it('leave ciphers to Node when the flag is not set', () => {
    expect(tlsSettings(undefined, undefined)).toEqual({ minVersion: 'TLSv1.2' });
  });

  it('maps --tls-curve-preferences (Go CurveIDs) to OpenSSL group names, refusing IDs Go does not know', () => {
    expect(tlsCurveList('29, 23,4588,23')).toBe('X25519:P-256:X25519MLKEM768');
    expect(tlsCurveList('24,25')).toBe('P-384:P-521');
    expect(tlsCurveList(undefined)).toBeUndefined();
    expect(tlsCurveList('')).toBeUndefined();
    expect(() => tlsCurveList('23,0,x25519')).toThrow(
      /--tls-curve-preferences: unsupported curve ID\(s\) 0, x25519; supported: 23 \(P-256\)/,
    );
    expect(tlsSettings('VersionTLS13', undefined, '29')).toEqual({
      minVersion: 'TLSv1.3',
      ecdhCurve: 'X25519',
    });
  });
});
