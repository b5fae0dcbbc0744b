/**
 * A fake node the real agent can run against through `--cgroup-root` / `--proc-root`: a temp
 * tree of cgroupfs and procfs files in the kernel's formats whose numbers follow a simulated
 * workload, with one real (harmless) process per YARN container so that kills are real.
 *
 * The public face of the node, over its parts: node-state.ts (what the node is), node-model.ts
 * (loads, CPU sharing, views, memory), node-tree.ts (the files), node-containers.ts (container
 * processes, exits, cgroup.kill); and the pure ones beneath them: workload.ts, cgroup-files.ts /
 * kernel-files.ts (file contents), hierarchy.ts (paths).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createLogger, type Logger } from '../../log/logger.js';
import { milliCores, type MilliCores } from '../../kube/quantity.js';
import { isContainerId } from '../../yarn/ids.js';
import type { PressureResource } from './cgroup-files.js';
import {
  type CgroupDirs, type CgroupDriver, type CgroupLayout, cgroupDirs, defaultYarnCgroupPath, kubeletCgroups, normalizeCgroupPath,
  withAncestors,
} from './hierarchy.js';
import type { Psi } from './kernel-files.js';
import { type ContainerExitListener, NodeContainers } from './node-containers.js';
import { advanceCpu, advancePsi, nodeMemoryOf, readQuota, refreshLoads, views, zeroPsiSet } from './node-model.js';
import { type ContainerUsage, newCounters, type NodePaths, type NodeState, type PressureScope } from './node-state.js';
import { NodeTree } from './node-tree.js';
import { type ContainerSpec, type LoadSource, ZERO_LOAD } from './workload.js';

export type { CgroupLayout, CgroupDriver } from './hierarchy.js';
export type { ContainerSpec, ExecutionType, Load, LoadSource } from './workload.js';
export type { ProcessExit } from './container-process.js';
export type { PressureResource } from './cgroup-files.js';
export type { ContainerExitListener } from './node-containers.js';
export type { ContainerUsage, NodePaths, PressureScope } from './node-state.js';


export interface SimulatedNodeOptions {
  name: string;
  /** parent temp dir; the node lives in `<dir>/<name>` */
  dir: string;
  layout: CgroupLayout;
  driver: CgroupDriver;
  /** default `kubepods/besteffort/hadoop-yarn` (cgroupfs) or the systemd-named form */
  yarnCgroupPath?: string;
  cpuCores: number;
  memoryBytes: number;
  /** used as given, with a `node` binding added (default: a new `sim.node` logger) */
  logger?: Logger;
  /** a container's process ended without the node being told to remove it */
  onContainerExit?: ContainerExitListener;
  /** time constant of a container's default ramp towards its allocation (default 30 s) */
  rampMs?: number;
  /** system daemons and kernel outside kubepods (default: small) */
  systemLoad?: LoadSource;
  /** online (burstable) pods (default: 20 % CPU, 20 % memory, 5 % cache) */
  onlineLoad?: LoadSource;
  /** Kubernetes batch pods under besteffort (default: none) */
  batchPodLoad?: LoadSource;
}



export interface PsiAverages {
  avg10: number;
  /** default: avg10 */
  avg60?: number;
  /** default: avg60 */
  avg300?: number;
}


export interface ContainerSnapshot {
  id: string;
  pid: number;
  state: 'running' | 'exited';
  memoryBytes: number;
  cacheBytes: number;
  cpuMilli: number;
  cpuUsageNs: number;
}

export interface NodeSnapshot {
  simMs: number;
  cpuCapacityMilli: number;
  /** CPU granted in the last step */
  cpuUsedMilli: number;
  yarnCpuMilli: number;
  memoryTotalBytes: number;
  memoryAvailableBytes: number;
  /** MemTotal − MemAvailable, what koordlet calls node memory used */
  memoryUsedBytes: number;
  /** YARN's charge: its anon memory and page cache (the YARN cgroup's usage). */
  yarnMemoryBytes: number;
  /** YARN's working set (usage − inactive file = its anon memory): YARN's part of memoryUsedBytes. */
  yarnWorkingSetBytes: number;
  containers: ContainerSnapshot[];
}

const MIB = 2 ** 20;

export class SimulatedNode {
  readonly paths: NodePaths;
  readonly name: string;
  private readonly root: string;
  private readonly log: Logger;
  private readonly s: NodeState;
  private readonly tree: NodeTree;
  private readonly procs: NodeContainers;
  private renderScheduled = false;

  static create(options: SimulatedNodeOptions): SimulatedNode {
    return new SimulatedNode(options);
  }

