import { describe, expect, it } from 'vitest';
import { DelegatedAuth, type Reviewer, type UserInfo } from './delegated-auth.js';

/** Tokens and grants in memory; counts what it is asked. The API server's reviews: test/e2e/diagnostics.test.ts. */
class Scripted implements Reviewer {
  tokenReviews = 0;
  accessReviews = 0;
  failing = false;
  constructor(
    readonly users: Record<string, UserInfo>,
    readonly grants: Set<string>,
  ) {}
  async authenticate(token: string) {
    this.tokenReviews++;
    if (this.failing) throw new Error('connection refused');
    return this.users[token];
  }
  async authorize(user: UserInfo, verb: string, path: string) {
    this.accessReviews++;
    if (this.failing) throw new Error('connection refused');
    const allowed = this.grants.has(`${user.username} ${verb} ${path}`);
    return allowed ? { allowed } : { allowed, reason: 'no RBAC policy matched' };
  }
}

function setup(opts: { maxEntries?: number } = {}) {
  let now = 1_000_000;
  const reviewer = new Scripted(
    { good: { username: 'prometheus', groups: ['system:serviceaccounts'] }, other: { username: 'someone' } },
    new Set(['prometheus get /metrics']),
  );
  const auth = new DelegatedAuth(reviewer, { now: () => now, ...opts });
  return { reviewer, auth, advance: (ms: number) => (now += ms) };
}

describe('DelegatedAuth', () => {
  it('answers 401 without a bearer token, asking nobody', async () => {
    const { reviewer, auth } = setup();
    for (const header of [undefined, '', 'Basic dXNlcjpwdw==', 'Bearer', 'Bearer  ']) {
      expect(await auth.check(header, 'GET', '/metrics')).toEqual({ status: 401, message: 'Unauthorized' });
    }
    expect(reviewer.tokenReviews).toBe(0);
  });

  it('lets a user the API server authorizes through, and asks again only after the cache times', async () => {
    const { reviewer, auth, advance } = setup();
    expect(await auth.check('Bearer good', 'GET', '/metrics')).toMatchObject({
      status: 200,
      user: { username: 'prometheus' },
    });
    expect(await auth.check('bearer good', 'GET', '/metrics')).toMatchObject({ status: 200 });
    expect([reviewer.tokenReviews, reviewer.accessReviews]).toEqual([1, 1]);
    advance(61_000); // the token's minute is over, the decision's five minutes are not
    expect(await auth.check('Bearer good', 'GET', '/metrics')).toMatchObject({ status: 200 });
    expect([reviewer.tokenReviews, reviewer.accessReviews]).toEqual([2, 1]);
    advance(240_000);
    expect(await auth.check('Bearer good', 'GET', '/metrics')).toMatchObject({ status: 200 });
    expect([reviewer.tokenReviews, reviewer.accessReviews]).toEqual([3, 2]);
  });

  it('answers 401 for a token that authenticates no one, and remembers it for a minute', async () => {
    const { reviewer, auth, advance } = setup();
    expect(await auth.check('Bearer made-up', 'GET', '/metrics')).toEqual({
      status: 401,
      message: 'Unauthorized',
    });
    expect(await auth.check('Bearer made-up', 'GET', '/metrics')).toMatchObject({ status: 401 });
    expect(reviewer.tokenReviews).toBe(1);
    advance(60_001);
    await auth.check('Bearer made-up', 'GET', '/metrics');
    expect(reviewer.tokenReviews).toBe(2);
    expect(reviewer.accessReviews).toBe(0);
  });

  it('answers 403 naming the user when the API server denies, per verb and path, for 30 s', async () => {
    const { reviewer, auth, advance } = setup();
    expect(await auth.check('Bearer other', 'GET', '/metrics')).toEqual({
      status: 403,
      message: 'Authorization denied for user someone',
      reason: 'no RBAC policy matched',
    });
    expect(await auth.check('Bearer good', 'POST', '/metrics')).toMatchObject({ status: 403 });
    expect(await auth.check('Bearer good', 'GET', '/metrics/extra')).toMatchObject({ status: 403 });
    await auth.check('Bearer other', 'GET', '/metrics');
    expect(reviewer.accessReviews).toBe(3);
    advance(30_001);
    await auth.check('Bearer other', 'GET', '/metrics');
    expect(reviewer.accessReviews).toBe(4);
  });

  it('answers 500 while the API server cannot be asked, and caches no failure', async () => {
    const { reviewer, auth } = setup();
    reviewer.failing = true;
    expect(await auth.check('Bearer good', 'GET', '/metrics')).toMatchObject({
      status: 500,
      message: 'Authentication failed',
    });
    reviewer.failing = false;
    expect(await auth.check('Bearer good', 'GET', '/metrics')).toMatchObject({ status: 200 });
    expect(reviewer.tokenReviews).toBe(2);
    const again = setup();
    await again.auth.check('Bearer good', 'GET', '/metrics');
    again.advance(400_000);
    again.reviewer.failing = true;
    expect(await again.auth.check('Bearer good', 'GET', '/metrics')).toMatchObject({ status: 500 });
  });

  it('asks once for concurrent requests with the same token', async () => {
    const { reviewer, auth } = setup();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => auth.check('Bearer good', 'GET', '/metrics')),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect([reviewer.tokenReviews, reviewer.accessReviews]).toEqual([1, 1]);
  });

  it('keeps at most maxEntries answers however many tokens are tried', async () => {
    const { auth } = setup({ maxEntries: 8 });
    for (let i = 0; i < 100; i++) await auth.check(`Bearer guess-${i}`, 'GET', '/metrics');
    expect(auth.cached().tokens).toBe(8);
  });
});
