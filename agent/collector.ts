/**
 * The collector: what the agent knows about its node at one instant. The NM says which YARN
 * containers live here; cgroups (through `cgroup/` only) say how much each uses; `/proc` says how
 * full the node is. A container counts as *proven* only when its id is valid, the NM says it is
 * on this very node, and its cgroup directory exists where it must (no symlink escape) and reads
 * cleanly: only proven containers ever reach the rules, so only they can become victims.
 */
import path from 'node:path';
import {
  type CgroupDirs, type ContainerCgroup, type NodeCgroups, type NodeCpuTimes, type Psi,
  CgroupIoError, nodeCpuBusyMilli, parsePsi, readCpuLimit, readCpuUsageNanos, readMemory, readNodeCpuTimes,
  readNodeMemory, readOptionalCgroupFile, readPressure, readStats,
} from '../cgroup/index.js';
import { type Bytes, type MilliCores, milliCores } from '../kube/quantity.js';
import type { Logger } from '../log/logger.js';
import type { NodeManagerClient } from '../yarn/nm-client.js';
import { isLiveContainerState, type NmContainer } from '../yarn/model.js';
import type { PsiSnapshot } from './rules/index.js';
import { OnceLog } from './once-log.js';

export interface ContainerStats {
  memoryWorkingSet: Bytes;
  /** CPU rate since the previous reading; undefined on the first one. */
  cpuUsed?: MilliCores;
  psi?: PsiSnapshot;
}

export interface CollectedContainer {
  nm: NmContainer;
  /** Agent clock when first listed; undefined for containers already there when the agent started. */
  firstSeenAt?: number;
  /** Present when the container is proven (cgroup found and read). */
  cgroup?: ContainerCgroup;
  stats?: ContainerStats;
  /** Why it is not proven (never a victim then). */
  problem?: string;
}

export interface NodeReading {
  memoryTotal: Bytes;
  memoryUsed: Bytes;
  cpuCapacity: MilliCores;
  /** Undefined on the first reading (no /proc/stat delta yet). */
  cpuUsed?: MilliCores;
  psi?: PsiSnapshot;
}

export interface YarnReading {
  cpuUsed?: MilliCores;
  cpuLimit: MilliCores | null;
  requestedVcores: number;
  memoryUsed?: Bytes;
  psi?: PsiSnapshot;
}

export interface Collection {
  /** Agent clock of the reading. */
  at: number;
  nmUp: boolean;
  /** This NM's own NodeId (`host:port`). */
  nodeId?: string;
  nmRestarted: boolean;
  /** Live containers of this node (valid ids), proven or not. */
  containers: CollectedContainer[];
  /** Every container the NM lists for this node, any state (for `GET /v1/container`). */
  nmContainers: NmContainer[];
  /** Undefined when `/proc/meminfo` could not be read: nothing is decided then. */
  node?: NodeReading;
  yarn?: YarnReading;
}

export interface CollectorDeps {
  nm: NodeManagerClient;
  cgroups: NodeCgroups;
  procRoot: string;
  logger: Logger;
}

/** Pure: milli-cores from two cumulative CPU readings (ns) taken `ms` apart; undefined when not computable. */
export function cpuRateMilli(prevNanos: number, prevAt: number, curNanos: number, curAt: number): MilliCores | undefined {
  const dt = curAt - prevAt;
  const dn = curNanos - prevNanos;
  if (!(dt > 0) || dn < 0) return undefined;
  return milliCores(Math.round(dn / dt / 1000));
}

/** Pure: PSI avg10 values as the rules see them. */
export function psiSnapshotOf(p: { memory?: Psi; cpu?: Psi }): PsiSnapshot | undefined {
  const out: PsiSnapshot = {};
  for (const r of ['memory', 'cpu'] as const) {
    const v = p[r];
    if (!v) continue;
    out[r] = v.full ? { some: v.some.avg10, full: v.full.avg10 } : { some: v.some.avg10 };
  }
  return out.memory || out.cpu ? out : undefined;
}

export interface NmFilterResult {
  /** This node's containers, any state. */
  mine: NmContainer[];
  /** Containers the NM listed with another node's id. */
  foreign: NmContainer[];
}

/**
 * Pure: keep the containers of this NM's own node. An entry naming another node is dropped (an
 * NM proxying or confused must not make us kill here); an entry without `nodeId` is kept (old NMs).
 */
export function containersOfNode(list: readonly NmContainer[], nodeId: string): NmFilterResult {
  const mine: NmContainer[] = [];
  const foreign: NmContainer[] = [];
  for (const c of list) (c.nodeId === undefined || c.nodeId === nodeId ? mine : foreign).push(c);
  return { mine, foreign };
}

