/**
 * YARN containers on the simulated node: each one a real (harmless) process with its cgroup
 * directories and a fake `/proc/<pid>`, started and removed as YARN's list changes; its exit
 * reported; `cgroup.kill` honoured as the kernel does (every process of the cgroup SIGKILLed).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../log/logger.js';
import { isContainerId } from '../../yarn/ids.js';
import { readSmall } from './atomic-files.js';
import { cgroupFileSets } from './cgroup-files.js';
import { COMMAND, type ProcessExit, spawnContainerProcess } from './container-process.js';
import { type CgroupDirs, cgroupDirs, procPidCgroup, unifiedDir } from './hierarchy.js';
import { syntheticPidStatLine } from './kernel-files.js';
import { containerView, loadOf, pidFileContents } from './node-model.js';
import { newCounters, type NodeState, type SimContainer } from './node-state.js';
import type { NodeTree } from './node-tree.js';
import { type ContainerSpec, ZERO_LOAD } from './workload.js';

export type ContainerExitListener = (containerId: string, exit: ProcessExit) => void;

export class NodeContainers {
  readonly exitListeners: ContainerExitListener[] = [];

  constructor(
    private readonly s: NodeState,
    private readonly tree: NodeTree,
    private readonly log: Logger,
    /** Re-render soon (a container exited). */
    private readonly scheduleRender: () => void,
  ) {}

  /** The directories a container's cgroup occupies (one per v1 hierarchy, plus the v2 one). */
  cgroupDirsOf(id: string): CgroupDirs {
    if (!isContainerId(id)) throw new Error(`invalid container id ${JSON.stringify(id)}`);
    return cgroupDirs(this.s.paths.layout, this.s.paths.cgroupRoot, `${this.s.paths.yarnCgroupPath}/${id}`);
  }

  launch(spec: ContainerSpec): void {
    const s = this.s;
    const full: Required<ContainerSpec> = {
      id: spec.id,
      memoryMiB: Math.max(0, spec.memoryMiB),
      vcores: Math.max(0, spec.vcores),
      executionType: spec.executionType ?? 'GUARANTEED',
    };
    const rel = `${s.paths.yarnCgroupPath}/${spec.id}`;
    const proc = spawnContainerProcess();
    s.spawned++;
    const c: SimContainer = {
      spec: full,
      rel,
      startedSimMs: s.simMs,
      override: {},
      proc,
      realStatLine: readSmall(`/proc/${proc.pid}/stat`)?.trim() || syntheticPidStatLine(proc.pid, COMMAND, process.pid),
      state: 'running',
      removing: false,
      watcher: undefined,
      load: ZERO_LOAD,
      pidFilesRss: -1,
    };
    s.containers.set(spec.id, c);
    s.counters.set(rel, newCounters());
    c.load = loadOf(s, c);
    // Fake /proc/<pid> first, so a pid listed in cgroup.procs can always be verified.
    const pidFiles: Record<string, string> = {
      cgroup: procPidCgroup(s.paths.layout, rel),
      ...pidFileContents(s, c),
    };
    this.tree.createDirAtomically(path.join(s.paths.procRoot, String(proc.pid)), pidFiles);
    c.pidFilesRss = c.load.memoryBytes;
    const view = containerView(s, c, s.counters.get(rel)!);
    for (const set of cgroupFileSets(s.paths.layout, s.paths.cgroupRoot, view)) {
      this.tree.createDirAtomically(set.dir, set.files);
    }
    this.watchKill(c);
    proc.exited.then(
      (exit) => this.processExited(c, exit),
      () => undefined,
    );
    this.log.debug({ container: spec.id, pid: proc.pid }, 'container launched');
  }

  /** YARN finished the container: kill its process and remove its cgroups, quietly. */
  removeRunning(c: SimContainer): void {
    c.removing = true;
    c.proc.kill('SIGKILL');
    this.cleanupCgroups(c);
  }

  private processExited(c: SimContainer, exit: ProcessExit): void {
    if (this.s.stopped) return;
    c.state = 'exited';
    this.cleanupCgroups(c);
    this.tree.removeTree(path.join(this.s.paths.procRoot, String(c.proc.pid)));
    if (c.removing) return;
    this.log.info({ container: c.spec.id, pid: c.proc.pid, ...exit }, 'container process exited');
    for (const l of this.exitListeners) {
      try {
        l(c.spec.id, exit);
      } catch (e) {
        this.log.error({ err: e, container: c.spec.id }, 'onContainerExit listener failed');
      }
    }
    this.scheduleRender();
  }

  /** The NM deletes a finished container's cgroup in every hierarchy. */
  private cleanupCgroups(c: SimContainer): void {
    c.watcher?.close();
    c.watcher = undefined;
    const dirs = this.cgroupDirsOf(c.spec.id);
    for (const d of [...dirs.v1.values(), ...(dirs.unified ? [dirs.unified] : [])]) this.tree.removeTree(d);
  }

  /** `cgroup.kill`: the kernel SIGKILLs every process of the cgroup when `1` is written. */
  private watchKill(c: SimContainer): void {
    const dir = this.cgroupDirsOf(c.spec.id).unified;
    if (dir === undefined) return;
    const file = path.join(dir, 'cgroup.kill');
    try {
      c.watcher = fs.watch(file, { persistent: false }, () => this.checkKill(c));
      c.watcher.on('error', () => undefined);
    } catch {
      c.watcher = undefined; // step() polls as well
    }
  }

  /** Every `cgroup.kill` of a container or an ancestor (step() calls this; watches may miss a write). */
  pollKillFiles(): void {
    const s = this.s;
    if (unifiedDir(s.paths.layout) === undefined) return;
    for (const c of s.containers.values()) if (c.state === 'running') this.checkKill(c);
    // cgroup.kill on an ancestor (e.g. the YARN parent) kills the whole subtree
    for (const rel of s.staticGroups) {
      const dir = rel === '' ? undefined : cgroupDirs(s.paths.layout, s.paths.cgroupRoot, rel).unified;
      if (dir === undefined) continue;
      const file = path.join(dir, 'cgroup.kill');
      if (readSmall(file)?.trim() !== '1') continue;
      this.log.info({ cgroup: rel }, 'cgroup.kill written on a parent: killing its subtree');
      for (const c of s.containers.values()) if (c.state === 'running' && c.rel.startsWith(`${rel}/`)) c.proc.kill('SIGKILL');
      fs.writeFileSync(file, '');
    }
  }

  private checkKill(c: SimContainer): void {
    if (c.state !== 'running' || this.s.stopped) return;
    const dir = this.cgroupDirsOf(c.spec.id).unified;
    if (dir === undefined) return;
    const file = path.join(dir, 'cgroup.kill');
    const content = readSmall(file);
    if (content === undefined || content.trim() !== '1') return;
    this.log.info({ container: c.spec.id, pid: c.proc.pid }, 'cgroup.kill written: killing');
    c.proc.kill('SIGKILL');
    try {
      fs.writeFileSync(file, ''); // the kernel file keeps no content
    } catch {
      // the cgroup is being removed
    }
  }
}
