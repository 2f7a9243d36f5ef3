/**
 * What operators plug into Prometheus and Grafana: a ServiceMonitor for the secure /metrics (with a
 * service account bound to the metrics-reader role, whose token it sends), a PrometheusRule with
 * the provider's alerts, and a Grafana dashboard. Every metric they name is read off the Metrics
 * class the controller serves, so a metric renamed in code renames it here, and one that does not
 * exist fails `npm run generate` (and src/install/monitoring.test.ts) instead of an empty panel.
 * `npm run generate` writes them to manifests/monitoring/; they are not part of the clusterctl
 * components, which must apply on clusters without the Prometheus operator.
 */
import { INSTALL_NAMESPACE, NAME_PREFIX, type RenderedFile, toYaml } from '../api/index.js';
import { Metrics } from '../observability/metrics.js';
import { METRICS_READER_ROLE_NAME, metricsService } from './manifests.js';

/** The Lease the replicas elect their leader with (src/main.ts), the Go provider's. */
export const LEADER_ELECTION_ID = '7bb7acb4.ipam.cluster.x-k8s.io';

/**
 * Metrics the dashboard and alerts use before the controller serves them. Each is asked of the
 * metrics' owner with its name, labels and help; a test marks it as pending, and fails once it is
 * served so that the entry here is removed.
 */
export const PENDING_METRICS: Record<string, { labels: string[]; help: string; type: 'gauge' }> = {};

/** What /metrics serves: every metric the controller registers, with Node's process metrics. */
export interface ServedMetric {
  name: string;
  type: string;
  labelNames: readonly string[];
}

export function servedMetrics(): Map<string, ServedMetric> {
  const m = new Metrics({ defaultMetrics: true });
  const served = new Map<string, ServedMetric>();
  for (const metric of m.registry.getMetricsAsArray()) {
    const { name, type, labelNames } = metric as unknown as ServedMetric;
    served.set(name, { name, type: String(type), labelNames: labelNames ?? [] });
  }
  return served;
}

const METRICS = new Metrics();
/** The served name of one of the controller's metrics, read off the object the code registers. */
function nameOf(metric: unknown): string {
  return (metric as { name: string }).name;
}

const M = {
  poolAddresses: nameOf(METRICS.poolAddresses),
  allocations: nameOf(METRICS.allocations),
  releases: nameOf(METRICS.releases),
  orphansReleased: nameOf(METRICS.orphansReleased),
  duplicates: nameOf(METRICS.duplicates),
  duplicatesNow: nameOf(METRICS.duplicatesNow),
  statusWrites: nameOf(METRICS.statusWrites),
  reconciles: nameOf(METRICS.reconciles),
  reconcileErrors: nameOf(METRICS.reconcileErrors),
  reconcileSeconds: nameOf(METRICS.reconcileSeconds),
  activeWorkers: nameOf(METRICS.activeWorkers),
  queueDepth: nameOf(METRICS.queueDepth),
  queueLatency: nameOf(METRICS.queueLatency),
  restRequests: nameOf(METRICS.restRequests),
  restLatency: nameOf(METRICS.restLatency),
  leader: nameOf(METRICS.leaderElection),
  webhookRequests: nameOf(METRICS.webhookRequests),
  webhookLatency: nameOf(METRICS.webhookLatency),
  claimsNotReady: 'ipam_claims_not_ready',
  // Node's default metrics (prom-client's collectDefaultMetrics), served beside ours.
  residentMemory: 'process_resident_memory_bytes',
  cpuSeconds: 'process_cpu_seconds_total',
  heapUsed: 'nodejs_heap_size_used_bytes',
  eventLoopLag: 'nodejs_eventloop_lag_p99_seconds',
} as const;

/** The controller the claims' reconciles are counted under (controller-runtime's name for it). */
const CLAIM_CONTROLLER = 'ipaddressclaim';

