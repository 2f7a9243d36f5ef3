import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The node flags of the image's ENTRYPOINT, so that a bench runs the controller as a pod would;
 * BENCH_NODE_FLAGS replaces them (an empty value runs plain `node dist/main.js`).
 */
export function controllerNodeFlags(root: string): string[] {
  const given = process.env.BENCH_NODE_FLAGS;
  if (given !== undefined) return given.split(/\s+/).filter(Boolean);
  const m = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  const argv = m ? (JSON.parse(m[1] ?? '[]') as string[]) : [];
  return argv.filter((a) => a.startsWith('--'));
}
