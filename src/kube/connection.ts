import type { RequestOptions as HttpsRequestOptions } from 'node:https';
import { createSecureContext, type SecureContext, type ConnectionOptions as TlsOptions } from 'node:tls';
import { Agent, type Dispatcher, ProxyAgent } from 'undici';
import { errorFromNetwork, errorFromResponse, KubeApiError } from './errors.js';
import { type KubeConfig, KubeConfigLoader } from './kubeconfig.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ConnectionOptions {
  /** Deadline of one ordinary request (not of a watch). Default 30 s. */
  requestTimeoutMs?: number;
  /** How long an idle connection is kept for the next request. Default 60 s. */
  keepAliveMs?: number;
  userAgent?: string;
  /**
   * Told of every request once its answer's headers came (or it failed: code '<error>'), with
   * client-go's labels in mind: rest_client_requests_total and rest_client_request_duration_seconds.
   */
  observe?: (method: HttpMethod, code: string, seconds: number) => void;
}

export interface RequestSpec {
  method: HttpMethod;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON unless it is already a string. */
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Counted on our side of the pool; the integration test counts independently behind a proxy. */
export interface ConnectionStats {
  opened: number;
  closed: number;
  requests: number;
}

interface Credentials {
  headers: Record<string, string>;
  /** Identifies the TLS material the dispatcher was built with, to notice rotated files. */
  tlsFingerprint: string;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean; servername?: string };
  expiresAt: number;
}

// Tokens from files and exec plugins rotate; client-go rereads them about once a minute. We ask
// the kubeconfig for fresh headers at most this often (and at once after a 401).
const CREDENTIALS_TTL_MS = 10_000;

/**
 * One pooled keep-alive dispatcher for every request and watch to one API server.
 * client-node 2.0.1 builds a new undici Agent per request (so a TLS handshake each time), and its
 * KubeConfig alone loads its whole generated API (~80 MB); credentials come from our own loader
 * (kubeconfig.ts), though a client-node KubeConfig still fits the KubeConfig shape taken here.
 */
export class Connection {
  readonly server: URL;
  private readonly pathPrefix: string;
  private dispatcher: Dispatcher | undefined;
  private dispatcherFingerprint = '';
  private credentials: Credentials | undefined;
  private pendingCredentials: Promise<Credentials> | undefined;
  private readonly stats: ConnectionStats = { opened: 0, closed: 0, requests: 0 };
  private readonly requestTimeoutMs: number;
  private readonly keepAliveMs: number;
  private readonly userAgent: string;
  private readonly observe: ConnectionOptions['observe'];
  private closed = false;

  constructor(
    readonly kubeConfig: KubeConfig,
    options: ConnectionOptions = {},
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
    this.pathPrefix = this.server.pathname.replace(/\/+$/, '');
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.keepAliveMs = options.keepAliveMs ?? 60_000;
    this.userAgent = options.userAgent ?? 'cluster-api-ipam-provider-in-cluster-ts';
    this.observe = options.observe;
  }

  /** Loads the kubeconfig as controller-runtime does: KUBECONFIG, in-cluster, ~/.kube/config. */
  static fromDefault(options?: ConnectionOptions): Connection {
    return new Connection(KubeConfigLoader.fromDefault(), options);
  }

  static fromFile(path: string, options?: ConnectionOptions): Connection {
    return new Connection(KubeConfigLoader.fromFile(path), options);
  }

  connectionStats(): ConnectionStats {
    return { ...this.stats };
  }

