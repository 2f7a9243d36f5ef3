/**
 * What keeps the guide from rotting, short of running it (pages.test.ts and upgrade.test.ts do
 * that): every manifest shown is a file, byte for byte, and a page applies it; every link leads
 * somewhere; and what the code has — flags, metrics, alerts, condition reasons, events — each has
 * its line in the page that explains it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Reasons } from '../../src/controllers/claim-status.js';
import { PoolReasons } from '../../src/controllers/inclusterippool.js';
import { ServiceEvents, ServiceReasons } from '../../src/controllers/service-lb-rules.js';
import { alertRules, servedMetrics } from '../../src/install/monitoring.js';
import { usage } from '../../src/observability/flags.js';
import {
  anchors,
  blocks,
  commands,
  outputMatches,
  pagePaths,
  readPage,
  relativeLinks,
  root,
} from './markdown.js';
import { RUN_ORDER, UPGRADE_PAGE } from './runner.js';

/** Example files that are not Kubernetes objects, and the test that checks each. */
const NOT_APPLIED: Record<string, string> = {
  'docs/examples/install/clusterctl.yaml': 'clusterctl configuration: its shape is checked below',
  'docs/examples/operations/prometheus.yml':
    'Prometheus configuration: promtool checks it (monitoring.test.ts)',
};

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out.sort();
}

const pages = pagePaths();
/**
 * Pages written before these conventions, whose manifests are not files yet (and so are neither
 * checked nor applied): each is a debt to pay, not a place to add pages.
 */
const NOT_YET_FILES: string[] = [];
const guide = pages.filter((p) => p !== 'docs/design-notes.md' && p !== 'docs/README.md');

