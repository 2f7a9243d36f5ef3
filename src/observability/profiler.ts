/**
 * Profiles of the running process for the secure diagnostics server, where Cluster API serves Go's
 * pprof: a CPU profile and a sampling heap profile over a window of seconds, taken through V8's
 * inspector in-process (no debugger port is opened). They are V8's formats — `.cpuprofile` and
 * `.heapprofile`, which Chrome DevTools and speedscope open — not pprof's.
 */
import type { Session as InspectorSession } from 'node:inspector/promises';

export type ProfileKind = 'cpu' | 'heap';

export class ProfileBusy extends Error {}

/** A window in seconds from a query value: default 30, whole seconds from 1 to 300. */
export function profileSeconds(value: string | null): number {
  if (value === null || value === '') return 30;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 300)
    throw new RangeError(`seconds must be a whole number from 1 to 300, not ${JSON.stringify(value)}`);
  return n;
}

export class Profiler {
  private readonly running = new Set<ProfileKind>();
  private stopping = new AbortController();

  /** Ends the windows of the profiles being taken now; they return what they sampled so far. */
  stopAll(): void {
    this.stopping.abort();
    this.stopping = new AbortController();
  }

  isTaking(kind: ProfileKind): boolean {
    return this.running.has(kind);
  }

  /**
   * Samples for `seconds` (or until the signal aborts, as when the client goes away) and returns
   * the profile. One profile of a kind at a time: a second one throws ProfileBusy.
   */
  async take(kind: ProfileKind, seconds: number, signal?: AbortSignal): Promise<object> {
    if (this.running.has(kind)) throw new ProfileBusy(`a ${kind} profile is already being taken`);
    this.running.add(kind);
    const ended = signal ? AbortSignal.any([signal, this.stopping.signal]) : this.stopping.signal;
    let session: InspectorSession | undefined;
    try {
      // Loaded when asked for: a node built without the inspector still runs the controller.
      const { Session } = await import('node:inspector/promises');
      session = new Session();
      session.connect();
      if (kind === 'cpu') {
        await session.post('Profiler.enable');
        await session.post('Profiler.start');
        await window(seconds, ended);
        return (await session.post('Profiler.stop')).profile;
      }
      // Allocations of the window that are still alive at its end, one sample per 32 KiB.
      await session.post('HeapProfiler.enable');
      await session.post('HeapProfiler.startSampling', { samplingInterval: 32_768 });
      await window(seconds, ended);
      return (await session.post('HeapProfiler.stopSampling')).profile;
    } finally {
      session?.disconnect();
      this.running.delete(kind);
    }
  }
}

function window(seconds: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, seconds * 1000);
    signal?.addEventListener('abort', done, { once: true });
  });
}
