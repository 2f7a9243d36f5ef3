/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time by function, by file and by package,
 * and inclusive time by function, top N of each.
 *
 *   npx tsx bench/cpuprofile-summary.ts <file.cpuprofile> [top=30] [filter-regexp]
 *
 * With a filter, only the inclusive table is printed, for functions whose name or file matches.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, topArg, filterArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: cpuprofile-summary <file.cpuprofile> [top] [filter]\n');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const filter = filterArg ? new RegExp(filterArg) : undefined;
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const n of profile.nodes) {
  byId.set(n.id, n);
  for (const c of n.children ?? []) parent.set(c, n.id);
}

// Self time per node: each sample's delta belongs to the node that was on top of the stack.
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '') || '(native)';
}

function packageOf(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? '?');
  }
  if (url.includes('/dist/')) return `dist/${url.split('/dist/')[1]?.split('/')[0] ?? ''}`;
  if (url.startsWith('node:')) return 'node-internal';
  return url ? 'other' : '(vm/native/gc)';
}

function fnKey(n: ProfileNode): string {
  const f = n.callFrame;
  return `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
}

const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
const selfByFn = new Map<string, number>();
const selfByFile = new Map<string, number>();
const selfByPkg = new Map<string, number>();
const inclusiveByFn = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id);
  if (!n) continue;
  const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + us);
  add(selfByFn, fnKey(n));
  add(selfByFile, shortUrl(n.callFrame.url));
  add(selfByPkg, packageOf(n.callFrame.url));
  // Inclusive: every distinct function on the stack gets the sample once (recursion counted once).
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const node = byId.get(cur);
    if (!node) break;
    const k = fnKey(node);
    if (seen.has(k)) continue;
    seen.add(k);
    add(inclusiveByFn, k);
  }
}

function table(title: string, m: Map<string, number>, match?: RegExp): void {
  process.stdout.write(`\n== ${title} (total sampled ${(totalUs / 1e6).toFixed(2)} s)\n`);
  const rows = [...m].filter(([k]) => !match || match.test(k)).sort((a, b) => b[1] - a[1]);
  for (const [k, us] of rows.slice(0, top)) {
    const pct = ((100 * us) / totalUs).toFixed(1).padStart(5);
    process.stdout.write(`${(us / 1e6).toFixed(3).padStart(8)} s ${pct} %  ${k}\n`);
  }
}

process.stdout.write(
  `profile ${file}: ${((profile.endTime - profile.startTime) / 1e6).toFixed(2)} s wall, ${profile.samples.length} samples\n`,
);
if (filter) {
  table('inclusive time by function (filtered)', inclusiveByFn, filter);
} else {
  table('self time by package', selfByPkg);
  table('self time by file', selfByFile);
  table('self time by function', selfByFn);
  table('inclusive time by function', inclusiveByFn);
}
