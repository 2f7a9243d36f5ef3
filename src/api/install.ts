/**
 * Names of the installed provider, as the Go provider's kustomization makes them (namespace
 * `capi-ipam-in-cluster-system`, name prefix `capi-ipam-in-cluster-`), so that its release
 * manifests, clusterctl and cert-manager find the same objects under the same names.
 */
export const INSTALL_NAMESPACE = 'capi-ipam-in-cluster-system';
export const NAME_PREFIX = 'capi-ipam-in-cluster-';
/** The Service in front of the webhook server (port 443 → the pod's 9443). */
export const WEBHOOK_SERVICE_NAME = `${NAME_PREFIX}webhook-service`;
/** The cert-manager Certificate whose CA is injected into CRDs and webhook configurations. */
export const SERVING_CERT_NAME = `${NAME_PREFIX}serving-cert`;
export const ANNOTATION_CERT_MANAGER_INJECT_CA = 'cert-manager.io/inject-ca-from';
export const CA_INJECTION = {
  [ANNOTATION_CERT_MANAGER_INJECT_CA]: `${INSTALL_NAMESPACE}/${SERVING_CERT_NAME}`,
};
