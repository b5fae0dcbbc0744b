/** The keyed work queue on a manual clock: dedupe, one key at a time, addAfter, backoff, groups, clear, drain. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../clock/clock.js';
import { WorkQueue, backoffDelay } from '../../operator/work-queue.js';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('WorkQueue', () => {
  it('dedupes queued keys and never processes one key twice at once; a key added meanwhile runs again after', async () => {
    const clock = new ManualClock();
    const running: string[] = [];
    const seen: string[] = [];
    let maxSameKey = 0;
    const gates = new Map<string, ReturnType<typeof deferred<void>>>();
    const q = new WorkQueue<string>({
      clock, groupOf: () => 'g', workersPerGroup: 4,
      process: async (k) => {
        running.push(k);
        maxSameKey = Math.max(maxSameKey, running.filter((x) => x === k).length);
        seen.push(k);
        const g = deferred();
        gates.set(k, g);
        await g.promise;
        running.splice(running.indexOf(k), 1);
        return {};
      },
    });
    q.add('a'); q.add('a'); q.add('b');
    await turn();
    expect(seen).toEqual(['a', 'b']);
    q.add('a'); q.add('a'); // while a runs: once more afterwards, not twice
    gates.get('a')!.resolve();
    await turn(); await turn();
    expect(seen).toEqual(['a', 'b', 'a']);
    gates.get('a')!.resolve();
    gates.get('b')!.resolve();
    await q.whenIdle();
    expect(seen).toEqual(['a', 'b', 'a']);
    expect(maxSameKey).toBe(1);
  });

  /**
   * Adds `keys` and counts the keys processed between two turns of the event loop (a setImmediate
   * ticker started before the keys come, so each count is one turn's work) until the queue is idle.
   */
  async function perTurnOf(q: WorkQueue<string>, keys: number): Promise<number[]> {
    const perTurn: number[] = [];
    let last = 0;
    let done = false;
    const tick = () => {
      perTurn.push(q.processed - last);
      last = q.processed;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    for (let i = 0; i < keys; i++) q.add(`k${i}`);
    await q.whenIdle();
    done = true;
    return perTurn;
  }

  it('returns to the event loop between batches: a burst of keys that need no I/O does not hold the loop', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue<string>({ clock, groupOf: (k) => (k < 'k5' ? 'g1' : 'g2'), workersPerGroup: 4, maxPerTurn: 50, process: async () => ({}) });
    const perTurn = await perTurnOf(q, 1000);
    expect(q.processed).toBe(1000);
    expect(perTurn.length).toBeGreaterThanOrEqual(1000 / 50 - 1); // the last turn ends with the queue idle, uncounted
    expect(Math.max(...perTurn)).toBeLessThanOrEqual(50);
  });

  it('a turn also ends when its time budget is spent (the injected clock)', async () => {
    const manual = new ManualClock();
    let now = 0;
    const clock = { now: () => now, wallNow: () => manual.wallNow(), setTimer: manual.setTimer.bind(manual), sleep: manual.sleep.bind(manual) };
    // Each key takes 3 ms of the clock (without giving the loop a turn): a 10 ms budget lets 4 start in a turn.
    const q = new WorkQueue<string>({ clock, groupOf: () => 'g', workersPerGroup: 1, maxPerTurn: 1000, turnBudgetMs: 10, process: async () => { now += 3; return {}; } });
    const perTurn = await perTurnOf(q, 40);
    expect(q.processed).toBe(40);
    expect(perTurn.length).toBeGreaterThanOrEqual(40 / 4 - 1);
    expect(Math.max(...perTurn)).toBeLessThanOrEqual(4);
  });

  it('bounds workers per group: a hanging group does not hold up another', async () => {
    const clock = new ManualClock();
    const hang = deferred();
    const done: string[] = [];
    const q = new WorkQueue<string>({
      clock, groupOf: (k) => k.split('/')[0]!, workersPerGroup: 1,
      process: async (k) => { if (k.startsWith('slow')) await hang.promise; done.push(k); return {}; },
    });
    for (const k of ['slow/1', 'slow/2', 'fast/1', 'fast/2']) q.add(k);
    await turn(); await turn(); await turn();
    expect(done).toEqual(['fast/1', 'fast/2']);
    expect(q.inFlight).toBe(1);
    expect(q.length).toBe(1); // slow/2 waits for its group's worker
    hang.resolve();
    await q.whenIdle();
    expect(done).toEqual(['fast/1', 'fast/2', 'slow/1', 'slow/2']);
  });

  it('requeue-after and exponential backoff with jitter and a cap run on the injected clock; forget resets', async () => {
    const clock = new ManualClock();
    const times: number[] = [];
    let fail = 3;
    const q = new WorkQueue<string>({
      clock, groupOf: () => '', workersPerGroup: 1, random: () => 0, backoff: { baseMs: 100, capMs: 250, jitter: 0.5 },
      process: async () => {
        times.push(clock.now());
        if (fail-- > 0) throw new Error('boom');
        return { requeueAfterMs: 1000 };
      },
    });
    const t0 = clock.now();
    q.add('k');
    await q.whenIdle();
    expect(q.failuresOf('k')).toBe(1);
    await clock.advance(100); // 1st retry after 100
    await q.whenIdle();
    await clock.advance(200); // 2nd after 200
    await q.whenIdle();
    await clock.advance(250); // 3rd capped at 250
    await q.whenIdle();
    expect(times.map((t) => t - t0)).toEqual([0, 100, 300, 550]);
    expect(q.failuresOf('k')).toBe(0); // success forgets
    await clock.advance(999);
    expect(times).toHaveLength(4);
    await clock.advance(1);
    await q.whenIdle();
    expect(times).toHaveLength(5); // requeueAfterMs
    expect(backoffDelay({ baseMs: 100, capMs: 1000, jitter: 0.2 }, 3, () => 1)).toBe(320);
  });

  it('clear aborts in-flight work and drops queued and delayed keys; shutdown drains', async () => {
    const clock = new ManualClock();
    const aborted: string[] = [];
    const processed: string[] = [];
    const q = new WorkQueue<string>({
      clock, groupOf: () => '', workersPerGroup: 1,
      process: (k, signal) => new Promise((resolve, reject) => {
        processed.push(k);
        if (k === 'quick') { resolve({}); return; }
        signal.addEventListener('abort', () => { aborted.push(k); reject(signal.reason); });
      }),
    });
    q.add('long');
    q.add('queued');
    q.addAfter('later', 500);
    await turn();
    await q.clear(new Error('term over'));
    expect(aborted).toEqual(['long']);
    await clock.advance(1000);
    expect(processed).toEqual(['long']);
    expect(q.idle).toBe(true);
    expect(q.delayedCount).toBe(0);
    q.add('quick');
    await q.shutdown(true);
    expect(processed).toEqual(['long', 'quick']);
    q.add('after');
    await turn();
    expect(processed).toEqual(['long', 'quick']);
  });
});