const SERVICE = metricsService() as {
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: { ports: { name: string }[] };
};
/** Prometheus names the job of a ServiceMonitor's targets after the Service. */
export const JOB = SERVICE.metadata.name;
const RULE_JOB = `job="${JOB}"`;
const LEADER = `${M.leader}{${RULE_JOB},name="${LEADER_ELECTION_ID}"}`;
const DOCS = 'docs/troubleshooting.md';

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'warning' | 'critical' };
  annotations: { summary: string; description: string };
  /** The page (and section) that says what to do; appended to the description. */
  docs: string;
}

/** A pool's free and total addresses as one series per pool (the leader writes them). */
const poolState = (state: string, job = RULE_JOB) =>
  `max by (pool) (${M.poolAddresses}{${job},state="${state}"})`;

export function alertRules(): AlertRule[] {
  return [
    {
      alert: 'IPAMPoolAlmostFull',
      expr: `1 - ${poolState('free')} / ${poolState('total')} > 0.9`,
      for: '15m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Pool {{ $labels.pool }} has handed out more than 90 % of its addresses.',
        description:
          '{{ $value | humanizePercentage }} of pool {{ $labels.pool }} is in use or kept for pre-allocations. ' +
          'Add addresses to spec.addresses, or delete claims that are no longer needed.',
      },
      docs: `${DOCS}#poolexhausted`,
    },
    {
      alert: 'IPAMPoolFull',
      expr: `${poolState('free')} == 0 and ${poolState('total')} > 0`,
      for: '5m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'Pool {{ $labels.pool }} has no free address left.',
        description:
          'New claims of pool {{ $labels.pool }} wait with Ready=False, reason PoolExhausted, until an ' +
          'address is released or the pool grows.',
      },
      docs: `${DOCS}#poolexhausted`,
    },
    {
      alert: 'IPAMClaimsNotReady',
      expr: `max by (pool, reason) (${M.claimsNotReady}{${RULE_JOB}}) > 0`,
      for: '10m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Claims of {{ $labels.pool }} have not been Ready for 10 minutes ({{ $labels.reason }}).',
        description:
          '{{ $value }} IPAddressClaims of {{ $labels.pool }} have Ready=False with reason {{ $labels.reason }}; ' +
          'their Ready message says what they wait for.',
      },
      docs: `${DOCS}#list-claims-that-are-not-ready`,
    },
    {
      alert: 'IPAMDuplicateAddress',
      expr: `max by (pool) (${M.duplicatesNow}{${RULE_JOB}}) > 0`,
      for: '0m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'Two IPAddresses hold the same address of pool {{ $labels.pool }}.',
        description:
          'Made outside this controller (by hand, a restore, or another provider). Both are kept; find them ' +
          'with the DuplicateAddress event on the pool and delete the wrong one. The alert clears once ' +
          'no two IPAddresses of the pool share an address.',
      },
      docs: `${DOCS}#duplicateaddress`,
    },
    {
      alert: 'IPAMNoLeader',
      expr: `(max(${LEADER}) or vector(0)) < 1`,
      for: '1m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'No replica of the IPAM provider has held the leader lease for a minute.',
        description:
          `No claim gets an address and no pool status is written. Check the pods in ${INSTALL_NAMESPACE} ` +
          `and the Lease ${LEADER_ELECTION_ID}.`,
      },
      docs: 'docs/operations.md#leader-election',
    },
    {
      alert: 'IPAMReconcileErrors',
      expr:
        `sum by (controller) (rate(${M.reconcileErrors}{${RULE_JOB}}[15m]))` +
        ` / sum by (controller) (rate(${M.reconciles}{${RULE_JOB}}[15m])) > 0.1`,
      for: '15m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'More than 10 % of the {{ $labels.controller }} reconciles fail.',
        description:
          'Errors are retried with backoff; when they keep coming, the controller logs say why (often the ' +
          'API server refusing or timing out requests).',
      },
      docs: 'docs/operations.md#logs',
    },
  ];
}

