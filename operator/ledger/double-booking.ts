/**
 * Double-booked units, for the demo and `loom status`: how many milli-cores / bytes both
 * schedulers promise at once.
 *
 *   YARN's free          = max(0, capacity − U)
 *   Kubernetes' free     = max(0, max(0, O − claim) − K)     (allocatable = max(0, O − claim), §4.3)
 *   really free F0       = O − K − U
 *   double-booked        = max(0, YARN's free + Kubernetes' free − max(0, F0))
 *
 * When both frees and F0 are ≥ 0 (every normal state) this is exactly
 * max(0, (capacity − U) + (O − claim − K) − F0). The clamps matter when one side is over its
 * share: a YARN already above its capacity (U > capacity after a shrink) promises nothing, and
 * its negative free must not hide what Kubernetes promises out of units YARN is using.
 */
import type { BatchResources } from '../../kube/wire.js';
import type { SignedBatch } from './types.js';

export interface DoubleBookingInput {
  /** O */
  origin: BatchResources;
  /** K: batch requested by Kubernetes pods */
  k8sRequested: BatchResources;
  /** The YARN claim Kubernetes subtracts from O (allocatable = O − claim). */
  claim: BatchResources;
  /** YARN capacity, in milli-cores / bytes (use `yarnToBatch`). */
  yarnCapacity: BatchResources;
  /** YARN used (U), in milli-cores / bytes (use `yarnToBatch`). */
  yarnUsed: BatchResources;
}

function axis(O: number, K: number, claim: number, cap: number, U: number): number {
  const yarnFree = Math.max(0, cap - U);
  const k8sFree = Math.max(0, Math.max(0, O - claim) - K);
  const reallyFree = Math.max(0, O - K - U);
  return Math.max(0, yarnFree + k8sFree - reallyFree);
}

export function doubleBooked(i: DoubleBookingInput): SignedBatch {
  return {
    cpu: axis(i.origin.cpu, i.k8sRequested.cpu, i.claim.cpu, i.yarnCapacity.cpu, i.yarnUsed.cpu),
    memory: axis(i.origin.memory, i.k8sRequested.memory, i.claim.memory, i.yarnCapacity.memory, i.yarnUsed.memory),
  };
}
