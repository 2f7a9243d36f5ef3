import { describe, expect, it } from 'vitest';
import { ProfileBusy, Profiler, profileSeconds } from './profiler.js';

describe('profileSeconds', () => {
  it('defaults to 30 and takes whole seconds from 1 to 300', () => {
    expect(profileSeconds(null)).toBe(30);
    expect(profileSeconds('')).toBe(30);
    expect(profileSeconds('1')).toBe(1);
    expect(profileSeconds('300')).toBe(300);
    for (const bad of ['0', '301', '1.5', 'x', '-3'])
      expect(() => profileSeconds(bad)).toThrow(/seconds must be a whole number from 1 to 300/);
  });
});

describe('Profiler', () => {
  it('takes a CPU profile of the window, one at a time', async () => {
    const profiler = new Profiler();
    const first = profiler.take('cpu', 1);
    await expect(profiler.take('cpu', 1)).rejects.toBeInstanceOf(ProfileBusy);
    // Something to sample.
    let x = 0;
    const until = Date.now() + 200;
    while (Date.now() < until) x += Math.sqrt(x + 1);
    const profile = (await first) as {
      nodes: unknown[];
      samples: number[];
      startTime: number;
      endTime: number;
    };
    expect(profile.nodes.length).toBeGreaterThan(1);
    expect(profile.samples.length).toBeGreaterThan(0);
    expect(profile.endTime).toBeGreaterThan(profile.startTime);
    // Free again once it is done.
    const again = new AbortController();
    const second = profiler.take('cpu', 300, again.signal);
    again.abort();
    expect(await second).toHaveProperty('nodes');
  });

  it('takes a sampling heap profile beside a CPU profile', async () => {
    const profiler = new Profiler();
    const stop = new AbortController();
    const cpu = profiler.take('cpu', 300, stop.signal);
    const heap = profiler.take('heap', 1);
    const kept: number[][] = [];
    // Allocated in steps through the window, which opens once the inspector has answered.
    for (let step = 0; step < 10; step++) {
      await new Promise((r) => setTimeout(r, 50));
      for (let i = 0; i < 200; i++) kept.push(new Array(256).fill(i));
    }
    const taken = (await heap) as { head: { children: unknown[] }; samples: unknown[] };
    stop.abort();
    await cpu;
    expect(taken.head).toBeDefined();
    expect(taken.samples.length).toBeGreaterThan(0);
    expect(kept).toHaveLength(2000);
  });
});