export function prometheusRule(): object {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: `${NAME_PREFIX}alerts`,
      namespace: INSTALL_NAMESPACE,
      labels: { ...SERVICE.metadata.labels },
    },
    spec: {
      groups: [
        {
          name: 'capi-ipam-in-cluster',
          rules: alertRules().map((r) => ({
            alert: r.alert,
            expr: r.expr,
            for: r.for,
            labels: r.labels,
            annotations: { ...r.annotations, description: `${r.annotations.description} See ${r.docs}.` },
          })),
        },
      ],
    },
  };
}

export const SCRAPER_NAME = `${NAME_PREFIX}metrics-scraper`;
export const SCRAPER_TOKEN_SECRET = `${SCRAPER_NAME}-token`;

/**
 * A service account for Prometheus to scrape as, bound to the metrics-reader role, with a token
 * Secret the ServiceMonitor hands Prometheus; and the ServiceMonitor for the manager's metrics
 * Service (HTTPS with a self-signed certificate made at start-up, as controller-runtime's).
 */
export function serviceMonitorObjects(): object[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: SCRAPER_NAME, namespace: INSTALL_NAMESPACE },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: {
        name: SCRAPER_TOKEN_SECRET,
        namespace: INSTALL_NAMESPACE,
        annotations: { 'kubernetes.io/service-account.name': SCRAPER_NAME },
      },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: SCRAPER_NAME },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: METRICS_READER_ROLE_NAME },
      subjects: [{ kind: 'ServiceAccount', name: SCRAPER_NAME, namespace: INSTALL_NAMESPACE }],
    },
    {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: {
        name: `${NAME_PREFIX}controller-manager`,
        namespace: INSTALL_NAMESPACE,
        labels: { ...SERVICE.metadata.labels },
      },
      spec: {
        selector: { matchLabels: { ...SERVICE.metadata.labels } },
        namespaceSelector: { matchNames: [INSTALL_NAMESPACE] },
        endpoints: [
          {
            port: SERVICE.spec.ports[0]?.name,
            scheme: 'https',
            path: '/metrics',
            interval: '30s',
            authorization: { type: 'Bearer', credentials: { name: SCRAPER_TOKEN_SECRET, key: 'token' } },
            // The certificate is self-signed at start-up; the bearer token is what is checked.
            tlsConfig: { insecureSkipVerify: true },
          },
        ],
      },
    },
  ];
}

// ---- Grafana ----

interface Target {
  expr: string;
  legendFormat: string;
}

interface PanelSpec {
  title: string;
  description: string;
  type: 'timeseries' | 'stat';
  unit?: string;
  targets: Target[];
  w?: number;
  h?: number;
}

