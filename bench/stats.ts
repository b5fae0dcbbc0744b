/**
 * Pure helpers for the benchmarks: percentiles, rates per simulated minute, target checks and
 * the printed table. No I/O here (unit-tested in test/unit/bench-stats.test.ts).
 */

/**
 * The p-th percentile (0–100) by the nearest-rank method: the smallest sample such that at least
 * p % of the samples are ≤ it. NaN for no samples. Does not modify `samples`.
 */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0–100, got ${p}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** The median: the mean of the two middle samples for an even count. NaN for no samples. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Round to `digits` decimals (numbers stay numbers in results.json). */
export function round(n: number, digits = 2): number {
  if (!Number.isFinite(n)) return n;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * Simulated minutes covered by `polls` polls when each poll stands for `simulatedPollSeconds`
 * (the operator's default poll period) — the steady state runs a compressed poll in real time.
 */
export function simulatedMinutes(polls: number, simulatedPollSeconds = 2): number {
  return (polls * simulatedPollSeconds) / 60;
}

/** `count` per simulated minute; 0 when no time was covered and nothing happened. */
export function perSimulatedMinute(count: number, polls: number, simulatedPollSeconds = 2): number {
  const minutes = simulatedMinutes(polls, simulatedPollSeconds);
  if (minutes <= 0) return count === 0 ? 0 : Infinity;
  return count / minutes;
}

export type Comparison = '=' | '<=';

export interface Target {
  label: string;
  /** Measured value (null = not measured). */
  value: number | null;
  comparison: Comparison;
  /** Bound to compare with (may itself be measured, e.g. 3 × rawReadMedianMs). */
  bound: number | null;
  /** How the bound is written in the table, e.g. "≤ 3 × rawRead (1.2)". */
  boundText: string;
}

export type Verdict = 'met' | 'missed' | 'n/a';

export function verdict(t: Pick<Target, 'value' | 'comparison' | 'bound'>): Verdict {
  if (t.value === null || t.bound === null || !Number.isFinite(t.value) || !Number.isFinite(t.bound)) return 'n/a';
  return t.comparison === '=' ? (t.value === t.bound ? 'met' : 'missed') : (t.value <= t.bound ? 'met' : 'missed');
}

/** A plain-text table: columns padded to their widest cell, first row the header. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '';
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, [...c].length); });
  const line = (r: readonly string[]): string => r.map((c, i) => c + ' '.repeat(widths[i]! - [...c].length)).join('  ').trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join('\n');
}

/** A number as the table shows it. */
export function show(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined) return 'null';
  if (!Number.isFinite(v)) return String(v);
  return Number.isInteger(v) ? String(v) : v.toFixed(digits);
}
