import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  alertRules,
  DATASOURCE_UID,
  dashboardExpressions,
  grafanaDashboard,
  JOB,
  LEADER_ELECTION_ID,
  PENDING_METRICS,
  renderMonitoringFiles,
  SCRAPER_TOKEN_SECRET,
  servedMetrics,
  serviceMonitorObjects,
} from './monitoring.js';
import { selectors } from './promql.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const served = servedMetrics();
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

/** The served metric a selector names (a histogram's _bucket/_sum/_count series included). */
function servedMetric(name: string) {
  const direct = served.get(name);
  if (direct) return direct;
  for (const suffix of HISTOGRAM_SUFFIXES) {
    if (!name.endsWith(suffix)) continue;
    const base = served.get(name.slice(0, -suffix.length));
    if (base && (base.type === 'histogram' || (base.type === 'summary' && suffix !== '_bucket'))) return base;
  }
  return undefined;
}

/** Labels every series has once Prometheus scraped it, beside the metric's own. */
const TARGET_LABELS = ['job', 'instance', 'pod', 'namespace', 'service', 'container', 'endpoint', 'le'];

function allExpressions(): { where: string; expr: string }[] {
  return [
    ...alertRules().map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
    ...dashboardExpressions().map((d) => ({ where: `panel ${d.panel}`, expr: d.expr })),
  ];
}

describe('the lexer that finds metric names', () => {
  it('finds selectors and their labels, and skips functions, label lists and durations', () => {
    expect(
      selectors(
        'histogram_quantile(0.99, sum by (le, verb) (rate(a_bucket{job=~"$job",x="a{b}"}[$__rate_interval]))) / on (x) b or vector(0)',
      ),
    ).toEqual([
      { metric: 'a_bucket', labels: ['job', 'x'] },
      { metric: 'b', labels: [] },
    ]);
  });
});

describe('the dashboard, alerts and ServiceMonitor', () => {
  it('are up to date on disk (npm run generate writes them)', () => {
    for (const file of renderMonitoringFiles()) {
      expect(readFileSync(join(root, file.path), 'utf8'), file.path).toBe(file.content);
    }
  });

  it('name only metrics the controller serves, with labels those metrics have (pending ones aside)', () => {
    const problems: string[] = [];
    for (const { where, expr } of allExpressions()) {
      for (const s of selectors(expr)) {
        const metric = servedMetric(s.metric);
        const pending = PENDING_METRICS[s.metric];
        const labels = metric?.labelNames ?? pending?.labels;
        if (!labels) {
          problems.push(`${where}: ${s.metric} is not served`);
          continue;
        }
        for (const l of s.labels) {
          if (!labels.includes(l) && !TARGET_LABELS.includes(l))
            problems.push(`${where}: ${s.metric} has no label ${l}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('use every pending metric somewhere, so none is asked for in vain', () => {
    const used = new Set(allExpressions().flatMap((e) => selectors(e.expr).map((s) => s.metric)));
    for (const name of Object.keys(PENDING_METRICS)) expect(used).toContain(name);
  });

  // Pending: asked of the metrics' owner (name, labels and help in PENDING_METRICS). This test
  // fails once the controller serves it: then remove it from PENDING_METRICS.
  it.fails.each(Object.keys(PENDING_METRICS))('%s is served by the controller (pending)', (name) => {
    const metric = served.get(name);
    expect(metric).toBeDefined();
    expect(metric?.labelNames).toEqual(PENDING_METRICS[name]?.labels);
  });

  it('alert on what the issue asks: 90 % and 100 % used, claims not Ready 10 min, duplicates, no leader 1 min, errors', () => {
    const rules = Object.fromEntries(alertRules().map((r) => [r.alert, r]));
    expect(Object.keys(rules).sort()).toEqual([
      'IPAMClaimsNotReady',
      'IPAMDuplicateAddress',
      'IPAMNoLeader',
      'IPAMPoolAlmostFull',
      'IPAMPoolFull',
      'IPAMReconcileErrors',
    ]);
    expect(rules.IPAMPoolAlmostFull?.expr).toMatch(/> 0\.9$/);
    expect(rules.IPAMClaimsNotReady?.for).toBe('10m');
    expect(rules.IPAMNoLeader?.for).toBe('1m');
    expect(rules.IPAMNoLeader?.expr).toContain(`name="${LEADER_ELECTION_ID}"`);
    for (const r of alertRules()) {
      // Every Cluster API provider serves controller_runtime_*: the rules look at this job only.
      for (const s of selectors(r.expr)) expect(s.labels, `${r.alert} ${s.metric}`).toContain('job');
      expect(r.expr).toContain(`job="${JOB}"`);
      expect(r.docs).toMatch(/^docs\/[a-z-]+\.md#[a-z-]+$/);
    }
  });

  it('elect the lease src/main.ts uses', () => {
    expect(readFileSync(join(root, 'src/main.ts'), 'utf8')).toContain(`'${LEADER_ELECTION_ID}'`);
  });

  it('make a Grafana dashboard with unique panel ids, a data source variable and panels inside the grid', () => {
    const d = grafanaDashboard() as {
      panels: { id: number; type: string; gridPos: { x: number; w: number }; datasource?: { uid: string } }[];
      templating: { list: { name: string }[] };
    };
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(d.templating.list.map((v) => v.name)).toEqual(['datasource', 'job', 'pool']);
    for (const p of d.panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      if (p.type !== 'row') expect(p.datasource?.uid).toBe(DATASOURCE_UID);
    }
    const titles = d.panels.map((p) => (p as unknown as { title: string }).title);
    for (const wanted of [
      'Pool usage',
      'Used addresses',
      'Free addresses',
      'Allocations and releases',
      'Claim latency',
      'Claims not Ready, by reason',
      'Reconcile errors',
      'Work-queue depth',
      'Leader',
    ])
      expect(titles).toContain(wanted);
  });

  it('scrape the metrics Service over HTTPS with the token of an account bound to metrics-reader', () => {
    const files = renderMonitoringFiles();
    const sm = files.find((f) => f.path.endsWith('servicemonitor.yaml'));
    const docs = parseAllDocuments(sm?.content ?? '').map((d) => d.toJS() as Record<string, never>);
    expect(docs).toEqual(serviceMonitorObjects());
    const monitor = serviceMonitorObjects().find(
      (o) => (o as { kind: string }).kind === 'ServiceMonitor',
    ) as {
      spec: { endpoints: Record<string, unknown>[] };
    };
    expect(monitor.spec.endpoints).toEqual([
      expect.objectContaining({
        port: 'https',
        scheme: 'https',
        path: '/metrics',
        authorization: { type: 'Bearer', credentials: { name: SCRAPER_TOKEN_SECRET, key: 'token' } },
      }),
    ]);
  });
});
