/**
 * Stop one YARN container from the node: SIGTERM (graceful), or `cgroup.kill` / SIGKILL
 * (emergency), then wait for its cgroup to empty. The safety rules are the point of this file:
 * a pid is signalled only if it is > 1, is neither us nor our parent, and a fresh read of
 * `<proc-root>/<pid>/cgroup` — just before the signal — places it at `/<yarn-path>/<id>` (or
 * below) in the very hierarchy whose `cgroup.procs` listed it. Anything else is skipped and
 * reported. Dry-run does every read and every check, and no write or signal.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CgroupLayout, Hierarchy } from './detect.js';
import { CgroupIoError, errnoCode } from './errors.js';
import { fileExists, writeCgroupFile } from './io.js';
import { parseProcPidCgroup, procIsInCgroup } from './proc-parse.js';
import { readProcsOf } from './read.js';
import { type ContainerCgroup, resolveContainerCgroup } from './resolve.js';
import type { YarnHierarchy } from './yarn-path.js';

export type KillMode = 'graceful' | 'emergency';
export type KillMethod = 'SIGTERM' | 'SIGKILL' | 'cgroup.kill';
export type KillSignal = 'SIGTERM' | 'SIGKILL';

export interface KillOptions {
  mode: KillMode;
  dryRun?: boolean;
  /** How long to wait for the cgroup to empty, in ms (default 5000; 0 = check once). */
  deadlineMs?: number;
  /** Poll interval while waiting, in ms (default 20). */
  pollMs?: number;
  /** Our own pid and our parent's (defaults: process.pid, process.ppid); never signalled. */
  selfPid?: number;
  parentPid?: number;
}

export interface SkippedPid {
  pid: number;
  reason: string;
}

export interface KillResult {
  containerId: string;
  mode: KillMode;
  /** The primary method: SIGTERM (graceful), cgroup.kill (emergency on v2 with the file), else SIGKILL. */
  method: KillMethod;
  dryRun: boolean;
  /** The container's cgroup directories that were walked. */
  dirs: string[];
  /** The `cgroup.kill` file written (or, in dry-run, that would be written). */
  cgroupKillFile?: string;
  /** Why writing `cgroup.kill` failed, when it did (the kill then fell back to SIGKILL). */
  cgroupKillError?: string;
  /**
   * Pids signalled, each once, with the signal. With `cgroup.kill` only the leftovers the kernel
   * did not reach (v1-only members on hybrid). In dry-run: every verified pid the kill would reach.
   */
  signalled: { pid: number; signal: KillSignal }[];
  /** Pids listed in the cgroup but not signalled, with why. */
  skipped: SkippedPid[];
  /** Pids still in the cgroup when we stopped waiting (dry-run: the current members). */
  remaining: number[];
  /** No process left in any directory of the container's cgroup (subtree included). */
  empty: boolean;
  waitedMs: number;
}

/** What the pure verdict needs to know about the pid's claimed place and about us. */
export interface PidCheckContext {
  /** The container's cgroup path relative to the hierarchy root (`<yarn-path>/<id>`). */
  cgroupPath: string;
  /** A v1 controller of the hierarchy that listed the pid; undefined for the v2 tree. */
  controller: string | undefined;
  selfPid: number;
  parentPid: number;
  /** The `<proc-root>/<pid>/cgroup` file name, for messages. */
  file: string;
}

/**
 * Pure: may this pid be signalled? `procCgroupText` is a fresh read of its `/proc/<pid>/cgroup`
 * (undefined when the process is gone). Returns the reason to skip, or undefined when it is safe.
 */
export function pidSkipReason(pid: number, procCgroupText: string | undefined, ctx: PidCheckContext): string | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 1) return `pid ${pid} ≤ 1 is never signalled`;
  if (pid === ctx.selfPid) return 'our own pid';
  if (pid === ctx.parentPid) return "our parent's pid";
  if (procCgroupText === undefined) return `exited (no ${ctx.file})`;
  let entries;
  try {
    entries = parseProcPidCgroup(procCgroupText, ctx.file);
  } catch (err) {
    return `unparseable ${ctx.file}: ${(err as Error).message}`;
  }
  const where = ctx.controller === undefined ? 'unified hierarchy' : `${ctx.controller} hierarchy`;
  if (!procIsInCgroup(entries, ctx.cgroupPath, ctx.controller)) return `${ctx.file} does not place it under /${ctx.cgroupPath} in the ${where}`;
  return undefined;
}

/**
 * Kill one container. Throws CgroupPathError for an invalid id or a symlink escape (nothing is
 * touched then); I/O failures on individual pids are reported in `skipped`, not thrown.
 */
