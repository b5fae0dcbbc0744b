/**
 * The typed model of what Loom reads from the RM and NM REST APIs (reference/yarn-rest.md §2, §5).
 * Every field is optional except the ones we cannot work without (a node's or a container's id):
 * Hadoop versions differ in which fields they write, and empty ones are omitted.
 */
import type { YarnResource } from './resource.js';

export type { YarnResource } from './resource.js';

/** RM `NodeState` (`hadoop-yarn-api/.../records/NodeState.java`). */
export const NODE_STATES = [
  'NEW', 'RUNNING', 'UNHEALTHY', 'DECOMMISSIONED', 'LOST', 'REBOOTED', 'DECOMMISSIONING', 'SHUTDOWN',
] as const;
export type NodeState = (typeof NODE_STATES)[number];

/** States of a node that is registered and heartbeating (NodeState.isInactiveState() is false). */
export const ACTIVE_NODE_STATES: readonly NodeState[] = ['RUNNING', 'UNHEALTHY', 'NEW', 'DECOMMISSIONING'];

export function isNodeState(s: string): s is NodeState {
  return (NODE_STATES as readonly string[]).includes(s);
}

export function isActiveNodeState(s: string | undefined): boolean {
  return s !== undefined && (ACTIVE_NODE_STATES as readonly string[]).includes(s.toUpperCase());
}

/** `GET /ws/v1/cluster/info` (`ClusterInfo` DAO). */
export interface ClusterInfo {
  /** Cluster timestamp; changes when an RM (re)becomes active — the "RM epoch". */
  id?: number;
  startedOn?: number;
  state?: string;
  /** `ACTIVE`, `STANDBY`, `INITIALIZING`, `STOPPING` (+`OBSERVER`); non-HA RMs say `ACTIVE`. */
  haState?: string;
  rmStateStoreName?: string;
  resourceManagerVersion?: string;
  resourceManagerBuildVersion?: string;
  resourceManagerVersionBuiltOn?: string;
  hadoopVersion?: string;
  hadoopBuildVersion?: string;
  hadoopVersionBuiltOn?: string;
  haZooKeeperConnectionState?: string;
}

/** `ResourceUtilizationInfo` of an RM node (CPU units are not verified upstream). */
export interface ResourceUtilization {
  nodePhysicalMemoryMB?: number;
  nodeVirtualMemoryMB?: number;
  nodeCPUUsage?: number;
  aggregatedContainersPhysicalMemoryMB?: number;
  aggregatedContainersVirtualMemoryMB?: number;
  containersCPUUsage?: number;
}

/** One entry of `GET /ws/v1/cluster/nodes` / `GET /nodes/{id}` (`NodeInfo` DAO). */
export interface RmNode {
  /** NodeId `host:port` (NM RPC port): the key of `/nodes/{id}`. */
  id: string;
  state?: string;
  rack?: string;
  nodeHostName?: string;
  /** `host:httpPort` of the NM web app; `""` for inactive nodes. */
  nodeHTTPAddress?: string;
  lastHealthUpdate?: number;
  version?: string;
  healthReport?: string;
  numContainers?: number;
  usedMemoryMB?: number;
  availMemoryMB?: number;
  usedVirtualCores?: number;
  availableVirtualCores?: number;
  numRunningOpportContainers?: number;
  /** GB, not MB (reference §2.2). */
  usedMemoryOpportGB?: number;
  usedVirtualCoresOpport?: number;
  numQueuedContainers?: number;
  nodeLabels: string[];
  resourceUtilization?: ResourceUtilization;
  /** The RMNode total capability: what `POST /nodes/{id}/resource` changes. */
  totalResource?: YarnResource;
  /** `usedResource`, else `usedMemoryMB`/`usedVirtualCores` (older RMs / no scheduler report). */
  usedResource?: YarnResource;
  /** `availableResource`, else `availMemoryMB`/`availableVirtualCores`. */
  availableResource?: YarnResource;
}

/** `GET /ws/v1/cluster/metrics` (`ClusterMetricsInfo`, root `clusterMetrics`). */
export interface ClusterMetrics {
  appsSubmitted?: number;
  appsCompleted?: number;
  appsPending?: number;
  appsRunning?: number;
  appsFailed?: number;
  appsKilled?: number;
  reservedMB?: number;
  availableMB?: number;
  allocatedMB?: number;
  pendingMB?: number;
  reservedVirtualCores?: number;
  availableVirtualCores?: number;
  allocatedVirtualCores?: number;
  pendingVirtualCores?: number;
  containersAllocated?: number;
  containersReserved?: number;
  containersPending?: number;
  totalMB?: number;
  totalVirtualCores?: number;
  totalNodes?: number;
  activeNodes?: number;
  lostNodes?: number;
  unhealthyNodes?: number;
  decommissioningNodes?: number;
  decommissionedNodes?: number;
  rebootedNodes?: number;
  shutdownNodes?: number;
}

