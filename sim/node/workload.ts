/**
 * The simulated workload of one node, as pure functions: what each party (system daemons, online
 * pods, Kubernetes batch pods, YARN containers) wants, and how the CPU is shared when the node
 * or a CFS quota is tight. The node shell turns the results into kernel files.
 */
import { PAGE_SIZE } from './kernel-files.js';

/** A party's load: CPU rate, anonymous memory (its working set) and page cache. */
export interface Load {
  cpuMilli: number;
  memoryBytes: number;
  cacheBytes: number;
}

/** A constant load or one that follows simulated time (ms since the node was created). */
export type LoadSource = Load | ((simMs: number) => Load);

export type ExecutionType = 'GUARANTEED' | 'OPPORTUNISTIC';

/** A YARN container as the NodeManager launched it. */
export interface ContainerSpec {
  id: string;
  memoryMiB: number;
  vcores: number;
  executionType?: ExecutionType;
}

export const ZERO_LOAD: Load = Object.freeze({ cpuMilli: 0, memoryBytes: 0, cacheBytes: 0 });

const pageDown = (b: number): number => Math.floor(Math.max(0, b) / PAGE_SIZE) * PAGE_SIZE;
const finite = (n: number): number => (Number.isFinite(n) && n > 0 ? n : 0);

/** Non-negative, whole pages, whole milli-cores — what the kernel could really report. */
export function normalizeLoad(l: Load): Load {
  return { cpuMilli: Math.round(finite(l.cpuMilli)), memoryBytes: pageDown(finite(l.memoryBytes)), cacheBytes: pageDown(finite(l.cacheBytes)) };
}

export function resolveLoad(src: LoadSource, simMs: number): Load {
  return normalizeLoad(typeof src === 'function' ? src(simMs) : src);
}

export const addLoads = (...ls: Load[]): Load =>
  ls.reduce((a, b) => ({ cpuMilli: a.cpuMilli + b.cpuMilli, memoryBytes: a.memoryBytes + b.memoryBytes, cacheBytes: a.cacheBytes + b.cacheBytes }), ZERO_LOAD);

export const containerLimitBytes = (spec: ContainerSpec): number => Math.floor(spec.memoryMiB) * 2 ** 20;

/**
 * A container left to itself: starts small and approaches 80 % of its memory, 10 % page cache
 * and 90 % of its vcores with time constant `rampMs` — a JVM warming up towards its heap.
 */
export function defaultContainerLoad(spec: ContainerSpec, ageMs: number, rampMs: number): Load {
  const alloc = containerLimitBytes(spec);
  const k = 1 - Math.exp(-Math.max(0, ageMs) / Math.max(1, rampMs));
  return normalizeLoad({
    memoryBytes: alloc * (0.1 + 0.7 * k),
    cacheBytes: alloc * 0.1 * k,
    cpuMilli: spec.vcores * 1000 * 0.9 * k,
  });
}

/**
 * The container's load: the default ramp with any explicitly set parts replacing it. Page cache
 * is reclaimed first when anon + cache would exceed the container's memory limit (as the kernel
 * does); anon beyond the limit is not OOM-killed here.
 */
export function containerLoad(spec: ContainerSpec, ageMs: number, rampMs: number, override: Partial<Load> = {}): Load {
  const base = defaultContainerLoad(spec, ageMs, rampMs);
  const l = normalizeLoad({
    memoryBytes: override.memoryBytes ?? base.memoryBytes,
    cacheBytes: override.cacheBytes ?? base.cacheBytes,
    cpuMilli: override.cpuMilli ?? base.cpuMilli,
  });
  const room = pageDown(containerLimitBytes(spec) - l.memoryBytes);
  return { ...l, cacheBytes: Math.min(l.cacheBytes, room) };
}

// ------------------------------------------------------------------ CPU sharing

/** One cgroup in the CPU tree: its own tasks' demand, its CFS weight, optional quota. */
export interface CpuGroup {
  /** relative cgroup path; '' is the root */
  path: string;
  ownDemandMilli: number;
  /** cpu.shares (v1 scale, 2–262144) */
  shares: number;
  /** CFS quota as milli-cores; undefined = no quota */
  capMilli?: number;
  children: CpuGroup[];
}

export interface CpuGrant {
  /** CPU the whole subtree got */
  grantMilli: number;
  /** CPU the subtree wanted, before this group's quota */
  demandMilli: number;
  /** demand exceeded the quota */
  throttled: boolean;
}

