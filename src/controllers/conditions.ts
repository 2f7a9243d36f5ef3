import type { Condition } from '../api/meta.js';

export type { Condition };

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/**
 * Returns the conditions with `next` set, or undefined when nothing would change — callers skip
 * the write then, so a claim that is re-reconciled does not cause a write storm.
 * lastTransitionTime moves only when the status flips, as the Kubernetes API conventions ask.
 */
export function setCondition(
  current: readonly Condition[] | undefined,
  next: ConditionInput,
  now: Date = new Date(),
): Condition[] | undefined {
  const list = current ?? [];
  const existing = list.find((c) => c.type === next.type);
  if (
    existing &&
    existing.status === next.status &&
    existing.reason === next.reason &&
    existing.message === next.message &&
    existing.observedGeneration === next.observedGeneration
  ) {
    return undefined;
  }
  const lastTransitionTime =
    existing && existing.status === next.status
      ? existing.lastTransitionTime
      : // metav1.Time has second precision; anything finer is rejected by strict clients.
        `${now.toISOString().slice(0, 19)}Z`;
  const updated: Condition = { ...next, lastTransitionTime };
  if (updated.observedGeneration === undefined) delete updated.observedGeneration;
  return existing ? list.map((c) => (c.type === next.type ? updated : c)) : [...list, updated];
}

export function findCondition(list: readonly Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}