  /** Sends one request and returns the parsed answer; an HTTP error becomes a KubeApiError. */
  async request<T>(spec: RequestSpec): Promise<T> {
    const what = `${spec.method} ${spec.path}`;
    for (let attempt = 0; ; attempt++) {
      const res = await this.send(spec, spec.timeoutMs ?? this.requestTimeoutMs, false);
      let text: string;
      try {
        text = await res.body.text();
      } catch (err) {
        throw errorFromNetwork(err, what, spec.timeoutMs ?? this.requestTimeoutMs);
      }
      // undici marks the connection free a moment after the body ends; a caller's next request
      // sent before then opens a second connection for nothing. One turn of the loop avoids it.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const body = parseBody(text, res.headers['content-type']);
      if (res.statusCode < 400) return body as T;
      // A rotated token: fetch fresh credentials once before giving up.
      if (res.statusCode === 401 && attempt === 0) {
        this.forgetCredentials();
        continue;
      }
      throw errorFromResponse(res.statusCode, body, what);
    }
  }

  /**
   * Opens a long-running GET (a watch) and yields its body line by line. Liveness is the caller's
   * business (the informer's watchdog), so there is no body timeout here.
   */
  async streamLines(spec: RequestSpec): Promise<AsyncGenerator<string, void, undefined>> {
    const res = await this.send(spec, spec.timeoutMs ?? this.requestTimeoutMs, true);
    if (res.statusCode >= 400) {
      const text = await res.body.text().catch(() => '');
      if (res.statusCode === 401) this.forgetCredentials();
      throw errorFromResponse(res.statusCode, parseBody(text, res.headers['content-type']), spec.path);
    }
    return splitLines(res.body, spec.path);
  }

  /** Closes every pooled connection; in-flight requests fail. */
  async close(): Promise<void> {
    this.closed = true;
    const d = this.dispatcher;
    this.dispatcher = undefined;
    if (d) await d.destroy().catch(() => {});
  }