/** Collections between two proofs of a live container's cgroup directories (see Collector.cgroupCache). */
export const REVALIDATE_EVERY = 10;

export class Collector {
  private readonly once: OnceLog;
  private readonly firstSeen = new Map<string, number | undefined>();
  private readonly cpuPrev = new Map<string, { nanos: number; at: number }>();
  /**
   * Validated cgroup directories of live containers. Resolving proves every directory with
   * lstat + realpath + stat (≈ 40 µs a container on a fake tree, a third of a 200-container tick),
   * so a proof is reused for {@link REVALIDATE_EVERY} collections and dropped at once when a read
   * through it fails. Kills never use it: cgroup/kill.ts resolves and proves again.
   */
  private readonly cgroupCache = new Map<string, { cg: ContainerCgroup; at: number }>();
  private yarnCpuPrev: { nanos: number; at: number } | undefined;
  private nodeCpuPrev: NodeCpuTimes | undefined;
  private nodeId: string | undefined;
  private last: Collection | undefined;
  private nmDownSince: number | undefined;
  private collections = 0;

  constructor(private readonly deps: CollectorDeps) {
    this.once = new OnceLog(deps.logger);
  }

  get latest(): Collection | undefined {
    return this.last;
  }

  async collect(now: number): Promise<Collection> {
    const { nm, logger } = this.deps;
    const [info, list] = await Promise.allSettled([nm.nodeInfo(), nm.listContainers()]);
    let nmUp = list.status === 'fulfilled';
    let nmRestarted = false;
    if (info.status === 'fulfilled') {
      const id = info.value.info.id;
      if (id !== undefined && id !== this.nodeId) {
        if (this.nodeId !== undefined) logger.warn({ previous: this.nodeId, nodeId: id }, 'NodeManager node id changed');
        this.nodeId = id;
      }
      if (info.value.restarted) {
        nmRestarted = true;
        logger.info({ previousStartupTime: info.value.previousStartupTime, nmStartupTime: info.value.info.nmStartupTime }, 'NodeManager restarted (nmStartupTime changed); containers are re-read from its list');
      }
    }
    if (nmUp && this.nodeId === undefined) {
      nmUp = false;
      const why = info.status === 'rejected' ? (info.reason as Error).message : 'node info has no "id"';
      this.once.report('nm:no-id', 'warn', { url: nm.url, err: why }, "cannot learn this NodeManager's node id: its containers cannot be attributed to this node, treating the NM as down");
    } else {
      this.once.clear('nm:no-id');
    }

    let live: NmContainer[];
    let nmContainers: NmContainer[];
    if (nmUp && list.status === 'fulfilled') {
      if (this.nmDownSince !== undefined) {
        this.once.clear('nm:down', { fields: { url: nm.url, downForMs: now - this.nmDownSince }, message: 'NodeManager reachable again' });
        this.nmDownSince = undefined;
      }
      for (const r of list.value.rejected) {
        this.once.report(`nm-rejected:${r.id ?? r.index}`, 'warn', { url: nm.url, index: r.index, id: r.id, reason: r.reason }, 'NodeManager listed a container entry Loom refuses (invalid id or fields): never measured, never evicted');
      }
      this.once.prune('nm-rejected:', (k) => list.value.rejected.some((r) => `nm-rejected:${r.id ?? r.index}` === k));
      const { mine, foreign } = containersOfNode(list.value.containers, this.nodeId!);
      for (const c of foreign) {
        this.once.report(`foreign:${c.id}`, 'warn', { container: c.id, containerNodeId: c.nodeId, nodeId: this.nodeId }, 'NodeManager listed a container of another node: ignored, never evicted here');
      }
      this.once.prune('foreign:', (k) => foreign.some((c) => `foreign:${c.id}` === k));
      nmContainers = mine;
      live = mine.filter((c) => isLiveContainerState(c.state));
    } else {
      const err = list.status === 'rejected' ? (list.reason as Error).message : undefined;
      if (this.nmDownSince === undefined) this.nmDownSince = now;
      const kept = this.last?.containers.map((c) => c.nm) ?? [];
      if (err !== undefined) {
        this.once.report('nm:down', 'warn', { url: nm.url, err, lastKnownContainers: kept.length }, 'NodeManager unreachable: node memory protection continues with the last known containers whose cgroups still prove them');
      }
      live = kept;
      nmContainers = this.last?.nmContainers ?? [];
    }

    const containers = live.map((c) => this.collectContainer(c, now, nmUp));
    const liveIds = new Set(live.map((c) => c.id));
    if (nmUp) {
      for (const id of [...this.firstSeen.keys()]) if (!liveIds.has(id)) this.firstSeen.delete(id);
    }
    // An NM that is down cannot say a container left; a vanished cgroup can: drop those.
    const present = nmUp ? containers : containers.filter((c) => c.problem === undefined);
    const presentIds = new Set(present.map((c) => c.nm.id));
    for (const id of [...this.cpuPrev.keys()]) if (!presentIds.has(id)) this.cpuPrev.delete(id);
    for (const id of [...this.cgroupCache.keys()]) if (!presentIds.has(id)) this.cgroupCache.delete(id);
    this.once.prune('cg:', (k) => presentIds.has(k.slice(3)));

    const col: Collection = {
      at: now,
      nmUp,
      nmRestarted,
      containers: present,
      nmContainers,
    };
    if (this.nodeId !== undefined) col.nodeId = this.nodeId;
    const node = this.readNode();
    if (node) col.node = node;
    const yarn = this.readYarn(now, live);
    if (yarn) col.yarn = yarn;
    this.collections++;
    this.last = col;
    return col;
  }

