/**
 * From a collection to the rules' `Snapshot` (pure). Only proven containers become candidates;
 * the ones the evictor is working on carry `evicting: true` so no rule picks them again, and the
 * ones whose last eviction failed (`blocked`) are left out until their back-off ends.
 */
import { milliCores } from '../kube/quantity.js';
import { mib, vcores } from '../yarn/resource.js';
import type { CollectedContainer, Collection } from './collector.js';
import type { AgentRulesState, ContainerSnapshot, Snapshot } from './rules/index.js';

export function containerSnapshotOf(c: CollectedContainer, evicting: ReadonlySet<string>): ContainerSnapshot | undefined {
  if (!c.stats || !c.cgroup) return undefined;
  const s: ContainerSnapshot = {
    id: c.nm.id,
    appId: c.nm.appId,
    isAM: c.nm.isAM,
    allocated: { memoryMiB: mib(c.nm.totalMemoryNeededMB ?? 0), vcores: vcores(c.nm.totalVCoresNeeded ?? 0) },
    memoryWorkingSet: c.stats.memoryWorkingSet,
    cpuUsed: c.stats.cpuUsed ?? milliCores(0),
  };
  const et = c.nm.executionType?.toUpperCase();
  if (et === 'GUARANTEED' || et === 'OPPORTUNISTIC') s.executionType = et;
  if (c.firstSeenAt !== undefined) s.startedAt = c.firstSeenAt;
  if (c.stats.psi) s.psi = c.stats.psi;
  if (evicting.has(c.nm.id)) s.evicting = true;
  return s;
}

/** Whether CPU rates are known (a second reading exists): the CPU rules only run then. */
export function ratesKnown(col: Collection): boolean {
  return col.node?.cpuUsed !== undefined && col.yarn?.cpuUsed !== undefined && col.node.cpuCapacity > 0;
}

/** The candidates of a collection: its proven containers, those in back-off (`blocked`) left out. */
export function containerSnapshotsOf(containers: readonly CollectedContainer[], evicting: ReadonlySet<string>, blocked: ReadonlySet<string>): ContainerSnapshot[] {
  const out: ContainerSnapshot[] = [];
  for (const c of containers) {
    if (blocked.has(c.nm.id)) continue;
    const s = containerSnapshotOf(c, evicting);
    if (s) out.push(s);
  }
  return out;
}

/**
 * The rules' snapshot, or undefined when node memory is unknown (nothing can be decided).
 * `candidates`: the collection's containers as {@link containerSnapshotsOf} gives them with the
 * same marks, when the caller has them already (an unchanged container list is not copied again).
 */
export function buildSnapshot(col: Collection, evicting: ReadonlySet<string>, state: AgentRulesState, blocked: ReadonlySet<string> = new Set(), candidates?: readonly ContainerSnapshot[]): Snapshot | undefined {
  if (!col.node) return undefined;
  const containers = candidates ?? containerSnapshotsOf(col.containers, evicting, blocked);
  const node: Snapshot['node'] = {
    memoryTotal: col.node.memoryTotal,
    memoryUsed: col.node.memoryUsed,
    cpuCapacity: col.node.cpuCapacity,
    cpuUsed: col.node.cpuUsed ?? milliCores(0),
  };
  if (col.node.psi) node.psi = col.node.psi;
  const requestedVcores = col.yarn?.requestedVcores ?? col.containers.reduce((a, c) => a + (c.nm.totalVCoresNeeded ?? 0), 0);
  const yarn: Snapshot['yarn'] = {
    cpuUsed: col.yarn?.cpuUsed ?? milliCores(0),
    cpuLimit: col.yarn?.cpuLimit ?? null,
    requestedVcores,
  };
  if (col.yarn?.memoryUsed !== undefined) yarn.memoryUsed = col.yarn.memoryUsed;
  if (col.yarn?.psi) yarn.psi = col.yarn.psi;
  return { node, yarn, containers, state };
}
