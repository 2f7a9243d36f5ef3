import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { RequestOptions as HttpsRequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Connection } from './connection.js';
import { parseExecCredential } from './exec-credential.js';
import { KubeConfigError, KubeConfigLoader } from './kubeconfig.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubeconfig-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function apply(kc: KubeConfigLoader): Promise<HttpsRequestOptions> {
  const opts: HttpsRequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return opts;
}

function config(cluster: object, user: object, extra: object = {}): string {
  // JSON is YAML; the YAML case has its own test.
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'ctx',
    clusters: [{ name: 'c', cluster: { server: 'https://10.1.2.3:6443/', ...cluster } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', namespace: 'ns' } }],
    ...extra,
  });
}

describe('kubeconfig files', () => {
  it('reads YAML with inline CA, client certificate and key', async () => {
    const file = join(dir, 'config');
    await writeFile(
      file,
      `apiVersion: v1
kind: Config
current-context: admin@local
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: ${b64('CA PEM')}
    tls-server-name: kubernetes.default
users:
- name: admin
  user:
    client-certificate-data: ${b64('CERT PEM')}
    client-key-data: ${b64('KEY PEM')}
contexts:
- name: admin@local
  context: {cluster: local, user: admin}
`,
    );
    const kc = KubeConfigLoader.fromFile(file);
    expect(kc.getCurrentCluster().server).toBe('https://127.0.0.1:6443');
    const opts = await apply(kc);
    expect(opts.ca?.toString()).toBe('CA PEM');
    expect(opts.cert?.toString()).toBe('CERT PEM');
    expect(opts.key?.toString()).toBe('KEY PEM');
    expect(opts.servername).toBe('kubernetes.default');
    expect(opts.rejectUnauthorized).toBeUndefined();
    expect(opts.headers).toEqual({});
  });

  it('reads files relative to the kubeconfig and again on every call, so rotation takes effect', async () => {
    await mkdir(join(dir, 'pki'));
    await writeFile(join(dir, 'pki/ca.crt'), 'CA 1');
    await writeFile(join(dir, 'pki/client.crt'), 'CERT 1');
    await writeFile(join(dir, 'pki/client.key'), 'KEY 1');
    await writeFile(join(dir, 'token'), 'token-1\n');
    const file = join(dir, 'config');
    await writeFile(
      file,
      config(
        { 'certificate-authority': 'pki/ca.crt' },
        { 'client-certificate': 'pki/client.crt', 'client-key': 'pki/client.key', tokenFile: 'token' },
      ),
    );
    const kc = KubeConfigLoader.fromFile(file);
    let opts = await apply(kc);
    expect([opts.ca, opts.cert, opts.key].map(String)).toEqual(['CA 1', 'CERT 1', 'KEY 1']);
    expect(opts.headers).toEqual({ Authorization: 'Bearer token-1' });
    for (const [f, v] of [
      ['pki/ca.crt', 'CA 2'],
      ['pki/client.crt', 'CERT 2'],
      ['pki/client.key', 'KEY 2'],
      ['token', 'token-2'],
    ])
      await writeFile(join(dir, f as string), v as string);
    opts = await apply(kc);
    expect([opts.ca, opts.cert, opts.key].map(String)).toEqual(['CA 2', 'CERT 2', 'KEY 2']);
    expect(opts.headers).toEqual({ Authorization: 'Bearer token-2' });
  });

  it('sends a bearer token, impersonation, and honours insecure-skip-tls-verify and proxy-url', async () => {
    const kc = KubeConfigLoader.fromString(
      config(
        { 'insecure-skip-tls-verify': true, 'proxy-url': 'http://proxy:3128' },
        { token: 'abc', as: 'jane' },
      ),
    );
    const opts = await apply(kc);
    expect(opts.headers).toEqual({ Authorization: 'Bearer abc', 'Impersonate-User': 'jane' });
    expect(opts.rejectUnauthorized).toBe(false);
    expect(kc.getCurrentCluster().proxyUrl).toBe('http://proxy:3128');
    expect(kc.context.namespace).toBe('ns');
  });

  it('falls back to basic auth when there is no token', async () => {
    const opts = await apply(KubeConfigLoader.fromString(config({}, { username: 'u', password: 'p' })));
    expect(opts.auth).toBe('u:p');
    expect(opts.headers).toEqual({});
  });

  it('talks anonymously for a context without a user', async () => {
    const kc = KubeConfigLoader.fromString(
      config({}, {}, { contexts: [{ name: 'ctx', context: { cluster: 'c' } }] }),
    );
    const opts = await apply(kc);
    expect(opts.headers).toEqual({});
    expect(opts.cert).toBeUndefined();
  });

  it('explains what is wrong with a broken kubeconfig', () => {
    const load = (text: string) => () => KubeConfigLoader.fromString(text);
    expect(load(config({}, {}, { 'current-context': undefined }))).toThrow(/no current-context/);
    expect(load(config({}, {}, { 'current-context': 'other' }))).toThrow(/context other not found/);
    expect(load(config({ server: '' }, {}))).toThrow(/cluster c has no server/);
    expect(load(config({}, { 'auth-provider': { name: 'oidc' } }))).toThrow(/auth-provider oidc/);
    expect(
      load(config({}, { exec: { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'x' } })),
    ).toThrow(/v1alpha1.*not supported/);
    expect(load('clusters: [')).toThrow(KubeConfigError);
  });
});

