/**
 * The YARN parent's CPU bandwidth limit (CPU suppression): v1 `cpu.cfs_quota_us` (with the
 * period in `cpu.cfs_period_us`), v2 `cpu.max` ("quota period" / "max period"). The plan is a
 * pure function of the limit and the current period; applying it is one or two writes, or none
 * in dry-run or when the value is already in place.
 */
import path from 'node:path';
import type { MilliCores } from '../kube/quantity.js';
import type { CgroupLayout } from './detect.js';
import { CgroupNotFoundError } from './errors.js';
import type { CpuBandwidth } from './parse.js';
import { writeProvenControlFile } from './proof.js';
import { readCpuBandwidth } from './read.js';
import { type CgroupDir, type CgroupDirs, resolveYarnParent } from './resolve.js';
import type { YarnHierarchy } from './yarn-path.js';

/** A limit in milli-cores, or no limit (v1 `-1`, v2 `max`). */
export type CpuLimit = MilliCores | 'unlimited';

/** The kernel refuses quotas below 1 ms (`min_cfs_quota_period`). */
export const MIN_QUOTA_US = 1000;
/** Upper bound of a CFS quota (`max_cfs_runtime`, 2^44 − 1 µs). */
export const MAX_QUOTA_US = 2 ** 44 - 1;
/** Legal CFS periods: 1 ms … 1 s. */
export const MIN_PERIOD_US = 1000;
export const MAX_PERIOD_US = 1_000_000;
export const DEFAULT_PERIOD_US = 100_000;

/**
 * Pure: quota in µs for `milli` milli-cores per `periodUs` (milli × period / 1000, rounded down
 * — a limit errs on the side of the online workload — and raised to the kernel's 1000 µs minimum).
 */
export function quotaUsFor(milli: number, periodUs: number): number {
  if (!Number.isFinite(milli) || milli < 0) throw new RangeError(`CPU limit must be ≥ 0 milli-cores, got ${milli}`);
  checkPeriod(periodUs);
  const q = Math.max(MIN_QUOTA_US, Math.floor((Math.floor(milli) * periodUs) / 1000));
  if (q > MAX_QUOTA_US) throw new RangeError(`CPU limit ${milli}m exceeds the kernel's maximum quota`);
  return q;
}

export interface CpuLimitWrite {
  file: string;
  value: string;
}

export interface CpuLimitPlan {
  version: 1 | 2;
  /** What was (or, in dry-run, would be) written, in order. */
  writes: CpuLimitWrite[];
  /** The target bandwidth; quotaUs null = unlimited. */
  target: CpuBandwidth;
}

/**
 * Pure: the writes that set `limit` on a directory, given its current bandwidth. Nothing when it
 * is already in place. v1 writes the period first (only if it changes), then the quota.
 */
export function planCpuLimit(d: CgroupDir, limit: CpuLimit, current: CpuBandwidth, periodUs = current.periodUs): CpuLimitPlan {
  checkPeriod(periodUs);
  const quotaUs = limit === 'unlimited' ? null : quotaUsFor(limit, periodUs);
  return planCpuBandwidth(d, { quotaUs, periodUs }, current);
}

/** Pure: the writes that put an exact bandwidth (e.g. one read earlier) on a directory. */
export function planCpuBandwidth(d: CgroupDir, target: CpuBandwidth, current: CpuBandwidth): CpuLimitPlan {
  const { quotaUs, periodUs } = target;
  checkPeriod(periodUs);
  if (quotaUs !== null && (!Number.isInteger(quotaUs) || quotaUs < MIN_QUOTA_US || quotaUs > MAX_QUOTA_US)) {
    throw new RangeError(`CFS quota must be an integer in ${MIN_QUOTA_US}..${MAX_QUOTA_US} µs, got ${quotaUs}`);
  }
  const version = d.hierarchy.version;
  const writes: CpuLimitWrite[] = [];
  const same = current.quotaUs === quotaUs && current.periodUs === periodUs;
  if (!same) {
    if (version === 1) {
      if (current.periodUs !== periodUs) writes.push({ file: path.join(d.dir, 'cpu.cfs_period_us'), value: String(periodUs) });
      if (current.quotaUs !== quotaUs) writes.push({ file: path.join(d.dir, 'cpu.cfs_quota_us'), value: quotaUs === null ? '-1' : String(quotaUs) });
    } else {
      writes.push({ file: path.join(d.dir, 'cpu.max'), value: `${quotaUs === null ? 'max' : quotaUs} ${periodUs}` });
    }
  }
  return { version, writes, target };
}

export interface CpuLimitResult extends CpuLimitPlan {
  previous: CpuBandwidth;
  dryRun: boolean;
  /** True when the writes were performed (false in dry-run or when nothing changed). */
  applied: boolean;
}

export interface SetCpuLimitOptions {
  dryRun?: boolean;
  /** Change the CFS period too (default: keep the current one). */
  periodUs?: number;
}

/**
 * Set the CPU limit of a cgroup's CPU directory. Each write re-proves the directory and goes
 * through its descriptor (proof.ts): throws CgroupPathError when the directory is no longer what
 * it was proven to be (a bind mount or symlink appeared), CgroupIoError when the kernel refuses.
 */
export function setCpuLimit(cg: CgroupDirs, limit: CpuLimit, opts: SetCpuLimitOptions = {}): CpuLimitResult {
  const d = cg.cpu;
  if (!d) throw new CgroupNotFoundError(cg.cgroupPath, 'cpu');
  const previous = readCpuBandwidth(d);
  return applyCpuPlan(d, planCpuLimit(d, limit, previous, opts.periodUs ?? previous.periodUs), previous, opts.dryRun === true);
}

/** Put an exact bandwidth back (what the agent found before its first write). */
export function setCpuBandwidth(cg: CgroupDirs, target: CpuBandwidth, opts: { dryRun?: boolean } = {}): CpuLimitResult {
  const d = cg.cpu;
  if (!d) throw new CgroupNotFoundError(cg.cgroupPath, 'cpu');
  const previous = readCpuBandwidth(d);
  return applyCpuPlan(d, planCpuBandwidth(d, target, previous), previous, opts.dryRun === true);
}

function applyCpuPlan(d: CgroupDir, plan: CpuLimitPlan, previous: CpuBandwidth, dryRun: boolean): CpuLimitResult {
  // Each write re-proves the directory and goes through its descriptor (proof.ts).
  if (!dryRun) for (const w of plan.writes) writeProvenControlFile(d.hierarchy.anchor, d.dir, d.rel, path.basename(w.file), w.value);
  return { ...plan, previous, dryRun, applied: !dryRun && plan.writes.length > 0 };
}

/** Set the limit that bounds all YARN containers together: on the YARN parent cgroup. */
export function setYarnCpuLimit(layout: CgroupLayout, yarn: YarnHierarchy, limit: CpuLimit, opts: SetCpuLimitOptions = {}): CpuLimitResult {
  return setCpuLimit(resolveYarnParent(layout, yarn), limit, opts);
}

function checkPeriod(periodUs: number): void {
  if (!Number.isInteger(periodUs) || periodUs < MIN_PERIOD_US || periodUs > MAX_PERIOD_US) {
    throw new RangeError(`CFS period must be an integer in ${MIN_PERIOD_US}..${MAX_PERIOD_US} µs, got ${periodUs}`);
  }
}
