/**
 * Field errors and API status objects, rendered exactly as Kubernetes' apimachinery renders them,
 * so that users (and scripts matching on messages) see what the Go provider's webhook said, e.g.
 * `spec.addresses: Invalid value: "x": provided address is not a valid IP, range, nor CIDR`.
 */

/** The cause types of apimachinery's field.ErrorType that we produce. */
export type FieldErrorType =
  | 'FieldValueInvalid'
  | 'FieldValueRequired'
  | 'FieldValueForbidden'
  | 'FieldValueDuplicate'
  | 'FieldValueTypeInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany';

export interface FieldError {
  type: FieldErrorType;
  /** Dotted path, e.g. `spec.addresses`. */
  field: string;
  badValue?: unknown;
  detail: string;
}

const TYPE_TEXT: Record<FieldErrorType, string> = {
  FieldValueInvalid: 'Invalid value',
  FieldValueRequired: 'Required value',
  FieldValueForbidden: 'Forbidden',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueTypeInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
};

/** Types whose message carries no value, as in apimachinery. */
const WITHOUT_VALUE = new Set<FieldErrorType>([
  'FieldValueRequired',
  'FieldValueForbidden',
  'FieldValueTooLong',
]);

export function invalid(field: string, badValue: unknown, detail: string): FieldError {
  return { type: 'FieldValueInvalid', field, badValue, detail };
}

export function required(field: string, detail = ''): FieldError {
  return { type: 'FieldValueRequired', field, detail };
}

/**
 * Go-compatible rendering of a bad value: strings quoted (`%q`), numbers and booleans bare,
 * anything else as JSON (apimachinery marshals lists and objects to JSON).
 */
export function formatBadValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value === undefined) return 'null';
  return JSON.stringify(value);
}

/** The message without the field name (apimachinery's ErrorBody), used in status causes. */
export function errorBody(e: FieldError): string {
  let s = TYPE_TEXT[e.type];
  if (!WITHOUT_VALUE.has(e.type)) s += `: ${formatBadValue(e.badValue)}`;
  if (e.detail !== '') s += `: ${e.detail}`;
  return s;
}

export function formatFieldError(e: FieldError): string {
  return `${e.field}: ${errorBody(e)}`;
}

/** Joins messages like apimachinery's aggregate error: one bare, several in brackets, duplicates once. */
export function aggregateMessage(errors: readonly FieldError[]): string {
  const messages = [...new Set(errors.map(formatFieldError))];
  return messages.length === 1 ? (messages[0] ?? '') : `[${messages.join(', ')}]`;
}

/** metav1.Status as admission and conversion responses carry it. */
export interface Status {
  apiVersion?: 'v1';
  kind?: 'Status';
  status: 'Failure' | 'Success';
  code: number;
  reason?: string;
  message: string;
  details?: {
    group?: string;
    kind?: string;
    name?: string;
    causes?: { reason: FieldErrorType; message: string; field: string }[];
  };
}

/**
 * The 422 Invalid status of apimachinery's `NewInvalid`, e.g.
 * `InClusterIPPool.ipam.cluster.x-k8s.io "p" is invalid: spec.prefix: Invalid value: 33: …`.
 */
export function invalidStatus(
  group: string,
  kind: string,
  name: string,
  errors: readonly FieldError[],
): Status {
  const qualified = group === '' ? kind : `${kind}.${group}`;
  const head = `${qualified} ${JSON.stringify(name)} is invalid`;
  return {
    status: 'Failure',
    code: 422,
    reason: 'Invalid',
    message: errors.length === 0 ? head : `${head}: ${aggregateMessage(errors)}`,
    details: {
      group,
      kind,
      name,
      causes: errors.map((e) => ({ reason: e.type, message: errorBody(e), field: e.field })),
    },
  };
}

/** The 400 BadRequest status of apimachinery's `NewBadRequest`. */
export function badRequestStatus(message: string): Status {
  return { status: 'Failure', code: 400, reason: 'BadRequest', message };
}
