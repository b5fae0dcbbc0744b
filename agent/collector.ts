/**
 * The collector: what the agent knows about its node at one instant. The NM says which YARN
 * containers live here; cgroups (through `cgroup/` only) say how much each uses; `/proc` says how
 * full the node is. A container counts as *proven* only when its id is valid, the NM says it is
 * on this very node, and its cgroup directory exists where it must (no symlink escape) and reads
 * cleanly: only proven containers ever reach the rules, so only they can become victims.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  type CgroupDirs, type ContainerCgroup, type FileReader, type NodeCgroups, type NodeCpuTimes, type Psi,
  CgroupIoError, CgroupPathError, HeldFiles, nodeCpuBusyMilli, parseMeminfo, parseProcStat, parsePsi, readCpuLimit,
  readCpuUsageNanos, readMemory, readPressure,
} from '../cgroup/index.js';
import { type Bytes, type MilliCores, milliCores } from '../kube/quantity.js';
import type { Logger } from '../log/logger.js';
import type { NodeManagerClient } from '../yarn/nm-client.js';
import type { NmContainerSummary } from '../yarn/nm-containers.js';
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
  /** The containers the NM lists for this node, any state, at most `maxContainers` (for the copilot API). */
  nmContainers: NmContainer[];
  /** What the last NM answer held besides this node's containers (counts; for metrics). */
  nmEntries: NmEntryCounts;
  /** Undefined when `/proc/meminfo` could not be read: nothing is decided then. */
  node?: NodeReading;
  yarn?: YarnReading;
}

/** Entries of the NM answer not considered, by why. */
export interface NmEntryCounts {
  total: number;
  rejected: number;
  foreign: number;
  overCap: number;
}

export interface CollectorDeps {
  nm: NodeManagerClient;
  cgroups: NodeCgroups;
  procRoot: string;
  logger: Logger;
  /** Most containers of this node considered per collection (default {@link DEFAULT_MAX_CONTAINERS}). */
  maxContainers?: number;
  /** A directory the collector refused to use (CgroupPathError kind), when first reported: for a metric. */
  onRefusal?: (kind: string) => void;
  /**
   * Every how many collections a proven container's files are read, given the node reading of
   * this collection (default 1: every one). The agent answers more than 1 only while no rule
   * needs fresh container figures (node memory far under the threshold, CPU eviction off).
   */
  containerReadEvery?: (node: NodeReading | undefined) => number;
  /**
   * Every how many collections the NodeManager is asked, given this collection's node reading
   * (default 1: every one). More than 1 is honoured only while its last two answers were the
   * same and the YARN parent cgroup holds the same container directories as at the last answer:
   * the number of directories it holds changing (a container directory appearing or going) makes
   * the next collection ask at once.
   */
  nmListEvery?: (node: NodeReading | undefined) => number;
}

/** Containers considered per collection by default: far above a real node's few hundred. */
export const DEFAULT_MAX_CONTAINERS = 1000;
/** Containers proven and measured between two yields to the event loop (the fast watch and /healthz run in between). */
const YIELD_EVERY = 16;
/** Samples of refused / foreign entries logged one by one; the rest are counted. */
const LOGGED_SAMPLES = 5;
/** New unproven containers logged one by one per collection; the rest are counted in one line. */
const LOGGED_UNPROVEN = 20;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

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

/**
 * Collections between two proofs of a live container's cgroup directories (see Collector.cgroupCache).
 * Its files are read through descriptors held since the proof, so a symlink or mount put over the
 * path later cannot redirect the reads; a kill proves afresh whatever this says; a stale proof can
 * only cost one crossing (the kill refuses, the plan drops the container, the next victim goes).
 * So the period only bounds how late a path made hostile is reported: 300 (5 minutes at the 1 s
 * tick; was 120, when re-proofs were ≈ 18 % of an idle agent's CPU at 200 containers).
 */
export const REVALIDATE_EVERY = 300;
/** Files of one container read through held descriptors: memory usage and stat, CPU usage, memory and CPU PSI. */
export const HELD_FILES_PER_CONTAINER = 5;
/** Held files besides the containers': the YARN parent's (≤ 8) and the node's (meminfo, stat, 2 PSI). */
const HELD_FILES_OTHER = 16;

