import { describe, expect, it } from 'vitest';
import { setCondition } from './conditions.js';

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
