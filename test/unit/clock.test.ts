import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../clock/clock.js';

describe('ManualClock', () => {
  it('fires timers in due order, each at its own due time, including timers set by a firing timer', async () => {
    const clock = new ManualClock(1000);
    const seen: Array<[string, number]> = [];
    clock.setTimer(30, () => seen.push(['c', clock.now()]));
    clock.setTimer(10, () => {
      seen.push(['a', clock.now()]);
      clock.setTimer(5, () => seen.push(['a+5', clock.now()]));
    });
    clock.setTimer(10, () => seen.push(['b', clock.now()]));
    clock.setTimer(100, () => seen.push(['late', clock.now()]));
    await clock.advance(50);
    expect(seen).toEqual([['a', 1010], ['b', 1010], ['a+5', 1015], ['c', 1030]]);
    expect(clock.now()).toBe(1050);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextDueIn()).toBe(50);
  });

  it('never fires a cancelled timer', async () => {
    const clock = new ManualClock();
    let fired = 0;
    const t = clock.setTimer(5, () => fired++);
    t.cancel();
    t.cancel();
    await clock.advance(10);
    expect(fired).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('lets promise chains started by a timer run before the next timer fires', async () => {
    const clock = new ManualClock();
    const order: string[] = [];
    clock.setTimer(1, () => {
      void Promise.resolve().then(() => Promise.resolve()).then(() => order.push('chain'));
    });
    clock.setTimer(2, () => order.push('second'));
    await clock.advance(2);
    expect(order).toEqual(['chain', 'second']);
  });

  it('sleep resolves when time passes and rejects on abort', async () => {
    const clock = new ManualClock();
    let done = false;
    const p = clock.sleep(100).then(() => { done = true; });
    await clock.advance(99);
    expect(done).toBe(false);
    await clock.advance(1);
    await p;
    expect(done).toBe(true);

    const ac = new AbortController();
    const q = clock.sleep(100, ac.signal);
    ac.abort(new Error('lost the lease'));
    await expect(q).rejects.toThrow('lost the lease');
    expect(clock.pendingTimers).toBe(0);
  });

  it('refuses to go backwards', async () => {
    await expect(new ManualClock().advance(-1)).rejects.toThrow(RangeError);
  });
});

describe('systemClock', () => {
  it('is on the epoch scale and monotonic', () => {
    const a = systemClock.now();
    const b = systemClock.now();
    expect(b).toBeGreaterThanOrEqual(a);
    expect(Math.abs(a - Date.now())).toBeLessThan(60_000);
  });
});