/** A proof kept between collections, with the files read through it (held open, see HeldFiles). */
interface ProvenEntry {
  cg: ContainerCgroup;
  at: number;
  files: Set<string>;
  read: FileReader;
}
/**
 * Collections between two reads of a container's PSI files (3 of its 6 reads). PSI's `avg10` is
 * already a 10-second average: read each second it mostly repeats itself, and no rule uses a
 * container's PSI (only /metrics does). Staggered by position so the reads spread over the ticks.
 */
export const CONTAINER_PSI_EVERY = 10;

/** What a collection and the last container pass saw: the NodeManager's answer, the YARN parent's directory count, proofs dropped so far. */
export interface PassMarks {
  summary: NmContainerSummary | undefined;
  dirs: number | undefined;
  forgets: number;
}

/**
 * Pure: whether a collection reuses the last one's containers as they are — nothing to change in
 * them: far under every threshold (`readEvery` > 1) between two container passes, the NodeManager
 * up and not restarted with the same answer as at the pass (the same object: an unchanged body is
 * not decoded again), the same number of container directories under the YARN parent, no proof
 * dropped since the pass began (a kill or write refused, also while the pass yielded) and every
 * container proven. Then no container is proven, read or even copied: an idle node's tick is the
 * node's and the YARN parent's readings. An unproven container is tried again every collection;
 * one directory appearing as another goes within a tick waits for the next regular NodeManager
 * ask, which then answers differently.
 */
export function reusesContainers(s: { last: Pick<Collection, 'nmUp' | 'containers'>; nmRestarted: boolean; readEvery: number; collection: number; now: PassMarks; pass: PassMarks }): boolean {
  if (!s.now.summary || s.nmRestarted || !s.last.nmUp || s.now.summary !== s.pass.summary) return false;
  if (s.now.dirs === undefined || s.now.dirs !== s.pass.dirs || s.now.forgets !== s.pass.forgets) return false;
  if (s.readEvery <= 1 || s.collection % s.readEvery === 0) return false;
  return s.last.containers.every((c) => c.problem === undefined);
}

export class Collector {
  private readonly once: OnceLog;
  private readonly firstSeen = new Map<string, number | undefined>();
  private readonly cpuPrev = new Map<string, { nanos: number; at: number }>();
  /** The last stats read of each container (reused on collections that do not read it). */
  private readonly statsPrev = new Map<string, ContainerStats>();
  /** Every how many collections this one reads a proven container's files. */
  private readEvery = 1;
  /** The last PSI read of each container (read every CONTAINER_PSI_EVERY collections). */
  private readonly psiPrev = new Map<string, PsiSnapshot | undefined>();
  /**
   * Proven cgroup directories of live containers. Proving opens each directory and checks its
   * kernel path and mount (≈ 30 µs a directory, ~4 ms a tick at 200 containers every tick), so a proof is reused for up to
   * {@link REVALIDATE_EVERY} collections (first proofs are staggered so re-proofs spread over the
   * ticks) and dropped at once when a read through it fails or a kill refuses it. Kills never
   * rely on it: cgroup/kill.ts proves again.
   */
  private readonly cgroupCache = new Map<string, ProvenEntry>();
  /** Descriptors of the files read each tick, kept open while their proof holds (cgroup/held-files.ts). */
  readonly files: HeldFiles;
  /** The YARN parent's directories and files, proven at most REVALIDATE_EVERY collections ago. */
  private parentCache: { dirs: CgroupDirs; at: number; files: Set<string>; read: FileReader } | undefined;
  private yarnCpuPrev: { nanos: number; at: number } | undefined;
  private nodeCpuPrev: NodeCpuTimes | undefined;
  private nodeId: string | undefined;
  private last: Collection | undefined;
  private nmDownSince: number | undefined;
  private collections = 0;
  private readonly maxContainers: number;
  /** Unproven containers this collection, and how many of them were newly logged (bounded per tick). */
  private unprovenNow = 0;
  private unprovenLogged = 0;
  /** The last NodeManager answer, the collection it came in and whether it repeated the one before. */
  private listed: { summary: NmContainerSummary; at: number; steady: boolean; dirs: number | undefined } | undefined;
  /** The NodeManager answer and the container directories of the last container pass, and this collection's directories (see unchangedContainers). */
  private lastSummary: NmContainerSummary | undefined;
  private lastPassDirs: number | undefined;
  private dirsNow: number | undefined;
  /** Proofs dropped so far, and as the last pass ended: one dropped since (a refusal, even during the pass's yields) ends the reuse. */
  private forgets = 0;
  private forgetsAtPass = -1;
  /** Collections that asked the NodeManager (tests, metrics). */
  nmAsked = 0;

