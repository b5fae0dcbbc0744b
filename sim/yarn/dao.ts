/**
 * The Hadoop DAOs the simulator serves, as ordered plain objects with exactly the upstream field
 * names (reference §2.1, §2.2, §2.6, §5.1, §5.2). `resourceInformations` is left out on purpose:
 * its sub-field names are unverified and clients must read `memory` / `vCores` only.
 */
import type { ClusterMetrics } from './cluster.js';
import type { Dao, Format } from './render.js';
import { renderItem } from './render.js';
import { EXIT, type Res, type SimContainer, type SimNode, hasSchedulerReport, isInactiveState } from './types.js';

type Obj = { readonly [k: string]: Dao };

export const HADOOP_VERSION = '3.3.6';
const BUILD = `${HADOOP_VERSION} from loom-sim`;
const BUILT_ON = '2023-06-18T08:22Z';

/** Java's Long.MAX_VALUE, the maximumAllocation of a resource type without a configured maximum. */
export const LONG_MAX = 9223372036854775807;

/** The two built-in resource types as `ResourceInformation` (3.x JAXB field order). */
function resourceInformations(r: Res): Obj {
  const info = (name: string, units: string, value: number): Obj => ({
    attributes: {}, maximumAllocation: LONG_MAX, minimumAllocation: 0, name, resourceType: 'COUNTABLE', units, value,
  });
  return { resourceInformation: [info('memory-mb', 'Mi', r.memoryMiB), info('vcores', '', r.vcores)] };
}

/** RM `ResourceInfo`: memory (MB), vCores, and 3.x's per-type `resourceInformations`. */
export function resourceInfo(r: Res): Obj {
  return { memory: r.memoryMiB, vCores: r.vcores, resourceInformations: resourceInformations(r) };
}

/** NM `NodeInfo.resourceTypes` (3.x): `ResourceTypeInfo.toString()` of each type, joined with ", ". */
export const NM_RESOURCE_TYPES = 'name: memory-mb, units: Mi, type: COUNTABLE, name: vcores, units: , type: COUNTABLE';

/** RM `NodeInfo` (3.x field order; 21 keys for a running node). */
export function nodeInfo(node: SimNode): Obj {
  const report = hasSchedulerReport(node.state);
  let oppCount = 0, oppMB = 0, oppV = 0;
  if (report) {
    for (const c of node.allocated.values()) {
      if (c.executionType === 'OPPORTUNISTIC') { oppCount++; oppMB += c.resource.memoryMiB; oppV += c.resource.vcores; }
    }
  }
  const used = report ? node.used : { memoryMiB: 0, vcores: 0 };
  const avail = report ? { memoryMiB: node.total.memoryMiB - node.used.memoryMiB, vcores: node.total.vcores - node.used.vcores } : used;
  return {
    rack: node.rack,
    state: node.state,
    id: node.id,
    nodeHostName: node.host,
    nodeHTTPAddress: isInactiveState(node.state) ? '' : `${node.httpHost}:${node.httpPort}`,
    lastHealthUpdate: node.lastHealthUpdate,
    version: node.version,
    healthReport: node.healthReport,
    numContainers: report ? node.allocated.size : 0,
    usedMemoryMB: used.memoryMiB,
    availMemoryMB: avail.memoryMiB,
    usedVirtualCores: used.vcores,
    availableVirtualCores: avail.vcores,
    numRunningOpportContainers: oppCount,
    // GB, as the NM fills it (ceil of MB / 1024).
    usedMemoryOpportGB: Math.ceil(oppMB / 1024),
    usedVirtualCoresOpport: oppV,
    numQueuedContainers: 0,
    resourceUtilization: {
      nodePhysicalMemoryMB: used.memoryMiB,
      nodeVirtualMemoryMB: Math.round(used.memoryMiB * 2.1),
      nodeCPUUsage: used.vcores,
      aggregatedContainersPhysicalMemoryMB: used.memoryMiB,
      aggregatedContainersVirtualMemoryMB: Math.round(used.memoryMiB * 2.1),
      containersCPUUsage: used.vcores,
    },
    usedResource: report ? resourceInfo(node.used) : undefined,
    availableResource: report ? resourceInfo(avail) : undefined,
    totalResource: resourceInfo(node.total),
  };
}

