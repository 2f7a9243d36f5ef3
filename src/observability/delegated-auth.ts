/**
 * Authentication and authorization of diagnostics requests, delegated to the API server as
 * controller-runtime's `filters.WithAuthenticationAndAuthorization` does it: the bearer token goes
 * to a TokenReview, the user it names to a SubjectAccessReview for the non-resource path and the
 * lower-case HTTP verb (`get /metrics`, which the `metrics-reader` ClusterRole grants). Answers and
 * status codes as there: 401 Unauthorized, 403 "Authorization denied for user …", 500 when the API
 * server could not be asked. Reviews are cached as there too (tokens 1 min, allowed 5 min, denied
 * 30 s), keyed by a hash of the token, in bounded maps: a scraper every few seconds costs the API
 * server two reviews a minute, and a flood of made-up tokens cannot grow the process.
 */
import { createHash } from 'node:crypto';

export interface UserInfo {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** The two reviews, asked of the API server (src/kube/reviews.ts) or of a test. */
export interface Reviewer {
  /** The user the token authenticates, or undefined when it authenticates no one. */
  authenticate(token: string): Promise<UserInfo | undefined>;
  authorize(user: UserInfo, verb: string, path: string): Promise<{ allowed: boolean; reason?: string }>;
}

export type Decision =
  | { status: 200; user: UserInfo }
  | { status: 401 | 403 | 500; message: string; reason?: string; cause?: unknown };

export interface DelegatedAuthOptions {
  tokenTtlMs?: number;
  allowTtlMs?: number;
  denyTtlMs?: number;
  /** Entries per cache; the oldest go first. */
  maxEntries?: number;
  now?: () => number;
}

/** A map that forgets entries after their time and its oldest beyond `max`; one review in flight per key. */
class ReviewCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  private readonly inFlight = new Map<string, Promise<V>>();

  constructor(
    private readonly max: number,
    private readonly now: () => number,
  ) {}

  async get(key: string, review: () => Promise<V>, ttl: (v: V) => number): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && hit.expires > this.now()) return hit.value;
    this.entries.delete(key);
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const asked = review().then(
      (value) => {
        this.inFlight.delete(key);
        this.entries.set(key, { value, expires: this.now() + ttl(value) });
        for (const oldest of this.entries.keys()) {
          if (this.entries.size <= this.max) break;
          this.entries.delete(oldest);
        }
        return value;
      },
      (err: unknown) => {
        this.inFlight.delete(key);
        throw err;
      },
    );
    this.inFlight.set(key, asked);
    return asked;
  }

  get size(): number {
    return this.entries.size;
  }
}

export class DelegatedAuth {
  private readonly tokens: ReviewCache<UserInfo | undefined>;
  private readonly decisions: ReviewCache<{ allowed: boolean; reason?: string }>;
  private readonly ttl: { token: number; allow: number; deny: number };

  constructor(
    private readonly reviewer: Reviewer,
    opts: DelegatedAuthOptions = {},
  ) {
    const now = opts.now ?? Date.now;
    const max = opts.maxEntries ?? 1024;
    this.tokens = new ReviewCache(max, now);
    this.decisions = new ReviewCache(max, now);
    this.ttl = {
      token: opts.tokenTtlMs ?? 60_000,
      allow: opts.allowTtlMs ?? 300_000,
      deny: opts.denyTtlMs ?? 30_000,
    };
  }

  /** Cached entries, tokens and decisions (for tests and metrics). */
  cached(): { tokens: number; decisions: number } {
    return { tokens: this.tokens.size, decisions: this.decisions.size };
  }

  async check(authorization: string | undefined, method: string, path: string): Promise<Decision> {
    const match = /^bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const token = match?.[1];
    if (!token) return { status: 401, message: 'Unauthorized' };
    let user: UserInfo | undefined;
    try {
      const key = createHash('sha256').update(token).digest('base64');
      user = await this.tokens.get(
        key,
        () => this.reviewer.authenticate(token),
        () => this.ttl.token,
      );
    } catch (cause) {
      return { status: 500, message: 'Authentication failed', cause };
    }
    if (!user) return { status: 401, message: 'Unauthorized' };
    const verb = method.toLowerCase();
    const who = user;
    try {
      const key = JSON.stringify([
        who.username,
        who.uid ?? '',
        [...(who.groups ?? [])].sort(),
        who.extra ?? {},
        verb,
        path,
      ]);
      const decision = await this.decisions.get(
        key,
        () => this.reviewer.authorize(who, verb, path),
        (d) => (d.allowed ? this.ttl.allow : this.ttl.deny),
      );
      if (decision.allowed) return { status: 200, user: who };
      return {
        status: 403,
        message: `Authorization denied for user ${who.username}`,
        ...(decision.reason ? { reason: decision.reason } : {}),
      };
    } catch (cause) {
      return { status: 500, message: `Authorization for user ${who.username} failed`, cause };
    }
  }
}