  constructor(private readonly deps: CollectorDeps) {
    this.once = new OnceLog(deps.logger);
    this.maxContainers = deps.maxContainers ?? DEFAULT_MAX_CONTAINERS;
    this.files = new HeldFiles(this.maxContainers * HELD_FILES_PER_CONTAINER + HELD_FILES_OTHER);
  }

  /** A reader through the held descriptors that remembers which files it read (released together). */
  private tracked(files: Set<string>): FileReader {
    return (file) => {
      files.add(file);
      return this.files.readFile(file);
    };
  }

  /** Drop a container's proof and close the files read through it. */
  private forget(containerId: string): void {
    const e = this.cgroupCache.get(containerId);
    if (!e) return;
    this.forgets++;
    this.cgroupCache.delete(containerId);
    this.statsPrev.delete(containerId);
    this.files.release(e.files);
  }

  /** Close every held descriptor (the agent stops). */
  close(): void {
    this.cgroupCache.clear();
    this.parentCache = undefined;
    this.files.closeAll();
  }

  get latest(): Collection | undefined {
    return this.last;
  }

  /**
   * A kill or write found this container's directories not to be what they were proven to be:
   * drop the proof now, so it is no candidate for any rule until a fresh proof succeeds.
   */
  invalidate(containerId: string, problem: string): void {
    this.forget(containerId);
    const last = this.last;
    if (!last) return;
    let changed = false;
    const containers = last.containers.map((c) => {
      if (c.nm.id !== containerId || c.problem !== undefined) return c;
      changed = true;
      return { nm: c.nm, ...(c.firstSeenAt !== undefined ? { firstSeenAt: c.firstSeenAt } : {}), problem: `cgroup refused: ${problem}` };
    });
    if (!changed) return;
    this.last = { ...last, containers };
    this.once.report(`cg:${containerId}`, 'warn', { container: containerId, problem }, 'YARN container cannot be proven from its cgroup: not measured, never evicted');
  }

  /** Every container's proof is void (the YARN parent failed its proof): none is a candidate until proven again. */
  invalidateAll(problem: string): void {
    this.dropParent();
    for (const c of this.last?.containers ?? []) this.invalidate(c.nm.id, problem);
  }

  /**
   * How many directories the YARN parent holds (its link count less two: a kernfs, tmpfs or ext4
   * directory counts one link per subdirectory), as a hint that the NodeManager's list changed:
   * a container directory appearing or going changes it (one appearing as another goes, within
   * one tick, waits for the next regular ask: `nmListEvery`). One `stat` by path, trusted for nothing
   * else (listing the directory costs a kernfs readdir of every container and control file, which
   * was an idle tick's largest single cost). Undefined when unreadable.
   */
  private containerDirs(): number | undefined {
    const dir = this.parentCache?.dirs.all[0]?.dir;
    if (dir === undefined) return undefined;
    try {
      return fs.statSync(dir).nlink - 2;
    } catch {
      return undefined;
    }
  }

  /** Whether this collection may reuse the last NodeManager answer instead of asking (see `nmListEvery`). */
  private mayReuseList(node: NodeReading | undefined): { reuse: boolean; dirs: number | undefined } {
    const every = Math.max(1, Math.floor(this.deps.nmListEvery?.(node) ?? 1));
    const l = this.listed;
    if (every <= 1 || !l || !l.steady || l.dirs === undefined || this.collections - l.at >= every) return { reuse: false, dirs: every > 1 ? this.containerDirs() : undefined };
    const dirs = this.containerDirs();
    return { reuse: dirs !== undefined && dirs === l.dirs, dirs };
  }

