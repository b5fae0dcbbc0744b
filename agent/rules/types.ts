/**
 * Types of the node agent's QoS rules: the snapshot the agent loop builds each tick (and on the
 * fast memory watch), the state it carries between ticks, and the decision the rules return.
 *
 * Everything here is plain data. The rules never read a clock: time comes in as `now`
 * (milliseconds since the epoch, the same clock as every timestamp in the snapshot and state).
 */
import type { Bytes, MilliCores } from '../../kube/quantity.js';
import type { MiB, Vcores } from '../../yarn/resource.js';

/** PSI `avg10` values in percent (0–100), as read from `memory.pressure` / `cpu.pressure`. */
export interface PsiAvg10 {
  some?: number;
  full?: number;
}

export interface PsiSnapshot {
  memory?: PsiAvg10;
  cpu?: PsiAvg10;
}

export type ExecutionType = 'GUARANTEED' | 'OPPORTUNISTIC';

/** One live (non-final) YARN container on this node. */
export interface ContainerSnapshot {
  /** `container_[eN_]<ts>_<app>_<attempt>_<seq>`; already validated by the collector. */
  id: string;
  appId: string;
  /** ApplicationMaster container (container 1 of its attempt, see `isApplicationMaster`). */
  isAM: boolean;
  /** `undefined` (older NMs, no execution types) is treated as GUARANTEED, YARN's default. */
  executionType?: ExecutionType;
  /** When the agent first saw it (ms). Unknown when the agent just restarted. */
  startedAt?: number;
  /** What YARN allocated (`totalMemoryNeededMB`, `totalVCoresNeeded`). */
  allocated: { memoryMiB: MiB; vcores: Vcores };
  /** cgroup working set (usage − inactive file). */
  memoryWorkingSet: Bytes;
  /** CPU rate over the last interval. */
  cpuUsed: MilliCores;
  psi?: PsiSnapshot;
  /** Failed attempts / failed containers of its application, when the collector knows them. */
  appFailures?: number;
  /**
   * The agent already signalled this container (graceful eviction in progress) and it is still
   * alive. The rules never pick it again; memory credits its working set as already on its way
   * out; under memory emergency it is re-issued as `immediate` (escalation to SIGKILL).
   */
  evicting?: boolean;
}

export interface NodeSnapshot {
  memoryTotal: Bytes;
  /** MemTotal − MemAvailable. */
  memoryUsed: Bytes;
  cpuCapacity: MilliCores;
  /** Node CPU rate over the last interval. */
  cpuUsed: MilliCores;
  psi?: PsiSnapshot;
}

export interface YarnSnapshot {
  /** CPU rate of the YARN parent cgroup over the last interval. */
  cpuUsed: MilliCores;
  /** CPU limit currently set on the YARN parent cgroup (observed); `null` = unlimited. */
  cpuLimit: MilliCores | null;
  /** Σ allocated vcores of the live containers. */
  requestedVcores: number;
  /** Working set of the YARN parent cgroup, when read. Informational. */
  memoryUsed?: Bytes;
  /** PSI of the YARN parent cgroup, when present (cgroup v2). */
  psi?: PsiSnapshot;
}

/** One CPU-satisfaction sample, pushed once per tick (see `cpuSampleOf` / `pushCpuSample`). */
export interface CpuSample {
  at: number;
  /** YARN CPU usage rate. */
  usage: MilliCores;
  /** The real limit in force: the YARN quota, or the node capacity when unlimited. */
  limit: MilliCores;
  /** Σ allocated vcores × 1000. */
  requested: MilliCores;
}

/** What the agent loop carries between calls. */
export interface AgentRulesState {
  lastMemoryEvictionAt?: number;
  lastCpuEvictionAt?: number;
  /** Timestamps of evictions issued (for the per-minute rate limit); older ones may be pruned. */
  recentEvictions: number[];
  /** CPU samples, oldest first; the rules only look at those inside the window. */
  cpuSatisfactionWindow: CpuSample[];
  /**
   * The limit the agent last wrote (`null` = never wrote / unlimited). Informational: the rules
   * trust the observed `yarn.cpuLimit`, so a quota reset by someone else is re-applied.
   */
  currentCpuLimit: MilliCores | null;
}

export interface Snapshot {
  node: NodeSnapshot;
  yarn: YarnSnapshot;
  containers: readonly ContainerSnapshot[];
  state: AgentRulesState;
  /**
   * `containers` are already in the memory rule's victim order (`orderVictims` with the same
   * config): the fast watch's kill plan sorts once per tick, not once per crossing. Filtering keeps
   * that order, so the rule's choice is the same as sorting the filtered list.
   */
  inVictimOrder?: boolean;
}

export type EvictionReason = 'memory' | 'cpu' | 'psi' | 'api';
export type EvictionMode = 'graceful' | 'immediate';

export type DecisionInputs = Record<string, number | string | boolean | null>;

export interface Eviction {
  containerId: string;
  reason: EvictionReason;
  mode: EvictionMode;
  /** Seconds between the graceful signal and the SIGKILL deadline (0 when immediate). */
  gracePeriodSeconds: number;
  /** What this victim is counted as releasing. */
  credit: { memory: Bytes; cpu: MilliCores };
  /**
   * A graceful eviction already in flight, re-issued as immediate (memory emergency): it does
   * not count again toward the rate limit.
   */
  escalation: boolean;
  /** The numbers that led to it, for the log line and the Kubernetes Event. */
  inputs: DecisionInputs;
}

/** The registered rules' names (registry.ts): a new rule's name joins by its registry line. */
export type RuleName = (typeof import('./registry.js'))['RULES'][number]['name'];

export type HoldReason =
  | 'cooldown'
  | 'rate-limit'
  | 'window-not-filled'
  | 'not-busy'
  | 'no-candidates'
  | 'insufficient-candidates'
  | 'application-masters-protected'
  | 'covered';

/** Something a rule wanted to do but did not (or could not do in full), and why. */
export interface Held {
  rule: RuleName;
  reason: HoldReason;
  message: string;
}

export interface CpuLimitDecision {
  milli: MilliCores;
  reason: string;
}

export interface Decision {
  /** Absent when nothing should be written to the YARN parent's CPU limit. */
  cpuLimit?: CpuLimitDecision;
  evictions: Eviction[];
  held: Held[];
}
