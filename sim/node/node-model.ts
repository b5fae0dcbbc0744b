/**
 * The simulated node's arithmetic over its state: each container's load at the current time,
 * CPU shared among the cgroups (honouring any CFS quota the agent wrote), the view of every cgroup
 * the files are rendered from, node memory, `/proc/stat` and `/proc/<pid>` contents.
 */
import path from 'node:path';
import { readSmall } from './atomic-files.js';
import { type CgroupView, parseCpuQuota, type PressureResource } from './cgroup-files.js';
import { COMMAND } from './container-process.js';
import { cgroupDirs, parentOf, withAncestors } from './hierarchy.js';
import {
  CFS_PERIOD_US, type MemoryCharge, type NodeMemory, type PageEvents, procPidStat, procPidStatus, procStat, type Psi, zeroPsi,
} from './kernel-files.js';
import { type GroupCounters, newCounters, type NodeState, type PressureScope, type SimContainer } from './node-state.js';
import {
  addLoads, containerLimitBytes, containerLoad, type CpuGroup, type Load, nodeMemory, resolveLoad, shareCpu, ZERO_LOAD,
} from './workload.js';

export const RESOURCES: readonly PressureResource[] = ['cpu', 'memory', 'io'];
const DEFAULT_SHARES = 1024;
const MIB = 2 ** 20;

export const zeroPsiSet = (): Record<PressureResource, Psi> => ({ cpu: zeroPsi(), memory: zeroPsi(), io: zeroPsi() });

export function loadOf(s: NodeState, c: SimContainer): Load {
  if (c.state !== 'running') return ZERO_LOAD;
  return containerLoad(c.spec, s.simMs - c.startedSimMs, s.rampMs, c.override);
}

export function refreshLoads(s: NodeState): void {
  for (const c of s.containers.values()) c.load = loadOf(s, c);
}

/** Each cgroup's own load (containers, and the non-YARN parties on the kubelet groups). */
function ownLoads(s: NodeState): Map<string, Load> {
  const own = new Map<string, Load>();
  const add = (rel: string, l: Load): void => {
    own.set(rel, addLoads(own.get(rel) ?? ZERO_LOAD, l));
  };
  add('', resolveLoad(s.systemLoad, s.simMs));
  const online = resolveLoad(s.onlineLoad, s.simMs);
  add(s.kube.burstable, { ...online, memoryBytes: online.memoryBytes + Math.floor(s.spikeBytes / 4096) * 4096 });
  add(s.kube.besteffort, resolveLoad(s.batchLoad, s.simMs));
  for (const c of s.containers.values()) if (c.state === 'running') add(c.rel, c.load);
  return own;
}

/** The CFS quota the files hold for a cgroup (what the agent wrote), in milli-cores, or undefined. */
export function readQuota(s: NodeState, rel: string): number | undefined {
  const dirs = cgroupDirs(s.paths.layout, s.paths.cgroupRoot, rel);
  const cpu = dirs.v1.get('cpu,cpuacct');
  if (cpu) return parseCpuQuota(readSmall(path.join(cpu, 'cpu.cfs_quota_us')), readSmall(path.join(cpu, 'cpu.cfs_period_us')), undefined);
  if (s.paths.layout === 'v2' && dirs.unified !== undefined) return parseCpuQuota(undefined, undefined, readSmall(path.join(dirs.unified, 'cpu.max')));
  return undefined;
}

function sharesOf(s: NodeState, rel: string): number {
  if (rel === s.kube.kubepods) return Math.max(2, Math.round((s.capacityMilli * 1024) / 1000));
  if (rel === s.kube.besteffort) return 2;
  const c = containerAt(s, rel);
  if (c) return c.spec.executionType === 'OPPORTUNISTIC' ? 2 : Math.max(2, Math.round(c.spec.vcores * 1024));
  return DEFAULT_SHARES;
}

function containerAt(s: NodeState, rel: string): SimContainer | undefined {
  if (parentOf(rel) !== s.paths.yarnCgroupPath) return undefined;
  return s.containers.get(rel.slice(s.paths.yarnCgroupPath.length + 1));
}

