/**
 * Conversions between Kubernetes batch units (milli-cores, bytes) and YARN units (vcores, MiB).
 *
 * The rule (design.md "The ledger"): round what YARN is *offered* down, round what YARN *holds*
 * up. The two directions are built to be consistent with each other, so that for every count `m`
 *
 *     vcoresToMilli(milliToVcores(m)) ≤ m          (an offer never grows by a round trip)
 *     milliToVcores(vcoresToMilli(v)) = v          (a hold never shrinks by a round trip)
 *
 * even when `vcoresPerCore` is fractional (1.5, or values like 1.1 that binary floating point
 * cannot represent): `milliToVcores` is defined as the largest `v` whose up-rounded milli value
 * fits in `m`, with the floating-point estimate only as a starting point.
 */
import { type Bytes, type MilliCores, bytes, milliCores } from '../../kube/quantity.js';
import type { BatchResources } from '../../kube/wire.js';
import { type MiB, type Vcores, type YarnResource, mib, vcores } from '../../yarn/resource.js';

export const MIB_BYTES = 2 ** 20;

/** Float noise allowed around an integer before ceil/floor treats it as that integer. */
function nearInteger(x: number): number | undefined {
  const r = Math.round(x);
  const tolerance = Math.max(1e-9, Math.abs(x) * 8 * Number.EPSILON);
  return Math.abs(x - r) <= tolerance ? r : undefined;
}

/** `ceil(x)`, except that `x` within float noise of an integer is that integer. */
export function ceilSnap(x: number): number {
  return nearInteger(x) ?? Math.ceil(x);
}

/** `floor(x)`, except that `x` within float noise of an integer is that integer. */
export function floorSnap(x: number): number {
  return nearInteger(x) ?? Math.floor(x);
}

function checkRatio(vcoresPerCore: number): void {
  if (!(Number.isFinite(vcoresPerCore) && vcoresPerCore > 0)) {
    throw new RangeError(`vcoresPerCore must be a positive finite number, got ${vcoresPerCore}`);
  }
}

/** What YARN holds, back in milli-cores: `ceil(vcores × 1000 / vcoresPerCore)`. */
export function vcoresToMilli(v: number, vcoresPerCore: number): MilliCores {
  checkRatio(vcoresPerCore);
  if (v <= 0) return milliCores(0);
  return milliCores(ceilSnap((v * 1000) / vcoresPerCore));
}

/**
 * What YARN may be offered out of `milli` milli-cores: `floor(milli × vcoresPerCore / 1000)`,
 * made exact as "the largest v with vcoresToMilli(v) ≤ milli".
 */
export function milliToVcores(milli: number, vcoresPerCore: number): Vcores {
  checkRatio(vcoresPerCore);
  if (!(milli > 0)) return vcores(0);
  let v = Math.max(0, floorSnap((milli * vcoresPerCore) / 1000));
  while (v > 0 && vcoresToMilli(v, vcoresPerCore) > milli) v--;
  while (vcoresToMilli(v + 1, vcoresPerCore) <= milli) v++;
  return vcores(v);
}

/** What YARN may be offered out of `b` bytes: `floor(b / 2^20)`. */
export function bytesToMiB(b: number): MiB {
  if (!(b > 0)) return mib(0);
  return mib(Math.floor(b / MIB_BYTES));
}

/** What YARN holds, back in bytes: `MiB × 2^20`. */
export function mibToBytes(m: number): Bytes {
  if (m <= 0) return bytes(0);
  return bytes(m * MIB_BYTES);
}

/** Batch resources → the YARN resource they can offer (rounded down). */
export function batchToYarn(b: BatchResources, vcoresPerCore: number): YarnResource {
  return { vcores: milliToVcores(b.cpu, vcoresPerCore), memoryMiB: bytesToMiB(b.memory) };
}

/** A YARN resource → the batch resources it occupies (rounded up). */
export function yarnToBatch(y: YarnResource, vcoresPerCore: number): BatchResources {
  return { cpu: vcoresToMilli(y.vcores, vcoresPerCore), memory: mibToBytes(y.memoryMiB) };
}
