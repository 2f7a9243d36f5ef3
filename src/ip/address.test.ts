import { describe, expect, it } from 'vitest';
import { canonicalIP, compareIP, formatIP, type IP, parseIP } from './address.js';

function parsed(text: string): IP {
  const result = parseIP(text);
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

function errorOf(text: string): string {
  const result = parseIP(text);
  if (result.ok) throw new Error(`${text} parsed`);
  return result.error;
}

describe('parseIP', () => {
  it('reads IPv4 dotted quads as 32-bit values', () => {
    expect(parsed('10.0.0.1')).toEqual({ family: 4, value: 0x0a000001n });
    expect(parsed('0.0.0.0')).toEqual({ family: 4, value: 0n });
    expect(parsed('255.255.255.255')).toEqual({ family: 4, value: 0xffffffffn });
  });

  it('reads IPv6 in full, compressed and embedded-IPv4 forms', () => {
    expect(parsed('::')).toEqual({ family: 6, value: 0n });
    expect(parsed('::1')).toEqual({ family: 6, value: 1n });
    expect(parsed('fd00::')).toEqual({ family: 6, value: 0xfd00n << 112n });
    expect(parsed('2001:DB8:0:0:0:0:0:1').value).toBe(parsed('2001:db8::1').value);
    expect(parsed('1:2:3:4:5:6:7::').value).toBe(parsed('1:2:3:4:5:6:7:0').value);
    expect(parsed('::ffff:10.0.0.1')).toEqual({ family: 6, value: 0xffff0a000001n });
    expect(parsed('1:2:3:4:5:6:1.2.3.4').value).toBe(parsed('1:2:3:4:5:6:102:304').value);
    expect(parsed('0001::0002').value).toBe(parsed('1::2').value);
  });

  it('treats an IPv4-mapped IPv6 address as IPv6, as Go does', () => {
    expect(parsed('::ffff:1.2.3.4').family).toBe(6);
  });

  it('rejects leading zeros in IPv4 fields and names the entry', () => {
    expect(errorOf('10.0.0.01')).toBe('ParseAddr("10.0.0.01"): IPv4 field has octet with leading zero');
    expect(errorOf('::ffff:01.2.3.4')).toContain('leading zero');
  });

  it('rejects zones, which Go would silently drop', () => {
    expect(errorOf('fe80::1%eth0')).toBe('ParseAddr("fe80::1%eth0"): IPv6 zones are not supported');
    expect(errorOf('fe80::1%')).toContain('zone must be a non-empty string');
    expect(errorOf('%eth0')).toContain('missing IPv6 address');
    expect(errorOf('1.2.3.4%eth0')).toContain('unexpected character');
  });

  it.each([
    ['', 'unable to parse IP'],
    ['x', 'unable to parse IP'],
    [' 10.0.0.1', 'unexpected character'],
    ['10.0.0.1 ', 'unexpected character'],
    ['10.0.0', 'IPv4 address too short'],
    ['10.0.0.0.1', 'IPv4 address too long'],
    ['10..0.1', 'IPv4 field must have at least one digit'],
    ['10.0.0.', 'IPv4 field must have at least one digit'],
    ['10.0.0.256', 'IPv4 field has value >255'],
    ['1:2:3:4:5:6:7', 'address string too short'],
    ['1:2:3:4:5:6:7:8:9', 'trailing garbage'],
    ['1:2:3:4:5:6:7:8::', 'must expand to at least one field of zeros'],
    ['1::2::3', 'multiple :: in address'],
    ['12345::', 'each group must have 4 or less digits'],
    ['1:', 'colon must be followed by more characters'],
    [':1', 'each colon-separated field must have at least one digit'],
    ['1:2:3:4:5:6:7::1.2.3.4', 'too many hex fields'],
    ['1:2:3:4:5:1.2.3.4', 'embedded IPv4 address must replace the final 2 fields'],
    ['g::', 'each colon-separated field must have at least one digit'],
  ])('rejects %j (%s)', (text, message) => {
    const error = errorOf(text);
    expect(error).toContain(message);
    expect(error).toContain(JSON.stringify(text));
  });
});

describe('formatIP', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['::', '::'],
    ['::1', '::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['FD00::A', 'fd00::a'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
    ['::1.2.3.4', '::102:304'],
  ])('writes %s as Go does: %s', (text, expected) => {
    expect(canonicalIP(text)).toBe(expected);
  });

  it('round-trips every value it prints', () => {
    for (const value of [0n, 1n, 0xffffn << 32n, (1n << 128n) - 1n, 0x20010db8n << 96n]) {
      const ip: IP = { family: 6, value };
      expect(parsed(formatIP(ip))).toEqual(ip);
    }
  });
});

describe('compareIP', () => {
  it('orders every IPv4 address before every IPv6 address', () => {
    expect(compareIP(parsed('255.255.255.255'), parsed('::'))).toBeLessThan(0);
    expect(compareIP(parsed('10.0.0.2'), parsed('10.0.0.1'))).toBeGreaterThan(0);
    expect(compareIP(parsed('::1'), parsed('::1'))).toBe(0);
  });
});