  /**
   * The fast path: fresh node memory plus the working sets of the proven containers (one
   * `memory.usage`/`memory.stat` pair each), on top of the latest collection. A container whose
   * cgroup vanished meanwhile is dropped (it exited). Undefined before the first collection.
   */
  refreshMemory(now: number): Collection | undefined {
    const last = this.last;
    if (!last) return undefined;
    const node = this.readNodeMemoryOnly(last.node);
    const containers: CollectedContainer[] = [];
    for (const c of last.containers) {
      if (!c.cgroup || !c.stats) {
        containers.push(c);
        continue;
      }
      try {
        const m = readMemory(c.cgroup);
        containers.push({ ...c, stats: { ...c.stats, memoryWorkingSet: m.workingSet } });
      } catch (err) {
        if (err instanceof CgroupIoError && err.gone) continue; // exited between two reads
        containers.push({ nm: c.nm, ...(c.firstSeenAt !== undefined ? { firstSeenAt: c.firstSeenAt } : {}), problem: (err as Error).message });
      }
    }
    const col: Collection = { ...last, at: now, containers };
    if (node) col.node = node;
    this.last = col;
    return col;
  }

  private collectContainer(nm: NmContainer, now: number, nmUp: boolean): CollectedContainer {
    if (!this.firstSeen.has(nm.id)) this.firstSeen.set(nm.id, this.collections === 0 || !nmUp ? undefined : now);
    const firstSeenAt = this.firstSeen.get(nm.id);
    const base: CollectedContainer = { nm, ...(firstSeenAt !== undefined ? { firstSeenAt } : {}) };
    const key = `cg:${nm.id}`;
    const cached = this.cgroupCache.get(nm.id);
    if (cached && this.collections - cached.at < REVALIDATE_EVERY) {
      const stats = this.measure(cached.cg, nm.id, now);
      if (typeof stats !== 'string') return this.proven(base, key, cached.cg, stats);
      this.cgroupCache.delete(nm.id); // the read failed: prove the directories again, now
    }
    let cg: ContainerCgroup;
    try {
      cg = this.deps.cgroups.container(nm.id);
    } catch (err) {
      return this.unproven(base, key, `cgroup refused: ${(err as Error).message}`);
    }
    if (cg.all.length === 0) return this.unproven(base, key, 'no cgroup directory under the YARN hierarchy (not created yet, already gone, or wrong --yarn-cgroup-path)');
    const stats = this.measure(cg, nm.id, now);
    if (typeof stats === 'string') return this.unproven(base, key, `cgroup unreadable: ${stats}`);
    this.cgroupCache.set(nm.id, { cg, at: this.collections });
    return this.proven(base, key, cg, stats);
  }

  /** One container's stats through proven directories, or why they could not be read. */
  private measure(cg: ContainerCgroup, id: string, now: number): ContainerStats | string {
    try {
      const s = readStats(cg);
      const stats: ContainerStats = { memoryWorkingSet: s.memory.workingSet };
      const prev = this.cpuPrev.get(id);
      this.cpuPrev.set(id, { nanos: s.cpuUsageNanos, at: now });
      const rate = prev ? cpuRateMilli(prev.nanos, prev.at, s.cpuUsageNanos, now) : undefined;
      if (rate !== undefined) stats.cpuUsed = rate;
      const psi = psiSnapshotOf(s.pressure);
      if (psi) stats.psi = psi;
      return stats;
    } catch (err) {
      return (err as Error).message;
    }
  }

