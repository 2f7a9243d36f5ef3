/**
 * Uniform random integers below a bound, for the Random strategy: any bound up to an IPv6 pool's
 * 2^128, from an injectable source (a seeded generator in tests, Web Crypto by default).
 *
 * Unbiased by rejection: a draw of as many bits as the bound needs is kept when it is below the
 * bound, so a draw is rejected with probability below 1/2 whatever the bound, and the expected
 * number of draws is under 2. This depends on the number of free addresses only through its bit
 * length, never on how full the pool is. (crypto.randomInt stops at 2^48, hence our own.)
 */

/**
 * A uniform number in [0, 1), as Math.random. Each call yields 32 bits (`floor(r · 2^32)`), so a
 * generator must give at least 32 random bits per number: Math.random, or a 32-bit generator's
 * output divided by 2^32, both do.
 */
export type RandomSource = () => number;

const TWO_32 = 2 ** 32;
const TWO_32N = 1n << 32n;

/** 32 uniform bits from one call of the source. */
function draw(source: RandomSource): number {
  const r = source();
  if (!(r >= 0 && r < 1)) throw new RangeError(`random source returned ${r}, not a number in [0, 1)`);
  return Math.floor(r * TWO_32);
}

/** Number of bits needed to write `n` (n >= 1) in binary. */
function bitLength(n: number): number {
  return n < TWO_32 ? 32 - Math.clz32(n) : 32 + bitLength(Math.floor(n / TWO_32));
}

/** A uniform integer in [0, bound), for 1 <= bound <= 2^53. */
export function randomBelow(bound: number, source: RandomSource): number {
  if (!(bound >= 1 && bound <= 2 ** 53 && Number.isInteger(bound))) {
    throw new RangeError(`random bound ${bound} is not an integer in [1, 2^53]`);
  }
  if (bound === 1) return 0;
  const bits = bitLength(bound - 1);
  if (bits <= 32) {
    for (;;) {
      const value = draw(source) >>> (32 - bits);
      if (value < bound) return value;
    }
  }
  for (;;) {
    const value = (draw(source) >>> (64 - bits)) * TWO_32 + draw(source);
    if (value < bound) return value;
  }
}

/** A uniform integer in [0, bound), for any bound >= 1. */
export function randomBigBelow(bound: bigint, source: RandomSource): bigint {
  if (bound < 1n) throw new RangeError(`random bound ${bound} is below 1`);
  if (bound <= 2n ** 53n) return BigInt(randomBelow(Number(bound), source));
  // The bound's length in 32-bit words, and the bits of its top word.
  let top = bound - 1n;
  let words = 1;
  for (; top >= TWO_32N; top >>= 32n) words++;
  const topBits = 32 - Math.clz32(Number(top));
  for (;;) {
    let value = BigInt(draw(source) >>> (32 - topBits));
    for (let i = 1; i < words; i++) value = (value << 32n) | BigInt(draw(source));
    if (value < bound) return value;
  }
}

/** The default source: Web Crypto's generator, drawn 1 KiB at a time. */
export function cryptoRandom(): RandomSource {
  const buffer = new Uint32Array(256);
  let next = buffer.length;
  return () => {
    if (next === buffer.length) {
      globalThis.crypto.getRandomValues(buffer);
      next = 0;
    }
    return buffer[next++]! / TWO_32;
  };
}

/**
 * A seeded source (mulberry32, 32 bits per call): the same numbers on every run, for tests and
 * benchmarks that must not flake. Not for pools: anyone who knows the seed knows the next address.
 */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / TWO_32;
  };
}
