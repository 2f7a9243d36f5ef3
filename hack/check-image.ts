/**
 * `npx tsx hack/check-image.ts [--keep <dir>]`: the Dockerfile's stages, run outside Docker (there
 * is no engine on the machines that run the tests). Each stage gets a directory standing for its
 * file system; WORKDIR, ENV, COPY (from the build context or another stage) and RUN are carried
 * out as written, in order, with Node 24 first on the PATH as in the node:24 images. The final
 * stage's ENTRYPOINT then runs `--help` from the pruned tree, as user 65532 when this runs as root.
 * It prints what it did, the sizes, and what it could not check. With --keep, the stages' root is
 * kept in <dir> (test/docs/image.test.ts starts the controller from it).
 *
 * What this cannot check: the base images themselves (node:24-slim, distroless nodejs24 — their
 * Node, libc and users), file ownership and layers, and Docker's own parsing of the Dockerfile
 * beyond the instructions used here (FROM … AS, ARG-free, WORKDIR, ENV, COPY [--from], RUN, USER,
 * ENTRYPOINT in exec form). An instruction it does not know fails the run rather than being skipped.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

export interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** The Dockerfile's stages: instructions with continuation lines joined and comments dropped. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i] ?? '';
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length)
      line = `${line.slice(0, -1)} ${lines[++i]?.trim() ?? ''}`;
    const m = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile:${start + 1}: cannot read "${line}"`);
    const [op = '', args = ''] = [m[1], m[2]?.trim()];
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: f?.[1] ?? args, name: f?.[2] ?? String(stages.length), instructions: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) throw new Error(`Dockerfile:${start + 1}: ${op} before FROM`);
    stage.instructions.push({ op, args, line: start + 1 });
  }
  return stages;
}

interface Options {
  /** Node 24's binary, standing for the images' `node` and distroless' /nodejs/bin/node. */
  node: string;
  work: string;
  log: (line: string) => void;
}

interface StageState {
  fs: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
  entrypoint?: string[];
}

/** The stage's directory standing for an absolute path of its file system. */
const inFs = (state: StageState, path: string) =>
  join(state.fs, posix.isAbsolute(path) ? path : posix.join(state.workdir, path));

