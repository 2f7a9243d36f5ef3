/**
 * The pages of docs/ as the tests read them. Conventions a page follows so that none of it can rot:
 *
 * - a ```yaml block starts with `# <path>` naming a file in the repository, and the rest of the
 *   block is that file, byte for byte (the file is what a test applies);
 * - a ```console block is run, top to bottom, by test/docs/pages.test.ts: each `$ ` line is a
 *   command (a trailing `\` continues it), and the lines after it, up to the next command, are its
 *   output (stdout and stderr together; runs of blanks compare as one; a line `...` stands for any
 *   number of lines). A command shown without output must succeed;
 * - ```sh (and any other) blocks are shown, never run: they need what a test machine has not
 *   (clusterctl, a registry, a pod network) and say so in the text around them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Block {
  lang: string;
  body: string;
  /** 1-based line of the opening fence. */
  line: number;
}

export interface Command {
  command: string;
  expected: string[];
  line: number;
}

export function pagePaths(): string[] {
  return readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`)
    .sort();
}

export function readPage(path: string): string {
  return readFileSync(join(root, path), 'utf8');
}

export function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i] ?? '');
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i] ?? ''); i++) body.push(lines[i] ?? '');
    out.push({ lang: open[1] ?? '', body: body.length ? `${body.join('\n')}\n` : '', line: start + 1 });
  }
  return out;
}

export function commands(block: Block): Command[] {
  const out: Command[] = [];
  const lines = block.body.replace(/\n$/, '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (!line.startsWith('$ ')) {
      const last = out[out.length - 1];
      if (!last) throw new Error(`line ${block.line + 1 + i}: output before any command`);
      last.expected.push(line);
      continue;
    }
    let command = line.slice(2);
    const at = block.line + 1 + i;
    while (command.endsWith('\\') && i + 1 < lines.length) command = `${command.slice(0, -1)}\n${lines[++i]}`;
    out.push({ command, expected: [], line: at });
  }
  return out;
}

const normalise = (line: string) => line.replace(/[ \t]+/g, ' ').trimEnd();

/** Does `actual` read as `expected`, where a line `...` in expected stands for any lines? */
export function outputMatches(expected: readonly string[], actual: string): boolean {
  const want = expected.map(normalise);
  while (want.length && want[want.length - 1] === '') want.pop();
  const got = actual.replace(/\n$/, '').split('\n').map(normalise);
  while (got.length && got[got.length - 1] === '') got.pop();
  const match = (w: number, g: number): boolean => {
    if (w === want.length) return g === got.length;
    if (want[w] === '...') {
      for (let k = g; k <= got.length; k++) if (match(w + 1, k)) return true;
      return false;
    }
    return g < got.length && want[w] === got[g] && match(w + 1, g + 1);
  };
  return match(0, 0);
}

/** Every relative link of a page: [text](target#anchor) with a target inside the repository. */
export function relativeLinks(markdown: string): { target: string; anchor?: string }[] {
  const out: { target: string; anchor?: string }[] = [];
  const text = markdown.replace(/```[\s\S]*?```/g, '');
  for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    const href = m[1] ?? '';
    if (/^[a-z]+:/.test(href)) continue;
    const [target = '', anchor] = href.split('#');
    out.push(anchor === undefined ? { target } : { target, anchor });
  }
  return out;
}

/** GitHub's anchors of a page's headings. */
export function anchors(markdown: string): Set<string> {
  const text = markdown.replace(/```[\s\S]*?```/g, '');
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of text.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const base = (m[1] ?? '')
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}
