/**
 * Inputs and outputs of the ledger (design.md "The ledger (operator)"). Everything here is data:
 * the controller observes a {@link NodeSnapshot}, calls `decideNode`, executes the returned
 * actions in order and persists {@link LedgerDecision.next}.
 */
import type { BatchResources } from '../../kube/wire.js';
import type { YarnResource } from '../../yarn/resource.js';

export type LedgerPolicy = 'partitioned' | 'shared';

/**
 * Ledger settings. Field names and units match `OperatorSettings` (operator/settings.ts), so the
 * operator's settings object can be passed as is.
 */
export interface LedgerConfig {
  /** `partitioned` (default): YARN gets a share of the free headroom; `shared`: Koordinator's design. */
  policy: LedgerPolicy;
  /** YARN's share `s` of the free headroom under `partitioned`, 0–1 (default 0.5). */
  headroomShare: number;
  /** Percent (0–100) of the origin held back from both schedulers (default 0). */
  safetyMarginPercent: number;
  /** YARN vcores per physical core; may be fractional (default 1). */
  vcoresPerCore: number;
  /**
   * A growth is applied only when the step is at least the larger of the absolute threshold
   * (converted to vcores / MiB) and `percent` (0–100) percent of the current capacity.
   */
  hysteresis: { cpuMilli: number; memoryBytes: number; percent: number };
  /** Minimum time between two capacity increases of one node, ms. */
  growIntervalMs: number;
  /** `overCommitTimeout` sent with every resize (−1: never kill, only block new allocations). */
  overCommitTimeoutMs: number;
}

/** Defaults, equal to those of operator/settings.ts. */
export const DEFAULT_LEDGER_CONFIG: Readonly<LedgerConfig> = Object.freeze({
  policy: 'partitioned',
  headroomShare: 0.5,
  safetyMarginPercent: 0,
  vcoresPerCore: 1,
  hysteresis: Object.freeze({ cpuMilli: 1000, memoryBytes: 2 ** 30, percent: 5 }),
  growIntervalMs: 10_000,
  overCommitTimeoutMs: -1,
});

/** The batch origin O, resolved by the caller (annotation, else `status.allocatable`). */
export type OriginObservation =
  | { state: 'ok'; value: BatchResources; source?: 'annotation' | 'allocatable' }
  | { state: 'missing' | 'invalid'; reason: string };

/** The node's NodeManager pod, as the caller found it. */
export type NodeManagerObservation =
  | { state: 'running'; clusterId: string; nodeId: string }
  /** No Running NM pod on the node. */
  | { state: 'absent' }
  /** An NM pod whose annotations cannot be used (no / bad node-id …). */
  | { state: 'malformed'; reason: string };

/** The RM's report of the node (one entry of the RM node list). */
export interface RmNodeReport {
  /** RM `NodeState` (RUNNING, UNHEALTHY, LOST …). */
  state: string;
  /** `totalResource`: the capacity the RM currently uses for the node. */
  total: YarnResource;
  /** `usedResource` (zero when the scheduler has no report). */
  used: YarnResource;
  /**
   * A capacity Loom sent that the RM has not shown since (its read-back never showed it, or the
   * answer was lost): the RM applies resizes asynchronously, so it may still land at any moment.
   */
  pending?: YarnResource;
}

/** What the RM said about the node's NodeId. */
export type RmObservation =
  | { status: 'ok'; node: RmNodeReport }
  /** The RM answered, but its node list has no such NodeId. */
  | { status: 'unknown-node' }
  /** The RM could not be asked (down, no active RM, error). */
  | { status: 'rm-unavailable'; detail?: string }
  /** Not polled yet in this term: wait for the poll (a normal state after start). */
  | { status: 'rm-pending' };

/** What Loom remembers about a node between reconciles (in memory; lost on restart). */
export interface LedgerMemory {
  /** The capacity Loom last decided for the RM. */
  lastDesired?: YarnResource;
  /** When a capacity increase was last decided (ms, same clock as `now`). */
  lastGrowAt?: number;
}

export interface LedgerCurrent extends LedgerMemory {
  /** The `hadoop-yarn` entry currently on the Node (parsed by the caller); absent: no entry. */
  claim?: BatchResources;
}

/** Everything the ledger needs about one node. */
export interface NodeSnapshot {
  origin: OriginObservation;
  /** K: Σ batch requests of the node's non-terminated pods, the NM pod included. */
  k8sRequested: BatchResources;
  nodeManager: NodeManagerObservation;
  rm: RmObservation;
  current: LedgerCurrent;
}

