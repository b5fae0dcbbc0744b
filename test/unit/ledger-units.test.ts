import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  batchToYarn, bytesToMiB, mibToBytes, milliToVcores, vcoresToMilli, yarnToBatch,
} from '../../operator/ledger/index.js';
import { bytes, milliCores } from '../../kube/quantity.js';
import { mib, vcores } from '../../yarn/resource.js';

describe('ledger units', () => {
  it.each([
    // milli, vcoresPerCore, vcores offered, milli held back
    [60646, 1, 60, 60000],
    [60646, 1.5, 90, 60000],
    [60646, 2, 121, 60500],
    [60646, 0.5, 30, 60000],
    [60646, 3, 181, 60334],
    [999, 1, 0, 0],
    [1000, 1, 1, 1000],
    [666, 1.5, 0, 0],
    [667, 1.5, 1, 667],
    [0, 1, 0, 0],
  ])('%d milli at %d vcores/core → %d vcores → %d milli', (milli, vpc, v, back) => {
    expect(milliToVcores(milli, vpc)).toBe(v);
    expect(vcoresToMilli(v, vpc)).toBe(back);
    expect(back).toBeLessThanOrEqual(milli);
  });

  it('holds round up: 7 vcores at 1.5/core occupy 4667 milli, 1 vcore at 3/core 334', () => {
    expect(vcoresToMilli(7, 1.5)).toBe(4667);
    expect(vcoresToMilli(1, 3)).toBe(334);
    expect(vcoresToMilli(3, 3)).toBe(1000);
  });

  it('memory: 245976973438 bytes → 234581 MiB (floor), back 245976006656 bytes', () => {
    expect(bytesToMiB(245976973438)).toBe(234581);
    expect(mibToBytes(234581)).toBe(245976006656);
    expect(bytesToMiB(2 ** 20 - 1)).toBe(0);
    expect(bytesToMiB(2 ** 20)).toBe(1);
  });

  it('batchToYarn / yarnToBatch', () => {
    expect(batchToYarn({ cpu: milliCores(60646), memory: bytes(245976973438) }, 1)).toEqual({ vcores: 60, memoryMiB: 234581 });
    expect(yarnToBatch({ vcores: vcores(7), memoryMiB: mib(3) }, 1.5)).toEqual({ cpu: 4667, memory: 3 * 2 ** 20 });
  });

  it('rejects a non-positive vcoresPerCore', () => {
    expect(() => milliToVcores(1000, 0)).toThrow(RangeError);
    expect(() => vcoresToMilli(1, -1)).toThrow(RangeError);
  });

  it('property: offers never grow and holds never shrink through a round trip (awkward ratios too)', () => {
    const ratio = fc.oneof(fc.constantFrom(0.5, 1, 1.5, 2, 3, 1.1, 0.3, 2.7, 1 / 3), fc.double({ min: 0.05, max: 16, noNaN: true }));
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 40 }), ratio, (m, vpc) => {
      const v = milliToVcores(m, vpc);
      expect(vcoresToMilli(v, vpc)).toBeLessThanOrEqual(m);
      expect(vcoresToMilli(v + 1, vpc)).toBeGreaterThan(m); // and it is the largest such offer
    }), { numRuns: 2000 });
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 30 }), ratio, (v, vpc) => {
      expect(milliToVcores(vcoresToMilli(v, vpc), vpc)).toBe(v);
    }), { numRuns: 2000 });
  });
});
