import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE, MAX_V1BETA1_MESSAGE, setCondition, setV1Beta1Condition } from './conditions.js';

const t0 = new Date('2026-01-01T00:00:00.123Z');
const t1 = new Date('2026-01-01T00:05:00Z');

describe('setCondition', () => {
  it('adds a condition with a second-precision transition time', () => {
    const out = setCondition(
      undefined,
      { type: 'Ready', status: 'False', reason: 'PoolNotFound', message: 'm' },
      t0,
    );
    expect(out).toEqual([
      {
        type: 'Ready',
        status: 'False',
        reason: 'PoolNotFound',
        message: 'm',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ]);
  });

  it('returns undefined when nothing changes, so no write is made', () => {
    const first = setCondition(
      undefined,
      { type: 'Ready', status: 'True', reason: 'AddressAllocated', message: 'x' },
      t0,
    );
    expect(
      setCondition(first, { type: 'Ready', status: 'True', reason: 'AddressAllocated', message: 'x' }, t1),
    ).toBeUndefined();
  });

  it('keeps the transition time when only reason or message change', () => {
    const first = setCondition(
      undefined,
      { type: 'Ready', status: 'False', reason: 'PoolNotFound', message: 'a' },
      t0,
    );
    const next = setCondition(
      first,
      { type: 'Ready', status: 'False', reason: 'PoolExhausted', message: 'b' },
      t1,
    );
    expect(next?.[0]?.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
    expect(next?.[0]?.reason).toBe('PoolExhausted');
  });

  it('moves the transition time when the status flips and keeps other conditions', () => {
    const first = [
      { type: 'Paused', status: 'False' as const, reason: 'NotPaused', message: '', lastTransitionTime: 'x' },
      ...(setCondition(
        undefined,
        { type: 'Ready', status: 'False', reason: 'PoolNotFound', message: 'a' },
        t0,
      ) ?? []),
    ];
    const next = setCondition(
      first,
      { type: 'Ready', status: 'True', reason: 'AddressAllocated', message: '' },
      t1,
    );
    expect(next?.map((c) => [c.type, c.status, c.lastTransitionTime])).toEqual([
      ['Paused', 'False', 'x'],
      ['Ready', 'True', '2026-01-01T00:05:00Z'],
    ]);
  });
});

describe('setV1Beta1Condition', () => {
  const exhausted = {
    type: 'Ready',
    status: 'False' as const,
    severity: 'Warning',
    reason: 'PoolExhausted',
    message: 'a',
  };

  it('puts Ready first and keeps the other conditions, sorted by type', () => {
    const out = setV1Beta1Condition(
      [
        { type: 'Zeta', status: 'True', lastTransitionTime: 'z' },
        { type: 'Alpha', status: 'True', lastTransitionTime: 'a' },
      ],
      { type: 'Ready', status: 'True' },
      t0,
    );
    expect(out).toEqual([
      { type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' },
      { type: 'Alpha', status: 'True', lastTransitionTime: 'a' },
      { type: 'Zeta', status: 'True', lastTransitionTime: 'z' },
    ]);
  });

  it('returns undefined when the state is the same, so no write is made', () => {
    const first = setV1Beta1Condition(undefined, exhausted, t0);
    expect(setV1Beta1Condition(first, exhausted, t1)).toBeUndefined();
    expect(
      setV1Beta1Condition([{ type: 'Ready', status: 'True', lastTransitionTime: 'x' }], {
        type: 'Ready',
        status: 'True',
      }),
    ).toBeUndefined();
  });

  it('moves the transition time on any change of state, as Cluster API v1beta1 does', () => {
    const first = setV1Beta1Condition(undefined, exhausted, t0);
    const next = setV1Beta1Condition(first, { ...exhausted, message: 'b' }, t1);
    expect(next).toEqual([{ ...exhausted, message: 'b', lastTransitionTime: '2026-01-01T00:05:00Z' }]);
    const ready = setV1Beta1Condition(next, { type: 'Ready', status: 'True' }, t0);
    // Nothing of the False state stays behind on True.
    expect(ready).toEqual([{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }]);
  });

  it('keeps entries that are not conditions as they are', () => {
    const out = setV1Beta1Condition(['junk', null], { type: 'Ready', status: 'True' }, t0);
    expect(out).toHaveLength(3);
    expect(out?.[0]).toEqual({ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' });
    expect(out?.slice(1)).toEqual(expect.arrayContaining(['junk', null]));
  });
});

describe('messages longer than the schemas take', () => {
  const long = 'x'.repeat(40_000);

  it('are cut, and the same long message again changes nothing', () => {
    const input = { type: 'Ready', status: 'False' as const, reason: 'PoolNotReady', message: long };
    const first = setCondition(undefined, input, t0);
    expect(first?.[0]?.message).toHaveLength(MAX_MESSAGE);
    expect(first?.[0]?.message.endsWith('...')).toBe(true);
    expect(setCondition(first, input, t1)).toBeUndefined();

    const v1 = {
      type: 'Ready',
      status: 'False' as const,
      severity: 'Error',
      reason: 'PoolNotReady',
      message: long,
    };
    const v1First = setV1Beta1Condition(undefined, v1, t0);
    expect(v1First?.[0]?.message).toHaveLength(MAX_V1BETA1_MESSAGE);
    expect(setV1Beta1Condition(v1First, v1, t1)).toBeUndefined();
  });
});