/** CPU over `dtMs`: shared by demand and shares under each cgroup's quota; counters grow by rate × dt. */
export function advanceCpu(s: NodeState, dtMs: number): void {
  const own = ownLoads(s);
  const groups = new Map<string, CpuGroup>();
  const make = (rel: string, capMilli?: number): CpuGroup => {
    const g: CpuGroup = { path: rel, ownDemandMilli: own.get(rel)?.cpuMilli ?? 0, shares: sharesOf(s, rel), children: [] };
    if (capMilli !== undefined) g.capMilli = capMilli;
    groups.set(rel, g);
    if (rel !== '') groups.get(parentOf(rel))?.children.push(g);
    return g;
  };
  for (const rel of s.staticGroups) make(rel, rel === '' ? undefined : readQuota(s, rel));
  for (const c of s.containers.values()) if (c.state === 'running') make(c.rel);
  const grants = shareCpu(groups.get('')!, s.capacityMilli);
  const toNs = (milli: number): number => milli * dtMs * 1000;
  const periods = (dtMs * 1000) / CFS_PERIOD_US;
  for (const [rel, g] of grants) {
    const k = s.counters.get(rel);
    if (!k) continue;
    k.usageNs += toNs(g.grantMilli);
    if (groups.get(rel)?.capMilli !== undefined && g.demandMilli > 0) {
      k.periods += periods;
      if (g.throttled) {
        k.throttledPeriods += periods;
        k.throttledNs += toNs(g.demandMilli - g.grantMilli);
      }
    }
  }
  const rootGrant = grants.get('')?.grantMilli ?? 0;
  s.lastGrantMilli = rootGrant;
  s.lastYarnGrantMilli = grants.get(s.paths.yarnCgroupPath)?.grantMilli ?? 0;
  s.nodeBusyNs += toNs(rootGrant);
  s.nodeIdleNs += toNs(s.capacityMilli - rootGrant);
}

/** PSI totals grow by avg10 % of the time that passed. */
export function advancePsi(s: NodeState, dtMs: number): void {
  for (const set of s.psi.values()) {
    for (const r of RESOURCES) {
      set[r].some.total += (set[r].some.avg10 / 100) * dtMs * 1000;
      set[r].full.total += (set[r].full.avg10 / 100) * dtMs * 1000;
    }
  }
}

/** A view per live cgroup: own and hierarchical memory, counters, pids, PSI. */
export function views(s: NodeState): Map<string, CgroupView> {
  const own = ownLoads(s);
  const rels = [...s.staticGroups];
  for (const c of s.containers.values()) if (c.state === 'running') rels.push(c.rel);
  const totals = new Map<string, MemoryCharge>(rels.map((r) => [r, { anon: 0, file: 0 }]));
  const subtreePids = new Map<string, number>(rels.map((r) => [r, 0]));
  for (const [rel, l] of own) {
    for (const a of ['', ...(rel === '' ? [] : withAncestors(rel))]) {
      const t = totals.get(a);
      if (t) {
        t.anon += l.memoryBytes;
        t.file += l.cacheBytes;
      }
    }
  }
  for (const c of s.containers.values()) {
    if (c.state !== 'running') continue;
    for (const a of ['', ...withAncestors(c.rel)]) subtreePids.set(a, (subtreePids.get(a) ?? 0) + 1);
  }
  const out = new Map<string, CgroupView>();
  for (const c of s.containers.values()) {
    if (c.state === 'running') out.set(c.rel, containerView(s, c, s.counters.get(c.rel) ?? newCounters()));
  }
  for (const rel of s.staticGroups) {
    const k = s.counters.get(rel) ?? newCounters();
    const l = own.get(rel) ?? ZERO_LOAD;
    const ownCharge = { anon: l.memoryBytes, file: l.cacheBytes };
    const total = totals.get(rel)!;
    trackPages(k, ownCharge, total);
    out.set(rel, {
      rel,
      isRoot: rel === '',
      isLeaf: false,
      own: ownCharge,
      total,
      ownEvents: k.ownEvents,
      totalEvents: k.totalEvents,
      memoryLimitBytes: null,
      usageNs: k.usageNs,
      throttle: { nrPeriods: k.periods, nrThrottled: k.throttledPeriods, throttledNs: k.throttledNs },
      shares: sharesOf(s, rel),
      pids: [],
      subtreePids: subtreePids.get(rel) ?? 0,
      psi: psiOf(s, rel, undefined),
    });
  }
  return out;
}

