/**
 * A resize's read-back against a poll that raced it. The fault suite once caught, under load, a
 * leader growing node-1 (claim 6,000 m, then the RM to 6 vcores) and ~30 ms after the RM showed 6
 * setting the claim to 4,000 m without shrinking the RM first: its decision used an RM poll that
 * was sent after the resize's observation number was taken but answered by the RM before the
 * resize was applied. A poll supersedes a read-back only when it was sent after the read-back's
 * answer came in — within a term, and across a leader change in the middle of a resize.
 *
 * The RM is scripted here so that the order of sends and answers is exact: the poll leaves while
 * the resize is in flight and its answer (the old total) arrives after the resize was confirmed.
 * Every claim write is checked against what the RM really holds at that moment.
 */
import { describe, expect, it } from 'vitest';
import { Reconciler } from '../../operator/reconciler.js';
import { Inventory } from '../../operator/inventory.js';
import { nextObservation, type ClusterView } from '../../operator/snapshot.js';
import { projectNode, type PodRecord } from '../../operator/observe.js';
import { OperatorMetrics } from '../../operator/metrics.js';
import { DEFAULT_LEDGER_CONFIG, type LedgerConfig } from '../../operator/ledger/index.js';
import { ManualClock } from '../../clock/clock.js';
import { createLogger } from '../../log/logger.js';
import { FencedError } from '../../kube/lease.js';
import { ANNOTATION_ORIGIN, ANNOTATION_THIRD_PARTY, BATCH_CPU, BATCH_MEMORY, parseThirdPartyAllocations, withYarnClaimRaw, yarnClaimOf } from '../../kube/wire.js';
import type { KubeObject } from '../../kube/api.js';
import type { RmNode } from '../../yarn/model.js';

const GIB = 2 ** 30;
const CLUSTER = 'c';
const NODE_ID = 'n1:8041';
const LEDGER: LedgerConfig = { ...DEFAULT_LEDGER_CONFIG, hysteresis: { cpuMilli: 0, memoryBytes: 0, percent: 0 }, growIntervalMs: 0 };
const res = (vcores: number) => ({ vcores, memoryMiB: 8192 }) as never;
const rmNode = (vcores: number): RmNode => ({ id: NODE_ID, state: 'RUNNING', totalResource: res(vcores), usedResource: { vcores: 0, memoryMiB: 0 } } as unknown as RmNode);
const nmPod: PodRecord = { nodeName: 'n1', phase: 'Running', batchCpu: 1000, batchMemory: GIB, nm: { nodeId: NODE_ID, clusterId: CLUSTER, terminating: false } };
const origin = (cpu: number) => JSON.stringify({ resources: { [BATCH_CPU]: String(cpu), [BATCH_MEMORY]: String(17 * GIB) } });
const claimAnnotation = (cpu: number) => withYarnClaimRaw(undefined, { cpu, memory: 8192 * 2 ** 20 } as never);

/** One node, one RM whose resizes the test scripts, a fence whose term the test moves. */
function rig() {
  const clock = new ManualClock();
  const inventory = new Inventory();
  let rv = 1;
  let annotations: Record<string, string> = { [ANNOTATION_ORIGIN]: origin(9000), [ANNOTATION_THIRD_PARTY]: claimAnnotation(4000) };
  const object = (): KubeObject => ({ metadata: { name: 'n1', resourceVersion: String(rv), annotations: { ...annotations } } } as KubeObject);
  const publish = () => inventory.upsertNode(projectNode(object())!);
  publish();
  inventory.upsertPod('ns/nm', nmPod, undefined);
  /** What the RM really holds (vcores). */
  const rm = { total: 4 };
  const violations: string[] = [];
  const claimCpu = () => {
    return yarnClaimOf(parseThirdPartyAllocations(annotations[ANNOTATION_THIRD_PARTY]))?.cpu ?? 0;
  };
  const api = {
    patch: async (_path: string, _type: string, body: { metadata: { annotations: Record<string, string> } }, guard?: { beforeSend?: () => void }) => {
      guard?.beforeSend?.();
      annotations = { ...annotations, ...body.metadata.annotations };
      rv++;
      if (claimCpu() < rm.total * 1000) violations.push(`claim ${claimCpu()} m written while the RM holds ${rm.total} vcores`);
      publish();
      return object();
    },
  };
  /** What happens while a resize is in flight, after it left and before its answer is read. */
  let duringResize: (signal?: AbortSignal) => void | Promise<void> = () => {};
  const client = {
    updateNodeResource: async (_id: string, capacity: { vcores: number }, _t: number, o: { beforeSend?: () => void; signal?: AbortSignal }) => {
      o.beforeSend?.();
      rm.total = capacity.vcores;
      if (claimCpu() < rm.total * 1000) violations.push(`RM set to ${rm.total} vcores under a claim of ${claimCpu()} m`);
      const hook = duringResize;
      duringResize = () => {};
      await hook(o.signal);
      o.signal?.throwIfAborted();
      return { nodeId: NODE_ID, requested: capacity, overCommitTimeoutMs: -1, total: res(rm.total), used: { vcores: 0, memoryMiB: 0 }, applied: true };
    },
    getNode: async () => rmNode(rm.total),
  };
  const fence = { term: 1, check(term: number) { if (term !== this.term) throw new FencedError(`term ${term} is over`); } };
  const views = new Map<string, ClusterView>();
  const r = new Reconciler({
    api: api as never, clusters: new Map([[CLUSTER, client as never]]), ledger: LEDGER, dryRun: false,
    logger: createLogger('test', { level: 'silent' }), metrics: new OperatorMetrics(), events: { post: () => {} } as never,
    clock, fence, inventory, views,
  });
  /** A poll of the RM: sent now (its place among observations), answered with what the RM holds now. */
  const sendPoll = () => ({ seq: nextObservation(), nodes: new Map([[NODE_ID, rmNode(rm.total)]]) });
  /** The poll's answer arrives (the controller's onPoll). */
  const deliver = (p: { seq: number; nodes: Map<string, RmNode> }) => {
    views.set(CLUSTER, { status: 'ok', nodes: p.nodes, at: clock.now(), seq: p.seq });
    r.supersedeReadBacks(CLUSTER, p.nodes, p.seq);
  };
  /** The controller's term change: views back to pending, the reconciler's term reset. */
  const newTerm = () => {
    fence.term++;
    views.set(CLUSTER, { status: 'pending', at: clock.now() });
    r.resetForTerm();
  };
  const setOrigin = (cpu: number) => { annotations = { ...annotations, [ANNOTATION_ORIGIN]: origin(cpu) }; rv++; publish(); };
  return {
    r, rm, fence, violations, claimCpu, sendPoll, deliver, newTerm, setOrigin,
    onResize: (f: typeof duringResize) => { duringResize = f; },
  };
}