  async collect(now: number): Promise<Collection> {
    const { nm, logger } = this.deps;
    // Node first: whether the containers' files are read, and whether the NodeManager is asked, depends on how full it is.
    const node = this.readNode();
    const listing = this.mayReuseList(node);
    this.dirsNow = listing.dirs;
    if (listing.reuse && this.listed) return this.collectFrom(now, node, this.listed.summary, false, true);
    let nmRestarted = false;
    let infoError: string | undefined;
    try {
      const info = await nm.nodeInfo();
      const id = info.info.id;
      if (id !== undefined && id !== this.nodeId) {
        if (this.nodeId !== undefined) logger.warn({ previous: this.nodeId, nodeId: id }, 'NodeManager node id changed');
        this.nodeId = id;
      }
      if (id === undefined) infoError = 'node info has no "id"';
      if (info.restarted) {
        nmRestarted = true;
        logger.info({ previousStartupTime: info.previousStartupTime, nmStartupTime: info.info.nmStartupTime }, 'NodeManager restarted (nmStartupTime changed); containers are re-read from its list');
      }
    } catch (err) {
      infoError = (err as Error).message;
    }

    let summary: NmContainerSummary | undefined;
    let listError: string | undefined;
    if (this.nodeId === undefined) {
      this.once.report('nm:no-id', 'warn', { url: nm.url, err: infoError }, "cannot learn this NodeManager's node id: its containers cannot be attributed to this node, treating the NM as down");
    } else {
      this.once.clear('nm:no-id');
      try {
        summary = await nm.listNodeContainers({ nodeId: this.nodeId, max: this.maxContainers, samples: LOGGED_SAMPLES });
      } catch (err) {
        listError = (err as Error).message;
      }
    }
    if (summary) {
      this.nmAsked++;
      this.listed = { summary, at: this.collections, steady: this.listed?.summary === summary, dirs: listing.dirs };
    } else {
      this.listed = undefined;
    }
    return this.collectFrom(now, node, summary, nmRestarted, false, listError);
  }

  /** The collection from a NodeManager answer (undefined: down) — fresh, or the last one reused (`reused`). */
  private async collectFrom(now: number, node: NodeReading | undefined, summary: NmContainerSummary | undefined, nmRestarted: boolean, reused: boolean, listError?: string): Promise<Collection> {
    const { nm } = this.deps;
    const nmUp = summary !== undefined;

    let live: NmContainer[];
    let nmContainers: NmContainer[];
    let nmEntries: NmEntryCounts;
    if (summary) {
      if (this.nmDownSince !== undefined) {
        this.once.clear('nm:down', { fields: { url: nm.url, downForMs: now - this.nmDownSince }, message: 'NodeManager reachable again' });
        this.nmDownSince = undefined;
      }
      if (!reused) this.reportLeftOut(summary);
      nmContainers = summary.containers;
      live = nmContainers.filter((c) => isLiveContainerState(c.state));
      nmEntries = { total: summary.total, rejected: summary.rejected.count, foreign: summary.foreign.count, overCap: summary.overflow };
    } else {
      if (this.nmDownSince === undefined) this.nmDownSince = now;
      const kept = this.last?.containers.map((c) => c.nm) ?? [];
      if (listError !== undefined) {
        this.once.report('nm:down', 'warn', { url: nm.url, err: listError, lastKnownContainers: kept.length }, 'NodeManager unreachable: node memory protection continues with the last known containers whose cgroups still prove them');
      }
      live = kept;
      nmContainers = this.last?.nmContainers ?? [];
      nmEntries = this.last?.nmEntries ?? { total: 0, rejected: 0, foreign: 0, overCap: 0 };
    }

    this.readEvery = Math.max(1, Math.floor(this.deps.containerReadEvery?.(node) ?? 1));
    const same = this.unchangedContainers(summary, nmRestarted);
    if (same) return this.finish(now, node, summary !== undefined, nmRestarted, same, nmContainers, nmEntries, live);
    this.lastSummary = summary;
    this.lastPassDirs = this.dirsNow;
    // Counted from the pass's start: a proof dropped during it (its yields included) ends the reuse.
    this.forgetsAtPass = this.forgets;
    const containers: CollectedContainer[] = [];
    this.unprovenNow = 0;
    this.unprovenLogged = 0;
    for (let i = 0; i < live.length; i++) {
      containers.push(this.collectContainer(live[i]!, now, nmUp, i));
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
    }
    const liveIds = new Set(live.map((c) => c.id));
    if (nmUp) {
      for (const id of [...this.firstSeen.keys()]) if (!liveIds.has(id)) this.firstSeen.delete(id);
    }
    // An NM that is down cannot say a container left; a vanished cgroup can: drop those.
    const present = nmUp ? containers : containers.filter((c) => c.problem === undefined);
    const presentIds = new Set(present.map((c) => c.nm.id));
    for (const id of [...this.cpuPrev.keys()]) if (!presentIds.has(id)) this.cpuPrev.delete(id);
    for (const id of [...this.psiPrev.keys()]) if (!presentIds.has(id)) this.psiPrev.delete(id);
    for (const id of [...this.statsPrev.keys()]) if (!presentIds.has(id)) this.statsPrev.delete(id);
    for (const id of [...this.cgroupCache.keys()]) if (!presentIds.has(id)) this.forget(id);
    this.once.prune('cg:', (k) => presentIds.has(k.slice(3)));
    this.once.prune('unknown:', (k) => presentIds.has(k.slice(8)));

    const unlogged = present.filter((c) => c.problem !== undefined && !this.once.has(`cg:${c.nm.id}`)).length;
    if (unlogged > 0) {
      this.once.report('cg-more', 'warn', { unproven: this.unprovenNow, notLogged: unlogged }, 'more YARN containers cannot be proven than are logged one by one (at most 20 new ones a tick)', `n:${this.unprovenNow}`);
    } else {
      this.once.clear('cg-more');
    }
    return this.finish(now, node, nmUp, nmRestarted, present, nmContainers, nmEntries, live);
  }

