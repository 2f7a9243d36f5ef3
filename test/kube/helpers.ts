import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.js';
import { Connection, type ConnectionOptions } from '../../src/kube/connection.js';
import type { ResourceDescriptor } from '../../src/kube/resource.js';
import type { ClusterInfo } from '../harness/access.js';

export const configMaps: ResourceDescriptor = {
  group: '',
  version: 'v1',
  plural: 'configmaps',
  namespaced: true,
  kind: 'ConfigMap',
};

export interface ConfigMap {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
  };
  data?: Record<string, string>;
}

/** A KubeConfig for the cluster, optionally pointed at another server address (a proxy). */
export function kubeConfigFor(info: ClusterInfo, server?: string): KubeConfig {
  const kc = new KubeConfig();
  const text = readFileSync(info.kubeconfigPath, 'utf8');
  kc.loadFromString(server ? text.replace(info.server, server) : text);
  return kc;
}

export function clientFor(info: ClusterInfo, opts: { server?: string } & ConnectionOptions = {}): KubeClient {
  return new KubeClient(new Connection(kubeConfigFor(info, opts.server), opts));
}

/**
 * A TCP proxy in front of the API server that counts the connections it accepts (TLS passes
 * through untouched, so each is one TLS session of the client) and can simulate a network that
 * goes silent (freeze: open connections stop delivering, nothing is closed) or breaks (sever).
 */
export class TcpProxy {
  connections = 0;
  private readonly open = new Set<{ client: Socket; upstream: Socket; frozen: boolean }>();
  private frozenNew = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: string): Promise<TcpProxy> {
    const url = new URL(target);
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy?.accept(client, url.hostname, Number(url.port)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('proxy has no port');
    proxy = new TcpProxy(server, addr.port);
    return proxy;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** Open connections deliver nothing more in either direction (a half-open network). */
  freeze(opts: { newConnections?: boolean } = {}): void {
    for (const c of this.open) c.frozen = true;
    this.frozenNew = opts.newConnections ?? false;
  }

  /** New connections flow again (frozen ones stay frozen until severed). */
  thaw(): void {
    this.frozenNew = false;
  }

  /** Resets every open connection, like a dropped network path. */
  sever(): void {
    for (const c of this.open) {
      c.client.destroy();
      c.upstream.destroy();
    }
    this.open.clear();
  }

  async close(): Promise<void> {
    this.sever();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, host: string, port: number): void {
    this.connections++;
    const upstream = tcpConnect(port, host);
    const entry = { client, upstream, frozen: this.frozenNew };
    this.open.add(entry);
    // Pipe by hand so a frozen connection can hold data instead of passing it on.
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk: Buffer) => {
        if (entry.frozen) return;
        to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.open.delete(entry);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }
}