/** `GET /ws/v1/node/info` on an NM (`nodeInfo`). */
export interface NmNodeInfo {
  id?: string;
  nodeHostName?: string;
  totalPmemAllocatedContainersMB?: number;
  totalVmemAllocatedContainersMB?: number;
  totalVCoresAllocatedContainers?: number;
  vmemCheckEnabled?: boolean;
  pmemCheckEnabled?: boolean;
  lastNodeUpdateTime?: number;
  /** Changes when the NM restarts: RM overrides are lost then and must be re-applied. */
  nmStartupTime?: number;
  healthReport?: string;
  nodeHealthy?: boolean;
  nodeManagerVersion?: string;
  nodeManagerBuildVersion?: string;
  nodeManagerVersionBuiltOn?: string;
  hadoopVersion?: string;
  hadoopBuildVersion?: string;
  hadoopVersionBuiltOn?: string;
}

/** NM `ContainerState` (3.x). */
export const CONTAINER_STATES = [
  'NEW', 'LOCALIZING', 'LOCALIZATION_FAILED', 'SCHEDULED', 'RUNNING', 'RELAUNCHING', 'REINITIALIZING',
  'REINITIALIZING_AWAITING_KILL', 'EXITED_WITH_SUCCESS', 'EXITED_WITH_FAILURE', 'KILLING',
  'CONTAINER_CLEANEDUP_AFTER_KILL', 'CONTAINER_RESOURCES_CLEANINGUP', 'DONE', 'PAUSING', 'PAUSED', 'RESUMING',
] as const;
export type ContainerState = (typeof CONTAINER_STATES)[number];

/**
 * States in which the container has (or, mid-transition, may have) a launched process in its
 * cgroup that is not already being torn down — the ones the agent measures and may evict.
 *
 * - NEW / LOCALIZING / SCHEDULED: nothing launched yet (localization runs outside the container
 *   cgroup; SCHEDULED is queued) → excluded.
 * - RELAUNCHING / REINITIALIZING / REINITIALIZING_AWAITING_KILL: the old process may still be
 *   alive or the new one starting → included.
 * - PAUSING / PAUSED / RESUMING: the process exists (frozen or not) and holds memory → included.
 * - KILLING, CONTAINER_CLEANEDUP_AFTER_KILL, CONTAINER_RESOURCES_CLEANINGUP, EXITED_*, DONE,
 *   LOCALIZATION_FAILED: finished or already being stopped by YARN → excluded (picking a KILLING
 *   container as a victim again would free nothing new; its residual memory still shows in the
 *   node totals the agent reads from /proc).
 */
export const LIVE_CONTAINER_STATES: readonly ContainerState[] = [
  'RUNNING', 'RELAUNCHING', 'REINITIALIZING', 'REINITIALIZING_AWAITING_KILL', 'PAUSING', 'PAUSED', 'RESUMING',
];

export function isLiveContainerState(state: string | undefined): boolean {
  return state !== undefined && (LIVE_CONTAINER_STATES as readonly string[]).includes(state.toUpperCase());
}

export type ExecutionType = 'GUARANTEED' | 'OPPORTUNISTIC';

/** One entry of NM `GET /ws/v1/node/containers` (`ContainerInfo`). */
export interface NmContainer {
  /** Validated against the container-id regex (a malformed id never reaches a path). */
  id: string;
  state?: string;
  /** `-1000` (INVALID) while the container has not finished. */
  exitCode?: number;
  diagnostics?: string;
  user?: string;
  totalMemoryNeededMB?: number;
  totalVCoresNeeded?: number;
  /** Absent on older NMs (treat as GUARANTEED where a default is needed). */
  executionType?: string;
  containerLogsLink?: string;
  nodeId?: string;
  containerLogFiles: string[];
  /** Derived from the id (`application_<ts>_<seq>`), never from a vendor field. */
  appId: string;
  /** Container 1 of its attempt is the ApplicationMaster. */
  isAM: boolean;
  /** Optional fields the NM sent but that did not parse: kept as unknown (absent) instead of dropping the entry. */
  unknownFields?: string[];
}

/** An item of a list that failed validation: skipped, and reported with the reason. */
export interface RejectedItem {
  /** Position in the list as received. */
  index: number;
  /** The id, when the item had a usable one. */
  id?: string;
  reason: string;
}

/** A validated list: the good items and the ones skipped. */
export interface ParsedList<T> {
  items: T[];
  rejected: RejectedItem[];
}

/** `SignalContainerCommand`. */
export const SIGNAL_COMMANDS = ['OUTPUT_THREAD_DUMP', 'GRACEFUL_SHUTDOWN', 'FORCEFUL_SHUTDOWN'] as const;
export type SignalCommand = (typeof SIGNAL_COMMANDS)[number];
