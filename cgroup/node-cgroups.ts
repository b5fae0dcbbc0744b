/**
 * The agent's one handle on a node's cgroups: the detected layout plus the validated YARN
 * hierarchy, with the operations bound to them. A thin shell over the functions beside it.
 */
import { type CgroupLayout, type CgroupMode, detectCgroupLayout } from './detect.js';
import { type CpuLimit, type CpuLimitResult, type SetCpuLimitOptions, setCpuLimit } from './cpu-limit.js';
import { type KillOptions, type KillResult, killContainer } from './kill.js';
import { type CgroupDirs, type ContainerCgroup, resolveContainerCgroup, resolveRootCgroup, resolveYarnParent } from './resolve.js';
import { type CgroupNaming, otherNaming, parseYarnHierarchy, type YarnHierarchy } from './yarn-path.js';

export interface CgroupConfig {
  /** `--cgroup-root`, default `/sys/fs/cgroup`. */
  cgroupRoot: string;
  /** `--proc-root`, default `/proc`. */
  procRoot: string;
  /** `--yarn-cgroup-path`, default `kubepods/besteffort/hadoop-yarn`. */
  yarnCgroupPath: string;
}

/** What was found, for the agent's startup log and `/information`. */
export interface CgroupDescription {
  mode: CgroupMode;
  source: 'mounts' | 'probe';
  root: string;
  controllerDirs: Readonly<Record<string, string>>;
  unified?: string;
  yarnCgroupPath: string;
  naming: CgroupNaming;
  /** Directories of the YARN parent that exist (empty: the NM has not created it, or wrong path). */
  yarnParentDirs: string[];
  /** When the parent is missing but the other driver's naming exists: the path to configure instead. */
  hint?: string;
}

export class NodeCgroups {
  private constructor(readonly layout: CgroupLayout, readonly yarn: YarnHierarchy) {}

  /** Validate the YARN path and detect the layout; throws CgroupPathError / CgroupLayoutError. */
  static open(config: CgroupConfig): NodeCgroups {
    const yarn = parseYarnHierarchy(config.yarnCgroupPath);
    const layout = detectCgroupLayout({ cgroupRoot: config.cgroupRoot, procRoot: config.procRoot });
    return new NodeCgroups(layout, yarn);
  }

  container(containerId: string): ContainerCgroup {
    return resolveContainerCgroup(this.layout, this.yarn, containerId);
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

  killContainer(containerId: string, opts: KillOptions): Promise<KillResult> {
    return killContainer(this.layout, this.yarn, containerId, opts);
  }

  describe(): CgroupDescription {
    const parent = this.yarnParent();
    const d: CgroupDescription = {
      mode: this.layout.mode,
      source: this.layout.source,
      root: this.layout.root,
      controllerDirs: this.layout.controllerDirs,
      yarnCgroupPath: this.yarn.path,
      naming: this.yarn.naming,
      yarnParentDirs: parent.all.map((x) => x.dir),
    };
    if (this.layout.unified) d.unified = this.layout.unified.dir;
    if (parent.all.length === 0) {
      const alt = otherNaming(this.yarn);
      if (alt !== undefined) {
        const altDirs = resolveYarnParent(this.layout, parseYarnHierarchy(alt));
        if (altDirs.all.length > 0) d.hint = `${this.yarn.path} not found but ${alt} exists (${this.yarn.naming === 'cgroupfs' ? 'systemd' : 'cgroupfs'} naming): set --yarn-cgroup-path ${alt}`;
      }
    }
    return d;
  }
}
