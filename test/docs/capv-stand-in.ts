/**
 * A stand-in for CAPV's VSphereMachineTemplate CRD, so that the guide's CAPV example applies to a
 * real API server. CAPV's own CRD is not available here (its Go module is not served by the module
 * proxy this machine can reach, and copies of other projects' files stay out of this repository):
 * this one types exactly the part the guide is about — network.devices[].addressesFromPools, as
 * CAPV's API documents it (a list of TypedLocalObjectReference: apiGroup, kind, name) — and keeps
 * the rest of the spec as written. It checks the example's shape, not CAPV's every field.
 */
const typedLocalObjectReference = {
  type: 'object',
  required: ['kind', 'name'],
  properties: {
    apiGroup: { type: 'string' },
    kind: { type: 'string' },
    name: { type: 'string' },
  },
};

export const vsphereMachineTemplateStandIn = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'vspheremachinetemplates.infrastructure.cluster.x-k8s.io' },
  spec: {
    group: 'infrastructure.cluster.x-k8s.io',
    scope: 'Namespaced',
    names: {
      kind: 'VSphereMachineTemplate',
      listKind: 'VSphereMachineTemplateList',
      plural: 'vspheremachinetemplates',
      singular: 'vspheremachinetemplate',
    },
    versions: [
      {
        name: 'v1beta1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['template'],
                properties: {
                  template: {
                    type: 'object',
                    required: ['spec'],
                    properties: {
                      spec: {
                        type: 'object',
                        'x-kubernetes-preserve-unknown-fields': true,
                        properties: {
                          network: {
                            type: 'object',
                            required: ['devices'],
                            properties: {
                              devices: {
                                type: 'array',
                                items: {
                                  type: 'object',
                                  required: ['networkName'],
                                  'x-kubernetes-preserve-unknown-fields': true,
                                  properties: {
                                    networkName: { type: 'string' },
                                    dhcp4: { type: 'boolean' },
                                    nameservers: { type: 'array', items: { type: 'string' } },
                                    addressesFromPools: { type: 'array', items: typedLocalObjectReference },
                                  },
                                },
                              },
                            },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};