describe('KUBECONFIG with several files', () => {
  it('merges as kubectl does: the first file to set a value or name an entry wins, missing files are skipped', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    await writeFile(
      a,
      JSON.stringify({
        clusters: [{ name: 'c', cluster: { server: 'https://first:6443' } }],
        users: [{ name: 'u', user: { token: 'from-a' } }],
      }),
    );
    await writeFile(
      b,
      config({ server: 'https://second:6443' }, { token: 'from-b' }, { 'current-context': 'ctx' }),
    );
    const kc = KubeConfigLoader.fromDefault({ KUBECONFIG: [join(dir, 'missing'), a, '', b].join(delimiter) });
    expect(kc.getCurrentCluster().server).toBe('https://first:6443');
    expect((await apply(kc)).headers).toEqual({ Authorization: 'Bearer from-a' });
  });

  it('fails when none of the files exists', () => {
    expect(() => KubeConfigLoader.fromDefault({ KUBECONFIG: join(dir, 'nope') })).toThrow(
      /none of the kubeconfig/,
    );
  });

  it('uses the service account in a pod before ~/.kube/config, as controller-runtime does', async () => {
    const home = join(dir, 'home');
    const sa = join(dir, 'sa');
    await mkdir(join(home, '.kube'), { recursive: true });
    await mkdir(sa);
    await writeFile(join(sa, 'token'), 'sa-token');
    await writeFile(join(home, '.kube/config'), config({}, { token: 't' }));
    const pod = { HOME: home, KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    expect(KubeConfigLoader.fromDefault(pod, sa).getCurrentCluster().server).toBe('https://10.96.0.1:443');
    // Outside a pod (no service host), the home config.
    expect(KubeConfigLoader.fromDefault({ HOME: home }, sa).getCurrentCluster().server).toBe(
      'https://10.1.2.3:6443',
    );
    await rm(join(home, '.kube/config'));
    await rm(join(sa, 'token'));
    expect(() => KubeConfigLoader.fromDefault(pod, sa)).toThrow(/no kubeconfig/);
  });
});