export function runStages(stages: Stage[], opts: Options): Map<string, StageState> {
  const states = new Map<string, StageState>();
  const nodeDir = dirname(opts.node);
  for (const stage of stages) {
    const state: StageState = { fs: join(opts.work, stage.name), workdir: '/', env: {} };
    mkdirSync(state.fs, { recursive: true });
    states.set(stage.name, state);
    opts.log(`stage ${stage.name} (FROM ${stage.from})`);
    for (const ins of stage.instructions) {
      const started = Date.now();
      switch (ins.op) {
        case 'WORKDIR':
          state.workdir = posix.resolve(state.workdir, ins.args);
          mkdirSync(inFs(state, '.'), { recursive: true });
          break;
        case 'ENV': {
          const m = /^(\w+)=(.*)$/.exec(ins.args);
          if (!m?.[1]) throw new Error(`Dockerfile:${ins.line}: ENV in key=value form only`);
          state.env[m[1]] = m[2] ?? '';
          break;
        }
        case 'COPY': {
          const parts = ins.args.split(/\s+/);
          const from = parts[0]?.startsWith('--from=') ? parts.shift()?.slice('--from='.length) : undefined;
          const dest = parts.pop() ?? '';
          const source = from === undefined ? undefined : states.get(from);
          if (from !== undefined && !source) throw new Error(`Dockerfile:${ins.line}: no stage ${from}`);
          for (const src of parts) {
            const path = source ? join(source.fs, src) : join(root, src);
            if (!existsSync(path)) throw new Error(`Dockerfile:${ins.line}: ${src} does not exist`);
            const isDir = statSync(path).isDirectory();
            const target =
              dest.endsWith('/') && !isDir ? join(inFs(state, dest), posix.basename(src)) : inFs(state, dest);
            cpSync(path, target, {
              recursive: true,
              filter: (p) => source !== undefined || !/\.test\.ts$/.test(p),
            });
          }
          break;
        }
        case 'RUN': {
          const res = spawnSync('sh', ['-c', ins.args], {
            cwd: inFs(state, '.'),
            env: { ...process.env, ...state.env, PATH: `${nodeDir}:${process.env.PATH}` },
            stdio: ['ignore', 'pipe', 'pipe'],
            encoding: 'utf8',
          });
          if (res.status !== 0)
            throw new Error(
              `Dockerfile:${ins.line}: RUN ${ins.args} failed (${res.status}):\n${res.stdout}${res.stderr}`,
            );
          break;
        }
        case 'USER':
          state.user = ins.args;
          break;
        case 'ENTRYPOINT':
          state.entrypoint = JSON.parse(ins.args) as string[];
          break;
        default:
          throw new Error(`Dockerfile:${ins.line}: ${ins.op} is not carried out by this check`);
      }
      opts.log(`  ${ins.op} ${ins.args}  (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
  }
  return states;
}

/** Bytes under a directory (files only, as a layer holds them). */
export function treeBytes(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    n += s.isDirectory() ? treeBytes(p) : s.size;
  }
  return n;
}

/** The command line of the final stage's ENTRYPOINT, its paths mapped into the stage directory. */
export function entrypointCommand(state: StageState, node: string): string[] {
  const argv = state.entrypoint ?? [];
  return argv.map((a, i) =>
    i === 0 && a === '/nodejs/bin/node' ? node : a.startsWith('/app/') ? join(state.fs, a) : a,
  );
}

/** setpriv's prefix to run as the image's USER, when this process may (it is root). */
export function asImageUser(user: string | undefined): string[] {
  if (!user || process.getuid?.() !== 0) return [];
  const [uid, gid = uid] = user.split(':');
  return ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups'];
}

function main(): void {
  const keepAt = process.argv.indexOf('--keep');
  const work = keepAt >= 0 ? (process.argv[keepAt + 1] ?? '') : mkdtempSync(join(tmpdir(), 'check-image-'));
  mkdirSync(work, { recursive: true });
  const node = join(root, 'node_modules/node/bin/node');
  const say = (l: string) => process.stdout.write(`${l}\n`);
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  say(`check-image: the Dockerfile's stages outside Docker, in ${work}, with Node ${version}`);
  try {
    const stages = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
    const final = stages[stages.length - 1];
    if (!final) throw new Error('no stage');
    const states = runStages(stages, { node, work, log: say });
    const image = states.get(final.name);
    if (!image) throw new Error('no final stage');
    // The tree must be readable by the image's user, as the image's files are.
    chmodSync(work, 0o755);
    const problems: string[] = [];
    if (final.instructions.some((i) => i.op === 'RUN')) problems.push('the final stage runs commands');
    if (final.instructions.some((i) => i.op === 'HEALTHCHECK')) problems.push('the image has a HEALTHCHECK');
    if (!/^\d+(:\d+)?$/.test(image.user ?? '') || image.user?.startsWith('0'))
      problems.push(`USER is ${image.user}`);
    if (image.env.NODE_ENV !== 'production') problems.push('NODE_ENV is not production');
    const modules = join(image.fs, 'app/node_modules');
    for (const unwanted of ['npm', 'typescript', 'vitest', '@biomejs', 'tsx', 'node', '@kubernetes'])
      if (existsSync(join(modules, unwanted))) problems.push(`node_modules holds ${unwanted}`);
    const cmd = [...asImageUser(image.user), ...entrypointCommand(image, node), '--help'];
    const help = spawnSync(cmd[0] ?? '', cmd.slice(1), {
      cwd: join(image.fs, 'app'),
      env: { PATH: '/usr/bin:/bin', ...image.env },
      encoding: 'utf8',
    });
    if (help.status !== 0 || !help.stderr.concat(help.stdout).includes('Usage of'))
      problems.push(`ENTRYPOINT --help exited ${help.status}: ${help.stderr}${help.stdout}`);
    else
      say(
        `ENTRYPOINT --help as ${asImageUser(image.user).length ? `user ${image.user}` : 'this user'}: exit 0, usage printed`,
      );
    const app = treeBytes(join(image.fs, 'app'));
    const nodeBytes = statSync(node).size;
    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    say(
      `size: /app ${mb(app)} (dist ${mb(treeBytes(join(image.fs, 'app/dist')))}, node_modules ${mb(treeBytes(modules))})`,
    );
    say(
      `size: image ≈ ${mb(app + nodeBytes + 25e6)} uncompressed — /app, Node ${version} (${mb(nodeBytes)}), ~25 MB of distroless base (glibc, libstdc++, CA certificates); not measured on a real image`,
    );
    say('not checked here: the base images, file ownership and layers, Docker parsing the Dockerfile');
    if (problems.length) {
      for (const p of problems) process.stderr.write(`check-image: ${p}\n`);
      process.exitCode = 1;
    } else say('check-image: ok');
  } finally {
    if (keepAt < 0) rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
