/**
 * `decideNode`: one node's snapshot in, an ordered list of writes out. Pure: no I/O, no clock
 * (time comes in as `now`), no logging.
 *
 * Order of writes (design.md): to grow YARN, raise the claim first, then the RM capacity; to
 * shrink, lower the RM capacity first, then the claim. With claimBefore = max(current, new)
 * componentwise that is: set-claim(claimBefore) if it differs from the current claim, resize, then
 * set-claim(new) if it differs from claimBefore — grow: claim then RM; shrink: RM then claim;
 * mixed: raise, resize, lower. Without a resize a changed claim is a single set-claim.
 *
 * Guards never turn a bad observation into a write of zero: a missing or invalid origin, an
 * unreachable RM, an unknown or inactive RM node leave the Node and the RM as they are.
 */
import type { BatchResources } from '../../kube/wire.js';
import type { YarnResource } from '../../yarn/resource.js';
import { gateGrowth } from './hysteresis.js';
import { axesFor, claimOf, computeLedgerMath, holdOf, makeBatch, makeYarn, RESOURCES } from './math.js';
import type {
  LedgerAction, LedgerConfig, LedgerDecision, LedgerFigures, LedgerMemory, LedgerReason, NodeSnapshot, ReasonCode, Severity,
} from './types.js';

/** RM node states in which the node is gone from the scheduler; a resize would fail (HTTP 500). */
export const INACTIVE_RM_NODE_STATES: readonly string[] = ['LOST', 'DECOMMISSIONED', 'SHUTDOWN', 'REBOOTED'];

export function isInactiveRmNodeState(state: string): boolean {
  return INACTIVE_RM_NODE_STATES.includes(state.trim().toUpperCase());
}

/** Problems with a ledger config, one line each; empty when it is usable. */
export function validateLedgerConfig(config: LedgerConfig): string[] {
  const out: string[] = [];
  const finite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n);
  if (config.policy !== 'partitioned' && config.policy !== 'shared') out.push(`policy must be partitioned or shared, got ${String(config.policy)}`);
  if (!finite(config.headroomShare) || config.headroomShare < 0 || config.headroomShare > 1) out.push(`headroomShare must be within 0–1, got ${config.headroomShare}`);
  if (!finite(config.safetyMarginPercent) || config.safetyMarginPercent < 0 || config.safetyMarginPercent > 100) out.push(`safetyMarginPercent must be within 0–100, got ${config.safetyMarginPercent}`);
  if (!finite(config.vcoresPerCore) || config.vcoresPerCore <= 0) out.push(`vcoresPerCore must be > 0, got ${config.vcoresPerCore}`);
  const h = config.hysteresis;
  if (!h || !finite(h.cpuMilli) || h.cpuMilli < 0) out.push(`hysteresis.cpuMilli must be ≥ 0, got ${h?.cpuMilli}`);
  if (!h || !finite(h.memoryBytes) || h.memoryBytes < 0) out.push(`hysteresis.memoryBytes must be ≥ 0, got ${h?.memoryBytes}`);
  if (!h || !finite(h.percent) || h.percent < 0) out.push(`hysteresis.percent must be ≥ 0, got ${h?.percent}`);
  if (!finite(config.growIntervalMs) || config.growIntervalMs < 0) out.push(`growIntervalMs must be ≥ 0, got ${config.growIntervalMs}`);
  if (!finite(config.overCommitTimeoutMs) || !Number.isInteger(config.overCommitTimeoutMs)) out.push(`overCommitTimeoutMs must be an integer, got ${config.overCommitTimeoutMs}`);
  return out;
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const validBatch = (b: BatchResources | undefined): b is BatchResources => b !== undefined && isCount(b.cpu) && isCount(b.memory);
const validYarn = (y: YarnResource | undefined): y is YarnResource => y !== undefined && isCount(y.vcores) && isCount(y.memoryMiB);

export const sameBatch = (a: BatchResources | undefined, b: BatchResources | undefined): boolean =>
  a === undefined || b === undefined ? a === b : a.cpu === b.cpu && a.memory === b.memory;
export const sameYarn = (a: YarnResource | undefined, b: YarnResource | undefined): boolean =>
  a === undefined || b === undefined ? a === b : a.vcores === b.vcores && a.memoryMiB === b.memoryMiB;

function memoryOf(current: NodeSnapshot['current']): LedgerMemory {
  const m: LedgerMemory = {};
  if (current.lastDesired !== undefined) m.lastDesired = current.lastDesired;
  if (current.lastGrowAt !== undefined) m.lastGrowAt = current.lastGrowAt;
  return m;
}

/** Pure: how loud a skip or report is. A malformed origin is somebody's bug to see. */
export function severityOf(kind: 'skip' | 'report', code: ReasonCode): Severity {
  if (code === 'rm-pending') return 'pending';
  return kind === 'report' || code === 'origin-invalid' ? 'warning' : 'state';
}

