/**
 * The controller process with exactly the rights manifests/provider.yaml gives it: its client is a
 * user (a client certificate of the cluster CA) bound only by the generated ClusterRole and
 * leader-election Role, as the manifests bind them to the service account. Any request those do not allow shows up here as a claim
 * left unbound, a status not written, an event or lease missing, or a "forbidden" in its log.
 */
import type { X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSTALL_NAMESPACE } from '../../src/api/install.js';
import { METRICS_READER_ROLE_NAME } from '../../src/install/manifests.js';
import {
  crdPaths,
  createClaim,
  createNamespace,
  createPool,
  get,
  poolPath,
  waitForAddress,
} from '../controllers/fixture.js';
import { ControlPlane, freePort } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { type ControllerProcess, startControllerProcess } from './controller-process.js';
import { CONTROLLER_USER, kubeconfigWithGeneratedRbac } from './generated-rbac.js';

const NS = 'rbac';

describe('the controller with only the RBAC of its install manifests', () => {
  let cp: ControlPlane;
  /** TokenReviews the API server has served, counted by its own metrics. */
  const tokenReviews = async () => {
    const res = await cp.access.request('GET', '/metrics');
    let n = 0;
    for (const m of res.text.matchAll(
      /^apiserver_request_total\{[^}]*resource="tokenreviews"[^}]*\} (\d+)/gm,
    )) {
      n += Number(m[1]);
    }
    return n;
  };
  let ctl: ControllerProcess;
  const output = () => ctl.stdout() + ctl.stderr();
  let metricsPort: number;
  // Secure diagnostics: the certificate served and service-account tokens of namespace monitoring.
  let served: X509Certificate;
  let token: (sa: string) => Promise<string>;

  beforeAll(async () => {
    cp = await ControlPlane.start({ crds: crdPaths });
    await createNamespace(cp.access, NS);
    const kubeconfig = await kubeconfigWithGeneratedRbac(cp);
    metricsPort = await freePort();
    ctl = startControllerProcess(
      [
        `--kubeconfig=${kubeconfig}`,
        `--leader-election-namespace=${INSTALL_NAMESPACE}`,
        `--health-probe-bind-address=127.0.0.1:${await freePort()}`,
        // Secure diagnostics, the default: the TokenReviews and SubjectAccessReviews are the
        // controller's own requests, as this user, through the proxy-role.
        `--diagnostics-address=127.0.0.1:${metricsPort}`,
        '--webhook-port=0',
      ],
      { LOG_LEVEL: 'info' },
    );
  });
  afterAll(async () => {
    ctl?.kill();
    await cp?.stop();
  });

  it('is refused what the roles do not grant (the client really is that user)', async () => {
    const kubeconfig = await cp.kubeconfigFor(CONTROLLER_USER);
    const res = await cp.access.kubectl(['--kubeconfig', kubeconfig, 'get', 'secrets', '-n', NS]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('forbidden');
  });

  it('leads, binds claims, writes pool status and events, and is never forbidden', async () => {
    await createPool(cp.access, 'GlobalInClusterIPPool', '', 'shared', {
      addresses: ['10.60.0.0/24'],
      prefix: 24,
    });
    await createPool(cp.access, 'InClusterIPPool', NS, 'local', { addresses: ['10.61.0.0/24'], prefix: 24 });
    await createClaim(cp.access, NS, 'a', { kind: 'GlobalInClusterIPPool', name: 'shared' });
    await createClaim(cp.access, NS, 'b', { kind: 'InClusterIPPool', name: 'local' });
    const prefixPool = `/apis/ipam.cluster.x-k8s.io/v1alpha2/globalinclusterprefixpools/prefixes`;
    const created = await cp.access.request(
      'POST',
      '/apis/ipam.cluster.x-k8s.io/v1alpha2/globalinclusterprefixpools',
      {
        apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
        kind: 'GlobalInClusterPrefixPool',
        metadata: { name: 'prefixes' },
        spec: { prefixes: ['fd60::/48'] },
      },
    );
    expect(created.status).toBe(201);
    await createClaim(cp.access, NS, 'c', { kind: 'GlobalInClusterPrefixPool', name: 'prefixes' });
    expect(await waitForAddress(cp.access, NS, 'a', 60_000)).toBe('10.60.0.1');
    expect(await waitForAddress(cp.access, NS, 'b')).toBe('10.61.0.1');
    expect(await waitForAddress(cp.access, NS, 'c')).toBe('fd60::');
    const lease = await cp.access.request<{ spec: { holderIdentity?: string } }>(
      'GET',
      `/apis/coordination.k8s.io/v1/namespaces/${INSTALL_NAMESPACE}/leases/7bb7acb4.ipam.cluster.x-k8s.io`,
    );
    expect(lease.body.spec.holderIdentity).toBeTruthy();
    await waitFor('both pools to show their usage', async () => {
      const g = await get(cp.access, poolPath('GlobalInClusterIPPool', '', 'shared'));
      const l = await get(cp.access, poolPath('InClusterIPPool', NS, 'local'));
      const p = await get(cp.access, prefixPool);
      return (
        g?.status?.ipAddresses?.used === 1 &&
        l?.status?.ipAddresses?.used === 1 &&
        p?.status?.ipAddresses?.used === 1 &&
        p.metadata.finalizers?.includes('ipam.cluster.x-k8s.io/ProtectPool') === true
      );
    });
    await waitFor('events on the claims', async () => {
      const res = await cp.access.request<{ items: { involvedObject: { name: string } }[] }>(
        'GET',
        `/api/v1/namespaces/${NS}/events`,
      );
      const names = new Set(res.body.items.map((e) => e.involvedObject.name));
      return names.has('a') && names.has('b') && names.has('c');
    });
    // Deleting a claim exercises finalizer removal, IPAddress unprotect and delete.
    expect(
      (
        await cp.access.request(
          'DELETE',
          `/apis/ipam.cluster.x-k8s.io/v1beta2/namespaces/${NS}/ipaddressclaims/b`,
        )
      ).status,
    ).toBe(200);
    await waitFor('claim b and its IPAddress to be gone', async () => {
      const claim = await cp.access.request(
        'GET',
        `/apis/ipam.cluster.x-k8s.io/v1beta2/namespaces/${NS}/ipaddressclaims/b`,
      );
      const ip = await cp.access.request(
        'GET',
        `/apis/ipam.cluster.x-k8s.io/v1beta2/namespaces/${NS}/ipaddresses/b`,
      );
      return claim.status === 404 && ip.status === 404;
    });
    expect(output()).not.toMatch(/forbidden/i);
  });

  it('serves /metrics over HTTPS only to tokens the API server authorizes, reviewing each token once', async () => {
    const a = cp.access;
    await createNamespace(a, 'monitoring');
    for (const name of ['prometheus', 'stranger', 'operator']) {
      const sa = await a.request('POST', '/api/v1/namespaces/monitoring/serviceaccounts', {
        metadata: { name },
      });
      expect(sa.status).toBe(201);
    }
    const binding = await a.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      metadata: { name: 'prometheus-metrics-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: METRICS_READER_ROLE_NAME },
      subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' }],
    });
    expect(binding.status).toBe(201);
    token = async (sa: string) => {
      const res = await a.request<{ status: { token: string } }>(
        'POST',
        `/api/v1/namespaces/monitoring/serviceaccounts/${sa}/token`,
        { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
      );
      expect(res.status).toBe(201);
      return res.body.status.token;
    };
    const [prometheus, stranger] = [await token('prometheus'), await token('stranger')];
    // What it serves is a certificate of its own making, for localhost.
    served = await waitFor('the diagnostics server', () => servedCertificate(metricsPort));
    expect(served.checkHost('localhost')).toBe('localhost');
    expect(served.issuer).toBe(served.subject);
    const scrape = (bearer?: string, path = '/metrics') =>
      httpsCall(metricsPort, served.toString(), 'GET', path, bearer);

    expect(await scrape()).toEqual({ status: 401, body: 'Unauthorized\n' });
    expect(await scrape('not-a-token')).toEqual({ status: 401, body: 'Unauthorized\n' });
    expect(await scrape(stranger)).toEqual({
      status: 403,
      body: 'Authorization denied for user system:serviceaccount:monitoring:stranger\n',
    });
    // metrics-reader grants /metrics, nothing else.
    expect((await scrape(prometheus, '/debug/pprof')).status).toBe(403);
    const reviewsBefore = await tokenReviews();
    for (let i = 0; i < 3; i++) {
      const ok = await scrape(prometheus);
      expect(ok.status).toBe(200);
      expect(ok.body).toMatch(/^ipam_address_allocations_total\{pool=/m);
    }
    // Cached: the three scrapes cost no review beyond what the first scrapes above cost.
    expect(await tokenReviews()).toBe(reviewsBefore);
    expect(output()).not.toMatch(/forbidden|Authentication failed/i);
  });

  /** Lets service account monitoring/operator use one verb on one non-resource URL. */
  async function grantOperator(name: string, url: string, verb: string): Promise<void> {
    const role = await cp.access.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
      metadata: { name: `ipam-${name}` },
      rules: [{ nonResourceURLs: [url], verbs: [verb] }],
    });
    expect(role.status).toBe(201);
    const binding = await cp.access.request(
      'POST',
      '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      {
        metadata: { name: `operator-${name}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `ipam-${name}` },
        subjects: [{ kind: 'ServiceAccount', name: 'operator', namespace: 'monitoring' }],
      },
    );
    expect(binding.status).toBe(201);
  }

  it('sets its log level at run time for a user allowed to PUT /debug/flags/v, as Cluster API does', async () => {
    await grantOperator('log-level', '/debug/flags/v', 'put');
    const [operator, prometheus] = [await token('operator'), await token('prometheus')];
    const put = (bearer: string, body: string) =>
      httpsCall(metricsPort, served.toString(), 'PUT', '/debug/flags/v', bearer, body);
    expect((await put(prometheus, '4')).status).toBe(403);
    expect(await put(operator, 'loud')).toEqual({
      status: 400,
      body: 'failed to set the log verbosity: "loud" is not a non-negative integer\n',
    });
    expect(output()).not.toMatch(/"level":20/);
    expect(await put(operator, '4')).toEqual({
      status: 200,
      body: 'successfully set the log verbosity to 4 (log level debug)\n',
    });
    // Debug lines now, from loggers made long before (the manager's, the informers').
    await createClaim(cp.access, NS, 'after-debug', { kind: 'GlobalInClusterIPPool', name: 'shared' });
    await waitForAddress(cp.access, NS, 'after-debug');
    await waitFor('a debug log line', () => /"level":20/.test(output()));
    expect(await put(operator, '0')).toMatchObject({ status: 200 });
  });

  it('serves profiles to a user allowed to GET /debug/pprof/*, where Cluster API serves pprof', async () => {
    await grantOperator('profiles', '/debug/pprof/*', 'get');
    const [operator, prometheus] = [await token('operator'), await token('prometheus')];
    const get = (bearer: string) =>
      httpsCall(metricsPort, served.toString(), 'GET', '/debug/pprof/profile?seconds=1', bearer);
    expect((await get(prometheus)).status).toBe(403);
    // RBAC may take a moment to reach the authorizer.
    const taken = await waitFor('a CPU profile', async () => {
      const res = await get(operator);
      return res.status === 200 ? res : undefined;
    });
    const profile = JSON.parse(taken.body) as { nodes: unknown[]; samples: unknown[] };
    expect(profile.nodes.length).toBeGreaterThan(1);
    expect(output()).not.toMatch(/forbidden/i);
  });

  it('releases its lease and exits 0 on SIGTERM', async () => {
    ctl.proc.kill('SIGTERM');
    expect(await ctl.exited).toBe(0);
    expect(output()).not.toMatch(/forbidden/i);
  });
});

/** The certificate a TLS server presents, without trusting it yet. */
function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.destroy();
      if (cert) resolve(cert);
      else reject(new Error('no certificate'));
    });
    socket.on('error', reject);
  });
}

/** A request that trusts exactly `caPem` for localhost. */
function httpsCall(
  port: number,
  caPem: string,
  method: string,
  path: string,
  bearer?: string,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        ca: caPem,
        servername: 'localhost',
        headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