/** Per-node rendering cache keyed by the node's revision: a list request re-renders only changed nodes. */
export class NodeRenderCache {
  private readonly cache = new Map<string, { rev: number; json?: string; xml?: string; jsonBytes?: Buffer; xmlBytes?: Buffer }>();

  render(node: SimNode, format: Format): string {
    let entry = this.cache.get(node.id);
    if (!entry || entry.rev !== node.rev) {
      entry = { rev: node.rev };
      this.cache.set(node.id, entry);
    }
    const hit = format === 'json' ? entry.json : entry.xml;
    if (hit !== undefined) return hit;
    const text = renderItem(format, 'node', nodeInfo(node));
    if (format === 'json') entry.json = text; else entry.xml = text;
    return text;
  }

  /** {@link render} as UTF-8 bytes, kept as long as the text. */
  renderBytes(node: SimNode, format: Format): Buffer {
    const text = this.render(node, format);
    const entry = this.cache.get(node.id)!;
    const hit = format === 'json' ? entry.jsonBytes : entry.xmlBytes;
    if (hit !== undefined) return hit;
    const bytes = Buffer.from(text, 'utf8');
    if (format === 'json') entry.jsonBytes = bytes; else entry.xmlBytes = bytes;
    return bytes;
  }

  clear(): void {
    this.cache.clear();
  }
}

export interface RmIdentity {
  clusterTimestamp: number;
  haState: string;
  ha: boolean;
}

/** RM `ClusterInfo`. */
export function clusterInfo(rm: RmIdentity): Obj {
  return {
    id: rm.clusterTimestamp,
    startedOn: rm.clusterTimestamp,
    state: 'STARTED',
    haState: rm.haState,
    rmStateStoreName: rm.ha
      ? 'org.apache.hadoop.yarn.server.resourcemanager.recovery.ZKRMStateStore'
      : 'org.apache.hadoop.yarn.server.resourcemanager.recovery.NullRMStateStore',
    resourceManagerVersion: HADOOP_VERSION,
    resourceManagerBuildVersion: BUILD,
    resourceManagerVersionBuiltOn: BUILT_ON,
    hadoopVersion: HADOOP_VERSION,
    hadoopBuildVersion: BUILD,
    hadoopVersionBuiltOn: BUILT_ON,
    haZooKeeperConnectionState: rm.ha ? 'CONNECTED' : 'Could not find leader elector. Verify both HA and automatic failover are enabled.',
  };
}

export function clusterMetrics(m: ClusterMetrics): Obj {
  return { ...m };
}

/** NM `NodeInfo` (`/ws/v1/node/info`): totals follow the RM's current total, as the heartbeat pushes it. */
export function nmNodeInfo(node: SimNode, now: number): Obj {
  return {
    id: node.id,
    nodeHostName: node.host,
    totalPmemAllocatedContainersMB: node.total.memoryMiB,
    totalVmemAllocatedContainersMB: Math.round(node.total.memoryMiB * 2.1),
    totalVCoresAllocatedContainers: node.total.vcores,
    vmemCheckEnabled: false,
    pmemCheckEnabled: true,
    lastNodeUpdateTime: Math.max(node.lastHealthUpdate, now),
    resourceTypes: NM_RESOURCE_TYPES,
    nmStartupTime: node.nmStartupTime,
    healthReport: node.healthReport,
    nodeHealthy: node.state !== 'UNHEALTHY',
    nodeManagerVersion: node.version,
    nodeManagerBuildVersion: BUILD,
    nodeManagerVersionBuiltOn: BUILT_ON,
    hadoopVersion: node.version,
    hadoopBuildVersion: BUILD,
    hadoopVersionBuiltOn: BUILT_ON,
  };
}

/** NM `ContainerInfo`. */
export function containerInfo(c: SimContainer, node: SimNode): Obj {
  const started = c.state !== 'LOCALIZING';
  return {
    id: c.id,
    state: c.state,
    exitCode: c.finishedAt === undefined ? EXIT.INVALID : c.exitCode,
    diagnostics: c.diagnostics,
    user: c.user,
    totalMemoryNeededMB: c.resource.memoryMiB,
    totalVCoresNeeded: c.resource.vcores,
    executionType: c.executionType,
    containerLogsLink: `http://${node.httpHost}:${node.httpPort}/node/containerlogs/${c.id}/${c.user}`,
    nodeId: node.id,
    containerLogFiles: started ? ['prelaunch.err', 'prelaunch.out', 'stderr', 'stdout', 'syslog'] : undefined,
  };
}