/** Weight of a cgroup's own tasks against its child cgroups (one nice-0 task group). */
const OWN_TASK_SHARES = 1024;

/**
 * Shares `available` among claimants by weight, never giving anyone more than it wants, and
 * handing what the satisfied leave over to the rest (CFS's work-conserving behaviour).
 */
export function waterFill(available: number, claims: ReadonlyArray<{ demand: number; weight: number }>): number[] {
  const grants = claims.map(() => 0);
  let active = claims.map((_, i) => i).filter((i) => (claims[i]?.demand ?? 0) > 0);
  let remaining = Math.max(0, available);
  while (active.length > 0 && remaining > 1e-9) {
    const totalW = active.reduce((s, i) => s + Math.max(1, claims[i]!.weight), 0);
    const satisfied = active.filter((i) => claims[i]!.demand - grants[i]! <= (remaining * Math.max(1, claims[i]!.weight)) / totalW);
    if (satisfied.length === 0) {
      for (const i of active) grants[i]! += (remaining * Math.max(1, claims[i]!.weight)) / totalW;
      remaining = 0;
      break;
    }
    for (const i of satisfied) {
      remaining -= claims[i]!.demand - grants[i]!;
      grants[i] = claims[i]!.demand;
    }
    active = active.filter((i) => !satisfied.includes(i));
  }
  return grants;
}

/**
 * How much CPU each cgroup gets this instant: demand is capped by each quota on the way up,
 * then the node's capacity is shared down the tree by weight.
 */
export function shareCpu(root: CpuGroup, capacityMilli: number): Map<string, CpuGrant> {
  const demand = new Map<string, { uncapped: number; capped: number }>();
  const up = (g: CpuGroup): number => {
    const uncapped = Math.max(0, g.ownDemandMilli) + g.children.reduce((s, c) => s + up(c), 0);
    const capped = g.capMilli === undefined ? uncapped : Math.min(uncapped, Math.max(0, g.capMilli));
    demand.set(g.path, { uncapped, capped });
    return capped;
  };
  up(root);
  const out = new Map<string, CpuGrant>();
  const down = (g: CpuGroup, grant: number): void => {
    const d = demand.get(g.path)!;
    out.set(g.path, { grantMilli: grant, demandMilli: d.uncapped, throttled: d.capped < d.uncapped });
    const claims = [
      { demand: Math.max(0, g.ownDemandMilli), weight: OWN_TASK_SHARES },
      ...g.children.map((c) => ({ demand: demand.get(c.path)!.capped, weight: c.shares })),
    ];
    const grants = waterFill(grant, claims);
    g.children.forEach((c, i) => down(c, grants[i + 1] ?? 0));
  };
  down(root, Math.min(capacityMilli, demand.get(root.path)!.capped));
  return out;
}

// ------------------------------------------------------------------ node memory

export interface NodeMemoryInput {
  totalBytes: number;
  anonBytes: number;
  cacheBytes: number;
  buffersBytes: number;
  slabReclaimableBytes: number;
  slabUnreclaimableBytes: number;
}

/**
 * MemFree, Cached and MemAvailable the way the kernel would show them: page cache is what gets
 * reclaimed when anon memory needs the room; MemAvailable follows `si_mem_available()` (free
 * memory plus the reclaimable part of page cache and reclaimable slab, less the low watermark).
 */
export function nodeMemory(m: NodeMemoryInput): { freeBytes: number; cachedBytes: number; availableBytes: number } {
  const pinned = m.anonBytes + m.buffersBytes + m.slabReclaimableBytes + m.slabUnreclaimableBytes;
  const cache = Math.min(m.cacheBytes, Math.max(0, m.totalBytes - pinned));
  const freeBytes = Math.max(0, m.totalBytes - pinned - cache);
  const wmarkLow = m.totalBytes * 0.005;
  const pagecache = cache + m.buffersBytes;
  const available =
    freeBytes - wmarkLow + pagecache - Math.min(pagecache / 2, wmarkLow) + m.slabReclaimableBytes - Math.min(m.slabReclaimableBytes / 2, wmarkLow);
  return { freeBytes: pageDown(freeBytes), cachedBytes: pageDown(cache), availableBytes: pageDown(Math.min(m.totalBytes, available)) };
}
