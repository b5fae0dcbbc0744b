/**
 * Stop one YARN container from the node. The safety rules are the point of this file:
 *
 * - The container's directories are proven afresh before anything is signalled (resolve.ts /
 *   proof.ts: no symlink, no bind mount, on the hierarchy's own mount), whatever proof the caller
 *   carries.
 * - A pid is signalled only if it is > 1, is not protected (this process, its parent and every
 *   ancestor up to pid 1), and a fresh read of `<proc-root>/<pid>/cgroup` — just before the
 *   signal — places it at `/<yarn-path>/<id>` (or below) in the very hierarchy whose
 *   `cgroup.procs` listed it. Anything else is skipped and reported.
 * - `graceful` sends SIGTERM that way; `escalate` (a graceful eviction whose grace period ended)
 *   sends SIGKILL that way; only `emergency` may write `cgroup.kill`, and only after every pid the
 *   v2 subtree lists passed the same proof, every sub-directory proved, no directory is threaded,
 *   and no protected process sits in the subtree (read from its own `/proc/<pid>/cgroup`).
 *   When any of that fails it falls back to the checked per-pid SIGKILL loop and says why.
 *
 * Dry-run does every read and every check, and no write or signal.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Clock, systemClock } from '../clock/clock.js';
import type { CgroupLayout, Hierarchy } from './detect.js';
import { CgroupIoError, CgroupPathError, type CgroupPathErrorKind, errnoCode } from './errors.js';
import { readOptionalCgroupFile } from './io.js';
import { parseProcPidCgroup, procIsInCgroup } from './proc-parse.js';
import { listSubdirectories, reproveDir, writeProvenControlFile } from './proof.js';
import { readProcsOf } from './read.js';
import { type CgroupDir, type ContainerCgroup, resolveContainerCgroup } from './resolve.js';
import type { YarnHierarchy } from './yarn-path.js';

/** graceful: SIGTERM; escalate: SIGKILL pid by pid; emergency: `cgroup.kill` when proven safe, else SIGKILL pid by pid. */
export type KillMode = 'graceful' | 'escalate' | 'emergency';
export type KillMethod = 'SIGTERM' | 'SIGKILL' | 'cgroup.kill';
export type KillSignal = 'SIGTERM' | 'SIGKILL';

export interface KillOptions {
  mode: KillMode;
  dryRun?: boolean;
  /** How long to wait for the cgroup to empty, in ms (default 5000; 0 = check once). */
  deadlineMs?: number;
  /** Poll interval while waiting, in ms (default 20). */
  pollMs?: number;
  /** Deadlines and polls (default: the system clock). */
  clock?: Clock;
  /** Stand-ins for our own pid and our parent's (tests); the real ones and every ancestor are protected anyway. */
  selfPid?: number;
  parentPid?: number;
}

export interface SkippedPid {
  pid: number;
  reason: string;
  /** The pid is pid 1, this process or one of its ancestors (never signalled; the container can never empty). */
  protected?: boolean;
}

export interface KillResult {
  containerId: string;
  mode: KillMode;
  /** The primary method: SIGTERM (graceful), cgroup.kill (emergency, v2, proven safe), else SIGKILL. */
  method: KillMethod;
  dryRun: boolean;
  /** The container's cgroup directories that were walked. */
  dirs: string[];
  /** The `cgroup.kill` file written (or, in dry-run, that would be written). */
  cgroupKillFile?: string;
  /** Why `cgroup.kill` was not used although the mode allowed it (a pid or directory failed its proof). */
  cgroupKillRefused?: string;
  /** Why writing `cgroup.kill` failed, when it did (the kill then fell back to SIGKILL). */
  cgroupKillError?: string;
  /** When that failure was a refused proof (a symlinked or bind-mounted `cgroup.kill` …): its kind. */
  cgroupKillProofFailure?: CgroupPathErrorKind;
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
  /** Further pids never signalled, with why (our ancestors). */
  protectedPids?: ReadonlyMap<number, string>;
  /** The `<proc-root>/<pid>/cgroup` file name, for messages. */
  file: string;
}

