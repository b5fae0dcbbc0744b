/**
 * The text of the kernel files a simulated node exposes, in the kernel's exact formats
 * (Documentation/admin-guide/cgroup-v1/{memory,cpuacct}.rst, cgroup-v2.rst, accounting/psi.rst,
 * filesystems/proc.rst). Pure: numbers in, file contents out.
 */

export const PAGE_SIZE = 4096;
/** USER_HZ: /proc/stat and cpuacct.stat count in 1/100 s. */
export const USER_HZ = 100;
/** What v1 prints for "no limit" (PAGE_COUNTER_MAX × PAGE_SIZE on 64-bit); above 2^53, so a string. */
export const V1_UNLIMITED = '9223372036854771712';
export const CFS_PERIOD_US = 100_000;
/** Share of CPU time accounted as user (the rest is system). */
const USER_SHARE = 0.8;

/** Memory charged to a cgroup. All page cache is inactive, so working set = anon. */
export interface MemoryCharge {
  anon: number;
  file: number;
}

/** Monotone page-in/out counters kept per cgroup (v1 pgpgin − pgpgout = charged pages). */
export interface PageEvents {
  pgpgin: number;
  pgpgout: number;
}

export interface CpuThrottle {
  nrPeriods: number;
  nrThrottled: number;
  throttledNs: number;
}

export interface PsiLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** cumulative stall time, µs */
  total: number;
}

export interface Psi {
  some: PsiLine;
  full: PsiLine;
}

const flat = (rows: ReadonlyArray<readonly [string, number | string]>): string =>
  rows.map(([k, v]) => `${k} ${typeof v === 'number' ? Math.floor(v) : v}\n`).join('');

const userNs = (usageNs: number): number => Math.floor(usageNs * USER_SHARE);
const systemNs = (usageNs: number): number => Math.floor(usageNs) - userNs(usageNs);

// ---------------------------------------------------------------- v1 memory

function v1MemoryRows(m: MemoryCharge, ev: PageEvents): Array<[string, number]> {
  return [
    ['cache', m.file],
    ['rss', m.anon],
    ['rss_huge', 0],
    ['shmem', 0],
    ['mapped_file', 0],
    ['dirty', 0],
    ['writeback', 0],
    ['swap', 0],
    ['pgpgin', ev.pgpgin],
    ['pgpgout', ev.pgpgout],
    ['pgfault', ev.pgpgin],
    ['pgmajfault', 0],
    ['inactive_anon', 0],
    ['active_anon', m.anon],
    ['inactive_file', m.file],
    ['active_file', 0],
    ['unevictable', 0],
  ];
}

/** v1 `memory.stat`: the cgroup's own counters, the hierarchical limits, then `total_*`. */
export function v1MemoryStat(own: MemoryCharge, ownEvents: PageEvents, total: MemoryCharge, totalEvents: PageEvents, limitBytes: number | null): string {
  const rows: Array<[string, number | string]> = [
    ...v1MemoryRows(own, ownEvents),
    ['hierarchical_memory_limit', limitBytes === null ? V1_UNLIMITED : limitBytes],
    ['hierarchical_memsw_limit', V1_UNLIMITED],
    ...v1MemoryRows(total, totalEvents).map(([k, v]): [string, number] => [`total_${k}`, v]),
  ];
  return flat(rows);
}

export const v1Bytes = (n: number | null): string => `${n === null ? V1_UNLIMITED : Math.floor(n)}\n`;

// ---------------------------------------------------------------- v1 cpu, cpuacct

export const cpuacctUsage = (usageNs: number): string => `${Math.floor(usageNs)}\n`;

/** v1 `cpu.stat` (kernel ≥ 5.14 adds the burst lines). */
export function v1CpuStat(t: CpuThrottle): string {
  return flat([
    ['nr_periods', t.nrPeriods],
    ['nr_throttled', t.nrThrottled],
    ['throttled_time', t.throttledNs],
    ['nr_bursts', 0],
    ['burst_time', 0],
  ]);
}

// ---------------------------------------------------------------- v2

/**
 * v2 `cpu.stat`: the core lines every cgroup has; the throttling lines only where the cpu
 * controller is enabled (`throttle` given).
 */
export function v2CpuStat(usageNs: number, throttle?: CpuThrottle): string {
  const us = (ns: number): number => Math.floor(ns / 1000);
  const rows: Array<[string, number]> = [
    ['usage_usec', us(usageNs)],
    ['user_usec', us(userNs(usageNs))],
    ['system_usec', us(systemNs(usageNs))],
    ['nice_usec', 0],
  ];
  if (throttle) {
    rows.push(
      ['nr_periods', throttle.nrPeriods],
      ['nr_throttled', throttle.nrThrottled],
      ['throttled_usec', us(throttle.throttledNs)],
      ['nr_bursts', 0],
      ['burst_usec', 0],
    );
  }
  return flat(rows);
}

