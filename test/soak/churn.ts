/**
 * The soak's client: keeps a few dozen IPAddressClaims alive by creating claims and deleting random
 * ones, several at a time and without pausing, so that deletions race the controller's finalizer
 * patch and its IPAddress create. A third of the time it deletes claims it has only just created,
 * after 0–250 ms, to land in every step of an allocation. Global-pool claims come in pairs with
 * the same name in two namespaces (their IPAddresses share the name in one pool). The loop stops by
 * itself at `until` or after `maxBatches` batches.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterAccess } from '../harness/access.js';
import { IPAM_GROUP, type PoolReference } from './checks.js';

export interface ChurnPlan {
  globalPool: string;
  /** Every global-pool claim is made in both namespaces under the same name. */
  globalNamespaces: readonly [string, string];
  namespacedPool: { namespace: string; name: string };
  /** Below this many live claims the client only creates, above maxAlive it only deletes. */
  minAlive: number;
  maxAlive: number;
  /** Date.now() at which to stop. */
  until: number;
  maxBatches: number;
  /** Stops the loop early (the soak failed elsewhere). */
  signal?: AbortSignal;
}

export interface ChurnFigures {
  created: number;
  deleted: number;
  /** Creates the API did not answer 201 (down, restarting, timed out): the claim may exist or not. */
  createFailures: number;
  deleteFailures: number;
  /** Deletes answered 404: a create whose answer was lost never made it, or a repeat. */
  deletesNotFound: number;
  batches: number;
  /** Batches deleted right after their create. */
  quickDeleteBatches: number;
  /** Live claims (as the client counts them) once it first reached minAlive. */
  minAlive: number;
  maxAlive: number;
  stoppedBy: 'time' | 'batches' | 'aborted';
}

interface Target {
  namespace: string;
  name: string;
  poolRef: PoolReference;
}

type Outcome = 'ok' | 'failed' | 'unreachable';

const BATCH_MIN = 3;
const BATCH_MAX = 8;
const QUICK_DELETE_MAX_MS = 250;
/** While the API server is down, wait this long between batches instead of spinning on refusals. */
const UNREACHABLE_BACKOFF_MS = 200;
const REQUEST_TIMEOUT_MS = 10_000;

function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

function claimsPath(namespace: string, name = ''): string {
  return `/apis/${IPAM_GROUP}/v1beta2/namespaces/${namespace}/ipaddressclaims${name ? `/${name}` : ''}`;
}

export async function churnClaims(access: ClusterAccess, plan: ChurnPlan): Promise<ChurnFigures> {
  const figures: ChurnFigures = {
    created: 0,
    deleted: 0,
    createFailures: 0,
    deleteFailures: 0,
    deletesNotFound: 0,
    batches: 0,
    quickDeleteBatches: 0,
    minAlive: Number.POSITIVE_INFINITY,
    maxAlive: 0,
    stoppedBy: 'time',
  };
  const alive = new Map<string, Target>();
  let sequence = 0;
  let warmedUp = false;

  const newTargets = (items: number): Target[] =>
    Array.from({ length: items }, (): Target[] => {
      const name = `c-${++sequence}`;
      if (Math.random() < 0.6) {
        const poolRef = { apiGroup: IPAM_GROUP, kind: 'GlobalInClusterIPPool', name: plan.globalPool };
        return plan.globalNamespaces.map((namespace) => ({ namespace, name, poolRef }));
      }
      const { namespace, name: pool } = plan.namespacedPool;
      return [{ namespace, name, poolRef: { apiGroup: IPAM_GROUP, kind: 'InClusterIPPool', name: pool } }];
    }).flat();

  const create = async (t: Target): Promise<Outcome> => {
    try {
      const res = await access.request(
        'POST',
        claimsPath(t.namespace),
        {
          apiVersion: `${IPAM_GROUP}/v1beta2`,
          kind: 'IPAddressClaim',
          metadata: { name: t.name },
          spec: { poolRef: t.poolRef },
        },
        { timeoutMs: REQUEST_TIMEOUT_MS, userAgent: 'ipam-soak' },
      );
      if (res.status === 201) {
        figures.created++;
        return 'ok';
      }
      figures.createFailures++;
      return 'failed';
    } catch {
      figures.createFailures++;
      return 'unreachable';
    } finally {
      // Even after a failed create the claim may exist (the answer was lost): delete it later.
      alive.set(`${t.namespace}/${t.name}`, t);
    }
  };

  const remove = async (t: Target): Promise<Outcome> => {
    const key = `${t.namespace}/${t.name}`;
    alive.delete(key);
    try {
      const res = await access.request('DELETE', claimsPath(t.namespace, t.name), undefined, {
        timeoutMs: REQUEST_TIMEOUT_MS,
        userAgent: 'ipam-soak',
      });
      if (res.status === 200 || res.status === 202) {
        figures.deleted++;
        return 'ok';
      }
      if (res.status === 404) {
        figures.deletesNotFound++;
        return 'ok';
      }
      figures.deleteFailures++;
      alive.set(key, t);
      return 'failed';
    } catch {
      figures.deleteFailures++;
      alive.set(key, t);
      return 'unreachable';
    }
  };

  const randomAlive = (n: number): Target[] => {
    const all = [...alive.values()];
    for (let i = all.length - 1; i > 0; i--) {
      const j = randomInt(0, i);
      [all[i], all[j]] = [all[j] as Target, all[i] as Target];
    }
    return all.slice(0, n);
  };

  while (Date.now() < plan.until) {
    if (plan.signal?.aborted) {
      figures.stoppedBy = 'aborted';
      break;
    }
    if (figures.batches >= plan.maxBatches) {
      figures.stoppedBy = 'batches';
      break;
    }
    figures.batches++;
    const size = randomInt(BATCH_MIN, BATCH_MAX);
    const roll = Math.random();
    let outcomes: Outcome[];
    if (alive.size > plan.maxAlive || (alive.size >= plan.minAlive && roll < 0.4)) {
      outcomes = await Promise.all(randomAlive(size).map(remove));
    } else if (alive.size < plan.minAlive || roll < 0.7) {
      outcomes = await Promise.all(newTargets(size).map(create));
    } else {
      figures.quickDeleteBatches++;
      outcomes = await Promise.all(
        newTargets(size).map(async (t) => {
          const created = await create(t);
          if (created !== 'ok') return created;
          await sleep(randomInt(0, QUICK_DELETE_MAX_MS));
          return remove(t);
        }),
      );
    }
    if (alive.size >= plan.minAlive) warmedUp = true;
    if (warmedUp) {
      figures.minAlive = Math.min(figures.minAlive, alive.size);
      figures.maxAlive = Math.max(figures.maxAlive, alive.size);
    }
    if (outcomes.length > 0 && outcomes.every((o) => o === 'unreachable'))
      await sleep(UNREACHABLE_BACKOFF_MS);
  }
  if (!warmedUp) figures.minAlive = 0;
  return figures;
}
