/**
 * Pure rules of the control-plane endpoint flow (cluster-endpoint.ts): what a Cluster asks for in
 * its annotations, the one IPAddressClaim made for it, and what — given the address the claim
 * flow bound — is written back to the Cluster, or why nothing is.
 */
import type { IPAddressClaim } from '../api/capi-types.js';
import {
  CLUSTER_GROUP,
  IPAM_GROUP,
  isIPPoolKind,
  isPoolKind,
  KIND_CLUSTER,
  KIND_IP_ADDRESS_CLAIM,
  LABEL_WATCH_FILTER,
} from '../api/constants.js';
import type { OwnerReference } from '../api/meta.js';
import { canonicalIP } from '../ip/index.js';
import { ANNOTATION_REQUESTED_ADDRESS } from './chosen-address.js';
import type { LiveClaim, LiveCluster } from './context.js';

/** `<Kind>/<name>` of the pool the endpoint comes from; its presence is the opt-in. */
export const ANNOTATION_ENDPOINT_POOL = 'ipam.cluster.x-k8s.io/control-plane-endpoint-pool';
/** spec.controlPlaneEndpoint.port to write (default: the port there, clusterNetwork.apiServerPort, 6443). */
export const ANNOTATION_ENDPOINT_PORT = 'ipam.cluster.x-k8s.io/control-plane-endpoint-port';
/** The ClusterClass variable of spec.topology.variables that gets the address too. */
export const ANNOTATION_ENDPOINT_VARIABLE = 'ipam.cluster.x-k8s.io/control-plane-endpoint-variable';
/** "true": spec.paused goes to false in the same write as the endpoint. */
export const ANNOTATION_UNPAUSE = 'ipam.cluster.x-k8s.io/unpause-when-endpoint-set';
/**
 * On the claim: the name of the Cluster it is the endpoint of. Not Cluster API's cluster-name label
 * (nor spec.clusterName): those tie a claim to its Cluster's pause, and this claim must be served
 * while its Cluster is paused.
 */
export const LABEL_ENDPOINT_OF = 'ipam.cluster.x-k8s.io/control-plane-endpoint-of';
/**
 * The claim is `<cluster>` + this. Consumers that derive claim names from their objects join the
 * parts with dashes (CAPV `<vm>-<device>-<pool>`, CAPM3 `<data>-<pool>`); a dot does not come out
 * of those. A claim of this name that the Cluster does not own is never taken over anyway.
 */
export const ENDPOINT_CLAIM_SUFFIX = '.control-plane-endpoint';
export const DEFAULT_ENDPOINT_PORT = 6443;

/** The claims' index by the Cluster whose endpoint they are (`namespace/name`). */
export const CLAIM_ENDPOINT_INDEX = 'endpointOf';

export function claimEndpointIndex(claim: LiveClaim): string[] {
  const of = claim.metadata.labels?.[LABEL_ENDPOINT_OF];
  return of ? [`${claim.metadata.namespace}/${of}`] : [];
}

/** The condition this flow keeps on its claim (the Cluster's own status is Cluster API's). */
export const ENDPOINT_SET = 'ControlPlaneEndpointSet';
/** Normal Events on the Cluster. */
export const EndpointEvents = {
  Claimed: 'EndpointAddressClaimed',
  Written: 'ControlPlaneEndpointSet',
  Unpaused: 'Unpaused',
  UnpauseSkipped: 'UnpauseSkipped',
} as const;

/** Refusal reasons, as Event reasons on the Cluster and condition reasons on the claim. */
export const EndpointReasons = {
  InvalidAnnotation: 'InvalidEndpointAnnotation',
  ClaimNameTaken: 'EndpointClaimNameTaken',
  PoolChanged: 'EndpointPoolChanged',
  EndpointConflict: 'ControlPlaneEndpointConflict',
  VariableConflict: 'EndpointVariableConflict',
  PatchRefused: 'ControlPlaneEndpointRefused',
} as const;

/** A Cluster of either served version, with the fields this flow reads. */
export interface ClusterView {
  metadata?: LiveCluster['metadata'];
  spec?: LiveCluster['spec'] & {
    topology?: { variables?: unknown };
  };
}

export interface EndpointRequest {
  pool: { kind: string; name: string };
  /** From the port annotation; undefined: keep or default. */
  port: number | undefined;
  variable: string | undefined;
  unpause: boolean;
  requestedAddress: string | undefined;
}