export async function killContainer(
  layout: CgroupLayout,
  yarn: YarnHierarchy,
  containerId: string,
  opts: KillOptions,
): Promise<KillResult> {
  const cg = resolveContainerCgroup(layout, yarn, containerId);
  const dryRun = opts.dryRun === true;
  const deadlineMs = opts.deadlineMs ?? 5000;
  const pollMs = opts.pollMs ?? 20;
  const ctxBase = { cgroupPath: cg.cgroupPath, selfPid: opts.selfPid ?? process.pid, parentPid: opts.parentPid ?? process.ppid };
  const started = performance.now();
  const deadline = started + deadlineMs;

  const killFile = opts.mode === 'emergency' && cg.unified ? path.join(cg.unified.dir, 'cgroup.kill') : undefined;
  const useCgroupKill = killFile !== undefined && fileExists(killFile);
  const method: KillMethod = opts.mode === 'graceful' ? 'SIGTERM' : useCgroupKill ? 'cgroup.kill' : 'SIGKILL';
  const signal: KillSignal = opts.mode === 'graceful' ? 'SIGTERM' : 'SIGKILL';

  const result: KillResult = {
    containerId, mode: opts.mode, method, dryRun, dirs: cg.all.map((d) => d.dir),
    signalled: [], skipped: [], remaining: [], empty: false, waitedMs: 0,
  };
  if (useCgroupKill) result.cgroupKillFile = killFile;

  const handled = new Set<number>();
  const skippedReasons = new Map<number, string>();

  /** Signal every listed, verified, not-yet-handled pid in every directory of the subtree. */
  const sweep = (): void => {
    for (const { pid, hierarchy } of members(cg)) {
      if (handled.has(pid)) continue;
      const file = path.join(layout.procRoot, String(pid), 'cgroup');
      const controller = hierarchy.version === 1 ? hierarchy.controllers[0] : undefined;
      const reason = pidSkipReason(pid, readProcCgroup(file), { ...ctxBase, controller, file });
      if (reason !== undefined) {
        // Re-checked on the next sweep (it may have been mid-move); reported with the latest reason.
        skippedReasons.set(pid, reason);
        continue;
      }
      handled.add(pid);
      skippedReasons.delete(pid);
      if (dryRun) {
        result.signalled.push({ pid, signal });
        continue;
      }
      try {
        process.kill(pid, signal);
        result.signalled.push({ pid, signal });
      } catch (err) {
        const code = errnoCode(err);
        skippedReasons.set(pid, code === 'ESRCH' ? 'exited before the signal' : `kill failed: ${code}`);
      }
    }
  };

  if (dryRun) {
    sweep();
    result.remaining = uniq(members(cg).map((m) => m.pid));
    result.empty = result.remaining.length === 0;
  } else {
    if (useCgroupKill && killFile && cg.unified) {
      // The kernel kills the whole v2 subtree atomically (fork-safe); the dir was validated above.
      try {
        writeCgroupFile(killFile, '1');
        await waitEmpty([cg.unified.dir], deadline, pollMs);
      } catch (err) {
        // Refused (or the group vanished): fall back to verified SIGKILLs below.
        result.cgroupKillError = (err as Error).message;
        result.method = 'SIGKILL';
      }
    }
    // On v1/hybrid, processes may live only in v1 groups: they get the signal from the sweep.
    sweep();
    while (true) {
      const left = members(cg);
      if (left.length === 0 || performance.now() >= deadline) {
        result.remaining = uniq(left.map((m) => m.pid));
        break;
      }
      await sleep(pollMs);
      sweep(); // children forked after the first read
    }
    result.empty = result.remaining.length === 0;
  }
  result.skipped = [...skippedReasons].map(([pid, reason]) => ({ pid, reason }));
  result.waitedMs = Math.round(performance.now() - started);
  return result;
}

interface Member {
  pid: number;
  hierarchy: Hierarchy;
}

/** Pids of the container's cgroup and its sub-cgroups, in every hierarchy, with where each was listed. */
function members(cg: ContainerCgroup): Member[] {
  const out: Member[] = [];
  for (const d of cg.all) {
    for (const dir of subtree(d.dir)) for (const pid of safeProcs(dir)) out.push({ pid, hierarchy: d.hierarchy });
  }
  return out;
}

const MAX_DEPTH = 8;

/** The directory and its sub-directories (not following symlinks), depth-limited. */
function subtree(dir: string, depth = 0): string[] {
  const out = [dir];
  if (depth >= MAX_DEPTH) return out;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out; // removed meanwhile
  }
  for (const e of entries) if (e.isDirectory()) out.push(...subtree(path.join(dir, e.name), depth + 1));
  return out;
}

function safeProcs(dir: string): number[] {
  try {
    return readProcsOf(dir);
  } catch (err) {
    // A cgroup being removed can fail with ENODEV: empty for our purpose. Garbage is not.
    if (err instanceof CgroupIoError && err.gone) return [];
    throw err;
  }
}

async function waitEmpty(dirs: string[], deadline: number, pollMs: number): Promise<void> {
  while (dirs.some((d) => subtree(d).some((s) => safeProcs(s).length > 0)) && performance.now() < deadline) {
    await sleep(pollMs);
  }
}

function readProcCgroup(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function uniq(xs: number[]): number[] {
  return [...new Set(xs)].sort((a, b) => a - b);
}