/** Pure: why a pid is protected (pid ≤ 1, us, our parent, an ancestor), or undefined. */
export function protectedReason(pid: number, ctx: Pick<PidCheckContext, 'selfPid' | 'parentPid' | 'protectedPids'>): string | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 1) return `pid ${pid} ≤ 1 is never signalled`;
  if (pid === ctx.selfPid) return 'our own pid';
  if (pid === ctx.parentPid) return "our parent's pid";
  return ctx.protectedPids?.get(pid);
}

/**
 * Pure: may this pid be signalled? `procCgroupText` is a fresh read of its `/proc/<pid>/cgroup`
 * (undefined when the process is gone). Returns the reason to skip, or undefined when it is safe.
 */
export function pidSkipReason(pid: number, procCgroupText: string | undefined, ctx: PidCheckContext): string | undefined {
  const prot = protectedReason(pid, ctx);
  if (prot !== undefined) return prot;
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

/** Our ancestors up to pid 1, read from the agent's own `/proc` (not `--proc-root`: they are our processes). */
export function ancestorPids(selfPid = process.pid, procRoot = '/proc'): Map<number, string> {
  const out = new Map<number, string>();
  let pid = selfPid;
  for (let depth = 0; depth < 64; depth++) {
    let stat: string;
    try {
      stat = fs.readFileSync(path.join(procRoot, String(pid), 'stat'), 'latin1');
    } catch {
      break;
    }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses; the last ')' ends it.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isSafeInteger(ppid) || ppid <= 1) break;
    out.set(ppid, depth === 0 ? "our parent's pid" : `an ancestor of the agent (pid ${ppid})`);
    pid = ppid;
  }
  return out;
}

/** How long a kill may use the ancestors read by an earlier kill while our parent stays the same. */
export const ANCESTORS_MAX_AGE_MS = 10_000;
const ancestorsRead = new Map<number, { ppid: number; at: number; procRoot: string; pids: Map<number, string> }>();

/**
 * {@link ancestorPids} for a kill, read again only when our parent changed or the last reading is
 * {@link ANCESTORS_MAX_AGE_MS} old: reading the chain is most of a kill's proofs (a `/proc/<pid>/stat`
 * per ancestor). Between two readings the true set can only have shrunk — a process gains no
 * ancestor; an orphan goes to init or to a subreaper, already one of them — so the earlier set
 * still protects every ancestor (a pid freed meanwhile is protected a little longer: never killed).
 */
export function protectedAncestors(nowMs: number, selfPid = process.pid, ppid = process.ppid, procRoot = '/proc'): Map<number, string> {
  const last = ancestorsRead.get(selfPid);
  if (last && last.ppid === ppid && last.procRoot === procRoot && nowMs - last.at < ANCESTORS_MAX_AGE_MS && nowMs >= last.at) return last.pids;
  const pids = ancestorPids(selfPid, procRoot);
  ancestorsRead.set(selfPid, { ppid, at: nowMs, procRoot, pids });
  return pids;
}

interface Member {
  pid: number;
  hierarchy: Hierarchy;
}

const MAX_DEPTH = 8;
/** At most this many directories of a container's subtree are walked (a hostile tree cannot make a kill endless). */
const MAX_SUBTREE_DIRS = 2000;

/**
 * Kill one container. Throws CgroupPathError for an invalid id or a directory that fails its
 * proof (nothing is touched then); I/O failures on individual pids are reported in `skipped`.
 * `target` may be the proven cgroup a caller carries (a victim): it is proven again here.
 */