export type LedgerAction =
  /** Upsert the `hadoop-yarn` entry of `thirdPartyAllocations` with `claim`. */
  | { kind: 'set-claim'; claim: BatchResources }
  /** Remove the `hadoop-yarn` entry (other entries stay). */
  | { kind: 'clear-claim' }
  /** `POST /ws/v1/cluster/nodes/{nodeId}/resource` on the cluster's active RM. */
  | {
      kind: 'resize';
      clusterId: string;
      nodeId: string;
      capacity: YarnResource;
      overCommitTimeoutMs: number;
      /** The RM's total differed from what Loom last set (NM restart, RM failover). */
      driftRepair: boolean;
      /**
       * Sends an unconfirmed resize again so that its outcome becomes visible; once the RM shows
       * it, the node is decided again on that figure.
       */
      resend?: boolean;
    };

export type ReasonCode =
  // guards
  | 'origin-missing'
  | 'origin-invalid'
  | 'k8s-requested-invalid'
  | 'claim-invalid'
  | 'nm-absent'
  | 'nm-malformed'
  | 'rm-unavailable'
  | 'rm-pending'
  | 'rm-unknown-node'
  | 'rm-node-inactive'
  | 'rm-report-invalid'
  // decisions
  | 'grow'
  | 'shrink'
  | 'grow-held-by-hysteresis'
  | 'grow-held-by-interval'
  /** A held growth still lifted the capacity up to YARN's used amount (see hysteresis.ts). */
  | 'grow-to-used'
  | 'drift-repair'
  /** An earlier resize is not confirmed: the claim covers it and it is sent again. */
  | 'resize-unconfirmed'
  | 'headroom-negative'
  | 'claim-update';

export interface LedgerReason {
  code: ReasonCode;
  /** The resource the reason is about, when it is about one. */
  resource?: 'cpu' | 'memory';
  detail?: string;
}

/** A signed per-resource figure in milli-cores / bytes (F may be negative). */
export interface SignedBatch {
  cpu: number;
  memory: number;
}

/** The computed figures, for logs, metrics and `loom status`. CPU milli-cores, memory bytes. */
export interface LedgerFigures {
  /** O */
  origin: BatchResources;
  /** K */
  k8sRequested: BatchResources;
  /** U: YARN used, converted up. */
  yarnUsed: BatchResources;
  /** M: safety margin, `ceil(O × safetyMarginPercent / 100)`. */
  margin: BatchResources;
  /** O' = max(0, O − M) */
  effectiveOrigin: BatchResources;
  /** F = O' − K − U (with margin) */
  free: SignedBatch;
  /** F0 = O − K − U (the design's F, without margin) */
  freeBeforeMargin: SignedBatch;
  /** The capacity the math asks for, before hysteresis and grow interval. */
  desired: YarnResource;
  /** The capacity Loom wants the RM to have now (after hysteresis / interval). */
  applied: YarnResource;
  /** The RM's total as reported. */
  rmTotal: YarnResource;
  /** What YARN is taken to hold (YARN units): the applied capacity (partitioned, F ≥ 0) or U. */
  yarnHold: YarnResource;
  /** The claim Kubernetes should carry: hold converted up, plus M. */
  claim: BatchResources;
}

/**
 * How loud a finding is: `pending` (a normal transient state: say nothing, count nothing),
 * `state` (explains itself: an info line, counted by source), `warning` (somebody must look: a
 * Warning line and Event, counted by source).
 */
export type Severity = 'pending' | 'state' | 'warning';

export interface LedgerDecision {
  /** Execute in order; stop at the first failure (the next reconcile starts from fresh data). */
  actions: LedgerAction[];
  /** Why (every guard and every decision adds one). */
  reasons: LedgerReason[];
  /** Set when the ledger declined to decide because an input is missing; nothing to tell users. */
  skip?: LedgerReason;
  /** Set when something is wrong that an operator should see (the controller posts an Event). */
  report?: LedgerReason;
  /** Present when the full math ran. */
  figures?: LedgerFigures;
  /** What to remember once every action succeeded. */
  next: LedgerMemory;
  /** How loud the skip or report is (absent when there is neither). */
  severity?: Severity;
  /** When to look again even if no input changes (a growth held by the grow interval), ms. */
  recheckAfterMs?: number;
}
