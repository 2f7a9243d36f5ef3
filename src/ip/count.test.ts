import { describe, expect, it } from 'vitest';
import { capToInt64, int64JSON, MAX_INT64, parseWithInt64, stringifyWithInt64 } from './count.js';

describe('int64 counts', () => {
  it('caps counts beyond int64 at 9223372036854775807, as the Go provider does', () => {
    expect(capToInt64(1n << 64n)).toBe(MAX_INT64);
    expect(capToInt64(MAX_INT64)).toBe(MAX_INT64);
    expect(capToInt64(42n)).toBe(42n);
    expect(capToInt64(-5n)).toBe(-5n);
  });

  it('serialises the cap as that exact integer, not as 9223372036854775808', () => {
    expect(JSON.stringify({ total: int64JSON(1n << 64n) })).toBe('{"total":9223372036854775807}');
    expect(stringifyWithInt64({ total: 1n << 100n, used: 3n, free: -2n })).toBe(
      '{"total":9223372036854775807,"used":3,"free":-2}',
    );
  });

  it('reads large integers back as exact bigints and small ones as numbers', () => {
    expect(parseWithInt64('{"total":9223372036854775807,"used":3,"ratio":1.5}')).toEqual({
      total: MAX_INT64,
      used: 3,
      ratio: 1.5,
    });
  });
});
