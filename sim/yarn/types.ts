/** Domain vocabulary of the simulated YARN cluster (reference/yarn-rest.md §2, §5, §6). */

/** `hadoop-yarn-api/.../records/NodeState.java`. */
export const NODE_STATES = [
  'NEW', 'RUNNING', 'UNHEALTHY', 'DECOMMISSIONED', 'LOST', 'REBOOTED', 'DECOMMISSIONING', 'SHUTDOWN',
] as const;
export type NodeState = (typeof NODE_STATES)[number];

const INACTIVE: ReadonlySet<NodeState> = new Set(['DECOMMISSIONED', 'LOST', 'REBOOTED', 'SHUTDOWN']);
export const isInactiveState = (s: NodeState): boolean => INACTIVE.has(s);
/** States in which the scheduler knows the node and may place containers on it. */
export const isSchedulable = (s: NodeState): boolean => s === 'RUNNING';
/** States whose node is in the scheduler at all (has a scheduler report: used/available). */
export const hasSchedulerReport = (s: NodeState): boolean => s === 'RUNNING' || s === 'DECOMMISSIONING';

export type ExecutionType = 'GUARANTEED' | 'OPPORTUNISTIC';

/** The subset of the NM `ContainerState` enum the simulator moves through. */
export type NmContainerState =
  | 'LOCALIZING' | 'RUNNING' | 'KILLING' | 'EXITED_WITH_SUCCESS' | 'EXITED_WITH_FAILURE' | 'DONE';

/** `ContainerExitStatus` values the simulator produces. */
export const EXIT = {
  SUCCESS: 0,
  INVALID: -1000,
  ABORTED: -100,
  PREEMPTED: -102,
  KILLED_BY_RESOURCEMANAGER: -106,
  /** 128 + SIGTERM / SIGKILL, what a signalled process reports. */
  SIGTERM: 143,
  SIGKILL: 137,
} as const;

export type SignalCommand = 'OUTPUT_THREAD_DUMP' | 'GRACEFUL_SHUTDOWN' | 'FORCEFUL_SHUTDOWN';
export const SIGNAL_COMMANDS: readonly SignalCommand[] = ['OUTPUT_THREAD_DUMP', 'GRACEFUL_SHUTDOWN', 'FORCEFUL_SHUTDOWN'];

/** YARN resources in its own units: MiB ("MB" in YARN) and whole vcores. */
export interface Res {
  memoryMiB: number;
  vcores: number;
}

export interface SimNode {
  readonly id: string;
  readonly host: string;
  readonly rpcPort: number;
  /** Host part of nodeHTTPAddress (defaults to host). */
  readonly httpHost: string;
  /** Web port of the NM; the bound port of its HTTP server when one runs. */
  httpPort: number;
  rack: string;
  state: NodeState;
  healthReport: string;
  version: string;
  /** What the NM registers with (`yarn.nodemanager.resource.*`). */
  reported: Res;
  /** The RM's current total: `reported` unless overridden by POST …/resource. */
  total: Res;
  /** Allocated by the RM scheduler (sum of `allocated` containers). */
  used: Res;
  /** Absolute simulated time after which over-commit kills happen; -1 when never armed. */
  overcommitDeadline: number;
  lastHealthUpdate: number;
  nmStartupTime: number;
  /** Containers the RM counts against this node. */
  readonly allocated: Map<string, SimContainer>;
  /** Containers the NM lists: the allocated ones plus finished ones until they are dropped. */
  readonly nmContainers: Map<string, SimContainer>;
  /** Bumped on every visible change; keys cached renderings. */
  rev: number;
}

export interface SimContainer {
  readonly id: string;
  readonly appId: string;
  readonly seq: number;
  readonly isAM: boolean;
  readonly resource: Res;
  readonly executionType: ExecutionType;
  readonly user: string;
  nodeId: string;
  state: NmContainerState;
  readonly allocatedAt: number;
  /** Order of allocation across the cluster: "newest" for kill ordering. */
  readonly allocationOrder: number;
  finishedAt: number | undefined;
  exitCode: number;
  diagnostics: string;
}

export interface ContainerAsk {
  count: number;
  memoryMiB: number;
  vcores: number;
  executionType?: ExecutionType;
}

export interface AppSpec {
  user?: string;
  queue?: string;
  name?: string;
  am?: Res;
  containers?: ContainerAsk[];
  /** Ask for a replacement when a worker ends with a non-zero exit (default true), like an AM retrying a task. */
  replaceFailed?: boolean;
}

export type AppState = 'ACCEPTED' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface PendingAsk {
  readonly isAM: boolean;
  readonly resource: Res;
  readonly executionType: ExecutionType;
}

export interface SimApp {
  readonly id: string;
  readonly clusterTimestamp: number;
  readonly seq: number;
  readonly user: string;
  readonly queue: string;
  readonly name: string;
  readonly submittedAt: number;
  readonly replaceFailed: boolean;
  state: AppState;
  attempt: number;
  nextContainerSeq: number;
  /** Asks not yet placed; only the AM until it is allocated. */
  pending: PendingAsk[];
  /** Worker asks released once the AM runs. */
  readonly workerAsks: PendingAsk[];
  /** Live (allocated) containers of the app. */
  readonly live: Map<string, SimContainer>;
  /** Workers that finished with exit code 0. */
  completedWorkers: number;
}

export interface NodeSpec {
  host: string;
  rpcPort: number;
  memoryMiB: number;
  vcores: number;
  /** NM web port to advertise when no NM HTTP server runs (default 8042). */
  httpPort?: number;
  httpHost?: string;
  rack?: string;
  version?: string;
}