const DASHBOARD_JOB = 'job=~"$job"';
/** Grafana's variable for the data source the person viewing the dashboard picks. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template.
export const DATASOURCE_UID = '${datasource}';
const DATASOURCE = { type: 'prometheus', uid: DATASOURCE_UID };
const RATE = '$__rate_interval';
const poolSel = `${DASHBOARD_JOB},pool=~"$pool"`;
const claims = `${DASHBOARD_JOB},controller="${CLAIM_CONTROLLER}"`;

function quantile(q: number, histogram: string, selector: string, by = ''): string {
  const labels = by ? `le, ${by}` : 'le';
  return `histogram_quantile(${q}, sum by (${labels}) (rate(${histogram}_bucket{${selector}}[${RATE}])))`;
}

const ROWS: { title: string; panels: PanelSpec[] }[] = [
  {
    title: 'Pools',
    panels: [
      {
        title: 'Pool usage',
        description:
          'Share of each pool that is not free (handed out, or kept for spec.preAllocations): 1 - free / total.',
        type: 'timeseries',
        unit: 'percentunit',
        targets: [
          {
            expr: `1 - max by (pool) (${M.poolAddresses}{${poolSel},state="free"}) / max by (pool) (${M.poolAddresses}{${poolSel},state="total"})`,
            legendFormat: '{{pool}}',
          },
        ],
      },
      {
        title: 'Used addresses',
        description: 'IPAddresses of each pool (status.ipAddresses.used).',
        type: 'timeseries',
        targets: [
          { expr: `max by (pool) (${M.poolAddresses}{${poolSel},state="used"})`, legendFormat: '{{pool}}' },
        ],
      },
      {
        title: 'Free addresses',
        description: 'Addresses each pool can still hand out (status.ipAddresses.free).',
        type: 'timeseries',
        targets: [
          { expr: `max by (pool) (${M.poolAddresses}{${poolSel},state="free"})`, legendFormat: '{{pool}}' },
        ],
      },
      {
        title: 'Out of range and pre-allocated',
        description:
          'IPAddresses outside their pool (after a change made while webhooks were off, or made by hand) and pins not taken yet.',
        type: 'timeseries',
        targets: [
          {
            expr: `max by (pool, state) (${M.poolAddresses}{${poolSel},state=~"outOfRange|preAllocated"})`,
            legendFormat: '{{pool}} {{state}}',
          },
        ],
      },
    ],
  },
  {
    title: 'Claims',
    panels: [
      {
        title: 'Allocations and releases',
        description: 'Addresses handed out to claims and released by deleted claims, per second.',
        type: 'timeseries',
        unit: 'ops',
        targets: [
          {
            expr: `sum by (pool) (rate(${M.allocations}{${poolSel}}[${RATE}]))`,
            legendFormat: 'allocated {{pool}}',
          },
          {
            expr: `sum by (pool) (rate(${M.releases}{${poolSel}}[${RATE}]))`,
            legendFormat: 'released {{pool}}',
          },
          {
            expr: `sum by (pool) (rate(${M.orphansReleased}{${poolSel}}[${RATE}]))`,
            legendFormat: 'orphan released {{pool}}',
          },
        ],
      },
      {
        title: 'Claim latency',
        description:
          'How long a claim waits in the work queue before it is reconciled, and how long a reconcile takes (99th percentile). Their sum is close to the time from a new claim to its IPAddress.',
        type: 'timeseries',
        unit: 's',
        targets: [
          {
            expr: quantile(0.99, M.queueLatency, `${DASHBOARD_JOB},name="${CLAIM_CONTROLLER}"`),
            legendFormat: 'queue p99',
          },
          { expr: quantile(0.99, M.reconcileSeconds, claims), legendFormat: 'reconcile p99' },
          { expr: quantile(0.5, M.reconcileSeconds, claims), legendFormat: 'reconcile p50' },
        ],
      },
      {
        title: 'Claims not Ready, by reason',
        description:
          'Claims whose Ready condition is not True; the reason says what they wait for (docs/troubleshooting.md).',
        type: 'timeseries',
        targets: [
          {
            expr: `sum by (reason) (max by (pool, reason) (${M.claimsNotReady}{${poolSel}}))`,
            legendFormat: '{{reason}}',
          },
        ],
      },
      {
        title: 'Duplicate addresses now',
        description:
          'IPAddresses holding an address another IPAddress of the pool holds too (made outside this controller).',
        type: 'stat',
        targets: [
          {
            expr: `sum(max by (pool) (${M.duplicatesNow}{${DASHBOARD_JOB}})) or vector(0)`,
            legendFormat: 'duplicates',
          },
        ],
      },
    ],
  },
  {
    title: 'Controller',
    panels: [
      {
        title: 'Leader',
        description: 'Which replica holds the leader lease (1); standbys show 0.',
        type: 'timeseries',
        targets: [
          {
            expr: `max by (pod, instance) (${M.leader}{${DASHBOARD_JOB},name="${LEADER_ELECTION_ID}"})`,
            legendFormat: '{{pod}}{{instance}}',
          },
        ],
      },
      {
        title: 'Reconcile errors',
        description: 'Failed reconciles per second, per controller (the claims and the four pool kinds).',
        type: 'timeseries',
        unit: 'ops',
        targets: [
          {
            expr: `sum by (controller) (rate(${M.reconcileErrors}{${DASHBOARD_JOB}}[${RATE}]))`,
            legendFormat: '{{controller}}',
          },
        ],
      },
      {
        title: 'Reconciles by result',
        description: 'Reconciles per second, per controller and result.',
        type: 'timeseries',
        unit: 'ops',
        targets: [
          {
            expr: `sum by (controller, result) (rate(${M.reconciles}{${DASHBOARD_JOB}}[${RATE}]))`,
            legendFormat: '{{controller}} {{result}}',
          },
        ],
      },
      {
        title: 'Work-queue depth',
        description: 'Claims (and pools with a pending status write) waiting to be worked on.',
        type: 'timeseries',
        targets: [
          { expr: `sum by (name) (${M.queueDepth}{${DASHBOARD_JOB}})`, legendFormat: '{{name}}' },
          {
            expr: `sum by (controller) (${M.activeWorkers}{${DASHBOARD_JOB}})`,
            legendFormat: 'busy workers {{controller}}',
          },
        ],
      },
      {
        title: 'Pool status writes',
        description: 'Status writes of the pools per second (coalesced: a burst of allocations makes few).',
        type: 'timeseries',
        unit: 'ops',
        targets: [
          { expr: `sum(rate(${M.statusWrites}{${DASHBOARD_JOB}}[${RATE}]))`, legendFormat: 'writes' },
        ],
      },
      {
        title: 'API server requests',
        description:
          'Requests to the API server per second by status code, and their 99th percentile latency by verb.',
        type: 'timeseries',
        unit: 'ops',
        targets: [
          {
            expr: `sum by (code) (rate(${M.restRequests}{${DASHBOARD_JOB}}[${RATE}]))`,
            legendFormat: '{{code}}',
          },
        ],
      },
      {
        title: 'API server latency',
        description: '99th percentile of the controller’s requests to the API server, by verb.',
        type: 'timeseries',
        unit: 's',
        targets: [{ expr: quantile(0.99, M.restLatency, DASHBOARD_JOB, 'verb'), legendFormat: '{{verb}}' }],
      },
      {
        title: 'Webhook requests',
        description:
          'Admission and conversion requests per second by webhook and code, and their 99th percentile.',
        type: 'timeseries',
        unit: 'ops',
        targets: [
          {
            expr: `sum by (webhook, code) (rate(${M.webhookRequests}{${DASHBOARD_JOB}}[${RATE}]))`,
            legendFormat: '{{webhook}} {{code}}',
          },
          {
            expr: quantile(0.99, M.webhookLatency, DASHBOARD_JOB, 'webhook'),
            legendFormat: 'p99 {{webhook}}',
          },
        ],
      },
      {
        title: 'Memory',
        description: 'Resident memory and V8 heap in use, per replica.',
        type: 'timeseries',
        unit: 'bytes',
        targets: [
          {
            expr: `max by (pod, instance) (${M.residentMemory}{${DASHBOARD_JOB}})`,
            legendFormat: 'rss {{pod}}{{instance}}',
          },
          {
            expr: `sum by (pod, instance) (${M.heapUsed}{${DASHBOARD_JOB}})`,
            legendFormat: 'heap {{pod}}{{instance}}',
          },
        ],
      },
      {
        title: 'CPU and event-loop lag',
        description: 'CPU seconds per second, and the 99th percentile of the event loop’s lag, per replica.',
        type: 'timeseries',
        unit: 's',
        targets: [
          {
            expr: `max by (pod, instance) (rate(${M.cpuSeconds}{${DASHBOARD_JOB}}[${RATE}]))`,
            legendFormat: 'cpu {{pod}}{{instance}}',
          },
          {
            expr: `max by (pod, instance) (${M.eventLoopLag}{${DASHBOARD_JOB}})`,
            legendFormat: 'lag p99 {{pod}}{{instance}}',
          },
        ],
      },
    ],
  },
];

const GENERATED = 'Generated by `npm run generate` from src/install/monitoring.ts; do not edit.';

export function grafanaDashboard(): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of ROWS) {
    panels.push({
      id: id++,
      type: 'row',
      title: row.title,
      collapsed: false,
      gridPos: { x: 0, y, w: 24, h: 1 },
      panels: [],
    });
    y += 1;
    let x = 0;
    for (const p of row.panels) {
      const w = p.w ?? 8;
      const h = p.h ?? 8;
      if (x + w > 24) {
        x = 0;
        y += h;
      }
      panels.push({
        id: id++,
        type: p.type,
        title: p.title,
        description: p.description,
        datasource: DATASOURCE,
        gridPos: { x, y, w, h },
        fieldConfig: { defaults: { unit: p.unit ?? 'short' }, overrides: [] },
        options:
          p.type === 'stat'
            ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value' }
            : {
                legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
                tooltip: { mode: 'multi', sort: 'desc' },
              },
        targets: p.targets.map((t, i) => ({
          refId: String.fromCharCode(65 + i),
          datasource: DATASOURCE,
          expr: t.expr,
          legendFormat: t.legendFormat,
        })),
      });
      x += w;
    }
    y += 8;
  }
  return {
    uid: 'capi-ipam-in-cluster',
    title: 'Cluster API IPAM in-cluster',
    description: `Pools, claims and the controller of the in-cluster IPAM provider. ${GENERATED}`,
    tags: ['cluster-api', 'ipam'],
    editable: true,
    schemaVersion: 39,
    version: 1,
    graphTooltip: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    timezone: 'browser',
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Data source',
          type: 'datasource',
          query: 'prometheus',
          current: {},
          hide: 0,
        },
        {
          name: 'job',
          label: 'Job',
          type: 'query',
          datasource: DATASOURCE,
          query: { query: `label_values(${M.leader}{name="${LEADER_ELECTION_ID}"}, job)`, refId: 'job' },
          definition: `label_values(${M.leader}{name="${LEADER_ELECTION_ID}"}, job)`,
          refresh: 2,
          includeAll: false,
          multi: false,
          current: {},
          hide: 0,
        },
        {
          name: 'pool',
          label: 'Pool',
          type: 'query',
          datasource: DATASOURCE,
          query: { query: `label_values(${M.poolAddresses}{${DASHBOARD_JOB}}, pool)`, refId: 'pool' },
          definition: `label_values(${M.poolAddresses}{${DASHBOARD_JOB}}, pool)`,
          refresh: 2,
          includeAll: true,
          allValue: '.*',
          multi: true,
          current: {},
          hide: 0,
        },
      ],
    },
    annotations: { list: [] },
    panels,
  };
}

/** Every PromQL expression of the dashboard, with the panel it belongs to. */
export function dashboardExpressions(): { panel: string; expr: string }[] {
  return ROWS.flatMap((r) =>
    r.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr }))),
  );
}

