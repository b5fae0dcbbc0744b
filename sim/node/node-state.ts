/**
 * What a simulated node is at one instant: its identity and paths, its containers (each with
 * the real process behind it), the cumulative counters of every cgroup, PSI, the loads of the
 * parties outside YARN, and simulated time. Plain data: node-model.ts computes from it,
 * node-tree.ts writes it out, node-containers.ts starts and stops containers in it.
 */
import type fs from 'node:fs';
import type { ContainerProcess } from './container-process.js';
import type { PressureResource } from './cgroup-files.js';
import type { CgroupDriver, CgroupLayout, KubeletCgroups } from './hierarchy.js';
import type { PageEvents, Psi } from './kernel-files.js';
import type { ContainerSpec, Load, LoadSource } from './workload.js';

/** What the agent is pointed at. */
export interface NodePaths {
  cgroupRoot: string;
  procRoot: string;
  yarnCgroupPath: string;
  layout: CgroupLayout;
  driver: CgroupDriver;
}

export interface ContainerUsage {
  memoryBytes?: number;
  cacheBytes?: number;
  cpuMilli?: number;
}

/** `node` (root cgroup, /proc/pressure, kubepods), `yarn` (besteffort and the YARN parent) or a container id. */
export type PressureScope = 'node' | 'yarn' | string;

export interface SimContainer {
  spec: Required<ContainerSpec>;
  rel: string;
  startedSimMs: number;
  override: ContainerUsage;
  proc: ContainerProcess;
  realStatLine: string;
  state: 'running' | 'exited';
  /** removal was asked for (YARN finished it): its exit is not reported */
  removing: boolean;
  watcher: fs.FSWatcher | undefined;
  load: Load;
  /** RSS last written to /proc/<pid>/{stat,status}: they are rewritten only when it changes */
  pidFilesRss: number;
}

export interface GroupCounters {
  usageNs: number;
  periods: number;
  throttledPeriods: number;
  throttledNs: number;
  ownPages: number;
  totalPages: number;
  ownEvents: PageEvents;
  totalEvents: PageEvents;
}

export const newCounters = (): GroupCounters => ({
  usageNs: 0,
  periods: 0,
  throttledPeriods: 0,
  throttledNs: 0,
  ownPages: 0,
  totalPages: 0,
  ownEvents: { pgpgin: 0, pgpgout: 0 },
  totalEvents: { pgpgin: 0, pgpgout: 0 },
});

export interface NodeState {
  readonly name: string;
  readonly paths: NodePaths;
  readonly capacityMilli: number;
  readonly memoryBytes: number;
  readonly rampMs: number;
  readonly kube: KubeletCgroups;
  /** every non-container cgroup, outermost first ('' = root) */
  readonly staticGroups: string[];
  readonly counters: Map<string, GroupCounters>;
  readonly containers: Map<string, SimContainer>;
  readonly psi: Map<PressureScope, Record<PressureResource, Psi>>;
  readonly btimeSec: number;
  systemLoad: LoadSource;
  onlineLoad: LoadSource;
  batchLoad: LoadSource;
  spikeBytes: number;
  simMs: number;
  nodeBusyNs: number;
  nodeIdleNs: number;
  lastGrantMilli: number;
  lastYarnGrantMilli: number;
  spawned: number;
  stopped: boolean;
}