describe('the guide’s manifests', () => {
  it('are files: each yaml block names its file on its first line and is that file, byte for byte', () => {
    const problems: string[] = [];
    for (const page of pages.filter((p) => !NOT_YET_FILES.includes(p))) {
      for (const b of blocks(readPage(page)).filter((x) => x.lang === 'yaml')) {
        const first = /^# (\S+)\n/.exec(b.body);
        if (!first?.[1]) {
          problems.push(`${page}:${b.line}: a yaml block must start with "# <path of its file>"`);
          continue;
        }
        const path = first[1];
        if (!existsSync(join(root, path))) problems.push(`${page}:${b.line}: ${path} does not exist`);
        else if (b.body.slice(first[0].length) !== readFileSync(join(root, path), 'utf8'))
          problems.push(`${page}:${b.line}: the block differs from ${path}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('are all applied by a page’s console block, or checked otherwise', () => {
    const applied = new Set<string>();
    for (const page of [...RUN_ORDER, UPGRADE_PAGE]) {
      for (const step of blocks(readPage(page))
        .filter((b) => b.lang === 'console')
        .flatMap(commands)) {
        if (!/^kubectl (apply|create)\b/.test(step.command)) continue;
        for (const m of step.command.matchAll(/-f\s+(\S+)/g)) {
          const target = normalize(m[1] ?? '').replace(/\/$/, '');
          applied.add(target);
        }
      }
    }
    const unapplied = [...filesUnder('docs/examples'), ...filesUnder('docs/samples')].filter(
      (f) => !applied.has(f) && !applied.has(dirname(f)) && !(f in NOT_APPLIED),
    );
    expect(unapplied).toEqual([]);
  });

  it('include a clusterctl provider entry clusterctl can read', () => {
    const config = parse(readFileSync(join(root, 'docs/examples/install/clusterctl.yaml'), 'utf8')) as {
      providers: { name: string; url: string; type: string }[];
    };
    expect(config.providers).toEqual([
      { name: 'in-cluster', type: 'IPAMProvider', url: expect.stringMatching(/\/ipam-components\.yaml$/) },
    ]);
  });
});

describe('the guide’s links', () => {
  it('all lead to a file of the repository, and to a heading of it when they name one', () => {
    const problems: string[] = [];
    for (const page of [...pages, 'README.md']) {
      for (const link of relativeLinks(readPage(page))) {
        const target = link.target === '' ? page : normalize(join(dirname(page), link.target));
        if (!existsSync(join(root, target))) {
          problems.push(`${page}: ${link.target} does not exist`);
          continue;
        }
        if (
          link.anchor !== undefined &&
          target.endsWith('.md') &&
          !anchors(readPage(target)).has(link.anchor)
        )
          problems.push(`${page}: ${target} has no heading #${link.anchor}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('reach every page from docs/README.md, and docs/README.md from the README', () => {
    const index = relativeLinks(readPage('docs/README.md')).map((l) => normalize(join('docs', l.target)));
    for (const page of guide) expect(index, page).toContain(page);
    const readme = relativeLinks(readPage('README.md')).map((l) => normalize(l.target).replace(/\/$/, ''));
    expect(readme).toContain('docs/README.md');
  });

  it('run every page with console blocks in a test', () => {
    const withConsole = guide.filter((p) => blocks(readPage(p)).some((b) => b.lang === 'console'));
    expect(withConsole.sort()).toEqual([...RUN_ORDER, UPGRADE_PAGE].sort());
  });
});

describe('the guide covers what the code has', () => {
  it('install.md: every flag --help lists', () => {
    const page = readPage('docs/install.md');
    const flags = [...usage().matchAll(/^\s+--([a-z-]+)/gm)].map((m) => m[1]);
    expect(flags.length).toBeGreaterThan(10);
    expect(flags.filter((f) => !page.includes(`\`--${f}\``))).toEqual([]);
  });

  it('operations.md: every metric the controller registers, and every alert', () => {
    const page = readPage('docs/operations.md');
    const ours = [...servedMetrics().keys()].filter((n) => !/^(process|nodejs)_/.test(n));
    expect(ours.filter((n) => !page.includes(`\`${n}\``))).toEqual([]);
    expect(
      alertRules()
        .map((r) => r.alert)
        .filter((a) => !page.includes(`\`${a}\``)),
    ).toEqual([]);
  });

  it('troubleshooting.md: a section for every Ready reason of claims and pools, and every event', () => {
    const page = readPage('docs/troubleshooting.md');
    const headings = anchors(page);
    const claimReasons = Object.values(Reasons).filter((r) => !['Paused', 'NotPaused'].includes(r));
    for (const r of [...claimReasons, PoolReasons.InvalidSpec])
      expect(headings, r).toContain(r.toLowerCase());
    expect(page).toContain('`NotPaused`');
    // Every reason the controllers give an event, read off their source.
    const sources = readdirSync(join(root, 'src/controllers'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => readFileSync(join(root, 'src/controllers', f), 'utf8'))
      .join('\n');
    const events = new Set<string>();
    for (const m of sources.matchAll(
      /recorder\.(?:warning|normal)\(\s*[^,]+,\s*(?:'([A-Za-z]+)'|Reasons\.([A-Za-z]+))/g,
    ))
      events.add(m[1] ?? m[2] ?? '');
    // notReady(run, reason, …) sends the reason it is given as a warning: every claim reason it is called with.
    for (const m of sources.matchAll(/notReady\(\s*run,\s*(?:Reasons\.([A-Za-z]+)|choice\.reason)/g))
      if (m[1]) events.add(m[1]);
    expect(events.size).toBeGreaterThan(5);
    const table = page.slice(page.indexOf('## Events'));
    expect([...events].filter((e) => !table.includes(`\`${e}\``))).toEqual([]);
  });
});

describe('the Service page covers what the Service controller says', () => {
  it('service-load-balancers.md: every reason of its condition, every event, its flags and metric', () => {
    const page = readPage('docs/service-load-balancers.md');
    const said = [...Object.values(ServiceReasons), ...Object.values(ServiceEvents)];
    expect(said.length).toBeGreaterThan(5);
    expect(said.filter((r) => !page.includes(`\`${r}\``))).toEqual([]);
    // The claim's reasons it passes on, as the claim's Ready condition gives them.
    const claimReasons = Object.values(Reasons).filter(
      (r) => !['Paused', 'NotPaused', 'AddressAllocated'].includes(r),
    );
    expect(claimReasons.filter((r) => !page.includes(`\`${r}\``))).toEqual([]);
    const flags = [...usage().matchAll(/^\s+--(service-lb-[a-z-]+)/gm)].map((m) => m[1]);
    expect(flags.length).toBeGreaterThan(1);
    expect(flags.filter((f) => !page.includes(`\`--${f}`))).toEqual([]);
    expect(page).toContain('`ipam_service_lb_actions_total');
  });
});

describe('the page conventions (test/docs/markdown.ts)', () => {
  it('compare output with blanks collapsed and "..." standing for any lines', () => {
    expect(outputMatches(['NAME   TOTAL', 'a      1'], 'NAME TOTAL\na 1\n')).toBe(true);
    expect(outputMatches(['NAME', '...', 'z'], 'NAME\na\nb\nz\n')).toBe(true);
    expect(outputMatches(['NAME', 'a'], 'NAME\nb\n')).toBe(false);
    expect(outputMatches(['a'], 'a\nb\n')).toBe(false);
  });

  it('find GitHub’s anchors for headings', () => {
    expect([...anchors('# Pins: `spec.preAllocations`\n## A b\n## A b\n')]).toEqual([
      'pins-specpreallocations',
      'a-b',
      'a-b-1',
    ]);
  });

  it('keep relative() out of the way of absolute links', () => {
    expect(relativeLinks('[x](https://example.com/a#b) [y](pools.md#z)')).toEqual([
      { target: 'pools.md', anchor: 'z' },
    ]);
    expect(relative(root, join(root, 'docs'))).toBe('docs');
  });
});