export async function killContainer(
  layout: CgroupLayout,
  yarn: YarnHierarchy,
  target: string | ContainerCgroup,
  opts: KillOptions,
): Promise<KillResult> {
  const containerId = typeof target === 'string' ? target : target.containerId;
  const cg = resolveContainerCgroup(layout, yarn, containerId);
  const dryRun = opts.dryRun === true;
  const clock = opts.clock ?? systemClock;
  const deadlineMs = opts.deadlineMs ?? 5000;
  const pollMs = opts.pollMs ?? 20;
  const selfPid = opts.selfPid ?? process.pid;
  const parentPid = opts.parentPid ?? process.ppid;
  const started = clock.now();
  const protectedPids = protectedAncestors(started);
  const ctxBase = { cgroupPath: cg.cgroupPath, selfPid, parentPid, protectedPids };
  const deadline = started + deadlineMs;

  const killFile = opts.mode === 'emergency' && cg.unified ? path.join(cg.unified.dir, 'cgroup.kill') : undefined;
  const killFileThere = killFile !== undefined && lexists(killFile);
  const signal: KillSignal = opts.mode === 'graceful' ? 'SIGTERM' : 'SIGKILL';
  const result: KillResult = {
    containerId, mode: opts.mode, method: signal, dryRun, dirs: cg.all.map((d) => d.dir),
    signalled: [], skipped: [], remaining: [], empty: false, waitedMs: 0,
  };

  const handled = new Set<number>();
  const skipped = new Map<number, SkippedPid>();
  const verdict = (pid: number, hierarchy: Hierarchy): string | undefined => {
    const file = path.join(layout.procRoot, String(pid), 'cgroup');
    const controller = hierarchy.version === 1 ? hierarchy.controllers[0] : undefined;
    return pidSkipReason(pid, readProcCgroup(file), { ...ctxBase, controller, file });
  };

  /** Signal every listed, verified, not-yet-handled pid in every directory of the subtree. */
  const sweep = (): void => {
    for (const { pid, hierarchy } of members(cg)) {
      if (handled.has(pid)) continue;
      const reason = verdict(pid, hierarchy);
      if (reason !== undefined) {
        // Re-checked on the next sweep (it may have been mid-move); reported with the latest reason.
        skipped.set(pid, { pid, reason, ...(protectedReason(pid, ctxBase) !== undefined ? { protected: true } : {}) });
        continue;
      }
      handled.add(pid);
      skipped.delete(pid);
      if (dryRun) {
        result.signalled.push({ pid, signal });
        continue;
      }
      try {
        process.kill(pid, signal);
        result.signalled.push({ pid, signal });
      } catch (err) {
        const code = errnoCode(err);
        skipped.set(pid, { pid, reason: code === 'ESRCH' ? 'exited before the signal' : `kill failed: ${code}` });
      }
    }
  };

  let useCgroupKill = false;
  if (killFileThere && cg.unified) {
    const refused = cgroupKillRefusal(cg, cg.unified, verdict, protectedPids, ctxBase);
    if (refused === undefined) {
      useCgroupKill = true;
      result.method = 'cgroup.kill';
      result.cgroupKillFile = killFile;
    } else {
      result.cgroupKillRefused = refused;
    }
  }

  if (dryRun) {
    sweep();
    result.remaining = uniq(members(cg).map((m) => m.pid));
    result.empty = result.remaining.length === 0;
  } else {
    if (useCgroupKill && cg.unified) {
      const u = cg.unified;
      try {
        // The kernel kills the whole v2 subtree atomically (fork-safe); proven safe just above,
        // and the directory is proven once more by the write itself.
        writeProvenControlFile(u.hierarchy.anchor, u.dir, u.rel, 'cgroup.kill', '1');
        while (hasProcessesIn([u]) && clock.now() < deadline) await clock.sleep(pollMs);
      } catch (err) {
        // Refused (the file or directory failed its proof, or the kernel said no): every pid
        // still gets the per-pid proof below, so falling back is safe.
        result.cgroupKillError = (err as Error).message;
        if (err instanceof CgroupPathError) result.cgroupKillProofFailure = err.kind;
        result.method = 'SIGKILL';
      }
    }
    // On v1/hybrid, processes may live only in v1 groups: they get the signal from the sweep.
    sweep();
    for (;;) {
      const left = members(cg);
      if (left.length === 0 || clock.now() >= deadline) {
        result.remaining = uniq(left.map((m) => m.pid));
        break;
      }
      await clock.sleep(pollMs);
      sweep(); // children forked after the first read
    }
    result.empty = result.remaining.length === 0;
  }
  result.skipped = [...skipped.values()];
  result.waitedMs = Math.round(clock.now() - started);
  return result;
}

/**
 * Why `cgroup.kill` may not be written for this container, or undefined when every proof holds:
 * every sub-directory of the v2 directory proves (no bind mount or symlink inside), none is
 * threaded, every pid listed passes the per-pid proof, and no protected process (pid 1, us, an
 * ancestor) is anywhere in the subtree according to its own `/proc/<pid>/cgroup`.
 */