function stop(kind: 'skip' | 'report', code: ReasonCode, detail: string, next: LedgerMemory): LedgerDecision {
  const reason: LedgerReason = { code, detail };
  return { actions: [], reasons: [reason], [kind]: reason, next, severity: severityOf(kind, code) };
}

/**
 * Decide what to write for one node. Throws RangeError for an unusable config (a bug: configs are
 * validated when loaded); every bad *observation* is answered with a skip or a report instead.
 */
export function decideNode(snapshot: NodeSnapshot, config: LedgerConfig, now: number): LedgerDecision {
  const problems = validateLedgerConfig(config);
  if (problems.length > 0) throw new RangeError(`invalid ledger config: ${problems.join('; ')}`);
  const { origin, k8sRequested, nodeManager, rm, current } = snapshot;
  const keep = memoryOf(current);

  // 1. The origin: without it nothing can be computed, and zero must never be written for it.
  if (origin.state !== 'ok') {
    return stop('skip', origin.state === 'missing' ? 'origin-missing' : 'origin-invalid', origin.reason, keep);
  }
  if (!validBatch(origin.value)) {
    return stop('skip', 'origin-invalid', `origin is not a pair of non-negative integers: ${JSON.stringify(origin.value)}`, keep);
  }
  if (!validBatch(k8sRequested)) {
    return stop('skip', 'k8s-requested-invalid', `K is not a pair of non-negative integers: ${JSON.stringify(k8sRequested)}`, keep);
  }

  // 2. The NodeManager pod.
  if (nodeManager.state === 'absent') {
    // No Running NM pod: YARN holds nothing here. The RM override belongs to a NodeManager that
    // is gone, so lastDesired is forgotten (a returning NM starts from first sight).
    const next: LedgerMemory = current.lastGrowAt !== undefined ? { lastGrowAt: current.lastGrowAt } : {};
    const reason: LedgerReason = { code: 'nm-absent', detail: 'no Running NodeManager pod on the node' };
    const actions: LedgerAction[] = current.claim !== undefined ? [{ kind: 'clear-claim' }] : [];
    return { actions, reasons: [reason], next };
  }
  if (nodeManager.state === 'malformed') return stop('report', 'nm-malformed', nodeManager.reason, keep);

  if (current.claim !== undefined && !validBatch(current.claim)) {
    return stop('skip', 'claim-invalid', `current claim is not a pair of non-negative integers: ${JSON.stringify(current.claim)}`, keep);
  }

  // 3. The RM's view of the node.
  if (rm.status === 'rm-pending') {
    return stop('skip', 'rm-pending', `ResourceManager of cluster ${nodeManager.clusterId} not polled yet`, keep);
  }
  if (rm.status === 'rm-unavailable') {
    // Keep the last claim: Kubernetes stays as safe as it was.
    return stop('skip', 'rm-unavailable', rm.detail ?? `ResourceManager of cluster ${nodeManager.clusterId} unavailable`, keep);
  }
  if (rm.status === 'unknown-node') {
    return stop('report', 'rm-unknown-node', `ResourceManager of cluster ${nodeManager.clusterId} does not know node ${nodeManager.nodeId}`, keep);
  }
  const rmNode = rm.node;
  if (typeof rmNode.state !== 'string' || !validYarn(rmNode.total) || !validYarn(rmNode.used)) {
    return stop('report', 'rm-report-invalid', `unusable RM report for ${nodeManager.nodeId}: ${JSON.stringify(rmNode)}`, keep);
  }
  if (isInactiveRmNodeState(rmNode.state)) {
    return stop('report', 'rm-node-inactive', `RM node ${nodeManager.nodeId} is ${rmNode.state}`, keep);
  }

  // 4. The math, then hysteresis / grow interval against what is in force.
  const axes = axesFor(config);
  const math = computeLedgerMath(origin.value, k8sRequested, rmNode.used, config);
  const lastDesired = validYarn(current.lastDesired) ? current.lastDesired : undefined;
  const cur = lastDesired ?? rmNode.total;
  const gate = gateGrowth(axes, cur, math.desired, config, now, current.lastGrowAt, rmNode.used);
  const applied = gate.applied;
  const hold = makeYarn(
    holdOf(config.policy, applied.vcores, rmNode.used.vcores),
    holdOf(config.policy, applied.memoryMiB, rmNode.used.memoryMiB),
  );
  const claim = makeBatch(claimOf(axes.cpu, hold.vcores, math.cpu.M), claimOf(axes.memory, hold.memoryMiB, math.memory.M));

  const reasons: LedgerReason[] = [];
  for (const name of RESOURCES) {
    const f = math[name];
    if (f.F < 0) reasons.push({ code: 'headroom-negative', resource: name, detail: `F = ${f.F}` });
  }
  reasons.push(...gate.reasons);

  const figures = (appliedNow: YarnResource, holdNow: YarnResource, claimNow: BatchResources): LedgerFigures => ({
    origin: origin.value,
    k8sRequested,
    yarnUsed: math.yarnUsed,
    margin: math.margin,
    effectiveOrigin: math.effectiveOrigin,
    free: math.free,
    freeBeforeMargin: math.freeBeforeMargin,
    desired: math.desired,
    applied: appliedNow,
    rmTotal: rmNode.total,
    yarnHold: holdNow,
    claim: claimNow,
  });
  /** The claim that covers what YARN may hold when the RM's capacity is `total`. */
  const coverOf = (total: YarnResource): BatchResources => makeBatch(
    claimOf(axes.cpu, holdOf(config.policy, total.vcores, rmNode.used.vcores), math.cpu.M),
    claimOf(axes.memory, holdOf(config.policy, total.memoryMiB, rmNode.used.memoryMiB), math.memory.M),
  );

  // 5. Actions.
  const pending = validYarn(rmNode.pending) ? rmNode.pending : undefined;
  if (pending) {
    // An earlier resize was not confirmed (its read-back never showed it, or its answer was lost):
    // the RM may still apply it at any moment, so it may hold either figure. The claim covers both
    // until the RM shows the outcome, and the only resize sent is that one again — any other value
    // could be overtaken by the queued one, and no read-back could tell the two orders apart.
    // Once the RM shows it, the node is decided again on that figure.
    const mayHold = makeYarn(Math.max(rmNode.total.vcores, pending.vcores), Math.max(rmNode.total.memoryMiB, pending.memoryMiB));
    const cover = coverOf(mayHold);
    const floor = current.claim ?? cover;
    const before = makeBatch(Math.max(floor.cpu, cover.cpu), Math.max(floor.memory, cover.memory));
    const actions: LedgerAction[] = [];
    if (!sameBatch(current.claim, before)) actions.push({ kind: 'set-claim', claim: before });
    actions.push({
      kind: 'resize', clusterId: nodeManager.clusterId, nodeId: nodeManager.nodeId, capacity: pending,
      overCommitTimeoutMs: config.overCommitTimeoutMs, driftRepair: false, resend: true,
    });
    reasons.push({
      code: 'resize-unconfirmed',
      detail: `RM shows ${rmNode.total.vcores} vcores / ${rmNode.total.memoryMiB} MiB, ${pending.vcores} / ${pending.memoryMiB} sent and not confirmed`,
    });
    const next: LedgerMemory = { lastDesired: pending };
    if (current.lastGrowAt !== undefined) next.lastGrowAt = current.lastGrowAt;
    return { actions, reasons, figures: figures(pending, mayHold, before), next };
  }
  const actions: LedgerAction[] = [];
  const needResize = !sameYarn(applied, rmNode.total);
  const drift = lastDesired !== undefined && !sameYarn(rmNode.total, lastDesired);
  if (!needResize) {
    if (!sameBatch(current.claim, claim)) {
      actions.push({ kind: 'set-claim', claim });
      reasons.push({ code: 'claim-update' });
    }
  } else {
    // Without a claim yet (first sight), what YARN may hold right now is the RM's current total:
    // cover it before the resize, so capacity ≤ claim holds from the first write on.
    const floor = current.claim ?? coverOf(rmNode.total);
    const before = makeBatch(Math.max(floor.cpu, claim.cpu), Math.max(floor.memory, claim.memory));
    if (!sameBatch(current.claim, before)) actions.push({ kind: 'set-claim', claim: before });
    actions.push({
      kind: 'resize',
      clusterId: nodeManager.clusterId,
      nodeId: nodeManager.nodeId,
      capacity: applied,
      overCommitTimeoutMs: config.overCommitTimeoutMs,
      driftRepair: drift,
    });
    if (drift) {
      reasons.push({
        code: 'drift-repair',
        detail: `RM total ${rmNode.total.vcores} vcores / ${rmNode.total.memoryMiB} MiB, last set ${lastDesired.vcores} / ${lastDesired.memoryMiB}`,
      });
    }
    if (!sameBatch(before, claim)) actions.push({ kind: 'set-claim', claim });
    if (!sameBatch(current.claim, claim)) reasons.push({ code: 'claim-update' });
  }

  const next: LedgerMemory = { lastDesired: applied };
  const lastGrowAt = gate.grew ? now : current.lastGrowAt;
  if (lastGrowAt !== undefined) next.lastGrowAt = lastGrowAt;
  // A growth held by the interval applies by itself once the interval has passed.
  const heldByInterval = reasons.some((r) => r.code === 'grow-held-by-interval');
  const recheck = heldByInterval && lastGrowAt !== undefined ? Math.max(1, lastGrowAt + config.growIntervalMs - now) : undefined;

  return {
    actions,
    reasons,
    ...(recheck !== undefined ? { recheckAfterMs: recheck } : {}),
    figures: figures(applied, hold, claim),
    next,
  };
}
