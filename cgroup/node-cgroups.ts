/**
 * The agent's one handle on a node's cgroups: the detected layout plus the validated YARN
 * hierarchy, with the operations bound to them. A thin shell over the functions beside it.
 */
import { type Clock, systemClock } from '../clock/clock.js';
import { type CgroupLayout, type CgroupMode, detectCgroupLayout } from './detect.js';
import { type CpuLimit, type CpuLimitResult, type SetCpuLimitOptions, setCpuLimit } from './cpu-limit.js';
import { CgroupIoError } from './errors.js';
import { hasProcessesIn, type KillOptions, type KillResult, killContainer } from './kill.js';
import type { CgroupFilesystem } from './proof.js';
import { type CgroupDirs, type ContainerCgroup, resolveContainerCgroup, resolveRootCgroup, resolveYarnParent } from './resolve.js';
import { type CgroupNaming, otherNaming, parseYarnHierarchy, type YarnHierarchy } from './yarn-path.js';

export interface CgroupConfig {
  /** `--cgroup-root`, default `/sys/fs/cgroup`. */
  cgroupRoot: string;
  /** `--proc-root`, default `/proc`. */
  procRoot: string;
  /** `--yarn-cgroup-path`, default `kubepods/besteffort/hadoop-yarn`. */
  yarnCgroupPath: string;
  /** Default `kernel` (cgroupfs required); `simulated` for a simulator's tree (`--simulated-cgroups`). */
  filesystem?: CgroupFilesystem;
}

/** What was found, for the agent's startup log and `/information`. */
export interface CgroupDescription {
  mode: CgroupMode;
  source: 'mounts' | 'probe';
  filesystem: CgroupFilesystem;
  root: string;
  controllerDirs: Readonly<Record<string, string>>;
  unified?: string;
  yarnCgroupPath: string;
  naming: CgroupNaming;
  /** Directories of the YARN parent that exist (empty: the NM has not created it, or wrong path). */
  yarnParentDirs: string[];
  /** When the parent is missing but the other driver's naming exists: the path to configure instead. */
  hint?: string;
  /** cgroup mounts inside a hierarchy (bind mounts): never used; directories below them are refused. */
  nestedMounts: readonly string[];
  /** Why the YARN parent was refused at startup (its directories failed their proof). */
  yarnParentRefused?: string;
}

export class NodeCgroups {
  private constructor(readonly layout: CgroupLayout, readonly yarn: YarnHierarchy) {}

  /** Validate the YARN path and detect the layout; throws CgroupPathError / CgroupLayoutError. */
  static open(config: CgroupConfig): NodeCgroups {
    const yarn = parseYarnHierarchy(config.yarnCgroupPath);
    const layout = detectCgroupLayout({ cgroupRoot: config.cgroupRoot, procRoot: config.procRoot, filesystem: config.filesystem ?? 'kernel' });
    return new NodeCgroups(layout, yarn);
  }

  /** The container's directories, proven now (throws CgroupPathError when one is not what it claims). */
  container(containerId: string): ContainerCgroup {
    return resolveContainerCgroup(this.layout, this.yarn, containerId);
  }

  /** Whether the container's cgroup (subtree included) still lists a process; a vanished one does not. */
  hasProcesses(target: string | ContainerCgroup): boolean {
    const cg = typeof target === 'string' ? this.container(target) : target;
    try {
      return hasProcessesIn(cg.all);
    } catch (err) {
      if (err instanceof CgroupIoError && err.gone) return false;
      throw err;
    }
  }

  /** Poll until the container's cgroup is empty or `deadlineMs` passed; re-proves the directories each time. */
  async waitUntilEmpty(containerId: string, deadlineMs: number, pollMs: number, clock: Clock = systemClock): Promise<boolean> {
    const end = clock.now() + deadlineMs;
    for (;;) {
      if (!this.hasProcesses(containerId)) return true;
      if (clock.now() >= end) return false;
      await clock.sleep(pollMs);
    }
  }

  yarnParent(): CgroupDirs {
    return resolveYarnParent(this.layout, this.yarn);
  }

  root(): CgroupDirs {
    return resolveRootCgroup(this.layout);
  }

  setYarnCpuLimit(limit: CpuLimit, opts: SetCpuLimitOptions = {}): CpuLimitResult {
    return setCpuLimit(this.yarnParent(), limit, opts);
  }

  /** Kill a container (by id, or the proven cgroup a victim carries: it is proven again). */
  killContainer(target: string | ContainerCgroup, opts: KillOptions): Promise<KillResult> {
    return killContainer(this.layout, this.yarn, target, opts);
  }

  describe(): CgroupDescription {
    let parent: CgroupDirs;
    let refused: string | undefined;
    try {
      parent = this.yarnParent();
    } catch (err) {
      refused = (err as Error).message;
      parent = { cgroupPath: this.yarn.path, all: [] };
    }
    const d: CgroupDescription = {
      mode: this.layout.mode,
      source: this.layout.source,
      filesystem: this.layout.filesystem,
      root: this.layout.root,
      controllerDirs: this.layout.controllerDirs,
      yarnCgroupPath: this.yarn.path,
      naming: this.yarn.naming,
      yarnParentDirs: parent.all.map((x) => x.dir),
      nestedMounts: this.layout.nestedMounts,
    };
    if (refused !== undefined) d.yarnParentRefused = refused;
    if (this.layout.unified) d.unified = this.layout.unified.dir;
    if (parent.all.length === 0 && refused === undefined) {
      const alt = otherNaming(this.yarn);
      if (alt !== undefined) {
        const altDirs = resolveYarnParent(this.layout, parseYarnHierarchy(alt));
        if (altDirs.all.length > 0) d.hint = `${this.yarn.path} not found but ${alt} exists (${this.yarn.naming === 'cgroupfs' ? 'systemd' : 'cgroupfs'} naming): set --yarn-cgroup-path ${alt}`;
      }
    }
    return d;
  }
}