function cgroupKillRefusal(
  cg: ContainerCgroup,
  unified: CgroupDir,
  verdict: (pid: number, h: Hierarchy) => string | undefined,
  protectedPids: ReadonlyMap<number, string>,
  ctx: Pick<PidCheckContext, 'selfPid' | 'parentPid'>,
): string | undefined {
  let dirs: { dir: string; rel: string }[];
  try {
    dirs = provenSubtree(unified);
  } catch (err) {
    return `a directory of the subtree failed its proof: ${(err as Error).message}`;
  }
  for (const d of dirs) {
    let type: string | undefined;
    try {
      type = readOptionalCgroupFile(path.join(d.dir, 'cgroup.type'))?.trim();
    } catch (err) {
      return `${path.join(d.dir, 'cgroup.type')} unreadable: ${(err as Error).message}`;
    }
    if (type !== undefined && type !== 'domain') return `${d.dir} is a ${type} cgroup: threads of processes outside the container may be in it`;
    let pids: number[];
    try {
      pids = readProcsOf(d.dir);
    } catch (err) {
      return `${path.join(d.dir, 'cgroup.procs')} unreadable: ${(err as Error).message}`;
    }
    for (const pid of pids) {
      const reason = verdict(pid, unified.hierarchy);
      if (reason !== undefined) return `pid ${pid} in ${d.dir}: ${reason}`;
    }
  }
  const want = cg.cgroupPath;
  for (const [pid, why] of [[1, 'pid 1'], [ctx.selfPid, 'our own process'], [ctx.parentPid, 'our parent'], ...protectedPids] as const) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/cgroup`, 'latin1');
    } catch {
      continue;
    }
    try {
      if (procIsInCgroup(parseProcPidCgroup(text, `/proc/${pid}/cgroup`), want, undefined)) return `${why} (pid ${pid}) is inside /${want}: cgroup.kill would kill it`;
    } catch {
      // an unparseable file of our own ancestry is not evidence either way
    }
  }
  return undefined;
}

/** The v2 directory and its sub-directories, each proven (throws CgroupPathError), depth- and count-limited. */
function provenSubtree(top: CgroupDir): { dir: string; rel: string }[] {
  const out: { dir: string; rel: string }[] = [];
  const visit = (dir: string, rel: string, depth: number): void => {
    if (out.length >= MAX_SUBTREE_DIRS) throw new CgroupPathError('unprovable', dir, `more than ${MAX_SUBTREE_DIRS} sub-cgroups`);
    if (depth > 0 && !reproveDir(top.hierarchy.anchor, dir, rel)) return; // removed meanwhile
    out.push({ dir, rel });
    if (depth >= MAX_DEPTH) return;
    for (const name of listSubdirectories(dir)) visit(path.join(dir, name), `${rel}/${name}`, depth + 1);
  };
  visit(top.dir, top.rel, 0);
  return out;
}

/** Pids of the container's cgroup and its sub-cgroups, in every hierarchy, with where each was listed. */
function members(cg: ContainerCgroup): Member[] {
  const out: Member[] = [];
  for (const d of cg.all) {
    for (const dir of subtree(d.dir)) for (const pid of safeProcs(dir)) out.push({ pid, hierarchy: d.hierarchy });
  }
  return out;
}

/** Whether any directory of the cgroups (subtrees included) still lists a process. */
export function hasProcessesIn(dirs: readonly Pick<CgroupDir, 'dir'>[]): boolean {
  return dirs.some((d) => subtree(d.dir).some((s) => safeProcs(s).length > 0));
}

/** The directory and its sub-directories (not following symlinks), depth- and count-limited. */
function subtree(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string, depth: number): void => {
    if (out.length >= MAX_SUBTREE_DIRS) return;
    out.push(d);
    if (depth >= MAX_DEPTH) return;
    for (const name of listSubdirectories(d)) visit(path.join(d, name), depth + 1);
  };
  visit(dir, 0);
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

function readProcCgroup(file: string): string | undefined {
  try {
    return readOptionalCgroupFile(file, 64 * 1024);
  } catch {
    return undefined;
  }
}

function lexists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

function uniq(xs: number[]): number[] {
  return [...new Set(xs)].sort((a, b) => a - b);
}