/** A container's cgroup: a leaf whose own usage is its total. */
export function containerView(s: NodeState, c: SimContainer, k: GroupCounters): CgroupView {
  const charge = { anon: c.load.memoryBytes, file: c.load.cacheBytes };
  trackPages(k, charge, charge);
  const running = c.state === 'running';
  return {
    rel: c.rel,
    isRoot: false,
    isLeaf: true,
    own: charge,
    total: charge,
    ownEvents: k.ownEvents,
    totalEvents: k.totalEvents,
    memoryLimitBytes: containerLimitBytes(c.spec),
    usageNs: k.usageNs,
    throttle: { nrPeriods: k.periods, nrThrottled: k.throttledPeriods, throttledNs: k.throttledNs },
    shares: sharesOf(s, c.rel),
    pids: running ? [c.proc.pid] : [],
    subtreePids: running ? 1 : 0,
    psi: psiOf(s, c.rel, c),
  };
}

/** Cgroups above the YARN parent mirror the node's (root, kubepods) or YARN's (besteffort) PSI. */
function psiOf(s: NodeState, rel: string, c: SimContainer | undefined): Record<PressureResource, Psi> {
  const get = (scope: PressureScope): Record<PressureResource, Psi> => s.psi.get(scope) ?? zeroPsiSet();
  if (c) return get(c.spec.id);
  const be = s.kube.besteffort;
  if (rel === s.paths.yarnCgroupPath || rel === be || rel.startsWith(`${be}/`)) return get('yarn');
  return get('node');
}

export function nodeMemoryOf(s: NodeState, totals: MemoryCharge): NodeMemory {
  const page = (b: number): number => Math.floor(b / 4096) * 4096;
  const slab = page(s.memoryBytes * 0.005); // each half of the 1 % slab
  const buffers = page(Math.min(64 * MIB, s.memoryBytes * 0.005));
  const input = {
    totalBytes: s.memoryBytes,
    anonBytes: totals.anon,
    cacheBytes: totals.file,
    buffersBytes: buffers,
    slabReclaimableBytes: slab,
    slabUnreclaimableBytes: slab,
  };
  return { ...input, ...nodeMemory(input) };
}

export function procStatText(s: NodeState): string {
  const cores = Math.max(1, Math.ceil(s.capacityMilli / 1000));
  const busy = s.nodeBusyNs / cores;
  const idle = s.nodeIdleNs / cores;
  const cpus = Array.from({ length: cores }, () => ({ userNs: busy * 0.8, systemNs: busy * 0.2, idleNs: idle }));
  return procStat(cpus, s.btimeSec, 1000 + s.spawned, Math.max(1, Math.ceil(s.lastGrantMilli / 1000)));
}

export function pidFileContents(s: NodeState, c: SimContainer): Record<string, string> {
  const usageNs = s.counters.get(c.rel)?.usageNs ?? 0;
  const rss = c.load.memoryBytes;
  return {
    stat: procPidStat(c.realStatLine, { usageNs, rssBytes: rss }),
    status: procPidStatus(c.proc.pid, process.pid, COMMAND, rss),
  };
}

/** v1 pgpgin/pgpgout: pages charged in and out since creation, so pgpgin − pgpgout = charged pages. */
function trackPages(k: GroupCounters, own: MemoryCharge, total: MemoryCharge): void {
  const pages = (m: MemoryCharge): number => Math.floor((m.anon + m.file) / 4096);
  const bump = (ev: PageEvents, before: number, now: number): void => {
    if (now > before) ev.pgpgin += now - before;
    else ev.pgpgout += before - now;
  };
  const o = pages(own);
  const t = pages(total);
  bump(k.ownEvents, k.ownPages, o);
  bump(k.totalEvents, k.totalPages, t);
  k.ownPages = o;
  k.totalPages = t;
}