export type Refusal = { refused: true; reason: string; message: string };

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** What the Cluster's annotations ask for; undefined when it does not opt in. */
export function endpointRequest(cluster: ClusterView): EndpointRequest | Refusal | undefined {
  const annotations = cluster.metadata?.annotations ?? {};
  const pool = annotations[ANNOTATION_ENDPOINT_POOL];
  if (pool === undefined) return undefined;
  const invalid = (message: string): Refusal => ({
    refused: true,
    reason: EndpointReasons.InvalidAnnotation,
    message,
  });
  const slash = pool.indexOf('/');
  const kind = slash < 0 ? '' : pool.slice(0, slash).trim();
  const name = slash < 0 ? '' : pool.slice(slash + 1).trim();
  if (!isPoolKind(kind) || !DNS_SUBDOMAIN.test(name) || name.length > 253) {
    return invalid(
      `annotation ${ANNOTATION_ENDPOINT_POOL} is ${JSON.stringify(pool)}: it must be <Kind>/<name> of an InClusterIPPool (in the Cluster's namespace) or a GlobalInClusterIPPool`,
    );
  }
  if (!isIPPoolKind(kind)) {
    return invalid(
      `annotation ${ANNOTATION_ENDPOINT_POOL} names ${kind} ${name}, which hands out prefixes: a control-plane endpoint needs an address from an InClusterIPPool or a GlobalInClusterIPPool`,
    );
  }
  const portText = annotations[ANNOTATION_ENDPOINT_PORT];
  let port: number | undefined;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText.trim()) ? Number(portText.trim()) : Number.NaN;
    if (!(port >= 1 && port <= 65535))
      return invalid(
        `annotation ${ANNOTATION_ENDPOINT_PORT} is ${JSON.stringify(portText)}: not a port (1-65535)`,
      );
  }
  const variable = annotations[ANNOTATION_ENDPOINT_VARIABLE]?.trim();
  if (variable === '') return invalid(`annotation ${ANNOTATION_ENDPOINT_VARIABLE} is empty: name a variable`);
  return {
    pool: { kind, name },
    port,
    variable,
    unpause: annotations[ANNOTATION_UNPAUSE] === 'true',
    requestedAddress: annotations[ANNOTATION_REQUESTED_ADDRESS],
  };
}

