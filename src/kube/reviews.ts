/**
 * TokenReview and SubjectAccessReview through the controller's own client: how secure diagnostics
 * learn who a bearer token belongs to and whether that user may read a path. The rights to create
 * both are in the provider's `proxy-role` (src/controllers/rbac.ts).
 */
import type { Connection } from './connection.js';

export interface ReviewedUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** Long enough for a busy API server, short enough that a scrape does not hang on it. */
const REVIEW_TIMEOUT_MS = 10_000;

export class AccessReviews {
  constructor(private readonly connection: Connection) {}

  async authenticate(token: string): Promise<ReviewedUser | undefined> {
    const review = await this.connection.request<{
      status?: { authenticated?: boolean; user?: ReviewedUser };
    }>({
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/tokenreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      timeoutMs: REVIEW_TIMEOUT_MS,
    });
    const user = review.status?.user;
    return review.status?.authenticated === true && user?.username ? user : undefined;
  }

  async authorize(
    user: ReviewedUser,
    verb: string,
    path: string,
  ): Promise<{ allowed: boolean; reason?: string }> {
    const review = await this.connection.request<{ status?: { allowed?: boolean; reason?: string } }>({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: user.username,
          ...(user.uid ? { uid: user.uid } : {}),
          ...(user.groups ? { groups: user.groups } : {}),
          ...(user.extra ? { extra: user.extra } : {}),
          nonResourceAttributes: { path, verb },
        },
      },
      timeoutMs: REVIEW_TIMEOUT_MS,
    });
    const allowed = review.status?.allowed === true;
    const reason = review.status?.reason;
    return reason ? { allowed, reason } : { allowed };
  }
}