  private async send(
    spec: RequestSpec,
    timeoutMs: number,
    streaming: boolean,
  ): Promise<Dispatcher.ResponseData> {
    if (this.closed)
      throw new KubeApiError('Unavailable', `${spec.method} ${spec.path}: connection closed`, 0);
    const creds = await this.freshCredentials();
    const dispatcher = this.dispatcherFor(creds);
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.userAgent,
      ...creds.headers,
    };
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body);
      headers['content-type'] = spec.contentType ?? 'application/json';
    }
    // Deadlines are undici's own timers: the headers must come within timeoutMs, and an ordinary
    // body may not stall longer than that (a watch's body flows for minutes). A per-request
    // AbortSignal.timeout joined to the caller's long-lived signal with AbortSignal.any cost ~7 %
    // of the controller's CPU in a burst, and every joined signal hangs on the long-lived one.
    this.stats.requests++;
    const started = this.observe ? performance.now() : 0;
    try {
      const res = await dispatcher.request({
        origin: this.server.origin,
        path: this.pathPrefix + spec.path + queryString(spec.query),
        method: spec.method,
        headers,
        body: body ?? null,
        signal: spec.signal ?? null,
        headersTimeout: timeoutMs,
        bodyTimeout: streaming ? 0 : timeoutMs,
      });
      this.observe?.(spec.method, String(res.statusCode), (performance.now() - started) / 1000);
      return res;
    } catch (err) {
      this.observe?.(spec.method, '<error>', (performance.now() - started) / 1000);
      throw errorFromNetwork(err, `${spec.method} ${spec.path}`, timeoutMs);
    }
  }

  private forgetCredentials(): void {
    this.credentials = undefined;
    this.kubeConfig.invalidateCredentials?.();
  }

  private async freshCredentials(): Promise<Credentials> {
    const now = Date.now();
    if (this.credentials && now < this.credentials.expiresAt) return this.credentials;
    // Many requests start at once after a restart; read the kubeconfig files only once for them.
    this.pendingCredentials ??= this.loadCredentials().finally(() => {
      this.pendingCredentials = undefined;
    });
    this.credentials = await this.pendingCredentials;
    return this.credentials;
  }

  private async loadCredentials(): Promise<Credentials> {
    const opts: HttpsRequestOptions = {};
    await this.kubeConfig.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
    }
    if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    const tls: Credentials['tls'] = {};
    const asBuffer = (v: unknown): Buffer | undefined =>
      Buffer.isBuffer(v) ? v : typeof v === 'string' ? Buffer.from(v) : undefined;
    const ca = asBuffer(opts.ca);
    const cert = asBuffer(opts.cert);
    const key = asBuffer(opts.key);
    if (ca) tls.ca = ca;
    if (cert) tls.cert = cert;
    if (key) tls.key = key;
    if (opts.rejectUnauthorized !== undefined) tls.rejectUnauthorized = opts.rejectUnauthorized;
    if (opts.servername) tls.servername = opts.servername;
    const tlsFingerprint = JSON.stringify([
      ca?.toString('base64'),
      cert?.toString('base64'),
      key?.toString('base64'),
      tls.rejectUnauthorized,
      tls.servername,
    ]);
    return { headers, tls, tlsFingerprint, expiresAt: Date.now() + CREDENTIALS_TTL_MS };
  }

  private dispatcherFor(creds: Credentials): Dispatcher {
    if (this.dispatcher && this.dispatcherFingerprint === creds.tlsFingerprint) return this.dispatcher;
    const old = this.dispatcher;
    const cluster = this.kubeConfig.getCurrentCluster();
    const pool = { keepAliveTimeout: this.keepAliveMs, keepAliveMaxTimeout: this.keepAliveMs * 10 };
    // undici's default TCP keep-alive delay (60 s) races cloud load balancers' idle timeouts;
    // 30 s is what client-go uses.
    const keepAlive = { keepAlive: true, keepAliveInitialDelay: 30_000 };
    if (this.server.protocol === 'http:' && !cluster?.skipTLSVerify)
      throw new Error(`${this.server.origin}: plain HTTP needs insecure-skip-tls-verify in the kubeconfig`);
    let d: Dispatcher;
    const proxy = cluster?.proxyUrl;
    if (proxy?.startsWith('socks')) {
      throw new Error(`SOCKS proxy ${proxy} is not supported; use an HTTP(S) proxy`);
    } else if (proxy) {
      d = new ProxyAgent({ ...pool, uri: proxy, requestTls: secureTls(creds.tls), connect: keepAlive });
    } else {
      d = new Agent({ ...pool, connect: { ...secureTls(creds.tls), ...keepAlive } });
    }
    d.on('connect', () => this.stats.opened++);
    d.on('disconnect', () => this.stats.closed++);
    this.dispatcher = d;
    this.dispatcherFingerprint = creds.tlsFingerprint;
    // Rotated client certificates: new requests use the new pool, open ones finish on the old.
    if (old) void old.close().catch(() => {});
    return d;
  }
}

/**
 * The CA, certificate and key as one secure context, built once per dispatcher: given them
 * loose, tls.connect parses all three again for every connection it opens (32 and more at once
 * when the workers start).
 */
function secureTls(tls: Credentials['tls']): TlsOptions & { secureContext?: SecureContext } {
  const { ca, cert, key, ...rest } = tls;
  if (!ca && !cert && !key) return rest;
  return { ...rest, secureContext: createSecureContext({ ca, cert, key }) };
}

function queryString(query: RequestSpec['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

function parseBody(text: string, contentType: string | string[] | undefined): unknown {
  if (!text) return undefined;
  const type = Array.isArray(contentType) ? contentType[0] : contentType;
  if (type?.includes('json') || text.startsWith('{')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

async function* splitLines(body: AsyncIterable<Buffer | string>, what: string): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for await (const chunk of body) {
      buffered += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim()) yield line;
      }
    }
  } catch (err) {
    throw errorFromNetwork(err, `reading ${what}`);
  } finally {
    // Ends the response (and frees its connection) when the consumer stops early.
    const destroy = (body as { destroy?: () => void }).destroy;
    if (destroy) destroy.call(body);
  }
  if (buffered.trim()) yield buffered;
}
