/**
 * Node-wide memory and CPU from `<proc-root>/meminfo` and `<proc-root>/stat`: strict pure parsers
 * plus thin readers. The rules compare YARN's usage with these totals.
 */
import path from 'node:path';
import { type Bytes, bytes, type MilliCores, milliCores } from '../kube/quantity.js';
import { CgroupParseError } from './errors.js';
import { readCgroupFile } from './io.js';
import { parseUint, splitLines } from './parse.js';

export interface NodeMemory {
  total: Bytes;
  available: Bytes;
  /** total − available: what the node could not hand out without reclaiming hard. */
  used: Bytes;
}

const MEMINFO_LINE = /^([A-Za-z0-9_()]+):\s+(\S+)(?: kB)?$/;

/** Pure: MemTotal and MemAvailable of `/proc/meminfo` (kB → bytes). */
export function parseMeminfo(text: string, file = 'meminfo'): NodeMemory {
  const values = new Map<string, number>();
  for (const [i, line] of splitLines(text).entries()) {
    const m = MEMINFO_LINE.exec(line);
    if (!m) throw new CgroupParseError(file, `line ${i + 1} ${JSON.stringify(line.slice(0, 60))} is not "Key: value [kB]"`);
    values.set(m[1]!, parseUint(m[2]!, file, m[1]!));
  }
  const total = values.get('MemTotal');
  const available = values.get('MemAvailable');
  if (total === undefined) throw new CgroupParseError(file, 'missing MemTotal');
  if (available === undefined) throw new CgroupParseError(file, 'missing MemAvailable (kernel < 3.14?)');
  if (total === 0) throw new CgroupParseError(file, 'MemTotal is 0');
  if (available > total) throw new CgroupParseError(file, `MemAvailable ${available} kB exceeds MemTotal ${total} kB`);
  return { total: bytes(total * 1024), available: bytes(available * 1024), used: bytes((total - available) * 1024) };
}

/** USER_HZ: the unit of `/proc/stat` times on every Linux architecture we run on. */
export const USER_HZ = 100;
export const NANOS_PER_JIFFY = 1e9 / USER_HZ;

export interface NodeCpuTimes {
  /** user + nice + system + irq + softirq + steal, in jiffies (1/USER_HZ s). */
  busyJiffies: number;
  /** idle + iowait, in jiffies. */
  idleJiffies: number;
  totalJiffies: number;
  /** Number of `cpuN` lines: the CPUs the times are summed over. */
  cpus: number;
}

/**
 * Pure: the aggregate `cpu` line of `/proc/stat`. guest/guest_nice are already counted in
 * user/nice, so they are not added again.
 */
export function parseProcStat(text: string, file = 'stat'): NodeCpuTimes {
  const lines = splitLines(text);
  const agg = lines.find((l) => l.startsWith('cpu '));
  if (!agg) throw new CgroupParseError(file, 'missing aggregate "cpu" line');
  const fields = agg.trim().split(/\s+/).slice(1);
  if (fields.length < 8) throw new CgroupParseError(file, `"cpu" line has ${fields.length} fields, expected at least 8`);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.slice(0, 8).map((f, i) => parseUint(f, file, `cpu field ${i + 1}`)) as [
    number, number, number, number, number, number, number, number,
  ];
  for (const [i, f] of fields.slice(8).entries()) parseUint(f, file, `cpu field ${i + 9}`);
  const cpus = lines.filter((l) => /^cpu\d+ /.test(l)).length;
  if (cpus === 0) throw new CgroupParseError(file, 'no per-CPU "cpuN" lines');
  const busyJiffies = user + nice + system + irq + softirq + steal;
  const idleJiffies = idle + iowait;
  return { busyJiffies, idleJiffies, totalJiffies: busyJiffies + idleJiffies, cpus };
}

/**
 * Pure: node CPU in use between two samples, in milli-cores (busy share × CPUs × 1000).
 * Undefined when no time passed (same sample twice) or the counters went backwards.
 */
export function nodeCpuBusyMilli(prev: NodeCpuTimes, cur: NodeCpuTimes): MilliCores | undefined {
  const dTotal = cur.totalJiffies - prev.totalJiffies;
  const dBusy = cur.busyJiffies - prev.busyJiffies;
  if (dTotal <= 0 || dBusy < 0 || dBusy > dTotal) return undefined;
  return milliCores(Math.round((dBusy / dTotal) * cur.cpus * 1000));
}

export function readNodeMemory(procRoot: string): NodeMemory {
  const file = path.join(procRoot, 'meminfo');
  return parseMeminfo(readCgroupFile(file), file);
}

export function readNodeCpuTimes(procRoot: string): NodeCpuTimes {
  const file = path.join(procRoot, 'stat');
  return parseProcStat(readCgroupFile(file), file);
}
