/**
 * The generated monitoring (manifests/monitoring/, src/install/monitoring.ts), checked by the
 * tools that will read it:
 * - promtool (built from the Go module proxy by hack/build-monitoring-tools.sh) checks the alert
 *   rules and every dashboard query, and runs unit tests of each alert on made-up series;
 * - a real API server with the Prometheus operator's CRDs (from its Go module) takes the
 *   ServiceMonitor, the PrometheusRule and the dashboard ConfigMap;
 * - the controller's secure /metrics answers the ServiceMonitor's service account with the metrics
 *   the dashboard and alerts name, and refuses an account without the metrics-reader binding.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { INSTALL_NAMESPACE } from '../../src/api/index.js';
import { providerObjects, rbacObjects } from '../../src/install/manifests.js';
import {
  alertRules,
  dashboardExpressions,
  JOB,
  LEADER_ELECTION_ID,
  PENDING_METRICS,
  SCRAPER_NAME,
} from '../../src/install/monitoring.js';
import { selectors } from '../../src/install/promql.js';
import { crdPaths } from '../controllers/fixture.js';
import { type ControllerProcess, startControllerProcess } from '../e2e/controller-process.js';
import { ControlPlane, freePort } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { root } from './markdown.js';

const exec = promisify(execFile);

interface Tools {
  promtool: string;
  crds: string;
}

async function monitoringTools(): Promise<Tools> {
  const { stdout } = await exec('bash', [join(root, 'hack/build-monitoring-tools.sh')], {
    maxBuffer: 1 << 20,
  });
  const value = (k: string) =>
    /^(\w+)=(.*)$/m.exec(stdout.split('\n').find((l) => l.startsWith(`${k}=`)) ?? '')?.[2];
  const promtool = value('promtool');
  const crds = value('crds');
  if (!promtool || !crds) throw new Error(`hack/build-monitoring-tools.sh printed:\n${stdout}`);
  return { promtool, crds };
}

const POOL = 'InClusterIPPool/team-a/office';
const job = `job="${JOB}"`;

/** promtool's unit tests of each alert: the series it sees, and what fires when. */
function alertTests(): object[] {
  const series = (name: string, labels: string, values: string) => ({
    series: `${name}{${job}${labels ? `,${labels}` : ''}}`,
    values,
  });
  const pool = (state: string, values: string) =>
    series('ipam_pool_addresses', `pool="${POOL}",state="${state}"`, values);
  const leader = (pod: string, values: string) =>
    series('leader_election_master_status', `name="${LEADER_ELECTION_ID}",pod="${pod}"`, values);
  const alert = (name: string, at: string, labels: Record<string, string>[]) => ({
    eval_time: at,
    alertname: name,
    exp_alerts: labels.map((l) => ({ exp_labels: l })),
  });
  return [
    {
      name: 'a pool filling up: 95 % used warns after 15 minutes, full is critical after 5',
      interval: '1m',
      input_series: [pool('total', '100x60'), pool('free', '5x20 0x40')],
      alert_rule_test: [
        alert('IPAMPoolAlmostFull', '10m', []),
        alert('IPAMPoolAlmostFull', '16m', [{ severity: 'warning', pool: POOL }]),
        alert('IPAMPoolFull', '16m', []),
        alert('IPAMPoolFull', '26m', [{ severity: 'critical', pool: POOL }]),
      ],
    },
    {
      name: 'a pool at 50 % and an empty pool (total 0) raise nothing',
      interval: '1m',
      input_series: [
        pool('total', '100x60'),
        pool('free', '50x60'),
        series('ipam_pool_addresses', 'pool="InClusterIPPool/team-a/empty",state="total"', '0x60'),
        series('ipam_pool_addresses', 'pool="InClusterIPPool/team-a/empty",state="free"', '0x60'),
      ],
      alert_rule_test: [alert('IPAMPoolAlmostFull', '30m', []), alert('IPAMPoolFull', '30m', [])],
    },
    {
      name: 'claims not Ready for 10 minutes, by pool and reason; a claim served in time raises nothing',
      interval: '1m',
      input_series: [
        series('ipam_claims_not_ready', `pool="${POOL}",reason="PoolExhausted"`, '3x30'),
        series('ipam_claims_not_ready', `pool="${POOL}",reason="AddressInUse"`, '1x5 0x25'),
      ],
      alert_rule_test: [
        alert('IPAMClaimsNotReady', '9m', []),
        alert('IPAMClaimsNotReady', '11m', [{ severity: 'warning', pool: POOL, reason: 'PoolExhausted' }]),
      ],
    },
    {
      name: 'one duplicate address is critical at once and clears once resolved; other providers’ jobs are not looked at',
      interval: '1m',
      input_series: [
        series('ipam_pool_duplicate_addresses', `pool="${POOL}"`, '0 1x3 0x5'),
        {
          series: `ipam_pool_duplicate_addresses{job="someone-else",pool="${POOL}"}`,
          values: '5x10',
        },
      ],
      alert_rule_test: [
        alert('IPAMDuplicateAddress', '0m', []),
        alert('IPAMDuplicateAddress', '2m', [{ severity: 'critical', pool: POOL }]),
        alert('IPAMDuplicateAddress', '6m', []),
      ],
    },
    {
      name: 'no leader for a minute: standbys only, then no replica at all; a hand-over raises nothing',
      interval: '15s',
      input_series: [leader('a', '1x4 0x20 _x40'), leader('b', '0x5 1x3 0x12 _x40')],
      alert_rule_test: [
        // b took over within 15 s of a letting go.
        alert('IPAMNoLeader', '2m', []),
        alert('IPAMNoLeader', '5m', [{ severity: 'critical' }]),
        // Every series gone (all pods down): still no leader.
        alert('IPAMNoLeader', '15m', [{ severity: 'critical' }]),
      ],
    },
    {
      name: 'reconcile errors: 20 % of the claim reconciles failing for 15 minutes',
      interval: '1m',
      input_series: [
        series(
          'controller_runtime_reconcile_total',
          'controller="ipaddressclaim",result="success"',
          '0+8x60',
        ),
        series('controller_runtime_reconcile_total', 'controller="ipaddressclaim",result="error"', '0+2x60'),
        series('controller_runtime_reconcile_errors_total', 'controller="ipaddressclaim"', '0+2x60'),
        series(
          'controller_runtime_reconcile_total',
          'controller="inclusterippool",result="success"',
          '0+10x60',
        ),
        series('controller_runtime_reconcile_errors_total', 'controller="inclusterippool"', '0x60'),
      ],
      alert_rule_test: [
        alert('IPAMReconcileErrors', '10m', []),
        alert('IPAMReconcileErrors', '40m', [{ severity: 'warning', controller: 'ipaddressclaim' }]),
      ],
    },
  ];
}

