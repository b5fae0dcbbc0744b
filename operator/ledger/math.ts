/**
 * The ledger arithmetic, per resource (CPU in milli-cores, memory in bytes), before hysteresis.
 *
 *   U  = YARN used, converted to milli/bytes rounded up
 *   M  = ceil(O × safetyMarginPercent / 100)
 *   O' = max(0, O − M)
 *   F  = O' − K − U
 *   shared:       capacity = max(0, O' − K)                    hold = U
 *   partitioned:  F ≥ 0 → capacity = U + floor(s·F)            hold = capacity
 *                 F < 0 → capacity = max(0, O' − K)            hold = U   (YARN must shrink)
 *   claim = hold (YARN units, converted up) + M
 *
 * Capacities are converted to YARN units rounding down, holds back rounding up (units.ts).
 *
 * Safety margin — a decision: M is held back from *both* schedulers. YARN loses it through O'
 * (its capacity is computed from O − M). Kubernetes loses it because M rides in the claim:
 * koord-manager sets batch allocatable = O − Σclaims, so a claim of hold + M leaves Kubernetes
 * O − hold − M. Without M in the claim, Kubernetes would be handed the margin YARN was denied,
 * and the margin would protect nothing.
 */
import { bytes, milliCores } from '../../kube/quantity.js';
import type { BatchResources } from '../../kube/wire.js';
import { type YarnResource, mib, vcores } from '../../yarn/resource.js';
import type { LedgerConfig, LedgerPolicy, SignedBatch } from './types.js';
import { bytesToMiB, ceilSnap, floorSnap, mibToBytes, milliToVcores, vcoresToMilli } from './units.js';

export type ResourceName = 'cpu' | 'memory';
export const RESOURCES: readonly ResourceName[] = ['cpu', 'memory'];

/** How one resource converts between its Kubernetes unit and its YARN unit. */
export interface Axis {
  name: ResourceName;
  /** Kubernetes units → YARN units, rounded down (an offer). */
  down(base: number): number;
  /** YARN units → Kubernetes units, rounded up (a hold). */
  up(yarn: number): number;
  /** The hysteresis absolute threshold in YARN units (real, not rounded). */
  hysteresisAbs: number;
}

export function axesFor(config: Pick<LedgerConfig, 'vcoresPerCore' | 'hysteresis'>): Record<ResourceName, Axis> {
  const vpc = config.vcoresPerCore;
  return {
    cpu: {
      name: 'cpu',
      down: (m) => milliToVcores(m, vpc),
      up: (v) => vcoresToMilli(v, vpc),
      hysteresisAbs: (Math.max(0, config.hysteresis.cpuMilli) * vpc) / 1000,
    },
    memory: {
      name: 'memory',
      down: (b) => bytesToMiB(b),
      up: (m) => mibToBytes(m),
      hysteresisAbs: Math.max(0, config.hysteresis.memoryBytes) / 2 ** 20,
    },
  };
}

export const yarnOf = (r: YarnResource, name: ResourceName): number => (name === 'cpu' ? r.vcores : r.memoryMiB);
export const makeYarn = (cpu: number, memory: number): YarnResource => ({ vcores: vcores(cpu), memoryMiB: mib(memory) });
export const makeBatch = (cpu: number, memory: number): BatchResources => ({ cpu: milliCores(cpu), memory: bytes(memory) });

/** The figures of one resource, before hysteresis. */
export interface AxisFigures {
  O: number;
  K: number;
  /** U in Kubernetes units (rounded up). */
  U: number;
  M: number;
  /** O' */
  Oeff: number;
  F: number;
  F0: number;
  /** Desired capacity, YARN units (rounded down). */
  desired: number;
}

/** The margin M = ceil(O × percent / 100), within [0, O]. */
export function marginOf(origin: number, safetyMarginPercent: number): number {
  const pct = Math.min(100, Math.max(0, safetyMarginPercent));
  return Math.min(origin, Math.max(0, ceilSnap((origin * pct) / 100)));
}

/** Desired capacity of one resource. `usedYarn` is YARN's used in YARN units. */
export function axisDesired(
  axis: Axis,
  O: number,
  K: number,
  usedYarn: number,
  config: Pick<LedgerConfig, 'policy' | 'headroomShare' | 'safetyMarginPercent'>,
): AxisFigures {
  const U = axis.up(usedYarn);
  const M = marginOf(O, config.safetyMarginPercent);
  const Oeff = Math.max(0, O - M);
  const F = Oeff - K - U;
  const F0 = O - K - U;
  const roomAfterK = Math.max(0, Oeff - K);
  let capacityBase: number;
  if (config.policy === 'shared' || F < 0) {
    capacityBase = roomAfterK;
  } else {
    const s = Math.min(1, Math.max(0, config.headroomShare));
    // floor(s·F) in whole milli-cores / bytes; clamped so float noise cannot pass F.
    const share = Math.min(F, Math.max(0, floorSnap(s * F)));
    capacityBase = U + share;
  }
  return { O, K, U, M, Oeff, F, F0, desired: axis.down(capacityBase) };
}

/**
 * What YARN is taken to hold, in YARN units, once the capacity to apply is known. Under
 * `partitioned` YARN holds its whole capacity — but never less than it uses (a grow held back by
 * hysteresis can leave the capacity below U; Kubernetes must still see U). Under `shared` YARN
 * holds what it uses.
 */
export function holdOf(policy: LedgerPolicy, appliedYarn: number, usedYarn: number): number {
  return policy === 'partitioned' ? Math.max(appliedYarn, usedYarn) : usedYarn;
}

/** The claim of one resource: the hold converted up, plus the margin. */
export function claimOf(axis: Axis, holdYarn: number, M: number): number {
  return axis.up(holdYarn) + M;
}

/** Both resources' figures, before hysteresis (used by decideNode and by the demo / status). */
export interface LedgerMath {
  cpu: AxisFigures;
  memory: AxisFigures;
  yarnUsed: BatchResources;
  margin: BatchResources;
  effectiveOrigin: BatchResources;
  free: SignedBatch;
  freeBeforeMargin: SignedBatch;
  desired: YarnResource;
}

export function computeLedgerMath(
  origin: BatchResources,
  k8sRequested: BatchResources,
  used: YarnResource,
  config: Pick<LedgerConfig, 'policy' | 'headroomShare' | 'safetyMarginPercent' | 'vcoresPerCore' | 'hysteresis'>,
): LedgerMath {
  const axes = axesFor(config);
  const cpu = axisDesired(axes.cpu, origin.cpu, k8sRequested.cpu, used.vcores, config);
  const memory = axisDesired(axes.memory, origin.memory, k8sRequested.memory, used.memoryMiB, config);
  return {
    cpu,
    memory,
    yarnUsed: makeBatch(cpu.U, memory.U),
    margin: makeBatch(cpu.M, memory.M),
    effectiveOrigin: makeBatch(cpu.Oeff, memory.Oeff),
    free: { cpu: cpu.F, memory: memory.F },
    freeBeforeMargin: { cpu: cpu.F0, memory: memory.F0 },
    desired: makeYarn(cpu.desired, memory.desired),
  };
}