/** The dashboard as a ConfigMap Grafana's sidecar picks up (label grafana_dashboard: "1"). */
export function dashboardConfigMap(json: string): object {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `${NAME_PREFIX}grafana-dashboard`,
      namespace: INSTALL_NAMESPACE,
      labels: { grafana_dashboard: '1' },
    },
    data: { 'capi-ipam-in-cluster.json': json },
  };
}

const HEADER = [
  `# ${GENERATED}`,
  '# A unit test (src/install/monitoring.test.ts) fails when this file is stale.',
];

export function renderMonitoringFiles(): RenderedFile[] {
  const json = `${JSON.stringify(grafanaDashboard(), null, 2)}\n`;
  return [
    {
      path: 'manifests/monitoring/servicemonitor.yaml',
      content: serviceMonitorObjects()
        .map((o, i) => toYaml(o, i === 0 ? HEADER : []))
        .join(''),
    },
    { path: 'manifests/monitoring/prometheusrule.yaml', content: toYaml(prometheusRule(), HEADER) },
    { path: 'manifests/monitoring/grafana/capi-ipam-in-cluster.json', content: json },
    {
      path: 'manifests/monitoring/grafana-dashboard-configmap.yaml',
      content: toYaml(dashboardConfigMap(json), HEADER),
    },
  ];
}
