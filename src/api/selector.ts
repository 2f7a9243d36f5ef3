/**
 * Kubernetes' label selector (`metav1.LabelSelector`), pure: its type, its validation as the API
 * server validates selectors (apimachinery's `ValidateLabelSelector`, same field paths and words),
 * and matching a set of labels. The Global pools' `spec.namespaceSelector` is one; the webhooks
 * validate it and the controller matches claims' namespaces with it.
 */
import { type FieldError, invalid, required } from './errors.js';
import { isQualifiedName, isValidLabelValue } from './names.js';

export const LABEL_SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
export type LabelSelectorOperator = (typeof LABEL_SELECTOR_OPERATORS)[number];

export interface LabelSelectorRequirement {
  key: string;
  operator: LabelSelectorOperator;
  /** Non-empty for In and NotIn, empty or absent for Exists and DoesNotExist. */
  values?: string[];
}

/** Both parts are ANDed; an empty selector selects everything. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export const MSG_SELECTOR_VALUES_REQUIRED = "must be specified when `operator` is 'In' or 'NotIn'";
export const MSG_SELECTOR_VALUES_FORBIDDEN =
  "may not be specified when `operator` is 'Exists' or 'DoesNotExist'";
export const MSG_SELECTOR_BAD_OPERATOR = 'not a valid selector operator';

function isOperator(value: unknown): value is LabelSelectorOperator {
  return typeof value === 'string' && (LABEL_SELECTOR_OPERATORS as readonly string[]).includes(value);
}

function typeError(path: string, value: unknown, expected: string): FieldError {
  const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return {
    type: 'FieldValueTypeInvalid',
    field: path,
    badValue: value,
    detail: `${path} in body must be of type ${expected}: "${actual}"`,
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The rules of apimachinery's `ValidateLabelSelector` for a selector of the right shape: label keys
 * are qualified names and values valid label values; In/NotIn need values, Exists/DoesNotExist take
 * none; the operator is one of the four. Errors on `matchLabels` name the map, as Kubernetes does.
 */
export function validateLabelSelector(selector: LabelSelector, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const labelsPath = `${path}.matchLabels`;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    for (const msg of isQualifiedName(key)) errors.push(invalid(labelsPath, key, msg));
    for (const msg of isValidLabelValue(value)) errors.push(invalid(labelsPath, value, msg));
  }
  (selector.matchExpressions ?? []).forEach((req, i) => {
    const at = `${path}.matchExpressions[${i}]`;
    const values = req.values ?? [];
    switch (req.operator as string) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) errors.push(required(`${at}.values`, MSG_SELECTOR_VALUES_REQUIRED));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) {
          errors.push({
            type: 'FieldValueForbidden',
            field: `${at}.values`,
            detail: MSG_SELECTOR_VALUES_FORBIDDEN,
          });
        }
        break;
      default:
        errors.push(invalid(`${at}.operator`, req.operator, MSG_SELECTOR_BAD_OPERATOR));
    }
    for (const msg of isQualifiedName(req.key)) errors.push(invalid(`${at}.key`, req.key, msg));
    values.forEach((value, j) => {
      for (const msg of isValidLabelValue(value)) errors.push(invalid(`${at}.values[${j}]`, value, msg));
    });
  });
  return errors;
}

/**
 * A selector from a value of unknown shape (an object read from the API, or a webhook's request):
 * its shape checked as the CRD schema does (null parts count as absent), then its rules. For the
 * controller, which must not match with a selector that got in while the webhooks were off.
 */
export function parseLabelSelector(
  value: unknown,
  path = 'spec.namespaceSelector',
): { ok: true; selector: LabelSelector } | { ok: false; errors: FieldError[] } {
  if (!isRecord(value)) return { ok: false, errors: [typeError(path, value, 'object')] };
  const errors: FieldError[] = [];
  const selector: LabelSelector = {};
  const labels = value.matchLabels;
  if (labels !== undefined && labels !== null) {
    if (!isRecord(labels)) errors.push(typeError(`${path}.matchLabels`, labels, 'object'));
    else {
      const out: Record<string, string> = {};
      for (const [key, v] of Object.entries(labels)) {
        if (v === null || v === undefined) continue;
        if (typeof v !== 'string') errors.push(typeError(`${path}.matchLabels.${key}`, v, 'string'));
        else out[key] = v;
      }
      selector.matchLabels = out;
    }
  }
  const expressions = value.matchExpressions;
  if (expressions !== undefined && expressions !== null) {
    if (!Array.isArray(expressions)) errors.push(typeError(`${path}.matchExpressions`, expressions, 'array'));
    else {
      selector.matchExpressions = expressions.map((req: unknown, i) => {
        const at = `${path}.matchExpressions[${i}]`;
        if (!isRecord(req)) {
          errors.push(typeError(at, req, 'object'));
          return { key: '', operator: 'Exists' };
        }
        const out: LabelSelectorRequirement = { key: '', operator: 'Exists' };
        for (const field of ['key', 'operator'] as const) {
          const v = req[field];
          if (v === undefined || v === null) errors.push(required(`${at}.${field}`));
          else if (typeof v !== 'string') errors.push(typeError(`${at}.${field}`, v, 'string'));
          else if (field === 'key') out.key = v;
          else out.operator = v as LabelSelectorOperator;
        }
        const values = req.values;
        if (values !== undefined && values !== null) {
          if (!Array.isArray(values)) errors.push(typeError(`${at}.values`, values, 'array'));
          else {
            out.values = [];
            values.forEach((v: unknown, j) => {
              if (typeof v === 'string') out.values?.push(v);
              else errors.push(typeError(`${at}.values[${j}]`, v, 'string'));
            });
          }
        }
        return out;
      });
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const rules = validateLabelSelector(selector, path);
  return rules.length > 0 ? { ok: false, errors: rules } : { ok: true, selector };
}

/**
 * Whether `labels` (a namespace's, say) satisfy `selector`. An absent selector selects everything
 * (a pool without `namespaceSelector` serves every namespace), and so does an empty one, as in
 * Kubernetes. NotIn and DoesNotExist hold for a label that is absent. A requirement with an
 * operator outside the four selects nothing, so a selector that escaped validation never widens a
 * pool's reach.
 */
export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  if (selector === undefined) return true;
  const has = (key: string) => labels !== undefined && Object.hasOwn(labels, key);
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!has(key) || labels?.[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    if (!isOperator(req.operator)) return false;
    const present = has(req.key);
    const value = present ? labels?.[req.key] : undefined;
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
        if (!present || !values.includes(value as string)) return false;
        break;
      case 'NotIn':
        if (present && values.includes(value as string)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
    }
  }
  return true;
}
