/**
 * Time for the YARN simulator. The model never reads `Date.now()` itself, so tests can drive
 * deadlines (overCommitTimeout, NM container retention, signal delivery) by hand and the demo
 * can run faster than real time.
 */
export interface Clock {
  /** Milliseconds since the epoch, as the simulated cluster sees it. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to: deterministic tests. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot advance a clock by ${ms} ms`);
    this.current += ms;
    return this.current;
  }

  set(epochMs: number): void {
    this.current = epochMs;
  }
}

/**
 * Real time sped up by `factor` from the moment of creation (factor 10: one real second is ten
 * simulated seconds). For the demo, where nobody wants to wait out a 30 s overCommitTimeout.
 */
export function scaledClock(factor: number, base: Clock = systemClock): Clock {
  if (!(factor > 0)) throw new RangeError(`clock factor must be > 0, got ${factor}`);
  const realStart = base.now();
  return { now: () => Math.floor(realStart + (base.now() - realStart) * factor) };
}
