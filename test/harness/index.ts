export { ClusterAccess, type ClusterInfo, type KubectlResult, type RawResponse } from './access.js';
export { ensureBinaries, findBinaries, KUBERNETES_VERSION } from './binaries.js';
export { ControlPlane, type ControlPlaneOptions, freePort } from './control-plane.js';
export { installCustomResourceDefinitions } from './crds.js';
export { createCertificateAuthority, issueCertificate } from './pki.js';
export { waitFor } from './wait.js';