/** v2 `memory.stat` (kernel 6.x key order, the keys a reader may want; zero where not modelled). */
export function v2MemoryStat(m: MemoryCharge, ev: PageEvents): string {
  return flat([
    ['anon', m.anon],
    ['file', m.file],
    ['kernel', 0],
    ['kernel_stack', 0],
    ['pagetables', 0],
    ['sec_pagetables', 0],
    ['percpu', 0],
    ['sock', 0],
    ['vmalloc', 0],
    ['shmem', 0],
    ['zswap', 0],
    ['zswapped', 0],
    ['file_mapped', 0],
    ['file_dirty', 0],
    ['file_writeback', 0],
    ['swapcached', 0],
    ['anon_thp', 0],
    ['file_thp', 0],
    ['shmem_thp', 0],
    ['inactive_anon', 0],
    ['active_anon', m.anon],
    ['inactive_file', m.file],
    ['active_file', 0],
    ['unevictable', 0],
    ['slab_reclaimable', 0],
    ['slab_unreclaimable', 0],
    ['slab', 0],
    ['workingset_refault_anon', 0],
    ['workingset_refault_file', 0],
    ['workingset_activate_anon', 0],
    ['workingset_activate_file', 0],
    ['workingset_restore_anon', 0],
    ['workingset_restore_file', 0],
    ['workingset_nodereclaim', 0],
    ['pgscan', 0],
    ['pgsteal', 0],
    ['pgfault', ev.pgpgin],
    ['pgmajfault', 0],
  ]);
}

export const v2Max = (n: number | null): string => `${n === null ? 'max' : Math.floor(n)}\n`;

/** `cpu.max`: `$MAX $PERIOD`. */
export const cpuMax = (quotaUs: number | null, periodUs = CFS_PERIOD_US): string =>
  `${quotaUs === null ? 'max' : Math.floor(quotaUs)} ${periodUs}\n`;

/** runc/kubelet's cpu.shares → cpu.weight conversion. */
export const sharesToWeight = (shares: number): number => Math.floor(1 + ((shares - 2) * 9999) / 262142);

export const cgroupEvents = (populated: boolean): string => `populated ${populated ? 1 : 0}\nfrozen 0\n`;

export const pidList = (pids: readonly number[]): string => pids.map((p) => `${p}\n`).join('');

// ---------------------------------------------------------------- PSI

export const zeroPsi = (): Psi => ({
  some: { avg10: 0, avg60: 0, avg300: 0, total: 0 },
  full: { avg10: 0, avg60: 0, avg300: 0, total: 0 },
});

/** `{cpu,memory,io}.pressure` and `/proc/pressure/*`: `some …` then `full …` (kernel ≥ 5.13 for cpu). */
export function psiFile(p: Psi): string {
  const line = (kind: string, l: PsiLine): string =>
    `${kind} avg10=${l.avg10.toFixed(2)} avg60=${l.avg60.toFixed(2)} avg300=${l.avg300.toFixed(2)} total=${Math.floor(l.total)}\n`;
  return line('some', p.some) + line('full', p.full);
}

// ---------------------------------------------------------------- /proc

/** One `/proc/meminfo` line: label padded to 16, value right-aligned to 8 (`show_val_kb`). */
const meminfoLine = (label: string, value: number, unit = true): string =>
  `${`${label}:`.padEnd(16)}${String(Math.floor(value)).padStart(8)}${unit ? ' kB' : ''}\n`;

export interface NodeMemory {
  totalBytes: number;
  freeBytes: number;
  availableBytes: number;
  buffersBytes: number;
  cachedBytes: number;
  anonBytes: number;
  slabReclaimableBytes: number;
  slabUnreclaimableBytes: number;
}

export function meminfo(m: NodeMemory): string {
  const kb = (b: number): number => Math.floor(b / 1024);
  const fileLru = m.cachedBytes + m.buffersBytes;
  const rows: Array<[string, number, boolean?]> = [
    ['MemTotal', kb(m.totalBytes)],
    ['MemFree', kb(m.freeBytes)],
    ['MemAvailable', kb(m.availableBytes)],
    ['Buffers', kb(m.buffersBytes)],
    ['Cached', kb(m.cachedBytes)],
    ['SwapCached', 0],
    ['Active', kb(m.anonBytes)],
    ['Inactive', kb(fileLru)],
    ['Active(anon)', kb(m.anonBytes)],
    ['Inactive(anon)', 0],
    ['Active(file)', 0],
    ['Inactive(file)', kb(fileLru)],
    ['Unevictable', 0],
    ['Mlocked', 0],
    ['SwapTotal', 0],
    ['SwapFree', 0],
    ['Zswap', 0],
    ['Zswapped', 0],
    ['Dirty', 0],
    ['Writeback', 0],
    ['AnonPages', kb(m.anonBytes)],
    ['Mapped', 0],
    ['Shmem', 0],
    ['KReclaimable', kb(m.slabReclaimableBytes)],
    ['Slab', kb(m.slabReclaimableBytes + m.slabUnreclaimableBytes)],
    ['SReclaimable', kb(m.slabReclaimableBytes)],
    ['SUnreclaim', kb(m.slabUnreclaimableBytes)],
    ['KernelStack', 0],
    ['PageTables', 0],
    ['SecPageTables', 0],
    ['NFS_Unstable', 0],
    ['Bounce', 0],
    ['WritebackTmp', 0],
    ['CommitLimit', kb(m.totalBytes / 2)],
    ['Committed_AS', kb(m.anonBytes)],
    ['VmallocTotal', 34359738367],
    ['VmallocUsed', 0],
    ['VmallocChunk', 0],
    ['Percpu', 0],
    ['AnonHugePages', 0],
    ['ShmemHugePages', 0],
    ['ShmemPmdMapped', 0],
    ['FileHugePages', 0],
    ['FilePmdMapped', 0],
    ['HugePages_Total', 0, false],
    ['HugePages_Free', 0, false],
    ['HugePages_Rsvd', 0, false],
    ['HugePages_Surp', 0, false],
    ['Hugepagesize', 2048],
    ['Hugetlb', 0],
  ];
  return rows.map(([k, v, unit]) => meminfoLine(k, v, unit ?? true)).join('');
}

