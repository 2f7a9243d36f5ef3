/**
 * A leader whose caches can never sync (RBAC lets it list everything but one pool kind) must not
 * hold the lease for ever: after the sync deadline it logs which kinds did not sync, hands the
 * lease back so that another replica can lead at once, and exits non-zero, as a pod's restart
 * policy expects. The deadline is shortened through IPAM_CACHE_SYNC_TIMEOUT_MS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEADER_ELECTION_RULES, MANAGER_RULES, type PolicyRule } from '../../src/controllers/rbac.js';
import { crdPaths } from '../controllers/fixture.js';
import { ControlPlane, freePort } from '../harness/control-plane.js';
import { type ControllerProcess, startControllerProcess } from './controller-process.js';

const USER = 'ipam-controller-without-global-pools';
const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const LEASE = '/apis/coordination.k8s.io/v1/namespaces/default/leases/7bb7acb4.ipam.cluster.x-k8s.io';
const REFUSED = 'globalinclusterippools';
const DEADLINE_MS = 2_000;

/** The manager's rules, except that `resource` may not be listed or watched. */
function withoutList(rules: readonly PolicyRule[], resource: string): PolicyRule[] {
  return rules.flatMap((rule) => {
    if (!rule.resources?.includes(resource) || !rule.verbs.includes('list')) return [rule];
    const others = rule.resources.filter((r) => r !== resource);
    const verbs = rule.verbs.filter((v) => v !== 'list' && v !== 'watch');
    return [
      ...(others.length > 0 ? [{ ...rule, resources: others }] : []),
      { ...rule, resources: [resource], verbs },
    ];
  });
}

interface LogLine {
  level: number;
  msg: string;
  waitingFor?: string[];
}

describe('a leader whose caches never sync', () => {
  let cp: ControlPlane;
  let ctl: ControllerProcess;

  beforeAll(async () => {
    cp = await ControlPlane.start({ crds: crdPaths });
    const role = await cp.access.request('POST', `${RBAC}/clusterroles`, {
      metadata: { name: USER },
      rules: [...withoutList(MANAGER_RULES, REFUSED), ...LEADER_ELECTION_RULES],
    });
    expect(role.status, role.text).toBe(201);
    const binding = await cp.access.request('POST', `${RBAC}/clusterrolebindings`, {
      metadata: { name: USER },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: USER },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: USER }],
    });
    expect(binding.status, binding.text).toBe(201);
  });
  afterAll(async () => {
    ctl?.kill();
    await cp?.stop();
  });

  it('gives up after the deadline: logs the kinds, releases the lease, exits 1', async () => {
    ctl = startControllerProcess(
      [
        `--kubeconfig=${await cp.kubeconfigFor(USER)}`,
        '--leader-election-namespace=default',
        `--health-probe-bind-address=127.0.0.1:${await freePort()}`,
        `--diagnostics-address=127.0.0.1:${await freePort()}`,
        '--insecure-diagnostics',
        '--webhook-port=0',
      ],
      { LOG_LEVEL: 'info', IPAM_CACHE_SYNC_TIMEOUT_MS: String(DEADLINE_MS) },
    );
    const code = await Promise.race([
      ctl.exited,
      new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 30_000)),
    ]);
    const lines = ctl
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
    expect(code, ctl.stdout() + ctl.stderr()).toBe(1);
    expect(lines.some((l) => l.msg === 'became leader')).toBe(true);
    // Its list was refused, and it says which cache it waited for.
    expect(ctl.stdout()).toMatch(/forbidden/i);
    const timedOut = lines.find((l) => l.level === 50 && l.waitingFor !== undefined);
    expect(timedOut?.waitingFor).toEqual(['GlobalInClusterIPPool']);
    // Handed back, not left to expire: another replica may take it at once.
    const lease = await cp.access.request<{ spec: { holderIdentity?: string } }>('GET', LEASE);
    expect(lease.status).toBe(200);
    expect(lease.body.spec.holderIdentity ?? '').toBe('');
    expect(lines.some((l) => l.msg === 'released leadership')).toBe(true);
  }, 45_000);
});