describe('reconciler: a poll that raced a resize', () => {
  it('a poll sent while the resize was in flight, answered before the RM applied it, does not supersede the read-back', async () => {
    const t = rig();
    t.deliver(t.sendPoll());
    // Grow: claim 6,000 m, then the RM to 6. A poll leaves meanwhile; the RM answers it before applying the resize.
    t.setOrigin(13_000);
    let raced: ReturnType<typeof t.sendPoll> | undefined;
    t.onResize(() => { raced = { seq: nextObservation(), nodes: new Map([[NODE_ID, rmNode(4)]]) }; });
    await t.r.reconcileNode('n1', 1, new AbortController().signal);
    expect([t.rm.total, t.claimCpu()]).toEqual([6, 6000]);
    // The raced poll's answer (4 vcores) arrives after the read-back showed 6; the origin falls back.
    t.deliver(raced!);
    t.setOrigin(9000);
    await t.r.reconcileNode('n1', 1, new AbortController().signal);
    expect(t.violations).toEqual([]);
    expect([t.rm.total, t.claimCpu()]).toEqual([4, 4000]);
  });

  it('across a leader change in the middle of the resize: the new term does not decide on its first poll, answered before the RM applied it', async () => {
    const t = rig();
    t.deliver(t.sendPoll());
    t.setOrigin(13_000);
    let first: ReturnType<typeof t.sendPoll> | undefined;
    t.onResize(() => {
      // The term ends and a new one begins while the resize is in flight; the new term's first
      // poll is answered by the RM before it applies the resize. The old reconcile's answer was
      // already in when its term ended (the abort came too late to stop it).
      t.newTerm();
      first = { seq: nextObservation(), nodes: new Map([[NODE_ID, rmNode(4)]]) };
    });
    await t.r.reconcileNode('n1', 1, new AbortController().signal).catch((err) => { if (!(err instanceof FencedError)) throw err; });
    expect([t.rm.total, t.claimCpu()]).toEqual([6, 6000]);
    t.deliver(first!);
    t.setOrigin(9000);
    await t.r.reconcileNode('n1', t.fence.term, new AbortController().signal);
    expect(t.violations).toEqual([]);
    expect([t.rm.total, t.claimCpu()]).toEqual([4, 4000]);
  });

  it('a resize aborted by the end of its term after it was sent stays possibly applied in the next term', async () => {
    const t = rig();
    t.deliver(t.sendPoll());
    t.setOrigin(13_000);
    const ctl = new AbortController();
    let first: ReturnType<typeof t.sendPoll> | undefined;
    t.onResize(() => {
      // The POST left; the term ends before its answer is read (the fence aborts the reconcile).
      t.newTerm();
      first = { seq: nextObservation(), nodes: new Map([[NODE_ID, rmNode(4)]]) };
      ctl.abort(new FencedError('term 1 ended'));
    });
    await expect(t.r.reconcileNode('n1', 1, ctl.signal)).rejects.toThrow();
    t.deliver(first!);
    t.setOrigin(9000);
    await t.r.reconcileNode('n1', t.fence.term, new AbortController().signal);
    expect(t.violations).toEqual([]);
    expect(t.claimCpu(), 'claim lowered under a resize the previous term sent').toBeGreaterThanOrEqual(t.rm.total * 1000);
  });
});
