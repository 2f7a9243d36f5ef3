/**
 * The kubevip-pools command as a person runs it (src/kubevip-pools.ts in its own process): a
 * ConfigMap file or stdin in, pools as YAML out, notes as warnings on stderr, errors naming the key
 * with a non-zero exit and nothing on stdout.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { convertKubeVipConfigMap } from '../../src/install/kubevip-pools.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const scratch = mkdtempSync(join(tmpdir(), 'kubevip-pools-'));

function run(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/kubevip-pools.ts'), ...args], {
      cwd: root,
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    proc.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
    proc.stdin.end(stdin);
  });
}

function file(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

const CONFIG_MAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: kubevip
  namespace: kube-system
data:
  cidr-global: 192.168.0.220/29
  range-finance: 10.20.0.10-10.20.0.19,2001:db8::10-2001:db8::1f
  allow-share-finance: "true"
  kube-vip-version: v0.8.0
`;

describe('the kubevip-pools command', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('prints the pools of a ConfigMap file as YAML, and its notes on stderr as warnings', async () => {
    const { code, stdout, stderr } = await run([file('kubevip.yaml', CONFIG_MAP)]);
    expect(code, stderr).toBe(0);
    const docs = parseAllDocuments(stdout).map((d) => d.toJS());
    expect(docs.map((d) => `${d.kind} ${d.metadata.namespace ?? ''}/${d.metadata.name}`)).toEqual([
      'GlobalInClusterIPPool /kube-vip-global-ipv4',
    ]);
    // range-finance is shadowed by cidr-global, as kube-vip-cloud-provider looks values up.
    expect(stderr).toContain('warning: range-finance: never used by kube-vip-cloud-provider');
    expect(stderr).toContain('warning: allow-share-finance: ');
    expect(stderr).toContain('warning: kube-vip-version: not a key kube-vip-cloud-provider reads');
    expect(stdout).toContain('# NOTE kube-vip-version: not a key');
  });

  it('reads JSON from stdin, as kubectl get configmap -o json | kubevip-pools', async () => {
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kubevip', namespace: 'kube-system' },
      data: {
        'range-finance': '10.20.0.10-10.20.0.19,2001:db8::10-2001:db8::1f',
        'range-global': '0.0.0.0/32',
      },
    };
    const { code, stdout, stderr } = await run([], JSON.stringify(cm));
    expect(code, stderr).toBe(0);
    const docs = parseAllDocuments(stdout).map((d) => d.toJS());
    expect(docs).toEqual(convertKubeVipConfigMap(cm).pools.map(({ pool }) => pool));
    expect(docs.map((d) => d.spec.addresses)).toEqual([['10.20.0.10-10.20.0.19'], ['2001:db8::10/124']]);
    expect(stderr).toMatch(/warning: range-global: 0\.0\.0\.0\/32 .*DHCP/);
  });

  it('writes the pools to the file of -o, the warnings still on stderr', async () => {
    const out = join(scratch, 'pools.yaml');
    const { code, stdout, stderr } = await run(['-o', out], CONFIG_MAP);
    expect(code, stderr).toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toContain('warning: allow-share-finance: ');
    const docs = parseAllDocuments(readFileSync(out, 'utf8')).map((d) => d.toJS());
    expect(docs.map((d) => d.metadata.name)).toEqual(['kube-vip-global-ipv4']);
  });

  it('fails on invalid values, naming each key, and prints no pools', async () => {
    const bad = CONFIG_MAP.replace('192.168.0.220/29', '192.168.0.220/33').replace(
      'allow-share-finance: "true"',
      'allow-share-finance: "perhaps"',
    );
    const { code, stdout, stderr } = await run([file('bad.yaml', bad)]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('error: cidr-global: "192.168.0.220/33" is not a CIDR');
    expect(stderr).toContain('error: allow-share-finance: "perhaps" is not true or false');
  });

  it('fails on what is not a ConfigMap, a missing file, and a wrong command line', async () => {
    expect(await run([file('secret.yaml', 'kind: Secret\ndata: {}\n')])).toMatchObject({
      code: 1,
      stdout: '',
      stderr: expect.stringContaining('this is not a ConfigMap'),
    });
    expect((await run([join(scratch, 'absent.yaml')])).stderr).toMatch(/^error: cannot read .*absent\.yaml/);
    expect((await run(['a.yaml', 'b.yaml'])).code).toBe(2);
    expect((await run(['-o'])).code).toBe(2);
    expect(await run(['--help'])).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('usage: kubevip-pools'),
    });
  });
});