  /** The last collection's containers, as they are, when {@link reusesContainers} allows it. */
  private unchangedContainers(summary: NmContainerSummary | undefined, nmRestarted: boolean): CollectedContainer[] | undefined {
    const last = this.last;
    if (!last) return undefined;
    const reuse = reusesContainers({
      last, nmRestarted, readEvery: this.readEvery, collection: this.collections,
      now: { summary, dirs: this.dirsNow, forgets: this.forgets },
      pass: { summary: this.lastSummary, dirs: this.lastPassDirs, forgets: this.forgetsAtPass },
    });
    return reuse ? last.containers : undefined;
  }

  /** The collection: the node's and the YARN parent's readings are fresh in every one. */
  private finish(now: number, node: NodeReading | undefined, nmUp: boolean, nmRestarted: boolean, containers: CollectedContainer[], nmContainers: NmContainer[], nmEntries: NmEntryCounts, live: readonly NmContainer[]): Collection {
    const col: Collection = { at: now, nmUp, nmRestarted, containers, nmContainers, nmEntries };
    if (this.nodeId !== undefined) col.nodeId = this.nodeId;
    if (node) col.node = node;
    const yarn = this.readYarn(now, live);
    if (yarn) col.yarn = yarn;
    if (this.files.unheldReads > 0) {
      this.once.report('files:cap', 'warn', { held: this.files.size, cap: this.files.cap }, 'more cgroup files to read than may be kept open (--max-containers × 5 + 16): the rest are opened and closed on each read (slower, still correct)');
    }
    this.collections++;
    this.last = col;
    return col;
  }

