import type { Status } from './resource.js';

/**
 * What went wrong, in the words controllers branch on. `Unavailable` covers both a 503 and not
 * reaching the API server at all (refused, reset, timed out): in each case, try again later.
 */
export type KubeErrorReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'TooManyRequests'
  | 'Timeout'
  | 'InternalError'
  | 'Unavailable'
  | 'Unknown';

export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';

  constructor(
    readonly reason: KubeErrorReason,
    message: string,
    /** HTTP status, 0 when no response arrived. */
    readonly code: number,
    /** The API server's Status object, when it sent one. */
    readonly status?: Status,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Seconds the server asked us to wait (429 and some 5xx), if it said. */
  get retryAfterSeconds(): number | undefined {
    return this.status?.details?.retryAfterSeconds;
  }
}

/** Maps an HTTP error answer to a reason, preferring the Status reason the server gave. */
export function errorFromResponse(code: number, body: unknown, what: string): KubeApiError {
  const status = isStatus(body) ? body : undefined;
  const message = status?.message ?? (typeof body === 'string' && body ? body.slice(0, 500) : `HTTP ${code}`);
  return new KubeApiError(reasonOf(code, status?.reason), `${what}: ${message}`, code, status);
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** A request that got no (complete) answer: Timeout when a deadline passed, else Unavailable. */
export function errorFromNetwork(err: unknown, what: string, timeoutMs?: number): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
    const within = timeoutMs === undefined ? '' : ` in ${timeoutMs} ms`;
    return new KubeApiError('Timeout', `${what}: no answer${within}`, 0, undefined, { cause: err });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new KubeApiError('Unavailable', `${what}: ${detail}`, 0, undefined, { cause: err });
}

function reasonOf(code: number, reason: string | undefined): KubeErrorReason {
  switch (reason) {
    case 'NotFound':
    case 'AlreadyExists':
    case 'Conflict':
    case 'Gone':
    case 'Invalid':
    case 'BadRequest':
    case 'Unauthorized':
    case 'Forbidden':
    case 'TooManyRequests':
    case 'Timeout':
    case 'InternalError':
      return reason;
    case 'Expired': // an expired continue token or resourceVersion: relist, like Gone
      return 'Gone';
    case 'ServerTimeout':
      return 'Timeout';
    case 'ServiceUnavailable':
      return 'Unavailable';
  }
  switch (code) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 409:
      return 'Conflict';
    case 410:
      return 'Gone';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    case 500:
      return 'InternalError';
    case 503:
      return 'Unavailable';
    case 504:
      return 'Timeout';
    default:
      return 'Unknown';
  }
}

export function isStatus(body: unknown): body is Status {
  return typeof body === 'object' && body !== null && (body as { kind?: unknown }).kind === 'Status';
}

function hasReason(err: unknown, reason: KubeErrorReason): boolean {
  return err instanceof KubeApiError && err.reason === reason;
}

export const isNotFound = (err: unknown): boolean => hasReason(err, 'NotFound');
export const isAlreadyExists = (err: unknown): boolean => hasReason(err, 'AlreadyExists');
export const isConflict = (err: unknown): boolean => hasReason(err, 'Conflict');
export const isGone = (err: unknown): boolean => hasReason(err, 'Gone');
export const isInvalid = (err: unknown): boolean => hasReason(err, 'Invalid');

/** Worth retrying unchanged: the server was away, overloaded or timed out. */
export function isTransient(err: unknown): boolean {
  return (
    err instanceof KubeApiError &&
    (err.reason === 'Unavailable' ||
      err.reason === 'Timeout' ||
      err.reason === 'TooManyRequests' ||
      err.reason === 'InternalError')
  );
}

/** A kubeconfig (or what it names: files, an exec plugin) that cannot give credentials. */
export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
}
