/**
 * `npm run soak`: runs the soak (run.ts) and prints one JSON object with its figures on stdout
 * (`npm run -s soak` keeps npm's banner out of it); exits 1 when a check failed (the replicas' and
 * the control plane's logs are kept then, and the report names their directory), 2 when the soak
 * could not run to its end.
 *
 *   SOAK_SECONDS=300                 how long claims churn
 *   SOAK_FAULT_INTERVAL_SECONDS=20   a fault every N s: kill -9 the leader, then the API server, …
 *   SOAK_SETTLE_SECONDS=90           how long the system may take to settle after the churn
 *   SOAK_LOG_LEVEL=info              the controllers' log level
 *   SOAK_KEEP_LOGS=1                 keep the logs also when it passes
 *   SOAK_REVISION=<text>             what to call the code under test (default: git describe --dirty)
 */
import { execFileSync } from 'node:child_process';
import { runSoak } from './run.js';

function seconds(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`${name} must be a positive number of seconds, not ${raw}`);
  return n;
}

/** The code under test, so that figures of runs on a tree others are editing can be told apart. */
function revision(): string {
  if (process.env.SOAK_REVISION) return process.env.SOAK_REVISION;
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

const code = revision();
try {
  const report = await runSoak({
    seconds: seconds('SOAK_SECONDS', 300),
    faultIntervalSeconds: seconds('SOAK_FAULT_INTERVAL_SECONDS', 20),
    settleSeconds: seconds('SOAK_SETTLE_SECONDS', 90),
    logLevel: process.env.SOAK_LOG_LEVEL || 'info',
    keepLogs: process.env.SOAK_KEEP_LOGS ? 'always' : 'onFailure',
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify({ revision: code, ...report }, null, 2)}\n`);
  process.exit(report.pass ? 0 : 1);
} catch (err) {
  // The soak could not run to its end (a control plane that did not start or come back): no figures.
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.stdout.write(
    `${JSON.stringify({ revision: code, pass: false, error: (err as Error).message }, null, 2)}\n`,
  );
  process.exit(2);
}
