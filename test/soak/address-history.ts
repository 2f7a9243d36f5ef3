/**
 * Every IPAddress write, in order, straight from etcd: a duplicate that existed only for a moment
 * (two IPAddresses of one pool holding the same address, one of them deleted since) is gone by the
 * time the soak settles, and the API server, killed now and then, could not replay it. etcd is never
 * killed, so one watch on its key range sees every revision; custom resources are stored as JSON.
 */
import { poolKeyOfRef } from './checks.js';

const PREFIX = '/registry/ipam.cluster.x-k8s.io/ipaddresses/';

export interface DuplicateSeen {
  pool: string;
  address: string;
  holders: string[];
  revision: string;
}

interface WatchEvent {
  type?: 'PUT' | 'DELETE';
  kv: { key: string; value?: string; mod_revision?: string };
}

interface WatchMessage {
  result?: { created?: boolean; canceled?: boolean; cancel_reason?: string; events?: WatchEvent[] };
  error?: { message?: string };
}

interface StoredAddress {
  metadata?: { name?: string; namespace?: string };
  spec?: { address?: string; poolRef?: { kind: string; name: string } };
}

function base64(text: string): string {
  return Buffer.from(text).toString('base64');
}

export class AddressHistory {
  /** Each time an IPAddress took an address another IPAddress of its pool held (first 50). */
  readonly duplicates: DuplicateSeen[] = [];
  duplicateCount = 0;
  events = 0;
  /** Why the watch ended before stop(), if it did: then the history is incomplete. */
  broken: string | undefined;
  private readonly holders = new Map<string, Set<string>>();
  private readonly heldBy = new Map<string, string>();
  private readonly abort = new AbortController();
  private reading: Promise<void> = Promise.resolve();

  /** Watches from now on; resolves once etcd confirmed the watch. */
  static async start(etcdUrl: string): Promise<AddressHistory> {
    const history = new AddressHistory();
    const res = await fetch(`${etcdUrl}/v3/watch`, {
      method: 'POST',
      body: JSON.stringify({
        create_request: { key: base64(PREFIX), range_end: base64(`${PREFIX.slice(0, -1)}0`) },
      }),
      signal: history.abort.signal,
    });
    if (!res.ok || !res.body) throw new Error(`etcd watch: ${res.status} ${await res.text()}`);
    const lines = readLines(res.body, history.abort.signal);
    const first = await lines.next();
    const created = first.done ? undefined : (JSON.parse(first.value) as WatchMessage);
    if (!created?.result?.created) throw new Error(`etcd watch not created: ${first.value ?? '(no answer)'}`);
    history.reading = history.consume(lines);
    return history;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.reading;
  }

  private async consume(lines: AsyncGenerator<string>): Promise<void> {
    try {
      for await (const line of lines) {
        const message = JSON.parse(line) as WatchMessage;
        if (message.error || message.result?.canceled) {
          this.broken = message.error?.message ?? message.result?.cancel_reason ?? 'canceled';
          return;
        }
        for (const event of message.result?.events ?? []) this.apply(event);
      }
      if (!this.abort.signal.aborted) this.broken = 'etcd ended the watch';
    } catch (err) {
      if (!this.abort.signal.aborted) this.broken = (err as Error).message;
    }
  }

  private apply(event: WatchEvent): void {
    this.events++;
    const key = Buffer.from(event.kv.key, 'base64').toString().slice(PREFIX.length);
    if (event.type === 'DELETE' || !event.kv.value) {
      this.release(key);
      return;
    }
    const stored = JSON.parse(Buffer.from(event.kv.value, 'base64').toString()) as StoredAddress;
    const ref = stored.spec?.poolRef;
    const address = stored.spec?.address;
    const pool = ref ? poolKeyOfRef(ref, stored.metadata?.namespace) : '';
    const slot = `${pool}|${address}`;
    // A write that keeps the address (a finalizer, an owner reference) starts no new duplicate.
    if (this.heldBy.get(key) === slot) return;
    this.release(key);
    if (!ref || !address) return;
    const holders = this.holders.get(slot) ?? new Set<string>();
    holders.add(key);
    this.holders.set(slot, holders);
    this.heldBy.set(key, slot);
    if (holders.size > 1) {
      this.duplicateCount++;
      if (this.duplicates.length < 50)
        this.duplicates.push({
          pool,
          address,
          holders: [...holders],
          revision: event.kv.mod_revision ?? '?',
        });
    }
  }

  private release(key: string): void {
    const slot = this.heldBy.get(key);
    if (slot === undefined) return;
    this.heldBy.delete(key);
    const holders = this.holders.get(slot);
    holders?.delete(key);
    if (holders?.size === 0) this.holders.delete(slot);
  }
}

/** The watch answers one JSON object per line. */
async function* readLines(body: ReadableStream<Uint8Array>, signal: AbortSignal): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = '';
  const reader = body.getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  signal.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) yield line;
        newline = buffered.indexOf('\n');
      }
    }
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}
