/**
 * Schema source of Cluster API's IPAddressClaim and IPAddress, for tests and the demo only: in a
 * real management cluster Cluster API installs its own CRDs. Written from the published v1.11+
 * schema (v1alpha1 and v1beta1 served, v1beta2 stored), with the same types, required fields and
 * bounds, so that objects our controller writes are checked as strictly as in production.
 */
import { CAPI_VERSION_V1BETA1, CAPI_VERSION_V1BETA2, IPAM_GROUP } from '../constants.js';
import { array, integer, type JSONSchemaProps, object, root, string } from './builder.js';
import type { CrdSource, CrdVersionSource, PrinterColumn } from './crd.js';

export const DNS_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const KIND_PATTERN = '^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$';
const CONDITION_TYPE_PATTERN =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$';
const CONDITION_REASON_PATTERN = '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$';

function objectName(what: string): JSONSchemaProps {
  return string(
    `Name of the ${what}: lower-case alphanumerics, '-' or '.', starting and ending alphanumeric.`,
    {
      minLength: 1,
      maxLength: 253,
      pattern: DNS_SUBDOMAIN_PATTERN,
    },
  );
}

/** v1beta2 IPPoolReference: every part required and checked. */
function poolReference(description: string): JSONSchemaProps {
  return object(
    description,
    {
      apiGroup: string('API group of the pool, a fully qualified domain name.', {
        minLength: 1,
        maxLength: 253,
        pattern: DNS_SUBDOMAIN_PATTERN,
      }),
      kind: string('Kind of the pool, e.g. InClusterIPPool.', {
        minLength: 1,
        maxLength: 63,
        pattern: KIND_PATTERN,
      }),
      name: objectName('pool'),
    },
    ['apiGroup', 'kind', 'name'],
  );
}

/** v1alpha1/v1beta1 TypedLocalObjectReference: apiGroup optional, nothing else checked. */
function typedLocalReference(description: string): JSONSchemaProps {
  return object(
    description,
    {
      apiGroup: string('API group of the referenced kind; empty means the core group.'),
      kind: string('Kind of the referenced object.'),
      name: string('Name of the referenced object.'),
    },
    ['kind', 'name'],
    { 'x-kubernetes-map-type': 'atomic' },
  );
}

/** v1alpha1/v1beta1 LocalObjectReference. */
function localReference(description: string): JSONSchemaProps {
  return object(description, { name: string('Name of the referenced object.', { default: '' }) }, [], {
    'x-kubernetes-map-type': 'atomic',
  });
}

/** metav1.Condition list (listType map keyed by type). */
export function conditionsSchema(description: string): JSONSchemaProps {
  return array(
    description,
    object(
      'A condition: one aspect of the current state of the object.',
      {
        type: string('Type of the condition in CamelCase, e.g. Ready.', {
          maxLength: 316,
          pattern: CONDITION_TYPE_PATTERN,
        }),
        status: string('Status of the condition: True, False or Unknown.', {
          enum: ['True', 'False', 'Unknown'],
        }),
        reason: string('Reason for the last transition, in CamelCase.', {
          minLength: 1,
          maxLength: 1024,
          pattern: CONDITION_REASON_PATTERN,
        }),
        message: string('Message for people about the last transition; may be empty.', { maxLength: 32768 }),
        lastTransitionTime: string('When the status last changed.', { format: 'date-time' }),
        observedGeneration: integer('metadata.generation the condition was computed from.', {
          format: 'int64',
          minimum: 0,
        }),
      },
      ['lastTransitionTime', 'message', 'reason', 'status', 'type'],
    ),
    { maxItems: 32, 'x-kubernetes-list-map-keys': ['type'], 'x-kubernetes-list-type': 'map' },
  );
}

/** Cluster API's v1beta1-era conditions (with severity). */
export function v1beta1ConditionsSchema(description: string): JSONSchemaProps {
  return array(
    description,
    object(
      'A Cluster API condition: one aspect of the operational state of the object.',
      {
        type: string('Type of the condition in CamelCase.', { minLength: 1, maxLength: 256 }),
        status: string('Status of the condition: True, False or Unknown.'),
        severity: string('Severity of a False condition: Error, Warning or Info.', { maxLength: 32 }),
        reason: string('Reason for the last transition, in CamelCase.', { minLength: 1, maxLength: 256 }),
        message: string('Message for people about the last transition.', { minLength: 1, maxLength: 10240 }),
        lastTransitionTime: string('When the status last changed.', { format: 'date-time' }),
      },
      ['lastTransitionTime', 'status', 'type'],
    ),
  );
}

