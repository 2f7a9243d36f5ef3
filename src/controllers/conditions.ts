import type { Condition, V1Beta1Condition } from '../api/meta.js';

export type { Condition, V1Beta1Condition };

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;
export type V1Beta1ConditionInput = Omit<V1Beta1Condition, 'lastTransitionTime'>;

/** The longest message the schemas take: metav1.Condition's, and Cluster API v1beta1's. */
export const MAX_MESSAGE = 32_768;
export const MAX_V1BETA1_MESSAGE = 10_240;

/**
 * A message cut to what the schema takes. Messages carry lists (every invalid address of a pool,
 * an API error's text); one too long would make the whole status write fail, every time.
 */
export function boundedMessage(message: string, max: number): string {
  return message.length <= max ? message : `${message.slice(0, max - 3)}...`;
}

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
  if (next.message.length > MAX_MESSAGE)
    next = { ...next, message: boundedMessage(next.message, MAX_MESSAGE) };
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

/**
 * The same for Cluster API's v1beta1 conditions (status.conditions of v1beta1 objects), with its
 * rules: the transition time moves whenever the state (status, severity, reason, message) does,
 * and Ready sorts first, the rest by type. Entries that are not conditions are kept as they are.
 */
export function setV1Beta1Condition(
  current: readonly unknown[] | undefined,
  next: V1Beta1ConditionInput,
  now: Date = new Date(),
): V1Beta1Condition[] | undefined {
  const list = (current ?? []) as V1Beta1Condition[];
  if (next.message !== undefined && next.message.length > MAX_V1BETA1_MESSAGE)
    next = { ...next, message: boundedMessage(next.message, MAX_V1BETA1_MESSAGE) };
  const existing = list.find((c) => typeof c === 'object' && c !== null && c.type === next.type);
  const same = (a: string | undefined, b: string | undefined) => (a ?? '') === (b ?? '');
  if (
    existing &&
    existing.status === next.status &&
    same(existing.severity, next.severity) &&
    same(existing.reason, next.reason) &&
    same(existing.message, next.message)
  ) {
    return undefined;
  }
  const updated: V1Beta1Condition = { ...next, lastTransitionTime: `${now.toISOString().slice(0, 19)}Z` };
  const out = existing ? list.map((c) => (c === existing ? updated : c)) : [...list, updated];
  const typeOf = (c: unknown) =>
    typeof c === 'object' && c !== null ? String((c as V1Beta1Condition).type) : '';
  return out.sort((a, b) => {
    const [x, y] = [typeOf(a), typeOf(b)];
    if (x === y) return 0;
    if (x === 'Ready' || y === 'Ready') return x === 'Ready' ? -1 : 1;
    return x < y ? -1 : 1;
  });
}