  private constructor(o: SimulatedNodeOptions) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(o.name)) throw new Error(`invalid node name ${JSON.stringify(o.name)}`);
    if (!(o.cpuCores > 0) || !(o.memoryBytes > 0)) throw new Error('cpuCores and memoryBytes must be positive');
    this.name = o.name;
    this.root = path.resolve(o.dir, o.name);
    if (fs.existsSync(this.root)) throw new Error(`simulated node directory ${this.root} already exists`);
    // A given logger is used as is (its owner names the component; pino would repeat a second one).
    this.log = (o.logger ?? createLogger('sim.node')).child({ node: o.name });
    const capacityMilli = Math.round(o.cpuCores * 1000);
    const kube = kubeletCgroups(o.driver);
    const yarnCgroupPath = normalizeCgroupPath(o.yarnCgroupPath ?? defaultYarnCgroupPath(o.driver));
    this.paths = {
      cgroupRoot: path.join(this.root, 'cgroup'),
      procRoot: path.join(this.root, 'proc'),
      yarnCgroupPath,
      layout: o.layout,
      driver: o.driver,
    };
    const mem = o.memoryBytes;
    const groups = new Set<string>(['']);
    for (const g of [kube.kubepods, kube.burstable, kube.besteffort, ...withAncestors(yarnCgroupPath)]) {
      for (const a of withAncestors(g)) groups.add(a);
    }
    const staticGroups = [...groups].sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.split('/').length - b.split('/').length || a.localeCompare(b)));
    this.s = {
      name: o.name,
      paths: this.paths,
      capacityMilli,
      memoryBytes: mem,
      rampMs: o.rampMs ?? 30_000,
      kube,
      staticGroups,
      counters: new Map(staticGroups.map((g) => [g, newCounters()])),
      containers: new Map(),
      psi: new Map(),
      btimeSec: Math.floor(Date.now() / 1000),
      systemLoad: o.systemLoad ?? {
        cpuMilli: Math.min(200, capacityMilli * 0.05),
        memoryBytes: Math.min(1024 * MIB, mem * 0.05),
        cacheBytes: Math.min(512 * MIB, mem * 0.05),
      },
      onlineLoad: o.onlineLoad ?? { cpuMilli: capacityMilli * 0.2, memoryBytes: mem * 0.2, cacheBytes: mem * 0.05 },
      batchLoad: o.batchPodLoad ?? ZERO_LOAD,
      spikeBytes: 0,
      simMs: 0,
      nodeBusyNs: 0,
      nodeIdleNs: 0,
      lastGrantMilli: 0,
      lastYarnGrantMilli: 0,
      spawned: 0,
      stopped: false,
    };
    try {
      this.tree = new NodeTree(this.s, path.join(this.root, '.staging'));
      this.procs = new NodeContainers(this.s, this.tree, this.log, () => this.scheduleRender());
      if (o.onContainerExit) this.procs.exitListeners.push(o.onContainerExit);
      this.tree.build();
    } catch (e) {
      fs.rmSync(this.root, { recursive: true, force: true });
      throw e;
    }
    this.log.info({ ...this.paths }, 'simulated node created');
  }

  /** Registers a listener for container processes that ended (killed by anyone, or exited). */
  onContainerExit(listener: ContainerExitListener): void {
    this.procs.exitListeners.push(listener);
  }

  /** Simulated time in ms since creation. */
  now(): number {
    return this.s.simMs;
  }

  /**
   * Makes the node's containers match YARN's list: new ones get a process and cgroups, missing
   * ones are killed and their cgroups removed (as the NM does when a container completes).
   * A container whose process already exited is not restarted while it stays listed.
   */
  syncContainers(list: ReadonlyArray<ContainerSpec>): void {
    this.assertRunning();
    const wanted = new Map<string, ContainerSpec>();
    for (const c of list) {
      if (!isContainerId(c.id)) throw new Error(`invalid container id ${JSON.stringify(c.id)}`);
      wanted.set(c.id, c);
    }
    for (const [id, c] of this.s.containers) {
      if (wanted.has(id)) continue;
      if (c.state === 'running') this.procs.removeRunning(c);
      this.s.containers.delete(id);
      this.s.counters.delete(c.rel);
      this.s.psi.delete(id);
    }
    for (const spec of wanted.values()) if (!this.s.containers.has(spec.id)) this.procs.launch(spec);
    this.render();
  }

  /** Pins parts of a container's usage (the rest keeps following the default ramp). */
  setContainerUsage(id: string, usage: ContainerUsage): void {
    const c = this.s.containers.get(id);
    if (!c) throw new Error(`no container ${id} on node ${this.name}`);
    c.override = { ...c.override, ...usage };
  }

  /** Back to the default ramp for every part of the container's usage. */
  clearContainerUsage(id: string): void {
    const c = this.s.containers.get(id);
    if (c) c.override = {};
  }

  setSystemLoad(load: LoadSource): void {
    this.s.systemLoad = load;
  }

  setOnlineLoad(load: LoadSource): void {
    this.s.onlineLoad = load;
  }

  setBatchPodLoad(load: LoadSource): void {
    this.s.batchLoad = load;
  }

  /** A sudden extra anonymous memory use by the online pods (0 clears it). */
  setMemorySpike(bytesExtra: number): void {
    this.s.spikeBytes = Math.max(0, bytesExtra);
  }

  /** Sets PSI averages; `total` then grows by avg10 % of wall time each step. */
  setPressure(resource: PressureResource, value: { some?: PsiAverages; full?: PsiAverages }, scope: PressureScope = 'node'): void {
    if (scope !== 'node' && scope !== 'yarn' && !this.s.containers.has(scope)) throw new Error(`unknown pressure scope ${scope}`);
    const set = this.s.psi.get(scope) ?? zeroPsiSet();
    const apply = (line: Psi['some'], a: PsiAverages | undefined): void => {
      if (!a) return;
      line.avg10 = a.avg10;
      line.avg60 = a.avg60 ?? a.avg10;
      line.avg300 = a.avg300 ?? line.avg60;
    };
    apply(set[resource].some, value.some);
    apply(set[resource].full, value.full);
    this.s.psi.set(scope, set);
  }

  /**
   * Advances simulated time: CPU is shared (honouring any CFS quota the agent wrote), cumulative
   * counters grow by rate × dt, PSI totals grow, then the files are rewritten.
   */
  step(dtMs: number): void {
    this.assertRunning();
    if (!(dtMs >= 0)) throw new Error(`invalid step ${dtMs}`);
    this.procs.pollKillFiles();
    this.s.simMs += dtMs;
    refreshLoads(this.s);
    advanceCpu(this.s, dtMs);
    advancePsi(this.s, dtMs);
    this.render();
  }

  /** Rewrites every file whose content changed (loads are re-evaluated at the current time). */
  render(): void {
    this.tree.render();
  }

  /** The real pid behind a container (also after it exited). */
  containerPid(id: string): number | undefined {
    return this.s.containers.get(id)?.proc.pid;
  }

  containerIds(): string[] {
    return [...this.s.containers.keys()];
  }

  /** The directories a container's cgroup occupies (one per v1 hierarchy, plus the v2 one). */
  containerCgroupDirs(id: string): CgroupDirs {
    return this.procs.cgroupDirsOf(id);
  }

  yarnCgroupDirs(): CgroupDirs {
    return cgroupDirs(this.paths.layout, this.paths.cgroupRoot, this.paths.yarnCgroupPath);
  }

  /** The CFS quota on the YARN parent cgroup (what CPU suppression wrote), or undefined for none. */
  readYarnCpuLimit(): MilliCores | undefined {
    const q = readQuota(this.s, this.paths.yarnCgroupPath);
    return q === undefined ? undefined : milliCores(q);
  }

  snapshot(): NodeSnapshot {
    const s = this.s;
    refreshLoads(s);
    const all = views(s);
    const totals = all.get('')!.total;
    const m = nodeMemoryOf(s, totals);
    const yarn = all.get(this.paths.yarnCgroupPath)!.total;
    return {
      simMs: s.simMs,
      cpuCapacityMilli: s.capacityMilli,
      cpuUsedMilli: s.lastGrantMilli,
      yarnCpuMilli: s.lastYarnGrantMilli,
      memoryTotalBytes: s.memoryBytes,
      memoryAvailableBytes: m.availableBytes,
      memoryUsedBytes: s.memoryBytes - m.availableBytes,
      yarnMemoryBytes: yarn.anon + yarn.file,
      yarnWorkingSetBytes: yarn.anon,
      containers: [...s.containers.values()].map((c) => ({
        id: c.spec.id,
        pid: c.proc.pid,
        state: c.state,
        memoryBytes: c.load.memoryBytes,
        cacheBytes: c.load.cacheBytes,
        cpuMilli: c.load.cpuMilli,
        cpuUsageNs: s.counters.get(c.rel)?.usageNs ?? 0,
      })),
    };
  }

  /** Kills every container process, waits for them, and removes the whole node tree. */
  async stop(): Promise<void> {
    if (this.s.stopped) return;
    this.s.stopped = true;
    const exits: Promise<unknown>[] = [];
    for (const c of this.s.containers.values()) {
      c.watcher?.close();
      c.watcher = undefined;
      c.proc.kill('SIGKILL');
      exits.push(c.proc.exited);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(exits), new Promise((r) => (timer = setTimeout(r, 5000)))]);
    if (timer) clearTimeout(timer);
    fs.rmSync(this.root, { recursive: true, force: true });
    this.log.info('simulated node stopped');
  }

  private scheduleRender(): void {
    if (this.renderScheduled) return;
    this.renderScheduled = true;
    setImmediate(() => {
      this.renderScheduled = false;
      this.render();
    });
  }

  private assertRunning(): void {
    if (this.s.stopped) throw new Error(`simulated node ${this.name} is stopped`);
  }
}