describe('in-cluster service account', () => {
  it('reads the mounted token again on every call, trimmed, with the mounted CA and namespace', async () => {
    await writeFile(join(dir, 'token'), 'first\n');
    await writeFile(join(dir, 'ca.crt'), 'CLUSTER CA');
    await writeFile(join(dir, 'namespace'), 'capi-ipam\n');
    const kc = KubeConfigLoader.inCluster(
      { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' },
      dir,
    );
    expect(kc.getCurrentCluster().server).toBe('https://[fd00::1]:6443');
    expect(kc.context.namespace).toBe('capi-ipam');
    let opts = await apply(kc);
    expect(opts.headers).toEqual({ Authorization: 'Bearer first' });
    expect(opts.ca?.toString()).toBe('CLUSTER CA');
    await writeFile(join(dir, 'token'), 'second');
    opts = await apply(kc);
    expect(opts.headers).toEqual({ Authorization: 'Bearer second' });
  });

  it('needs the service environment variables', () => {
    expect(() => KubeConfigLoader.inCluster({}, dir)).toThrow(/not in a cluster/);
  });
});

describe('exec credential plugins', () => {
  // The plugin is a tiny node script: it logs each run and what it was given, and prints the
  // ExecCredential from a file the test controls.
  async function plugin(
    apiVersion: string,
    status: object,
  ): Promise<{ kc: KubeConfigLoader; runs: () => Promise<Json[]> }> {
    const script = join(dir, 'plugin.mjs');
    await writeFile(join(dir, 'answer.json'), JSON.stringify({ apiVersion, kind: 'ExecCredential', status }));
    await writeFile(
      script,
      `import { appendFileSync, readFileSync } from 'node:fs';
const here = new URL('.', import.meta.url).pathname;
appendFileSync(here + 'runs.log', JSON.stringify({ info: JSON.parse(process.env.KUBERNETES_EXEC_INFO), extra: process.env.EXTRA, args: process.argv.slice(2) }) + '\\n');
if (process.env.FAIL) { process.stderr.write('plugin says no'); process.exit(3); }
process.stdout.write(readFileSync(here + 'answer.json', 'utf8'));
`,
    );
    const kc = KubeConfigLoader.fromString(
      config(
        { 'certificate-authority-data': b64('CA') },
        {
          exec: {
            apiVersion,
            command: process.execPath,
            args: [script, '--flag'],
            env: [{ name: 'EXTRA', value: 'yes' }],
            provideClusterInfo: true,
          },
        },
      ),
      dir,
    );
    const runs = async () =>
      (await readFile(join(dir, 'runs.log'), 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Json);
    return { kc, runs };
  }
  type Json = Record<string, unknown>;

  it('v1: sends the token and keeps it until it is close to expiry', async () => {
    const expiry = new Date(Date.now() + 3600_000).toISOString();
    const { kc, runs } = await plugin('client.authentication.k8s.io/v1', {
      token: 'exec-token',
      expirationTimestamp: expiry,
    });
    expect((await apply(kc)).headers).toEqual({ Authorization: 'Bearer exec-token' });
    expect((await apply(kc)).headers).toEqual({ Authorization: 'Bearer exec-token' });
    const log = await runs();
    expect(log).toHaveLength(1);
    expect(log[0]).toEqual({
      info: {
        apiVersion: 'client.authentication.k8s.io/v1',
        kind: 'ExecCredential',
        spec: {
          interactive: false,
          cluster: {
            server: 'https://10.1.2.3:6443',
            'insecure-skip-tls-verify': false,
            'certificate-authority-data': b64('CA'),
          },
        },
      },
      extra: 'yes',
      args: ['--flag'],
    });
  });

  it('runs the plugin again once the credential (nearly) expired', async () => {
    const { kc, runs } = await plugin('client.authentication.k8s.io/v1', {
      token: 't',
      expirationTimestamp: new Date(Date.now() + 5_000).toISOString(),
    });
    await apply(kc);
    await apply(kc);
    expect(await runs()).toHaveLength(2);
  });

  it('v1beta1: a credential without expiry is kept until the server refuses it', async () => {
    const { kc, runs } = await plugin('client.authentication.k8s.io/v1beta1', { token: 'forever' });
    await apply(kc);
    await apply(kc);
    expect(await runs()).toHaveLength(1);
    kc.invalidateCredentials();
    expect((await apply(kc)).headers).toEqual({ Authorization: 'Bearer forever' });
    expect(await runs()).toHaveLength(2);
  });

  it('uses a client certificate from the plugin', async () => {
    const { kc } = await plugin('client.authentication.k8s.io/v1', {
      clientCertificateData: 'CERT PEM',
      clientKeyData: 'KEY PEM',
    });
    const opts = await apply(kc);
    expect(opts.cert?.toString()).toBe('CERT PEM');
    expect(opts.key?.toString()).toBe('KEY PEM');
    expect(opts.headers).toEqual({});
  });

  it('reports a failing plugin with its stderr, and runs it again next time', async () => {
    const { kc, runs } = await plugin('client.authentication.k8s.io/v1', { token: 't' });
    process.env.FAIL = '1';
    try {
      await expect(apply(kc)).rejects.toThrow(/plugin says no/);
    } finally {
      delete process.env.FAIL;
    }
    expect((await apply(kc)).headers).toEqual({ Authorization: 'Bearer t' });
    expect(await runs()).toHaveLength(2);
  });

  it('rejects answers that are not an ExecCredential of the configured version', () => {
    const v1 = 'client.authentication.k8s.io/v1';
    const parse = (o: object) => () => parseExecCredential(JSON.stringify(o), v1, 'p');
    expect(
      parse({
        apiVersion: 'client.authentication.k8s.io/v1beta1',
        kind: 'ExecCredential',
        status: { token: 't' },
      }),
    ).toThrow(/want/);
    expect(parse({ apiVersion: v1, kind: 'ExecCredential', status: {} })).toThrow(/neither token/);
    expect(parse({ apiVersion: v1, kind: 'ExecCredential', status: { clientCertificateData: 'x' } })).toThrow(
      /together/,
    );
    expect(
      parse({ apiVersion: v1, kind: 'ExecCredential', status: { token: 't', expirationTimestamp: 'soon' } }),
    ).toThrow(/expirationTimestamp/);
    expect(() => parseExecCredential('not json', v1, 'p')).toThrow(/no JSON/);
  });

  it('through a Connection: a 401 makes it run the plugin again and retry once', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization ?? '');
      const ok = req.headers.authorization === 'Bearer token-2';
      res
        .writeHead(ok ? 200 : 401, { 'content-type': 'application/json' })
        .end(JSON.stringify(ok ? { kind: 'Ok' } : { kind: 'Status', code: 401 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const script = join(dir, 'counter.mjs');
    await writeFile(
      script,
      `import { readFileSync, writeFileSync } from 'node:fs';
const f = new URL('n', import.meta.url).pathname;
let n = 0; try { n = Number(readFileSync(f, 'utf8')); } catch {}
writeFileSync(f, String(++n));
process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'token-' + n } }));
`,
    );
    const kc = KubeConfigLoader.fromString(
      config(
        { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true },
        {
          exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [script] },
        },
      ),
    );
    const conn = new Connection(kc);
    try {
      await expect(conn.request({ method: 'GET', path: '/api' })).resolves.toEqual({ kind: 'Ok' });
      expect(Number(await readFile(join(dir, 'n'), 'utf8'))).toBe(2);
      expect(seen).toEqual(['Bearer token-1', 'Bearer token-2']);
    } finally {
      await conn.close();
      server.close();
    }
  });

  it('a plain-HTTP server needs insecure-skip-tls-verify', async () => {
    const conn = new Connection(KubeConfigLoader.fromString(config({ server: 'http://127.0.0.1:1' }, {})));
    await expect(conn.request({ method: 'GET', path: '/api' })).rejects.toThrow(/insecure-skip-tls-verify/);
    await conn.close();
  });
});
