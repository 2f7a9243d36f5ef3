import { describe, expect, it } from 'vitest';
import { startControllerProcess } from './controller-process.js';

/** src/main.ts run as a process with `args`; it never gets as far as an API server. */
async function run(args: string[], env: Record<string, string> = {}) {
  const p = startControllerProcess(args, { KUBECONFIG: '/nonexistent', ...env });
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

// As a Go provider built on pflag: usage on stderr, 0 for --help, 2 for what cannot be run.
describe('the command line', () => {
  it('prints the usage and exits 0 on --help and -h', async () => {
    for (const flag of ['--help', '-h']) {
      const { code, stdout, stderr } = await run([flag]);
      expect(code).toBe(0);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^Usage of manager:\n/);
      expect(stderr).toContain('--leader-elect');
      expect(stderr).toContain('--ipaddressclaim-concurrency int');
    }
  });

  it('exits 2 naming an unknown flag, with the usage and no stack trace', async () => {
    const { code, stderr } = await run(['--metrics-bind-addr=:8080']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^unknown flag: --metrics-bind-addr\nUsage of manager:\n/);
    expect(stderr).not.toContain('    at ');
  });

  it('exits 2 on a bad value, naming the flag, and on a bad LOG_LEVEL', async () => {
    const bad = await run(['--leader-elect=yes']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid argument "yes" for "--leader-elect" flag');
    const level = await run([], { LOG_LEVEL: 'loud' });
    expect(level.code).toBe(2);
    expect(level.stderr).toContain('invalid log level "loud" (--log-level or LOG_LEVEL)');
  });
});
