/**
 * Cheap synchronous readers of one cgroup's stats (a container, the YARN parent, or a root):
 * memory working set, cumulative CPU, PSI, pids and the current CPU limit. The arithmetic is in
 * pure functions over file text; the readers only pick files by hierarchy version.
 */
import path from 'node:path';
import { type Bytes, bytes, type MilliCores, milliCores } from '../kube/quantity.js';
import { CgroupIoError, CgroupNotFoundError } from './errors.js';
import { readCgroupFile, readOptionalCgroupFile } from './io.js';
import type { FileReader } from './held-files.js';
import {
  type CpuBandwidth, flatKeyedValue, parseCfsPeriod, parseCfsQuota, parseCpuMax, parseProcs, parsePsi,
  parseSingleUint, type Psi,
} from './parse.js';
import type { CgroupDir, CgroupDirs } from './resolve.js';

/**
 * `<dir>/<name>` of a proven directory, built once per directory and name: the collector reads
 * five files of every container each tick, and `path.join` per read was its largest allocation.
 */
const filesOf = new WeakMap<CgroupDir, Map<string, string>>();
export function fileIn(d: CgroupDir, name: string): string {
  let m = filesOf.get(d);
  if (!m) filesOf.set(d, (m = new Map()));
  let f = m.get(name);
  if (f === undefined) m.set(name, (f = path.join(d.dir, name)));
  return f;
}

/** A file name for messages (a concatenation, not a normalized join: it is only read on an error). */
const inDir = (dir: string, name: string): string => (dir === '' ? name : `${dir}/${name}`);

// ---- memory -------------------------------------------------------------------------------

export interface MemoryReading {
  /** usage − inactive file cache, never negative: what the kernel cannot drop cheaply. */
  workingSet: Bytes;
  usage: Bytes;
  inactiveFile: Bytes;
}

/** Pure: working set from a usage value and the inactive-file count (clamped at 0: they are read at different instants). */
export function workingSet(usage: number, inactiveFile: number): MemoryReading {
  return { workingSet: bytes(Math.max(0, usage - inactiveFile)), usage: bytes(usage), inactiveFile: bytes(inactiveFile) };
}

/** Pure: v1 `memory.usage_in_bytes` − `total_inactive_file` of `memory.stat` (hierarchical, like the usage). */
export function memoryFromV1(usageText: string, statText: string, dir = ''): MemoryReading {
  const usageFile = inDir(dir, 'memory.usage_in_bytes');
  const statFile = inDir(dir, 'memory.stat');
  const usage = parseSingleUint(usageText, usageFile);
  const inactive = flatKeyedValue(statText, 'total_inactive_file', statFile);
  return workingSet(usage, inactive);
}

/** Pure: v2 `memory.current` − `inactive_file` of `memory.stat`. */
export function memoryFromV2(currentText: string, statText: string, dir = ''): MemoryReading {
  const currentFile = inDir(dir, 'memory.current');
  const statFile = inDir(dir, 'memory.stat');
  const usage = parseSingleUint(currentText, currentFile);
  const inactive = flatKeyedValue(statText, 'inactive_file', statFile);
  return workingSet(usage, inactive);
}

/** `read`: how files are read (default open-read-close; the collector passes its held descriptors). */
export function readMemory(cg: CgroupDirs, read: FileReader = readCgroupFile): MemoryReading {
  const d = need(cg, cg.memory, 'memory');
  if (d.hierarchy.version === 1) {
    return memoryFromV1(read(fileIn(d, 'memory.usage_in_bytes')), read(fileIn(d, 'memory.stat')), d.dir);
  }
  return memoryFromV2(read(fileIn(d, 'memory.current')), read(fileIn(d, 'memory.stat')), d.dir);
}

/** Only the usage (one ~7 µs read): for the fast memory watch, where `memory.stat` is too costly to parse 10×/s. */
export function readMemoryUsage(cg: CgroupDirs): Bytes {
  const d = need(cg, cg.memory, 'memory');
  const file = path.join(d.dir, d.hierarchy.version === 1 ? 'memory.usage_in_bytes' : 'memory.current');
  return bytes(parseSingleUint(readCgroupFile(file), file));
}

// ---- CPU usage ----------------------------------------------------------------------------

/** Pure: v2 `cpu.stat` `usage_usec`, in nanoseconds so v1 and v2 share one unit. */
export function cpuUsageNanosFromV2(cpuStatText: string, file = 'cpu.stat'): number {
  return flatKeyedValue(cpuStatText, 'usage_usec', file) * 1000;
}

