/**
 * Runs a page's console commands as a reader would type them: bash, kubectl on the PATH with the
 * test's kubeconfig, from `cwd`. Reads (`kubectl get|explain|describe …`) that show output are
 * retried until they print it (the controller writes what they show a moment later); anything else
 * runs once. DOCS_RECORD=1 prints what each command printed instead of failing (to write a page).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Block, type Command, commands, outputMatches } from './markdown.js';

/**
 * The pages test/docs/pages.test.ts runs, in the order a reader meets them (later pages use objects
 * of earlier ones). docs/upgrading.md runs in test/docs/upgrade.test.ts, over a Go provider's state.
 */
export const RUN_ORDER = [
  'docs/getting-started.md',
  'docs/pools.md',
  'docs/claims.md',
  'docs/troubleshooting.md',
  'docs/operations.md',
  'docs/install.md',
  'docs/control-plane-endpoint.md',
  'docs/service-load-balancers.md',
  'docs/migrating-from-kube-vip.md',
];
export const UPGRADE_PAGE = 'docs/upgrading.md';

const RECORD = process.env.DOCS_RECORD === '1';
const RETRY_MS = 30_000;

/** `kubectl get|explain|describe`, also after a namespace flag (`kubectl -n shop get …`). */
function isRead(command: string): boolean {
  return /^kubectl (?:(?:-n|--namespace)[= ]\S+ |-A )*(get|explain|describe)\b/.test(command.trim());
}

function run(
  command: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', `${command} 2>&1`], { cwd, env });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('exit', (code) => resolve({ code, output }));
  });
}

/** A shell environment where `kubectl` is the control plane's, talking to it. */
export function readerEnv(scratch: string, kubectl: string, kubeconfig: string): NodeJS.ProcessEnv {
  const bin = join(scratch, 'bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(kubectl, join(bin, 'kubectl'));
  return { ...process.env, PATH: `${bin}:${process.env.PATH}`, KUBECONFIG: kubeconfig };
}

/** Runs the commands of console blocks in order; returns a description of the first that differs. */
export async function runConsole(
  where: string,
  consoleBlocks: Block[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<string | undefined> {
  const steps: Command[] = consoleBlocks.filter((b) => b.lang === 'console').flatMap(commands);
  for (const step of steps) {
    const deadline = Date.now() + (isRead(step.command) && step.expected.length ? RETRY_MS : 0);
    let result = await run(step.command, env, cwd);
    const ok = () => (step.expected.length ? outputMatches(step.expected, result.output) : result.code === 0);
    while (!ok() && Date.now() < deadline) {
      await sleep(300);
      result = await run(step.command, env, cwd);
    }
    if (RECORD) {
      process.stdout.write(
        `\n${where}:${step.line} ${ok() ? 'ok' : 'DIFFERS'}\n$ ${step.command}\n${result.output}`,
      );
      continue;
    }
    if (!ok()) {
      return `${where}:${step.line}: $ ${step.command}\n--- the page shows\n${step.expected.join('\n')}\n--- it printed (exit ${result.code})\n${result.output}`;
    }
  }
  return undefined;
}
