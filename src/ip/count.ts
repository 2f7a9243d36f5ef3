/**
 * Counts are exact `bigint`s. The pool status fields are int64 in the CRD, so they are capped the
 * way the Go provider caps them (at `math.MaxInt`), and they must reach the API server as exact
 * JSON integers: `JSON.stringify(Number(MAX_INT64))` would send 9223372036854775808, which the API
 * server rejects as out of range for int64.
 */

export const MAX_INT64 = 9223372036854775807n;
export const MIN_INT64 = -9223372036854775808n;

/** Clamps to the int64 range, as Go's `IPSetCount` does for totals beyond `math.MaxInt`. */
export function capToInt64(value: bigint): bigint {
  if (value > MAX_INT64) return MAX_INT64;
  if (value < MIN_INT64) return MIN_INT64;
  return value;
}

/** What `JSON.rawJSON` returns: serialised by `JSON.stringify` as the raw text it holds. */
export type RawJSON = { readonly rawJSON: string };

// Node 21+ has JSON.rawJSON; the ES2024 lib we compile against does not declare it yet.
const jsonWithRaw = JSON as unknown as {
  rawJSON(text: string): RawJSON;
  isRawJSON(value: unknown): value is RawJSON;
};

/**
 * The int64-capped count as a value that `JSON.stringify` writes as an exact integer,
 * e.g. `JSON.stringify({ total: int64JSON(2n ** 64n) })` is `{"total":9223372036854775807}`.
 */
export function int64JSON(value: bigint): RawJSON {
  return jsonWithRaw.rawJSON(capToInt64(value).toString());
}

/** Whether a value came from {@link int64JSON} (or any `JSON.rawJSON`). */
export function isRawJSON(value: unknown): value is RawJSON {
  return jsonWithRaw.isRawJSON(value);
}

/**
 * `JSON.stringify` that writes every `bigint` as an exact, int64-capped integer instead of
 * throwing. For request bodies that carry pool counts.
 */
export function stringifyWithInt64(value: unknown, space?: number): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? int64JSON(v) : v), space);
}

/**
 * `JSON.parse` that reads integers too large for a `number` as exact `bigint`s (using the source
 * text the reviver receives in Node 21+), so a status written by us reads back unchanged.
 */
export function parseWithInt64(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) => {
    if (typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined) {
      if (/^-?[0-9]+$/.test(context.source)) return BigInt(context.source);
    }
    return value;
  });
}