  /** One line per sample of what the NM answer held but Loom leaves out, once each, and one summary line per kind. */
  private reportLeftOut(s: NmContainerSummary): void {
    const url = this.deps.nm.url;
    const rejectedKeys = new Set<string>();
    for (const r of s.rejected.samples) {
      const key = `nm-rejected:${r.id ?? r.index}`;
      rejectedKeys.add(key);
      this.once.report(key, 'warn', { url, index: r.index, id: r.id, reason: r.reason }, 'NodeManager listed a container entry Loom refuses (invalid id or fields): never measured, never evicted');
    }
    this.once.prune('nm-rejected:', (k) => rejectedKeys.has(k));
    const foreignKeys = new Set<string>();
    for (const f of s.foreign.samples) {
      const key = `foreign:${f.id}`;
      foreignKeys.add(key);
      this.once.report(key, 'warn', { container: f.id, containerNodeId: f.nodeId, nodeId: this.nodeId }, 'NodeManager listed a container of another node: ignored, never evicted here');
    }
    this.once.prune('foreign:', (k) => foreignKeys.has(k));
    const more = (kind: string, count: number, shown: number, message: string): void => {
      if (count > shown) this.once.report(`nm-more:${kind}`, 'warn', { url, count, logged: shown }, message, `${kind}:${count}`);
      else this.once.clear(`nm-more:${kind}`);
    };
    more('rejected', s.rejected.count, s.rejected.samples.length, 'NodeManager listed more container entries Loom refuses than are logged one by one');
    more('foreign', s.foreign.count, s.foreign.samples.length, 'NodeManager listed more containers of other nodes than are logged one by one');
    if (s.overflow > 0) {
      this.once.report('nm:over-cap', 'warn', { url, overCap: s.overflow, maxContainers: this.maxContainers }, 'NodeManager lists more containers of this node than --max-containers: the rest are not measured and never evicted', `over:${s.overflow}`);
    } else {
      this.once.clear('nm:over-cap', { fields: { url }, message: 'NodeManager container list back under --max-containers' });
    }
    for (const c of s.containers) {
      if (c.unknownFields) this.once.report(`unknown:${c.id}`, 'warn', { container: c.id, fields: c.unknownFields }, 'NodeManager entry has unparseable optional fields: kept, with those fields unknown');
    }
  }

  private collectContainer(nm: NmContainer, now: number, nmUp: boolean, index: number): CollectedContainer {
    if (!this.firstSeen.has(nm.id)) this.firstSeen.set(nm.id, this.collections === 0 || !nmUp ? undefined : now);
    const firstSeenAt = this.firstSeen.get(nm.id);
    const base: CollectedContainer = { nm, ...(firstSeenAt !== undefined ? { firstSeenAt } : {}) };
    const key = `cg:${nm.id}`;
    let cached = this.cgroupCache.get(nm.id);
    if (cached && this.collections - cached.at < REVALIDATE_EVERY) {
      // Far from every threshold, containers are read together once in `readEvery` collections:
      // the collections between reuse them whole (see unchangedContainers).
      const prev = this.statsPrev.get(nm.id);
      if (prev && this.readEvery > 1 && this.collections % this.readEvery !== 0) return this.proven(base, key, cached.cg, prev);
      const stats = this.measure(cached.cg, nm.id, now, index, cached.read);
      if (typeof stats !== 'string') return this.proven(base, key, cached.cg, stats);
      this.forget(nm.id); // the read failed: close its files, prove the directories again, now
      cached = undefined;
    }
    let cg: ContainerCgroup;
    try {
      cg = this.deps.cgroups.container(nm.id);
    } catch (err) {
      this.forget(nm.id);
      if (err instanceof CgroupPathError && !this.once.has(key)) this.deps.onRefusal?.(err.kind);
      return this.unproven(base, key, `cgroup refused: ${(err as Error).message}`);
    }
    if (cg.all.length === 0) {
      this.forget(nm.id);
      return this.unproven(base, key, 'no cgroup directory under the YARN hierarchy (not created yet, already gone, or wrong --yarn-cgroup-path)');
    }
    // Proven again as the same directories: the files held through the earlier proof stay open
    // (a held cgroup file keeps naming its cgroup; a removed one answers ENODEV). Else fresh ones.
    if (cached && !sameDirs(cached.cg, cg)) {
      this.forget(nm.id);
      cached = undefined;
    }
    const files = cached?.files ?? new Set<string>();
    const read = cached?.read ?? this.tracked(files);
    const stats = this.measure(cg, nm.id, now, index, read);
    if (typeof stats === 'string') {
      this.cgroupCache.delete(nm.id);
      this.files.release(files);
      return this.unproven(base, key, `cgroup unreadable: ${stats}`);
    }
    // A first proof counts as made up to REVALIDATE_EVERY − 1 collections ago, by position, so
    // the re-proofs of many containers that appeared together spread over the next ticks.
    const stagger = cached ? 0 : index % REVALIDATE_EVERY;
    this.cgroupCache.set(nm.id, { cg, at: this.collections - stagger, files, read });
    return this.proven(base, key, cg, stats);
  }