const CLAIM_COLUMNS: PrinterColumn[] = [
  { name: 'Pool Name', type: 'string', jsonPath: '.spec.poolRef.name', description: 'Pool to allocate from' },
  { name: 'Pool Kind', type: 'string', jsonPath: '.spec.poolRef.kind', description: 'Kind of the pool' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation' },
];

const CLAIM_DESCRIPTION = 'IPAddressClaim asks the provider of the referenced pool for one IP address.';
const CLUSTER_NAME = string('Name of the Cluster the claim belongs to.', { minLength: 1, maxLength: 63 });
const POOL_REF_DESCRIPTION = 'Reference to the pool to allocate the address from.';

function claimVersion(name: string): CrdVersionSource {
  const v1beta2 = name === CAPI_VERSION_V1BETA2;
  const spec = object(
    'Spec names the pool to allocate from.',
    {
      ...(name === 'v1alpha1' ? {} : { clusterName: CLUSTER_NAME }),
      poolRef: v1beta2 ? poolReference(POOL_REF_DESCRIPTION) : typedLocalReference(POOL_REF_DESCRIPTION),
    },
    ['poolRef'],
  );
  const addressRefDescription = 'Reference to the IPAddress created for this claim.';
  const status = v1beta2
    ? object(
        'Status tells which IPAddress was created for the claim.',
        {
          addressRef: object(addressRefDescription, { name: objectName('IPAddress') }, ['name']),
          conditions: conditionsSchema('Conditions of the claim; the provider sets Ready.'),
          deprecated: object('Status fields kept for v1beta1 clients.', {
            v1beta1: object('Status fields of v1beta1.', {
              conditions: v1beta1ConditionsSchema('v1beta1 conditions of the claim.'),
            }),
          }),
        },
        [],
        { minProperties: 1 },
      )
    : object('Status tells which IPAddress was created for the claim.', {
        addressRef: localReference(addressRefDescription),
        conditions: v1beta1ConditionsSchema('Conditions of the claim.'),
        ...(name === CAPI_VERSION_V1BETA1
          ? {
              v1beta2: object('Status fields as they are in v1beta2.', {
                conditions: conditionsSchema('v1beta2 conditions of the claim.'),
              }),
            }
          : {}),
      });
  return {
    name,
    served: true,
    storage: v1beta2,
    ...(name === CAPI_VERSION_V1BETA1 ? { deprecated: true } : {}),
    schema: root(CLAIM_DESCRIPTION, { spec, status, specRequired: v1beta2 }),
    printerColumns: CLAIM_COLUMNS,
    statusSubresource: true,
  };
}

const ADDRESS_COLUMNS: PrinterColumn[] = [
  { name: 'Address', type: 'string', jsonPath: '.spec.address', description: 'The address' },
  {
    name: 'Pool Name',
    type: 'string',
    jsonPath: '.spec.poolRef.name',
    description: 'Pool the address is from',
  },
  { name: 'Pool Kind', type: 'string', jsonPath: '.spec.poolRef.kind', description: 'Kind of the pool' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation' },
];

function addressVersion(name: string): CrdVersionSource {
  const v1beta2 = name === CAPI_VERSION_V1BETA2;
  const spec = object(
    'Spec holds the allocated address and where it came from.',
    {
      address: string('The IP address.', { minLength: 1, maxLength: 39 }),
      prefix: integer(
        'Prefix length of the network the address is in.',
        v1beta2 ? { format: 'int32', minimum: 0, maximum: 128 } : {},
      ),
      gateway: string('Gateway of the network the address is in.', { minLength: 1, maxLength: 39 }),
      claimRef: v1beta2
        ? object('The claim this address was created for.', { name: objectName('IPAddressClaim') }, ['name'])
        : localReference('The claim this address was created for.'),
      poolRef: v1beta2
        ? poolReference('The pool the address was allocated from.')
        : typedLocalReference('The pool the address was allocated from.'),
    },
    ['address', 'claimRef', 'poolRef', 'prefix'],
  );
  return {
    name,
    served: true,
    storage: v1beta2,
    ...(name === CAPI_VERSION_V1BETA1 ? { deprecated: true } : {}),
    schema: root('IPAddress is an IP address allocated from a pool for an IPAddressClaim.', {
      spec,
      specRequired: v1beta2,
    }),
    printerColumns: ADDRESS_COLUMNS,
    statusSubresource: false,
  };
}

const CAPI_VERSIONS = ['v1alpha1', CAPI_VERSION_V1BETA1, CAPI_VERSION_V1BETA2];

export const ipAddressClaimCrd: CrdSource = {
  group: IPAM_GROUP,
  kind: 'IPAddressClaim',
  plural: 'ipaddressclaims',
  singular: 'ipaddressclaim',
  scope: 'Namespaced',
  categories: ['cluster-api'],
  versions: CAPI_VERSIONS.map(claimVersion),
};

export const ipAddressCrd: CrdSource = {
  group: IPAM_GROUP,
  kind: 'IPAddress',
  plural: 'ipaddresses',
  singular: 'ipaddress',
  scope: 'Namespaced',
  categories: ['cluster-api'],
  versions: CAPI_VERSIONS.map(addressVersion),
};
