/**
 * src/main.ts as its own process, as a pod runs the controller: our flags, its own logs. The e2e
 * tests start it through here.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

export interface ControllerProcess {
  proc: ChildProcess;
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** What it wrote to stdout (pino's JSON lines) and stderr so far. */
  stdout(): string;
  stderr(): string;
  /** SIGKILL unless it has exited already. */
  kill(): void;
}

export function startControllerProcess(
  args: readonly string[],
  env: Record<string, string> = { LOG_LEVEL: 'warn' },
): ControllerProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/main.ts'), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  proc.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc,
    exited,
    stdout: () => out,
    stderr: () => err,
    kill: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}