  private proven(base: CollectedContainer, key: string, cg: ContainerCgroup, stats: ContainerStats): CollectedContainer {
    this.once.clear(key, { fields: { container: base.nm.id, cgroup: cg.cgroupPath }, message: 'container cgroup proven again' });
    return { ...base, cgroup: cg, stats };
  }

  private unproven(base: CollectedContainer, key: string, problem: string): CollectedContainer {
    this.once.report(key, 'warn', { container: base.nm.id, problem }, 'YARN container cannot be proven from its cgroup: not measured, never evicted');
    return { ...base, problem };
  }

  private readNodeMemoryOnly(prev: NodeReading | undefined): NodeReading | undefined {
    const procRoot = this.deps.procRoot;
    try {
      const m = readNodeMemory(procRoot);
      this.once.clear('proc:meminfo');
      return { ...(prev ?? { cpuCapacity: milliCores(0) }), memoryTotal: m.total, memoryUsed: m.used };
    } catch (err) {
      this.once.report('proc:meminfo', 'error', { file: path.join(procRoot, 'meminfo'), err: (err as Error).message }, 'cannot read node memory: no memory decisions until it reads cleanly');
      return undefined;
    }
  }

  private readNode(): NodeReading | undefined {
    const mem = this.readNodeMemoryOnly(undefined);
    if (!mem) return undefined;
    const procRoot = this.deps.procRoot;
    const node: NodeReading = { memoryTotal: mem.memoryTotal, memoryUsed: mem.memoryUsed, cpuCapacity: milliCores(0) };
    try {
      const cur = readNodeCpuTimes(procRoot);
      node.cpuCapacity = milliCores(cur.cpus * 1000);
      const prev = this.nodeCpuPrev;
      this.nodeCpuPrev = cur;
      const used = prev ? nodeCpuBusyMilli(prev, cur) : undefined;
      if (used !== undefined) node.cpuUsed = used;
      this.once.clear('proc:stat');
    } catch (err) {
      this.nodeCpuPrev = undefined;
      this.once.report('proc:stat', 'error', { file: path.join(procRoot, 'stat'), err: (err as Error).message }, 'cannot read node CPU: no CPU decisions until it reads cleanly');
    }
    const psi: { memory?: Psi; cpu?: Psi } = {};
    for (const r of ['memory', 'cpu'] as const) {
      const file = path.join(procRoot, 'pressure', r);
      try {
        const text = readOptionalCgroupFile(file);
        if (text !== undefined) psi[r] = parsePsi(text, file);
      } catch (err) {
        this.once.report(`proc:psi:${r}`, 'warn', { file, err: (err as Error).message }, 'node PSI unreadable: ignored');
      }
    }
    const p = psiSnapshotOf(psi);
    if (p) node.psi = p;
    return node;
  }

  private readYarn(now: number, live: readonly NmContainer[]): YarnReading | undefined {
    const requestedVcores = live.reduce((s, c) => s + (c.totalVCoresNeeded ?? 0), 0);
    let parent: CgroupDirs;
    try {
      parent = this.deps.cgroups.yarnParent();
    } catch (err) {
      this.once.report('yarn:parent', 'error', { err: (err as Error).message }, 'YARN parent cgroup refused: no CPU suppression');
      return undefined;
    }
    if (parent.all.length === 0) {
      this.once.report('yarn:parent', 'warn', { cgroupPath: parent.cgroupPath, hint: this.deps.cgroups.describe().hint }, 'YARN parent cgroup not found: no CPU suppression until it exists');
      return undefined;
    }
    try {
      const nanos = readCpuUsageNanos(parent);
      const limit = parent.cpu ? readCpuLimit(parent).milliCores : null;
      const y: YarnReading = { cpuLimit: limit, requestedVcores };
      const prev = this.yarnCpuPrev;
      this.yarnCpuPrev = { nanos, at: now };
      const rate = prev ? cpuRateMilli(prev.nanos, prev.at, nanos, now) : undefined;
      if (rate !== undefined) y.cpuUsed = rate;
      if (parent.memory) y.memoryUsed = readMemory(parent).workingSet;
      const psi = psiSnapshotOf(readPressure(parent));
      if (psi) y.psi = psi;
      this.once.clear('yarn:parent', { fields: { cgroupPath: parent.cgroupPath }, message: 'YARN parent cgroup readable' });
      return y;
    } catch (err) {
      this.yarnCpuPrev = undefined;
      this.once.report('yarn:parent', 'error', { cgroupPath: parent.cgroupPath, err: (err as Error).message }, 'YARN parent cgroup unreadable: no CPU suppression until it reads cleanly');
      return undefined;
    }
  }
}