/** Per-CPU time in ns, as /proc/stat columns (rendered in USER_HZ jiffies). */
export interface CpuTimes {
  userNs: number;
  systemNs: number;
  idleNs: number;
}

/**
 * `/proc/stat`: the aggregate `cpu  …` line is the sum of the per-CPU lines (as the kernel sums
 * per-CPU counters), each with the ten columns user nice system idle iowait irq softirq steal
 * guest guest_nice.
 */
export function procStat(cpus: readonly CpuTimes[], btimeSec: number, processes: number, running: number): string {
  const j = (ns: number): number => Math.floor(ns / (1e9 / USER_HZ));
  const cols = cpus.map((c) => [j(c.userNs), 0, j(c.systemNs), j(c.idleNs), 0, 0, 0, 0, 0, 0]);
  const sum = cols.reduce((acc, c) => acc.map((v, i) => v + (c[i] ?? 0)), new Array<number>(10).fill(0));
  let out = `cpu  ${sum.join(' ')}\n`;
  cols.forEach((c, i) => (out += `cpu${i} ${c.join(' ')}\n`));
  out += `intr 0\nctxt 0\nbtime ${btimeSec}\nprocesses ${processes}\nprocs_running ${running}\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n`;
  return out;
}

/** Fields of `/proc/<pid>/stat` a simulated container process updates. */
export interface PidStatUpdate {
  usageNs: number;
  rssBytes: number;
}

/**
 * `/proc/<pid>/stat` of a container process: the real process's own line (so pid, ppid, pgrp,
 * starttime match the live process) with utime, stime (field 14, 15), vsize (23) and rss (24)
 * replaced by the simulated usage. `comm` may hold spaces and parens, so split at the last `)`.
 */
export function procPidStat(realLine: string, u: PidStatUpdate): string {
  const close = realLine.lastIndexOf(')');
  const head = realLine.slice(0, close + 1);
  const rest = realLine.slice(close + 2).trim().split(' '); // rest[0] is field 3 (state)
  const tick = 1e9 / USER_HZ;
  const set = (field: number, v: number): void => {
    if (rest.length > field - 3) rest[field - 3] = String(Math.floor(v));
  };
  set(14, userNs(u.usageNs) / tick);
  set(15, systemNs(u.usageNs) / tick);
  set(23, u.rssBytes + 64 * 2 ** 20);
  set(24, u.rssBytes / PAGE_SIZE);
  return `${head} ${rest.join(' ')}\n`;
}

/** A `/proc/<pid>/stat` line for a process whose real one could not be read. */
export function syntheticPidStatLine(pid: number, comm: string, ppid: number): string {
  const f = new Array<number | string>(52 - 2).fill(0);
  f[0] = 'S';
  f[1] = ppid;
  f[2] = pid; // pgrp: containers are their own process group (setsid)
  f[3] = pid; // session
  f[5] = -1; // tpgid
  f[15] = 20; // priority
  f[17] = 1; // num_threads
  return `${pid} (${comm}) ${f.join(' ')}`;
}

/** A minimal but real-format `/proc/<pid>/status` (tab after the colon, kB right-aligned to 8). */
export function procPidStatus(pid: number, ppid: number, comm: string, rssBytes: number): string {
  const kb = (b: number): string => `${String(Math.floor(b / 1024)).padStart(8)} kB`;
  return [
    `Name:\t${comm}`,
    'Umask:\t0022',
    'State:\tS (sleeping)',
    `Tgid:\t${pid}`,
    'Ngid:\t0',
    `Pid:\t${pid}`,
    `PPid:\t${ppid}`,
    'TracerPid:\t0',
    'Uid:\t0\t0\t0\t0',
    'Gid:\t0\t0\t0\t0',
    'FDSize:\t64',
    'Groups:\t ',
    `NStgid:\t${pid}`,
    `NSpid:\t${pid}`,
    `NSpgid:\t${pid}`,
    `NSsid:\t${pid}`,
    `VmRSS:\t${kb(rssBytes)}`,
    `RssAnon:\t${kb(rssBytes)}`,
    `RssFile:\t${kb(0)}`,
    `RssShmem:\t${kb(0)}`,
    'Threads:\t1',
    '',
  ].join('\n');
}