export function endpointClaimName(clusterName: string): string {
  return `${clusterName}${ENDPOINT_CLAIM_SUFFIX}`;
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The Cluster as controller owner of its claim, so that the garbage collector releases it too. */
export function clusterOwnerReference(cluster: LiveCluster, clusterApiVersion: string): OwnerReference {
  // No blockOwnerDeletion: setting it needs the right to update clusters/finalizers where the
  // OwnerReferencesPermissionEnforcement admission plugin runs, and the role has clusters patch
  // only. It matters for foreground deletion alone, which then need not wait for the claim.
  return {
    apiVersion: clusterApiVersion,
    kind: KIND_CLUSTER,
    name: cluster.metadata.name ?? '',
    uid: cluster.metadata.uid ?? '',
    controller: true,
  };
}

/** Whose endpoint claim this is: `this` Cluster, an `earlier` Cluster of the same name, or `none`. */
export function claimOwnership(
  claim: { metadata?: { labels?: Record<string, string>; ownerReferences?: OwnerReference[] } },
  cluster: LiveCluster,
): 'this' | 'earlier' | 'none' {
  const name = cluster.metadata.name;
  if (claim.metadata?.labels?.[LABEL_ENDPOINT_OF] !== name) return 'none';
  const ref = claim.metadata?.ownerReferences?.find(
    (r) => r.kind === KIND_CLUSTER && groupOf(r.apiVersion) === CLUSTER_GROUP && r.name === name,
  );
  if (!ref) return 'none';
  return ref.uid === cluster.metadata.uid ? 'this' : 'earlier';
}

/**
 * The claim made for a Cluster's endpoint: in its namespace, owned by it, labelled with its name
 * (and the watch filter, so that the claim flow of this replica serves it), pinned to the Cluster's
 * requested address if it has one — and tied to no Cluster's pause.
 */
export function desiredEndpointClaim(
  cluster: LiveCluster,
  request: EndpointRequest,
  clusterApiVersion: string,
  claimApiVersion: string,
  watchFilter: string | undefined,
): IPAddressClaim {
  const name = cluster.metadata.name ?? '';
  return {
    apiVersion: claimApiVersion,
    kind: KIND_IP_ADDRESS_CLAIM,
    metadata: {
      name: endpointClaimName(name),
      namespace: cluster.metadata.namespace ?? '',
      labels: { [LABEL_ENDPOINT_OF]: name, ...(watchFilter ? { [LABEL_WATCH_FILTER]: watchFilter } : {}) },
      ...(request.requestedAddress === undefined
        ? {}
        : { annotations: { [ANNOTATION_REQUESTED_ADDRESS]: request.requestedAddress } }),
      ownerReferences: [clusterOwnerReference(cluster, clusterApiVersion)],
    },
    spec: { poolRef: { apiGroup: IPAM_GROUP, kind: request.pool.kind, name: request.pool.name } },
  };
}

/** The merge patch that brings the claim's requested-address annotation in line with the Cluster's. */
export function requestedAddressPatch(
  claim: LiveClaim,
  request: EndpointRequest,
): { metadata: { annotations: Record<string, string | null> } } | undefined {
  const current = claim.metadata.annotations?.[ANNOTATION_REQUESTED_ADDRESS];
  if (current === request.requestedAddress) return undefined;
  return { metadata: { annotations: { [ANNOTATION_REQUESTED_ADDRESS]: request.requestedAddress ?? null } } };
}

export type EndpointPlan =
  | { kind: 'conflict'; reason: string; message: string }
  /** Everything is in place already; `unpauseLeft` when asked to unpause a Cluster we did not write. */
  | { kind: 'done'; unpauseLeft: boolean }
  | {
      kind: 'write';
      /** A merge patch of only the fields this flow owns, guarded by the resourceVersion read. */
      patch: { metadata: { resourceVersion: string | undefined }; spec: Record<string, unknown> };
      /** What the Event says was written. */
      written: string[];
      unpause: boolean;
    };

interface Variable {
  name?: unknown;
  value?: unknown;
}

/**
 * What to write for `address`: the endpoint when its host is empty, the topology variable when
 * absent — each left alone (and the whole write refused) when it holds something else, so that the
 * endpoint, the certificate SANs and kube-vip never disagree. spec.paused is lifted only in the
 * write that fills the endpoint: a Cluster paused with its endpoint already set (clusterctl move
 * pauses Clusters, and must unpause them itself) is never unpaused from here.
 */
export function planEndpoint(
  cluster: ClusterView,
  address: string,
  request: EndpointRequest,
  claimKey: string,
): EndpointPlan {
  const spec = cluster.spec ?? {};
  const patchSpec: Record<string, unknown> = {};
  const written: string[] = [];
  const host = spec.controlPlaneEndpoint?.host ?? '';
  if (host === '') {
    const existing = spec.controlPlaneEndpoint?.port;
    const port =
      request.port ??
      (existing !== undefined && existing > 0 ? existing : undefined) ??
      spec.clusterNetwork?.apiServerPort ??
      DEFAULT_ENDPOINT_PORT;
    patchSpec.controlPlaneEndpoint = { host: address, port };
    written.push(`spec.controlPlaneEndpoint ${hostPort(address, port)}`);
  } else if ((canonicalIP(host) ?? host) !== address) {
    return {
      kind: 'conflict',
      reason: EndpointReasons.EndpointConflict,
      message: `spec.controlPlaneEndpoint.host is ${host}, not ${address} (the address of IPAddressClaim ${claimKey}): the endpoint is left as it is`,
    };
  }
  const topology = spec.topology;
  if (request.variable !== undefined && typeof topology === 'object' && topology !== null) {
    const variables = (Array.isArray(topology.variables) ? topology.variables : []) as Variable[];
    const named = variables.filter((v) => v?.name === request.variable);
    const other = named.find(
      (v) => !(typeof v.value === 'string' && (canonicalIP(v.value) ?? v.value) === address),
    );
    if (other) {
      return {
        kind: 'conflict',
        reason: EndpointReasons.VariableConflict,
        message: `topology variable ${request.variable} is ${JSON.stringify(other.value)}, not "${address}" (the address of IPAddressClaim ${claimKey}): the Cluster is left as it is`,
      };
    }
    if (named.length === 0) {
      // A merge patch replaces the whole list: the others go with it as they are, and the
      // resourceVersion makes the write fail rather than drop a variable added meanwhile.
      patchSpec.topology = { variables: [...variables, { name: request.variable, value: address }] };
      written.push(`topology variable ${request.variable}`);
    }
  }
  const paused = spec.paused === true;
  const unpause = request.unpause && paused && patchSpec.controlPlaneEndpoint !== undefined;
  if (written.length === 0) return { kind: 'done', unpauseLeft: request.unpause && paused };
  if (unpause) patchSpec.paused = false;
  return {
    kind: 'write',
    patch: { metadata: { resourceVersion: cluster.metadata?.resourceVersion }, spec: patchSpec },
    written,
    unpause,
  };
}

export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The Cluster keys to reconcile for a Cluster seen added, changed or deleted. */
export function endpointKeyOfClusterChange(
  old: ClusterView | undefined,
  cluster: ClusterView | undefined,
  hasClaim: (key: string) => boolean,
): string | undefined {
  const obj = cluster ?? old;
  const key = `${obj?.metadata?.namespace ?? ''}/${obj?.metadata?.name ?? ''}`;
  const optedIn = (c: ClusterView | undefined) =>
    c?.metadata?.annotations?.[ANNOTATION_ENDPOINT_POOL] !== undefined;
  if (!optedIn(old) && !optedIn(cluster) && !hasClaim(key)) return undefined;
  if (old && cluster) {
    // Status writes (Cluster API's, often) change nothing this flow reads.
    const same =
      JSON.stringify(old.metadata?.annotations ?? {}) ===
        JSON.stringify(cluster.metadata?.annotations ?? {}) &&
      JSON.stringify(old.metadata?.labels ?? {}) === JSON.stringify(cluster.metadata?.labels ?? {}) &&
      JSON.stringify(old.spec ?? {}) === JSON.stringify(cluster.spec ?? {}) &&
      old.metadata?.deletionTimestamp === cluster.metadata?.deletionTimestamp &&
      old.metadata?.uid === cluster.metadata?.uid;
    if (same) return undefined;
  }
  return key;
}
