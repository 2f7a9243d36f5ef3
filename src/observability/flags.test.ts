import { describe, expect, it } from 'vitest';
import { FlagError, HelpRequested, parseBindAddress, parseFlags, usage } from './flags.js';

describe('parseFlags', () => {
  it('gives the Go provider’s defaults, except leader election, which is on', () => {
    const f = parseFlags([]);
    expect(f).toMatchObject({
      leaderElect: true,
      healthProbeBindAddress: ':8081',
      webhookPort: 9443,
      webhookCertDir: '/tmp/k8s-webhook-server/serving-certs',
      webhookCertName: 'tls.crt',
      webhookKeyName: 'tls.key',
      diagnosticsAddress: ':8443',
      insecureDiagnostics: false,
      tlsMinVersion: 'VersionTLS12',
      claimConcurrency: 32,
    });
    expect(f.kubeconfig).toBeUndefined();
  });

  it('takes --flag=value, --flag value and -flag', () => {
    const f = parseFlags(['--namespace=a', '--watch-filter', 'b', '-webhook-port=0', '--kubeconfig', '/k']);
    expect(f).toMatchObject({ namespace: 'a', watchFilter: 'b', webhookPort: 0, kubeconfig: '/k' });
  });

  it('reads booleans as strconv.ParseBool does; a bare flag means true', () => {
    expect(parseFlags(['--insecure-diagnostics']).insecureDiagnostics).toBe(true);
    for (const off of ['false', 'False', 'FALSE', 'f', 'F', '0'])
      expect(parseFlags([`--leader-elect=${off}`]).leaderElect).toBe(false);
    for (const on of ['true', 'True', 'TRUE', 't', 'T', '1'])
      expect(parseFlags(['--leader-elect=false', `--leader-elect=${on}`]).leaderElect).toBe(true);
  });

  it('gives Clusters their control-plane endpoints unless --cluster-endpoints=false', () => {
    expect(parseFlags([]).clusterEndpoints).toBe(true);
    expect(parseFlags(['--cluster-endpoints']).clusterEndpoints).toBe(true);
    expect(parseFlags(['--cluster-endpoints=false']).clusterEndpoints).toBe(false);
  });

  it('serves no Service unless --service-lb-class or --service-lb-default is given', () => {
    const none = parseFlags([]);
    expect(none.serviceLbClass).toBeUndefined();
    expect(none.serviceLbDefault).toBe(false);
    const both = parseFlags([
      '--service-lb-class',
      'ipam.cluster.x-k8s.io/in-cluster',
      '--service-lb-default',
    ]);
    expect(both.serviceLbClass).toBe('ipam.cluster.x-k8s.io/in-cluster');
    expect(both.serviceLbDefault).toBe(true);
    expect(() => parseFlags(['--service-lb-class='])).toThrow(FlagError);
  });

  it('does not take a boolean’s value from the next argument, as pflag does not', () => {
    expect(() => parseFlags(['--leader-elect', 'false'])).toThrow('unexpected argument "false"');
  });

  it('maps klog verbosity to log levels, and the last of --v and --log-level wins', () => {
    expect(parseFlags(['--v=0']).logLevel).toBe('info');
    expect(parseFlags(['--v=2']).logLevel).toBe('debug');
    expect(parseFlags(['--v=5']).logLevel).toBe('trace');
    expect(parseFlags(['--v=5', '--log-level=warn']).logLevel).toBe('warn');
  });

  it('stops at --', () => {
    expect(parseFlags(['--namespace=a', '--']).namespace).toBe('a');
    expect(() => parseFlags(['--', 'x'])).toThrow(FlagError);
  });

  it.each([
    [['--bogus'], 'unknown flag: --bogus'],
    [['--namespace'], 'flag needs an argument: --namespace'],
    [['--leader-elect=maybe'], 'invalid argument "maybe" for "--leader-elect" flag'],
    [['--webhook-port=-1'], 'invalid argument "-1" for "--webhook-port" flag'],
    [['--webhook-port='], 'invalid argument "" for "--webhook-port" flag'],
    [['--v=x'], 'invalid argument "x" for "--v" flag'],
    [['--ipaddressclaim-concurrency=0'], '"--ipaddressclaim-concurrency"'],
    [['--log-level=loud'], 'invalid log level "loud"'],
    [['stray'], 'unexpected argument "stray"'],
  ])('refuses %j naming the flag', (argv, message) => {
    expect(() => parseFlags(argv)).toThrow(FlagError);
    expect(() => parseFlags(argv)).toThrow(message);
  });

  it('asks for the usage on -h and --help, wherever they stand', () => {
    expect(() => parseFlags(['-h'])).toThrow(HelpRequested);
    expect(() => parseFlags(['--namespace=a', '--help'])).toThrow(HelpRequested);
  });
});

describe('usage', () => {
  it('lists every flag the parser takes, with its type and default', () => {
    const text = usage();
    const names = [...text.matchAll(/^ {6}--([a-z-]+)/gm)].map((m) => m[1] as string);
    expect(names).toHaveLength(22);
    // Each listed flag is one the parser knows (a value of the right type is accepted).
    for (const line of text.split('\n').slice(1, -1)) {
      const m = /^ {6}--([a-z-]+)(?: (string|int))?/.exec(line);
      expect(m, line).not.toBeNull();
      const [, name, kind] = m as RegExpExecArray;
      const value =
        kind === 'int' ? '3' : kind === 'string' ? (name === 'log-level' ? 'debug' : 'x') : 'true';
      expect(() => parseFlags([`--${name}=${value}`]), name).not.toThrow(FlagError);
    }
    expect(text).toMatch(/--leader-elect {2,}.*\(default true\)/);
    expect(text).toMatch(/--cluster-endpoints {2,}.*\(default true\)/);
    expect(text).toMatch(/--webhook-port int {2,}.*\(default 9443\)/);
    expect(text).toMatch(/--health-probe-bind-address string {2,}.*\(default ":8081"\)/);
    expect(text).not.toMatch(/^ {6}--insecure-diagnostics .*\(default/m);
    expect(text).toMatch(/^ {6}--service-lb-class string {2,}Give Services of type LoadBalancer/m);
    expect(text).not.toMatch(/^ {6}--service-lb-default .*\(default/m);
  });
});

describe('parseBindAddress', () => {
  it('reads host and port, all interfaces without a host, and "0" as off', () => {
    expect(parseBindAddress(':8081')).toEqual({ host: undefined, port: 8081 });
    expect(parseBindAddress('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseBindAddress('[::1]:9')).toEqual({ host: '::1', port: 9 });
    expect(parseBindAddress('0')).toBeUndefined();
    expect(() => parseBindAddress(':99999')).toThrow('invalid bind address');
  });
});