/** Cumulative CPU time of the cgroup in nanoseconds (v1 `cpuacct.usage`; v2 `cpu.stat` usage_usec × 1000). */
export function readCpuUsageNanos(cg: CgroupDirs, read: FileReader = readCgroupFile): number {
  const d = need(cg, cg.cpuacct, 'cpuacct');
  if (d.hierarchy.version === 1) {
    const file = fileIn(d, 'cpuacct.usage');
    return parseSingleUint(read(file), file);
  }
  const file = fileIn(d, 'cpu.stat');
  return cpuUsageNanosFromV2(read(file), file);
}

// ---- PSI ----------------------------------------------------------------------------------

export interface PressureReading {
  memory?: Psi;
  cpu?: Psi;
  io?: Psi;
}

const ALL_PRESSURES = ['memory', 'cpu', 'io'] as const;

/** PSI of the cgroup's v2 directory (of `resources`, default all three); empty on pure v1 or when the kernel has PSI off. */
export function readPressure(cg: CgroupDirs, read: FileReader = readCgroupFile, resources: readonly (keyof PressureReading)[] = ALL_PRESSURES): PressureReading {
  const out: PressureReading = {};
  const d = cg.unified;
  if (!d) return out;
  for (const resource of resources) {
    const file = fileIn(d, `${resource}.pressure`);
    const text = readOptional(read, file);
    if (text !== undefined) out[resource] = parsePsi(text, file);
  }
  return out;
}

function readOptional(read: FileReader, file: string): string | undefined {
  if (read === readCgroupFile) return readOptionalCgroupFile(file);
  try {
    return read(file);
  } catch (err) {
    if (err instanceof CgroupIoError && err.code === 'ENOENT') return undefined;
    throw err;
  }
}

// ---- pids ---------------------------------------------------------------------------------

/** Every pid in the cgroup, across all its hierarchy directories (sorted, deduplicated). */
export function readPids(cg: CgroupDirs): number[] {
  const pids = new Set<number>();
  for (const d of cg.all) for (const pid of readProcsOf(d.dir)) pids.add(pid);
  return [...pids].sort((a, b) => a - b);
}

/** `cgroup.procs` of one directory; a vanished cgroup has no processes. */
export function readProcsOf(dir: string): number[] {
  const file = path.join(dir, 'cgroup.procs');
  const text = readOptionalCgroupFile(file);
  return text === undefined ? [] : parseProcs(text, file);
}

// ---- CPU limit ----------------------------------------------------------------------------

export interface CpuLimitReading extends CpuBandwidth {
  /** The limit in milli-cores (quota × 1000 / period, rounded down), null when unlimited. */
  milliCores: MilliCores | null;
  version: 1 | 2;
  /** The file holding the quota (`cpu.cfs_quota_us` or `cpu.max`). */
  file: string;
}

/** Pure: milli-cores of a bandwidth. */
export function bandwidthToMilli(b: CpuBandwidth): MilliCores | null {
  return b.quotaUs === null ? null : milliCores(Math.floor((b.quotaUs * 1000) / b.periodUs));
}

export function readCpuBandwidth(d: CgroupDir, read: FileReader = readCgroupFile): CpuBandwidth {
  if (d.hierarchy.version === 1) {
    const qFile = path.join(d.dir, 'cpu.cfs_quota_us');
    const pFile = path.join(d.dir, 'cpu.cfs_period_us');
    const quotaUs = parseCfsQuota(read(qFile), qFile);
    const periodUs = parseCfsPeriod(read(pFile), pFile);
    return { quotaUs, periodUs };
  }
  const file = path.join(d.dir, 'cpu.max');
  return parseCpuMax(read(file), file);
}

export function readCpuLimit(cg: CgroupDirs, read: FileReader = readCgroupFile): CpuLimitReading {
  const d = need(cg, cg.cpu, 'cpu');
  const b = readCpuBandwidth(d, read);
  const file = path.join(d.dir, d.hierarchy.version === 1 ? 'cpu.cfs_quota_us' : 'cpu.max');
  return { ...b, milliCores: bandwidthToMilli(b), version: d.hierarchy.version, file };
}

// ---- one-call snapshot --------------------------------------------------------------------

export interface CgroupStats {
  memory: MemoryReading;
  cpuUsageNanos: number;
  pressure: PressureReading;
}

/** Memory, CPU and PSI of a cgroup in one call (4–7 small reads). */
export function readStats(cg: CgroupDirs): CgroupStats {
  return { memory: readMemory(cg), cpuUsageNanos: readCpuUsageNanos(cg), pressure: readPressure(cg) };
}

function need(cg: CgroupDirs, d: CgroupDir | undefined, role: string): CgroupDir {
  if (!d) throw new CgroupNotFoundError(cg.cgroupPath, role);
  return d;
}
