/**
 * Schema source of Cluster API's Cluster, for tests and the demo only. It carries what the
 * provider and its tests read (spec.paused, the paused annotation lives in metadata) plus the
 * commonly set spec fields (controlPlaneEndpoint, clusterNetwork, references); the large parts we
 * never read (topology, status) are kept opaque.
 */
import { CAPI_VERSION_V1BETA1, CAPI_VERSION_V1BETA2, CLUSTER_GROUP } from '../constants.js';
import {
  array,
  boolean,
  integer,
  type JSONSchemaProps,
  object,
  opaqueObject,
  root,
  string,
} from './builder.js';
import { DNS_SUBDOMAIN_PATTERN, KIND_PATTERN } from './capi-ipam.js';
import type { CrdSource, CrdVersionSource, PrinterColumn } from './crd.js';

function cidrBlocks(what: string, strict: boolean): JSONSchemaProps {
  return object(
    `Network ranges ${what} are allocated from.`,
    {
      cidrBlocks: array(
        'CIDR blocks.',
        strict ? { type: 'string', minLength: 1, maxLength: 43 } : { type: 'string' },
        strict ? { minItems: 1, maxItems: 100, 'x-kubernetes-list-type': 'atomic' } : {},
      ),
    },
    ['cidrBlocks'],
  );
}

function clusterNetwork(strict: boolean): JSONSchemaProps {
  const port = strict ? { format: 'int32', minimum: 1, maximum: 65535 } : { format: 'int32' };
  return object(
    'Network configuration of the workload cluster.',
    {
      apiServerPort: integer('Port the API server binds to; defaults to 6443.', port),
      pods: cidrBlocks('Pod networks', strict),
      services: cidrBlocks('Service VIPs', strict),
      serviceDomain: string('Domain name for Services.', strict ? { minLength: 1, maxLength: 253 } : {}),
    },
    [],
    strict ? { minProperties: 1 } : {},
  );
}

function controlPlaneEndpoint(strict: boolean): JSONSchemaProps {
  return object(
    'Endpoint of the workload cluster control plane.',
    {
      host: string(
        'Host name or address the API server serves on.',
        strict ? { minLength: 1, maxLength: 512 } : {},
      ),
      port: integer(
        'Port the API server serves on.',
        strict ? { format: 'int32', minimum: 1, maximum: 65535 } : { format: 'int32' },
      ),
    },
    strict ? [] : ['host', 'port'],
    strict ? { minProperties: 1 } : {},
  );
}

/** v1beta2 ContractVersionedObjectReference. */
function versionedReference(description: string): JSONSchemaProps {
  return object(
    description,
    {
      apiGroup: string('API group of the referenced object.', {
        minLength: 1,
        maxLength: 253,
        pattern: DNS_SUBDOMAIN_PATTERN,
      }),
      kind: string('Kind of the referenced object.', { minLength: 1, maxLength: 63, pattern: KIND_PATTERN }),
      name: string('Name of the referenced object.', {
        minLength: 1,
        maxLength: 253,
        pattern: DNS_SUBDOMAIN_PATTERN,
      }),
    },
    ['apiGroup', 'kind', 'name'],
  );
}

/** v1beta1 corev1.ObjectReference. */
function objectReference(description: string): JSONSchemaProps {
  return object(
    description,
    {
      apiVersion: string('API version of the referenced object.'),
      kind: string('Kind of the referenced object.'),
      name: string('Name of the referenced object.'),
      namespace: string('Namespace of the referenced object.'),
      uid: string('UID of the referenced object.'),
      resourceVersion: string('Resource version of the referenced object.'),
      fieldPath: string('A field within the referenced object.'),
    },
    [],
    { 'x-kubernetes-map-type': 'atomic' },
  );
}

function clusterVersion(name: string): CrdVersionSource {
  const v1beta2 = name === CAPI_VERSION_V1BETA2;
  const reference = v1beta2 ? versionedReference : objectReference;
  const spec = object(
    'Spec is the desired state of the Cluster.',
    {
      paused: boolean(
        'Paused stops controllers, the IPAM provider included, from processing the Cluster and its objects.',
      ),
      controlPlaneEndpoint: controlPlaneEndpoint(v1beta2),
      clusterNetwork: clusterNetwork(v1beta2),
      controlPlaneRef: reference('Provider-specific object that provisions the control plane.'),
      infrastructureRef: reference('Provider-specific object that provisions the infrastructure.'),
      topology: opaqueObject('Managed topology of the Cluster (kept as is in this test copy).'),
      ...(v1beta2
        ? {
            availabilityGates: array(
              'Extra conditions that decide whether the Cluster is Available (kept as is in this test copy).',
              { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            ),
          }
        : {}),
    },
    [],
    v1beta2 ? { minProperties: 1 } : {},
  );
  const columns: PrinterColumn[] = [
    {
      name: 'ClusterClass',
      type: 'string',
      jsonPath: v1beta2 ? '.spec.topology.classRef.name' : '.spec.topology.class',
      description: 'ClusterClass of the Cluster, if any',
    },
    ...(v1beta2
      ? [
          {
            name: 'Available',
            type: 'string' as const,
            jsonPath: '.status.conditions[?(@.type=="Available")].status',
            description: 'Whether the Cluster passes its availability checks',
          },
        ]
      : []),
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Phase of the Cluster' },
    {
      name: 'Age',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
      description: 'Time since creation',
    },
    {
      name: 'Version',
      type: 'string',
      jsonPath: '.spec.topology.version',
      description: 'Kubernetes version',
    },
  ];
  return {
    name,
    served: true,
    storage: v1beta2,
    ...(v1beta2 ? {} : { deprecated: true }),
    schema: root('Cluster is a Kubernetes cluster managed by Cluster API.', {
      spec,
      status: opaqueObject('Status of the Cluster (kept as is in this test copy).'),
      specRequired: v1beta2,
    }),
    printerColumns: columns,
    statusSubresource: true,
  };
}

export const clusterCrd: CrdSource = {
  group: CLUSTER_GROUP,
  kind: 'Cluster',
  plural: 'clusters',
  singular: 'cluster',
  scope: 'Namespaced',
  categories: ['cluster-api'],
  shortNames: ['cl'],
  versions: [CAPI_VERSION_V1BETA1, CAPI_VERSION_V1BETA2].map(clusterVersion),
};