  /** One container's stats through proven directories, or why they could not be read. */
  private measure(cg: ContainerCgroup, id: string, now: number, index: number, read: FileReader): ContainerStats | string {
    try {
      const memory = readMemory(cg, read);
      const cpuUsageNanos = readCpuUsageNanos(cg, read);
      const stats: ContainerStats = { memoryWorkingSet: memory.workingSet };
      const prev = this.cpuPrev.get(id);
      this.cpuPrev.set(id, { nanos: cpuUsageNanos, at: now });
      const rate = prev ? cpuRateMilli(prev.nanos, prev.at, cpuUsageNanos, now) : undefined;
      if (rate !== undefined) stats.cpuUsed = rate;
      let psi: PsiSnapshot | undefined;
      // Read at most once in CONTAINER_PSI_EVERY collections: every read when reads are that rare.
      if (!this.psiPrev.has(id) || this.readEvery >= CONTAINER_PSI_EVERY || (this.collections + index) % CONTAINER_PSI_EVERY === 0) {
        psi = psiSnapshotOf(readPressure(cg, read, CONTAINER_PSI));
        this.psiPrev.set(id, psi);
      } else {
        psi = this.psiPrev.get(id);
      }
      if (psi) stats.psi = psi;
      this.statsPrev.set(id, stats);
      return stats;
    } catch (err) {
      return (err as Error).message;
    }
  }

  private proven(base: CollectedContainer, key: string, cg: ContainerCgroup, stats: ContainerStats): CollectedContainer {
    // The common case (nothing was reported about it) allocates no log fields.
    if (this.once.has(key)) this.once.clear(key, { fields: { container: base.nm.id, cgroup: cg.cgroupPath }, message: 'container cgroup proven again' });
    return { ...base, cgroup: cg, stats };
  }

  private unproven(base: CollectedContainer, key: string, problem: string): CollectedContainer {
    this.unprovenNow++;
    const message = 'YARN container cannot be proven from its cgroup: not measured, never evicted';
    if (this.once.has(key) || this.unprovenLogged < LOGGED_UNPROVEN) {
      if (this.once.report(key, 'warn', { container: base.nm.id, problem }, message)) this.unprovenLogged++;
    }
    return { ...base, problem };
  }

  private readNodeMemoryOnly(prev: NodeReading | undefined): NodeReading | undefined {
    const file = path.join(this.deps.procRoot, 'meminfo');
    try {
      const m = parseMeminfo(this.files.readFile(file), file);
      this.once.clear('proc:meminfo');
      return { ...(prev ?? { cpuCapacity: milliCores(0) }), memoryTotal: m.total, memoryUsed: m.used };
    } catch (err) {
      this.once.report('proc:meminfo', 'error', { file, err: (err as Error).message }, 'cannot read node memory: no memory decisions until it reads cleanly');
      return undefined;
    }
  }

  private readNode(): NodeReading | undefined {
    const mem = this.readNodeMemoryOnly(undefined);
    if (!mem) return undefined;
    const procRoot = this.deps.procRoot;
    const node: NodeReading = { memoryTotal: mem.memoryTotal, memoryUsed: mem.memoryUsed, cpuCapacity: milliCores(0) };
    const statFile = path.join(procRoot, 'stat');
    try {
      const cur = parseProcStat(this.files.readFile(statFile), statFile);
      node.cpuCapacity = milliCores(cur.cpus * 1000);
      const prev = this.nodeCpuPrev;
      this.nodeCpuPrev = cur;
      const used = prev ? nodeCpuBusyMilli(prev, cur) : undefined;
      if (used !== undefined) node.cpuUsed = used;
      this.once.clear('proc:stat');
    } catch (err) {
      this.nodeCpuPrev = undefined;
      this.once.report('proc:stat', 'error', { file: statFile, err: (err as Error).message }, 'cannot read node CPU: no CPU decisions until it reads cleanly');
    }
    const psi: { memory?: Psi; cpu?: Psi } = {};
    for (const r of ['memory', 'cpu'] as const) {
      const file = path.join(procRoot, 'pressure', r);
      try {
        psi[r] = parsePsi(this.files.readFile(file), file);
      } catch (err) {
        if (err instanceof CgroupIoError && err.code === 'ENOENT') continue; // PSI off
        this.once.report(`proc:psi:${r}`, 'warn', { file, err: (err as Error).message }, 'node PSI unreadable: ignored');
      }
    }
    const p = psiSnapshotOf(psi);
    if (p) node.psi = p;
    return node;
  }

