/**
 * A small builder for the OpenAPI v3 schemas of our CRDs. Every field helper takes a description
 * first, so no field can be added without one (`kubectl explain` shows it).
 */

export type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'boolean' | 'number';

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps we use. */
export interface JSONSchemaProps {
  description?: string;
  type?: SchemaType;
  format?: string;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  items?: JSONSchemaProps;
  additionalProperties?: JSONSchemaProps;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  pattern?: string;
  enum?: (string | number | boolean)[];
  default?: unknown;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

type Extra = Omit<JSONSchemaProps, 'description' | 'type' | 'properties' | 'required' | 'items'>;

/**
 * Joins the source lines of a description into one paragraph: `kubectl explain` wraps text itself,
 * and hard line breaks in the middle of a sentence print as ragged lines there.
 */
function text(description: string | readonly string[]): string {
  return typeof description === 'string' ? description : description.join(' ');
}

export function string(description: string | readonly string[], extra: Extra = {}): JSONSchemaProps {
  return { description: text(description), type: 'string', ...extra };
}

export function integer(description: string | readonly string[], extra: Extra = {}): JSONSchemaProps {
  return { description: text(description), type: 'integer', ...extra };
}

export function boolean(description: string | readonly string[], extra: Extra = {}): JSONSchemaProps {
  return { description: text(description), type: 'boolean', ...extra };
}

/** An array; `items` may omit its description when it is a scalar (as kubebuilder does). */
export function array(
  description: string | readonly string[],
  items: JSONSchemaProps,
  extra: Extra = {},
): JSONSchemaProps {
  return { description: text(description), type: 'array', items, ...extra };
}

/** A list of plain strings, the form of `addresses` and friends. */
export function stringList(description: string | readonly string[], extra: Extra = {}): JSONSchemaProps {
  return array(description, { type: 'string' }, extra);
}

/**
 * An object with named properties. `required` names must exist in `properties`: a typo there
 * would otherwise silently make a field optional.
 */
export function object(
  description: string | readonly string[] | undefined,
  properties: Record<string, JSONSchemaProps>,
  required: readonly string[] = [],
  extra: Extra = {},
): JSONSchemaProps {
  for (const name of required) {
    if (!Object.hasOwn(properties, name)) throw new Error(`required field "${name}" is not a property`);
  }
  return {
    ...(description === undefined ? {} : { description: text(description) }),
    type: 'object',
    properties,
    ...(required.length > 0 ? { required: [...required].sort() } : {}),
    ...extra,
  };
}

/** Keeps whatever is there; for the parts of foreign kinds we never read. */
export function opaqueObject(description: string | readonly string[]): JSONSchemaProps {
  return { description: text(description), type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
}

const API_VERSION_DESCRIPTION = [
  'APIVersion names the versioned schema of this object, e.g. ipam.cluster.x-k8s.io/v1alpha2.',
  'The API server converts objects of a recognised version to the version it stores and may reject others.',
  'More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources',
];
const KIND_DESCRIPTION = [
  'Kind names the REST resource this object represents, in CamelCase.',
  'The API server may infer it from the endpoint a request is sent to. It cannot be updated.',
  'More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
];

/**
 * The root schema of a kind: apiVersion, kind, metadata (described by the API server itself),
 * spec and, when given, status.
 */
export function root(
  description: string | readonly string[],
  parts: { spec: JSONSchemaProps; status?: JSONSchemaProps; specRequired?: boolean },
): JSONSchemaProps {
  return object(
    description,
    {
      apiVersion: string(API_VERSION_DESCRIPTION),
      kind: string(KIND_DESCRIPTION),
      metadata: { type: 'object' },
      spec: parts.spec,
      ...(parts.status ? { status: parts.status } : {}),
    },
    parts.specRequired ? ['spec'] : [],
  );
}
