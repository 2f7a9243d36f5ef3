/**
 * Checks a value against a schema of our schema source, the way the API server checks a custom
 * object against its CRD (types, required, bounds, lengths, patterns, enums, unknown fields). With
 * it, runtime checks and the installed CRDs come from one source and cannot disagree: the
 * controller can refuse a pool object of the wrong shape (say, from a newer or older CRD) with the
 * same words the API server would use.
 */
import { type FieldError, invalid, required } from '../errors.js';
import type { JSONSchemaProps } from './builder.js';

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(expected: JSONSchemaProps['type'], value: unknown): boolean {
  const actual = typeOf(value);
  return expected === undefined || actual === expected || (expected === 'number' && actual === 'integer');
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

export interface StructuralOptions {
  /** Report fields the schema does not declare (the API server prunes them, or refuses them under strict field validation). */
  unknownFields?: boolean;
  /**
   * Check only types, required fields and structure, not bounds (minimum, lengths, patterns, enums,
   * item counts): for callers whose own rules answer those in their own (the Go provider's) words.
   */
  typesOnly?: boolean;
}

/**
 * Returns the errors of `value` at `path` against `schema`; an empty list means it conforms.
 * `null` for an optional field counts as absent, as it does for the API server.
 */
export function validateAgainstSchema(
  schema: JSONSchemaProps,
  value: unknown,
  path: string,
  options: StructuralOptions = {},
): FieldError[] {
  if (!typeMatches(schema.type, value)) {
    return [
      {
        type: 'FieldValueTypeInvalid',
        field: path,
        badValue: value,
        detail: `${path} in body must be of type ${schema.type}: "${typeOf(value)}"`,
      },
    ];
  }
  const errors: FieldError[] = [];
  const bad = (detail: string) => errors.push(invalid(path, value, `${path} in body ${detail}`));
  if (!options.typesOnly) checkBounds(schema, value, path, errors, bad);
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) => {
      errors.push(...validateAgainstSchema(schema.items!, item, `${path}[${i}]`, options));
    });
  }
  if (typeOf(value) === 'object' && schema.type === 'object') {
    const obj = value as Record<string, unknown>;
    const present = Object.keys(obj).filter((k) => obj[k] !== null && obj[k] !== undefined);
    if (schema.minProperties !== undefined && present.length < schema.minProperties) {
      bad(`should have at least ${schema.minProperties} properties`);
    }
    for (const name of schema.required ?? []) {
      if (!present.includes(name)) errors.push(required(join(path, name)));
    }
    const props = schema.properties;
    for (const key of present) {
      const child = props?.[key] ?? schema.additionalProperties;
      if (child) errors.push(...validateAgainstSchema(child, obj[key], join(path, key), options));
      else if (options.unknownFields && props && !schema['x-kubernetes-preserve-unknown-fields']) {
        errors.push({
          type: 'FieldValueInvalid',
          field: join(path, key),
          badValue: obj[key],
          detail: 'field not declared in schema',
        });
      }
    }
  }
  return errors;
}

/** Numeric bounds, string lengths and patterns, enums and item counts of one value. */
function checkBounds(
  schema: JSONSchemaProps,
  value: unknown,
  path: string,
  errors: FieldError[],
  bad: (detail: string) => void,
): void {
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      bad(`should be greater than or equal to ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum)
      bad(`should be less than or equal to ${schema.maximum}`);
    if (schema.format === 'int32' && (value < -2_147_483_648 || value > 2_147_483_647))
      bad('must be an int32');
  }
  if (typeof value === 'string') {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength)
      bad(`should be at least ${schema.minLength} chars long`);
    if (schema.maxLength !== undefined && length > schema.maxLength) {
      errors.push({
        type: 'FieldValueTooLong',
        field: path,
        badValue: value,
        detail: `may not be more than ${schema.maxLength} bytes`,
      });
    }
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value))
      bad(`should match '${schema.pattern}'`);
  }
  if (schema.enum !== undefined && !schema.enum.includes(value as string | number | boolean)) {
    errors.push({
      type: 'FieldValueNotSupported',
      field: path,
      badValue: value,
      detail: `supported values: ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`,
    });
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      bad(`should have at least ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      errors.push({
        type: 'FieldValueTooMany',
        field: path,
        badValue: value.length,
        detail: `must have at most ${schema.maxItems} items`,
      });
    }
  }
}