describe('the generated monitoring', () => {
  let tools: Tools;
  let scratch: string;
  let rulesFile: string;

  beforeAll(async () => {
    // A first build of promtool with cold Go caches takes minutes; later runs find it.
    tools = await monitoringTools();
    scratch = mkdtempSync(join(tmpdir(), 'docs-monitoring-'));
    const rule = parse(readFileSync(join(root, 'manifests/monitoring/prometheusrule.yaml'), 'utf8')) as {
      spec: { groups: unknown[] };
    };
    rulesFile = join(scratch, 'rules.yaml');
    writeFileSync(rulesFile, stringify({ groups: rule.spec.groups }));
  }, 30 * 60_000);
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const promtool = async (args: string[]) => {
    try {
      const { stdout, stderr } = await exec(tools.promtool, args, { cwd: scratch });
      return { code: 0, output: stdout + stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, output: e.stdout + e.stderr };
    }
  };

  it('promtool check rules passes the PrometheusRule’s groups', async () => {
    const res = await promtool(['check', 'rules', '--lint=all', '--lint-fatal', rulesFile]);
    expect(res.output).toContain(`SUCCESS: ${alertRules().length} rules found`);
    expect(res.code, res.output).toBe(0);
  });

  it('promtool parses every dashboard query (Grafana’s variables filled in)', async () => {
    const exprs = dashboardExpressions();
    const groups = [
      {
        name: 'dashboard',
        rules: exprs.map((e, i) => ({
          record: `dashboard:query_${i}`,
          expr: e.expr
            .replaceAll('$__rate_interval', '5m')
            .replaceAll('$job', '.+')
            .replaceAll('$pool', '.+'),
        })),
      },
    ];
    const file = join(scratch, 'dashboard-rules.yaml');
    writeFileSync(file, stringify({ groups }));
    const res = await promtool(['check', 'rules', file]);
    expect(res.output).toContain(`SUCCESS: ${exprs.length} rules found`);
    expect(res.code, res.output).toBe(0);
  });

  it('promtool check config passes the scrape job of docs/operations.md', async () => {
    const res = await promtool([
      'check',
      'config',
      '--syntax-only',
      join(root, 'docs/examples/operations/prometheus.yml'),
    ]);
    expect(res.code, res.output).toBe(0);
    expect(res.output).toContain('SUCCESS');
  });

  it('every alert fires when it should, and not before (promtool test rules)', async () => {
    const file = join(scratch, 'alerts.test.yaml');
    // promtool compares annotations too; the tests are about when alerts fire, so they read the
    // rules without their annotations (checked above and in src/install/monitoring.test.ts).
    const rule = parse(readFileSync(rulesFile, 'utf8')) as {
      groups: { rules: Record<string, unknown>[] }[];
    };
    for (const g of rule.groups) for (const r of g.rules) delete r.annotations;
    const bare = join(scratch, 'rules-bare.yaml');
    writeFileSync(bare, stringify(rule));
    writeFileSync(file, stringify({ rule_files: [bare], evaluation_interval: '15s', tests: alertTests() }));
    const res = await promtool(['test', 'rules', file]);
    expect(res.code, res.output).toBe(0);
    const tested = new Set(
      alertTests().flatMap((t) =>
        (t as { alert_rule_test: { alertname: string }[] }).alert_rule_test.map((a) => a.alertname),
      ),
    );
    expect([...tested].sort()).toEqual(
      alertRules()
        .map((r) => r.alert)
        .sort(),
    );
  });

  describe('on a real API server, scraped as the ServiceMonitor scrapes', () => {
    let cp: ControlPlane;
    let ctl: ControllerProcess;
    let metricsPort: number;
    const insecure = new Agent({ connect: { rejectUnauthorized: false } });
    const scrape = (token: string) =>
      undiciFetch(`https://127.0.0.1:${metricsPort}/metrics`, {
        headers: { authorization: `Bearer ${token}` },
        dispatcher: insecure,
      });
    const token = async (sa: string) => {
      const res = await cp.access.kubectl(['create', 'token', sa, '-n', INSTALL_NAMESPACE]);
      expect(res.code, res.stderr).toBe(0);
      return res.stdout.trim();
    };

    beforeAll(async () => {
      cp = await ControlPlane.start({ crds: [...crdPaths, tools.crds] });
      const install = [
        ...providerObjects().filter((o) => (o as { kind: string }).kind === 'Namespace'),
        ...rbacObjects(),
      ];
      const file = join(scratch, 'install.json');
      writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: install }));
      const applied = await cp.access.kubectl(['apply', '-f', file]);
      expect(applied.code, applied.stderr).toBe(0);
      metricsPort = await freePort();
      ctl = startControllerProcess([
        `--kubeconfig=${cp.kubeconfigPath}`,
        `--leader-election-namespace=${INSTALL_NAMESPACE}`,
        `--health-probe-bind-address=127.0.0.1:${await freePort()}`,
        `--diagnostics-address=127.0.0.1:${metricsPort}`,
        '--webhook-port=0',
      ]);
    }, 120_000);
    afterAll(async () => {
      ctl?.kill();
      await insecure.close();
      await cp?.stop();
    });

    it('takes the ServiceMonitor, its account and binding, the PrometheusRule and the dashboard ConfigMap', async () => {
      const res = await cp.access.kubectl([
        'apply',
        '--server-side',
        '-f',
        join(root, 'manifests/monitoring/'),
      ]);
      expect(res.code, res.stderr).toBe(0);
      const kinds = parseAllDocuments(
        ['servicemonitor.yaml', 'prometheusrule.yaml', 'grafana-dashboard-configmap.yaml']
          .map((f) => readFileSync(join(root, 'manifests/monitoring', f), 'utf8'))
          .join('\n'),
      ).map((d) => (d.toJS() as { kind: string }).kind);
      expect(kinds.sort()).toEqual(
        [
          'ClusterRoleBinding',
          'ConfigMap',
          'PrometheusRule',
          'Secret',
          'ServiceAccount',
          'ServiceMonitor',
        ].sort(),
      );
      const got = await cp.access.kubectl([
        'get',
        'servicemonitors,prometheusrules',
        '-n',
        INSTALL_NAMESPACE,
        '-o',
        'name',
      ]);
      expect(got.stdout.trim().split('\n').sort()).toEqual([
        'prometheusrule.monitoring.coreos.com/capi-ipam-in-cluster-alerts',
        'servicemonitor.monitoring.coreos.com/capi-ipam-in-cluster-controller-manager',
      ]);
    });

    it('serves the metrics-reader’s account every metric the dashboard and alerts name', async () => {
      const scraper = await token(SCRAPER_NAME);
      const res = await waitFor(
        'the secure /metrics to answer',
        async () => {
          const r = await scrape(scraper).catch(() => undefined);
          return r?.status === 200 ? r : undefined;
        },
        { timeoutMs: 60_000 },
      );
      const text = await res.text();
      const typed = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
      const named = new Set(
        [...alertRules().map((r) => r.expr), ...dashboardExpressions().map((d) => d.expr)].flatMap((e) =>
          selectors(e).map((s) => s.metric.replace(/_(bucket|sum|count)$/, '')),
        ),
      );
      const missing = [...named].filter((n) => !typed.has(n) && !(n in PENDING_METRICS));
      expect(missing).toEqual([]);
    });

    it('refuses an account the metrics-reader role is not bound to', async () => {
      const created = await cp.access.kubectl([
        'create',
        'serviceaccount',
        'nobody',
        '-n',
        INSTALL_NAMESPACE,
      ]);
      expect(created.code, created.stderr).toBe(0);
      const res = await scrape(await token('nobody'));
      expect(res.status).toBe(403);
    });
  });
});
