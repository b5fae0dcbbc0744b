import { describe, expect, it } from 'vitest';
import { formatTable, median, percentile, perSimulatedMinute, round, simulatedMinutes, verdict } from '../../bench/stats.js';

describe('bench stats', () => {
  it('percentile by nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted input
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile(xs, 0)).toBe(1);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(xs[0]).toBe(100); // input untouched
  });

  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('simulated minutes of a compressed poll', () => {
    expect(simulatedMinutes(300)).toBe(10);
    expect(perSimulatedMinute(0, 300)).toBe(0);
    expect(perSimulatedMinute(20, 300)).toBe(2);
    expect(perSimulatedMinute(0, 0)).toBe(0);
    expect(perSimulatedMinute(1, 0)).toBe(Infinity);
  });

  it('verdicts and formatting', () => {
    expect(verdict({ value: 1, comparison: '=', bound: 1 })).toBe('met');
    expect(verdict({ value: 1.01, comparison: '=', bound: 1 })).toBe('missed');
    expect(verdict({ value: 5, comparison: '<=', bound: 5 })).toBe('met');
    expect(verdict({ value: null, comparison: '<=', bound: 5 })).toBe('n/a');
    expect(round(1.23456, 2)).toBe(1.23);
    expect(formatTable([['a', 'bb'], ['ccc', 'd']])).toBe('a    bb\n---  --\nccc  d');
  });
});