  private dropParent(): void {
    if (this.parentCache) this.files.release(this.parentCache.files);
    this.parentCache = undefined;
  }

  /** The YARN parent's directories: proven afresh every REVALIDATE_EVERY collections (its CPU limit is written through a fresh proof anyway). */
  private yarnParentDirs(): { dirs: CgroupDirs; read: FileReader } {
    const c = this.parentCache;
    if (c && this.collections - c.at < REVALIDATE_EVERY) return c;
    let dirs: CgroupDirs;
    try {
      dirs = this.deps.cgroups.yarnParent();
    } catch (err) {
      this.dropParent();
      throw err;
    }
    if (dirs.all.length === 0) {
      this.dropParent();
      return { dirs, read: this.files.read };
    }
    if (c && sameDirs(c.dirs, dirs)) {
      c.at = this.collections;
      c.dirs = dirs;
      return c;
    }
    this.dropParent();
    const files = new Set<string>();
    this.parentCache = { dirs, at: this.collections, files, read: this.tracked(files) };
    return this.parentCache;
  }

  private readYarn(now: number, live: readonly NmContainer[]): YarnReading | undefined {
    const requestedVcores = live.reduce((s, c) => s + (c.totalVCoresNeeded ?? 0), 0);
    let parent: CgroupDirs;
    let read: FileReader;
    try {
      ({ dirs: parent, read } = this.yarnParentDirs());
    } catch (err) {
      const logged = this.once.report('yarn:parent', 'error', { err: (err as Error).message }, 'YARN parent cgroup refused: no CPU suppression');
      if (logged && err instanceof CgroupPathError) this.deps.onRefusal?.(err.kind);
      return undefined;
    }
    if (parent.all.length === 0) {
      this.once.report('yarn:parent', 'warn', { cgroupPath: parent.cgroupPath, hint: this.deps.cgroups.describe().hint }, 'YARN parent cgroup not found: no CPU suppression until it exists');
      return undefined;
    }
    try {
      const nanos = readCpuUsageNanos(parent, read);
      const limit = parent.cpu ? readCpuLimit(parent, read).milliCores : null;
      const y: YarnReading = { cpuLimit: limit, requestedVcores };
      const prev = this.yarnCpuPrev;
      this.yarnCpuPrev = { nanos, at: now };
      const rate = prev ? cpuRateMilli(prev.nanos, prev.at, nanos, now) : undefined;
      if (rate !== undefined) y.cpuUsed = rate;
      if (parent.memory) y.memoryUsed = readMemory(parent, read).workingSet;
      const psi = psiSnapshotOf(readPressure(parent, read, CONTAINER_PSI));
      if (psi) y.psi = psi;
      this.once.clear('yarn:parent', { fields: { cgroupPath: parent.cgroupPath }, message: 'YARN parent cgroup readable' });
      return y;
    } catch (err) {
      this.yarnCpuPrev = undefined;
      this.dropParent();
      this.once.report('yarn:parent', 'error', { cgroupPath: parent.cgroupPath, err: (err as Error).message }, 'YARN parent cgroup unreadable: no CPU suppression until it reads cleanly');
      return undefined;
    }
  }
}

/** The PSI resources the agent uses (io is never read: no rule or metric uses it). */
const CONTAINER_PSI = ['memory', 'cpu'] as const;

/** Two proofs name the same directories (same paths, same mounts). */
function sameDirs(a: CgroupDirs, b: CgroupDirs): boolean {
  if (a.all.length !== b.all.length) return false;
  for (let i = 0; i < a.all.length; i++) {
    const x = a.all[i]!;
    const y = b.all[i]!;
    if (x.dir !== y.dir || x.proof.mountId !== y.proof.mountId || x.proof.real !== y.proof.real) return false;
  }
  return true;
}
