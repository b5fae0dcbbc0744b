/**
 * Time, injected. Every loop, deadline and timestamp in the operator and the agent reads this
 * interface instead of `Date.now()` / `setTimeout`, so tests run hysteresis, grow intervals, lease
 * expiry, grace periods and steady states in simulated time and wait on events, never on sleeps.
 */

export interface Timer {
  /** Idempotent; a cancelled timer never fires. */
  cancel(): void;
}

export interface Clock {
  /**
   * Milliseconds for measuring durations and deadlines. Monotonic on the system clock (it keeps
   * counting while the process is stopped, so a resumed process sees the time it lost).
   */
  now(): number;
  /** Milliseconds since the epoch, for timestamps written elsewhere (Lease renewTime, Events). */
  wallNow(): number;
  /** Calls `fire` once, `ms` from now (≤ 0: on the next turn). */
  setTimer(ms: number, fire: () => void): Timer;
  /** Resolves after `ms`; rejects with the signal's reason when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('aborted', 'AbortError');
}

function sleepOn(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      timer.cancel();
      reject(abortReason(signal!));
    };
    const timer = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const origin = performance.timeOrigin;

/** The real clock. `now()` is monotonic (performance.now based) but on the epoch's scale. */
export const systemClock: Clock = {
  now: () => origin + performance.now(),
  wallNow: () => Date.now(),
  setTimer(ms, fire) {
    const handle = setTimeout(fire, Math.max(0, ms));
    return { cancel: () => clearTimeout(handle) };
  },
  sleep(ms, signal) {
    return sleepOn(systemClock, ms, signal);
  },
};

interface Pending {
  due: number;
  seq: number;
  fire: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when a test says so. `advance(ms)` fires every timer that falls due on
 * the way, in due order (ties in creation order), each at its own due time, and lets the
 * promise jobs it started run before the next; timers created by a firing timer inside the window
 * fire too. I/O that a timer starts (real HTTP against the simulators) is not waited for: wait on
 * the program's own "everything observed has been processed" point for that.
 */
export class ManualClock implements Clock {
  private current: number;
  private readonly wallOffset: number;
  private seq = 0;
  private readonly timers: Pending[] = [];

  constructor(start = 1_700_000_000_000) {
    this.current = start;
    this.wallOffset = 0;
  }

  now(): number {
    return this.current;
  }

  wallNow(): number {
    return this.current + this.wallOffset;
  }

  setTimer(ms: number, fire: () => void): Timer {
    const entry: Pending = { due: this.current + Math.max(0, ms), seq: this.seq++, fire, cancelled: false };
    this.timers.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
        const i = this.timers.indexOf(entry);
        if (i >= 0) this.timers.splice(i, 1);
      },
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** Timers not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Milliseconds until the next timer falls due, or undefined when none is set. */
  nextDueIn(): number | undefined {
    const next = this.earliest();
    return next === undefined ? undefined : Math.max(0, next.due - this.current);
  }

  /** Moves time forward by `ms`, firing what falls due on the way (see the class comment). */
  async advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot advance a clock by ${ms} ms`);
    const target = this.current + ms;
    for (;;) {
      await settle();
      const next = this.earliest();
      if (next === undefined || next.due > target) break;
      this.current = Math.max(this.current, next.due);
      this.timers.splice(this.timers.indexOf(next), 1);
      if (!next.cancelled) next.fire();
    }
    this.current = target;
    await settle();
  }

  /** Fires the timers already due without moving time. */
  async runDue(): Promise<void> {
    await this.advance(0);
  }

  private earliest(): Pending | undefined {
    let best: Pending | undefined;
    for (const t of this.timers) {
      if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

/** Lets queued promise jobs (and the ones they queue) run: one macrotask turn. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
