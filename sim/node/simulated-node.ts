/**
 * A fake node the real agent can run against through `--cgroup-root` / `--proc-root`: a temp
 * tree of cgroupfs and procfs files in the kernel's formats whose numbers follow a simulated
 * workload, with one real (harmless) process per YARN container so that kills are real.
 *
 * Imperative shell over the pure parts: workload.ts (loads, CPU sharing, MemAvailable),
 * cgroup-files.ts / kernel-files.ts (file contents), hierarchy.ts (paths).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createLogger, type Logger } from '../../log/logger.js';
import { milliCores, type MilliCores } from '../../kube/quantity.js';
import { isContainerId } from '../../yarn/ids.js';
import { AtomicFiles, readSmall } from './atomic-files.js';
import { cgroupFileSets, parseCpuQuota, type CgroupView, type FileSet, type PressureResource } from './cgroup-files.js';
import { spawnContainerProcess, COMMAND, type ContainerProcess, type ProcessExit } from './container-process.js';
import {
  cgroupDirs,
  defaultYarnCgroupPath,
  hasV1,
  kubeletCgroups,
  mountsFile,
  normalizeCgroupPath,
  parentOf,
  procPidCgroup,
  unifiedDir,
  withAncestors,
  type CgroupDirs,
  type CgroupDriver,
  type CgroupLayout,
} from './hierarchy.js';
import {
  CFS_PERIOD_US,
  meminfo,
  procPidStat,
  procPidStatus,
  procStat,
  psiFile,
  syntheticPidStatLine,
  zeroPsi,
  type MemoryCharge,
  type NodeMemory,
  type PageEvents,
  type Psi,
} from './kernel-files.js';
import {
  addLoads,
  containerLimitBytes,
  containerLoad,
  nodeMemory,
  resolveLoad,
  shareCpu,
  ZERO_LOAD,
  type ContainerSpec,
  type CpuGroup,
  type Load,
  type LoadSource,
} from './workload.js';

export type { CgroupLayout, CgroupDriver } from './hierarchy.js';
export type { ContainerSpec, ExecutionType, Load, LoadSource } from './workload.js';
export type { ProcessExit } from './container-process.js';
export type { PressureResource } from './cgroup-files.js';

export type ContainerExitListener = (containerId: string, exit: ProcessExit) => void;

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

/** What the agent is pointed at. */
export interface NodePaths {
  cgroupRoot: string;
  procRoot: string;
  yarnCgroupPath: string;
  layout: CgroupLayout;
  driver: CgroupDriver;
}

export interface ContainerUsage {
  memoryBytes?: number;
  cacheBytes?: number;
  cpuMilli?: number;
}

export interface PsiAverages {
  avg10: number;
  /** default: avg10 */
  avg60?: number;
  /** default: avg60 */
  avg300?: number;
}

/** `node` (root cgroup, /proc/pressure, kubepods), `yarn` (besteffort and the YARN parent) or a container id. */
export type PressureScope = 'node' | 'yarn' | string;

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
  yarnMemoryBytes: number;
  containers: ContainerSnapshot[];
}

interface Container {
  spec: Required<ContainerSpec>;
  rel: string;
  startedSimMs: number;
  override: ContainerUsage;
  proc: ContainerProcess;
  realStatLine: string;
  state: 'running' | 'exited';
  /** removal was asked for (YARN finished it): its exit is not reported */
  removing: boolean;
  watcher: fs.FSWatcher | undefined;
  load: Load;
  /** RSS last written to /proc/<pid>/{stat,status}: they are rewritten only when it changes */
  pidFilesRss: number;
}

interface GroupCounters {
  usageNs: number;
  periods: number;
  throttledPeriods: number;
  throttledNs: number;
  ownPages: number;
  totalPages: number;
  ownEvents: PageEvents;
  totalEvents: PageEvents;
}

const RESOURCES: readonly PressureResource[] = ['cpu', 'memory', 'io'];
const DEFAULT_SHARES = 1024;
const MIB = 2 ** 20;

const newCounters = (): GroupCounters => ({
  usageNs: 0,
  periods: 0,
  throttledPeriods: 0,
  throttledNs: 0,
  ownPages: 0,
  totalPages: 0,
  ownEvents: { pgpgin: 0, pgpgout: 0 },
  totalEvents: { pgpgin: 0, pgpgout: 0 },
});

const zeroPsiSet = (): Record<PressureResource, Psi> => ({ cpu: zeroPsi(), memory: zeroPsi(), io: zeroPsi() });

export class SimulatedNode {
  readonly paths: NodePaths;
  readonly name: string;
  private readonly root: string;
  private readonly staging: string;
  private readonly files: AtomicFiles;
  private readonly log: Logger;
  private readonly capacityMilli: number;
  private readonly memoryBytes: number;
  private readonly rampMs: number;
  private readonly kube: ReturnType<typeof kubeletCgroups>;
  /** every non-container cgroup, outermost first ('' = root) */
  private readonly staticGroups: string[];
  private readonly counters = new Map<string, GroupCounters>();
  private readonly containers = new Map<string, Container>();
  private readonly psi = new Map<PressureScope, Record<PressureResource, Psi>>();
  private readonly exitListeners: ContainerExitListener[] = [];
  private systemLoad: LoadSource;
  private onlineLoad: LoadSource;
  private batchLoad: LoadSource;
  private spikeBytes = 0;
  private simMs = 0;
  private nodeBusyNs = 0;
  private nodeIdleNs = 0;
  private lastGrantMilli = 0;
  private lastYarnGrantMilli = 0;
  private spawned = 0;
  private renderScheduled = false;
  private stopped = false;
  private trashSeq = 0;
  private readonly btimeSec = Math.floor(Date.now() / 1000);

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
    this.capacityMilli = Math.round(o.cpuCores * 1000);
    this.memoryBytes = o.memoryBytes;
    this.rampMs = o.rampMs ?? 30_000;
    this.kube = kubeletCgroups(o.driver);
    const yarnCgroupPath = normalizeCgroupPath(o.yarnCgroupPath ?? defaultYarnCgroupPath(o.driver));
    this.paths = {
      cgroupRoot: path.join(this.root, 'cgroup'),
      procRoot: path.join(this.root, 'proc'),
      yarnCgroupPath,
      layout: o.layout,
      driver: o.driver,
    };
    const mem = o.memoryBytes;
    this.systemLoad = o.systemLoad ?? {
      cpuMilli: Math.min(200, this.capacityMilli * 0.05),
      memoryBytes: Math.min(1024 * MIB, mem * 0.05),
      cacheBytes: Math.min(512 * MIB, mem * 0.05),
    };
    this.onlineLoad = o.onlineLoad ?? { cpuMilli: this.capacityMilli * 0.2, memoryBytes: mem * 0.2, cacheBytes: mem * 0.05 };
    this.batchLoad = o.batchPodLoad ?? ZERO_LOAD;
    if (o.onContainerExit) this.exitListeners.push(o.onContainerExit);
    const groups = new Set<string>(['']);
    for (const g of [this.kube.kubepods, this.kube.burstable, this.kube.besteffort, ...withAncestors(yarnCgroupPath)]) {
      for (const a of withAncestors(g)) groups.add(a);
    }
    this.staticGroups = [...groups].sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.split('/').length - b.split('/').length || a.localeCompare(b)));
    for (const g of this.staticGroups) this.counters.set(g, newCounters());
    this.staging = path.join(this.root, '.staging');
    try {
      this.files = new AtomicFiles(this.staging);
      this.buildTree();
    } catch (e) {
      fs.rmSync(this.root, { recursive: true, force: true });
      throw e;
    }
    this.log.info({ ...this.paths }, 'simulated node created');
  }

  // ------------------------------------------------------------------ public API

  /** Registers a listener for container processes that ended (killed by anyone, or exited). */
  onContainerExit(listener: ContainerExitListener): void {
    this.exitListeners.push(listener);
  }

  /** Simulated time in ms since creation. */
  now(): number {
    return this.simMs;
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
    for (const [id, c] of this.containers) {
      if (wanted.has(id)) continue;
      if (c.state === 'running') this.removeRunning(c);
      this.containers.delete(id);
      this.counters.delete(c.rel);
      this.psi.delete(id);
    }
    for (const spec of wanted.values()) if (!this.containers.has(spec.id)) this.launch(spec);
    this.render();
  }

  /** Pins parts of a container's usage (the rest keeps following the default ramp). */
  setContainerUsage(id: string, usage: ContainerUsage): void {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no container ${id} on node ${this.name}`);
    c.override = { ...c.override, ...usage };
  }

  /** Back to the default ramp for every part of the container's usage. */
  clearContainerUsage(id: string): void {
    const c = this.containers.get(id);
    if (c) c.override = {};
  }

  setSystemLoad(load: LoadSource): void {
    this.systemLoad = load;
  }

  setOnlineLoad(load: LoadSource): void {
    this.onlineLoad = load;
  }

  setBatchPodLoad(load: LoadSource): void {
    this.batchLoad = load;
  }

  /** A sudden extra anonymous memory use by the online pods (0 clears it). */
  setMemorySpike(bytesExtra: number): void {
    this.spikeBytes = Math.max(0, bytesExtra);
  }

  /** Sets PSI averages; `total` then grows by avg10 % of wall time each step. */
  setPressure(resource: PressureResource, value: { some?: PsiAverages; full?: PsiAverages }, scope: PressureScope = 'node'): void {
    if (scope !== 'node' && scope !== 'yarn' && !this.containers.has(scope)) throw new Error(`unknown pressure scope ${scope}`);
    const set = this.psi.get(scope) ?? zeroPsiSet();
    const apply = (line: Psi['some'], a: PsiAverages | undefined): void => {
      if (!a) return;
      line.avg10 = a.avg10;
      line.avg60 = a.avg60 ?? a.avg10;
      line.avg300 = a.avg300 ?? line.avg60;
    };
    apply(set[resource].some, value.some);
    apply(set[resource].full, value.full);
    this.psi.set(scope, set);
  }

  /**
   * Advances simulated time: CPU is shared (honouring any CFS quota the agent wrote), cumulative
   * counters grow by rate × dt, PSI totals grow, then the files are rewritten.
   */
  step(dtMs: number): void {
    this.assertRunning();
    if (!(dtMs >= 0)) throw new Error(`invalid step ${dtMs}`);
    this.pollKillFiles();
    this.simMs += dtMs;
    this.refreshLoads();
    this.advanceCpu(dtMs);
    for (const set of this.psi.values()) {
      for (const r of RESOURCES) {
        set[r].some.total += (set[r].some.avg10 / 100) * dtMs * 1000;
        set[r].full.total += (set[r].full.avg10 / 100) * dtMs * 1000;
      }
    }
    this.render();
  }

  /** Rewrites every file whose content changed (loads are re-evaluated at the current time). */
  render(): void {
    if (this.stopped) return;
    this.refreshLoads();
    const views = this.views();
    for (const v of views.values()) {
      for (const set of cgroupFileSets(this.paths.layout, this.paths.cgroupRoot, v)) {
        try {
          for (const [file, content] of Object.entries(set.files)) {
            if (!set.control.has(file)) this.files.write(path.join(set.dir, file), content);
          }
        } catch (e) {
          // a cgroup someone else removed under us: nothing to render there
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      }
    }
    const proc = this.paths.procRoot;
    const totals = views.get('')!.total;
    this.files.write(path.join(proc, 'meminfo'), meminfo(this.nodeMemory(totals)));
    this.files.write(path.join(proc, 'stat'), this.procStatText());
    const nodePsi = this.psi.get('node') ?? zeroPsiSet();
    for (const r of RESOURCES) this.files.write(path.join(proc, 'pressure', r), psiFile(nodePsi[r]));
    for (const c of this.containers.values()) {
      if (c.state !== 'running') continue;
      this.writePidFiles(c);
    }
  }

  /** The real pid behind a container (also after it exited). */
  containerPid(id: string): number | undefined {
    return this.containers.get(id)?.proc.pid;
  }

  containerIds(): string[] {
    return [...this.containers.keys()];
  }

  /** The directories a container's cgroup occupies (one per v1 hierarchy, plus the v2 one). */
  containerCgroupDirs(id: string): CgroupDirs {
    if (!isContainerId(id)) throw new Error(`invalid container id ${JSON.stringify(id)}`);
    return cgroupDirs(this.paths.layout, this.paths.cgroupRoot, `${this.paths.yarnCgroupPath}/${id}`);
  }

  yarnCgroupDirs(): CgroupDirs {
    return cgroupDirs(this.paths.layout, this.paths.cgroupRoot, this.paths.yarnCgroupPath);
  }

  /** The CFS quota on the YARN parent cgroup (what CPU suppression wrote), or undefined for none. */
  readYarnCpuLimit(): MilliCores | undefined {
    const q = this.readQuota(this.paths.yarnCgroupPath);
    return q === undefined ? undefined : milliCores(q);
  }

  snapshot(): NodeSnapshot {
    this.refreshLoads();
    const views = this.views();
    const totals = views.get('')!.total;
    const m = this.nodeMemory(totals);
    const yarn = views.get(this.paths.yarnCgroupPath)!.total;
    return {
      simMs: this.simMs,
      cpuCapacityMilli: this.capacityMilli,
      cpuUsedMilli: this.lastGrantMilli,
      yarnCpuMilli: this.lastYarnGrantMilli,
      memoryTotalBytes: this.memoryBytes,
      memoryAvailableBytes: m.availableBytes,
      memoryUsedBytes: this.memoryBytes - m.availableBytes,
      yarnMemoryBytes: yarn.anon + yarn.file,
      containers: [...this.containers.values()].map((c) => ({
        id: c.spec.id,
        pid: c.proc.pid,
        state: c.state,
        memoryBytes: c.load.memoryBytes,
        cacheBytes: c.load.cacheBytes,
        cpuMilli: c.load.cpuMilli,
        cpuUsageNs: this.counters.get(c.rel)?.usageNs ?? 0,
      })),
    };
  }

  /** Kills every container process, waits for them, and removes the whole node tree. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const exits: Promise<unknown>[] = [];
    for (const c of this.containers.values()) {
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

  // ------------------------------------------------------------------ containers

  private launch(spec: ContainerSpec): void {
    const full: Required<ContainerSpec> = {
      id: spec.id,
      memoryMiB: Math.max(0, spec.memoryMiB),
      vcores: Math.max(0, spec.vcores),
      executionType: spec.executionType ?? 'GUARANTEED',
    };
    const rel = `${this.paths.yarnCgroupPath}/${spec.id}`;
    const proc = spawnContainerProcess();
    this.spawned++;
    const c: Container = {
      spec: full,
      rel,
      startedSimMs: this.simMs,
      override: {},
      proc,
      realStatLine: readSmall(`/proc/${proc.pid}/stat`)?.trim() || syntheticPidStatLine(proc.pid, COMMAND, process.pid),
      state: 'running',
      removing: false,
      watcher: undefined,
      load: ZERO_LOAD,
      pidFilesRss: -1,
    };
    this.containers.set(spec.id, c);
    this.counters.set(rel, newCounters());
    c.load = this.loadOf(c);
    // Fake /proc/<pid> first, so a pid listed in cgroup.procs can always be verified.
    const pidFiles: Record<string, string> = {
      cgroup: procPidCgroup(this.paths.layout, rel),
      ...this.pidFileContents(c),
    };
    this.createDirAtomically(path.join(this.paths.procRoot, String(proc.pid)), pidFiles);
    c.pidFilesRss = c.load.memoryBytes;
    const view = this.containerView(c, this.counters.get(rel)!);
    for (const set of cgroupFileSets(this.paths.layout, this.paths.cgroupRoot, view)) {
      this.createDirAtomically(set.dir, set.files);
    }
    this.watchKill(c);
    proc.exited.then(
      (exit) => this.processExited(c, exit),
      () => undefined,
    );
    this.log.debug({ container: spec.id, pid: proc.pid }, 'container launched');
  }

  /** YARN finished the container: kill its process and remove its cgroups, quietly. */
  private removeRunning(c: Container): void {
    c.removing = true;
    c.proc.kill('SIGKILL');
    this.cleanupCgroups(c);
  }

  private processExited(c: Container, exit: ProcessExit): void {
    if (this.stopped) return;
    c.state = 'exited';
    this.cleanupCgroups(c);
    this.removeTree(path.join(this.paths.procRoot, String(c.proc.pid)));
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
  private cleanupCgroups(c: Container): void {
    c.watcher?.close();
    c.watcher = undefined;
    const dirs = this.containerCgroupDirs(c.spec.id);
    for (const d of [...dirs.v1.values(), ...(dirs.unified ? [dirs.unified] : [])]) this.removeTree(d);
  }

  /** `cgroup.kill`: the kernel SIGKILLs every process of the cgroup when `1` is written. */
  private watchKill(c: Container): void {
    const dir = this.containerCgroupDirs(c.spec.id).unified;
    if (dir === undefined) return;
    const file = path.join(dir, 'cgroup.kill');
    try {
      c.watcher = fs.watch(file, { persistent: false }, () => this.checkKill(c));
      c.watcher.on('error', () => undefined);
    } catch {
      c.watcher = undefined; // step() polls as well
    }
  }

  private pollKillFiles(): void {
    if (unifiedDir(this.paths.layout) === undefined) return;
    for (const c of this.containers.values()) if (c.state === 'running') this.checkKill(c);
    // cgroup.kill on an ancestor (e.g. the YARN parent) kills the whole subtree
    for (const rel of this.staticGroups) {
      const dir = rel === '' ? undefined : cgroupDirs(this.paths.layout, this.paths.cgroupRoot, rel).unified;
      if (dir === undefined) continue;
      const file = path.join(dir, 'cgroup.kill');
      if (readSmall(file)?.trim() !== '1') continue;
      this.log.info({ cgroup: rel }, 'cgroup.kill written on a parent: killing its subtree');
      for (const c of this.containers.values()) if (c.state === 'running' && c.rel.startsWith(`${rel}/`)) c.proc.kill('SIGKILL');
      fs.writeFileSync(file, '');
    }
  }

  private checkKill(c: Container): void {
    if (c.state !== 'running' || this.stopped) return;
    const dir = this.containerCgroupDirs(c.spec.id).unified;
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

  // ------------------------------------------------------------------ model

  private loadOf(c: Container): Load {
    if (c.state !== 'running') return ZERO_LOAD;
    return containerLoad(c.spec, this.simMs - c.startedSimMs, this.rampMs, c.override);
  }

  private refreshLoads(): void {
    for (const c of this.containers.values()) c.load = this.loadOf(c);
  }

  /** Each cgroup's own load (containers, and the non-YARN parties on the kubelet groups). */
  private ownLoads(): Map<string, Load> {
    const own = new Map<string, Load>();
    const add = (rel: string, l: Load): void => {
      own.set(rel, addLoads(own.get(rel) ?? ZERO_LOAD, l));
    };
    add('', resolveLoad(this.systemLoad, this.simMs));
    const online = resolveLoad(this.onlineLoad, this.simMs);
    add(this.kube.burstable, { ...online, memoryBytes: online.memoryBytes + Math.floor(this.spikeBytes / 4096) * 4096 });
    add(this.kube.besteffort, resolveLoad(this.batchLoad, this.simMs));
    for (const c of this.containers.values()) if (c.state === 'running') add(c.rel, c.load);
    return own;
  }

  private readQuota(rel: string): number | undefined {
    const dirs = cgroupDirs(this.paths.layout, this.paths.cgroupRoot, rel);
    const cpu = dirs.v1.get('cpu,cpuacct');
    if (cpu) return parseCpuQuota(readSmall(path.join(cpu, 'cpu.cfs_quota_us')), readSmall(path.join(cpu, 'cpu.cfs_period_us')), undefined);
    if (this.paths.layout === 'v2' && dirs.unified !== undefined) return parseCpuQuota(undefined, undefined, readSmall(path.join(dirs.unified, 'cpu.max')));
    return undefined;
  }

  private sharesOf(rel: string): number {
    if (rel === this.kube.kubepods) return Math.max(2, Math.round((this.capacityMilli * 1024) / 1000));
    if (rel === this.kube.besteffort) return 2;
    const c = this.containerAt(rel);
    if (c) return c.spec.executionType === 'OPPORTUNISTIC' ? 2 : Math.max(2, Math.round(c.spec.vcores * 1024));
    return DEFAULT_SHARES;
  }

  private containerAt(rel: string): Container | undefined {
    if (parentOf(rel) !== this.paths.yarnCgroupPath) return undefined;
    return this.containers.get(rel.slice(this.paths.yarnCgroupPath.length + 1));
  }

  private advanceCpu(dtMs: number): void {
    const own = this.ownLoads();
    const groups = new Map<string, CpuGroup>();
    const make = (rel: string, capMilli?: number): CpuGroup => {
      const g: CpuGroup = { path: rel, ownDemandMilli: own.get(rel)?.cpuMilli ?? 0, shares: this.sharesOf(rel), children: [] };
      if (capMilli !== undefined) g.capMilli = capMilli;
      groups.set(rel, g);
      if (rel !== '') groups.get(parentOf(rel))?.children.push(g);
      return g;
    };
    for (const rel of this.staticGroups) make(rel, rel === '' ? undefined : this.readQuota(rel));
    for (const c of this.containers.values()) if (c.state === 'running') make(c.rel);
    const grants = shareCpu(groups.get('')!, this.capacityMilli);
    const toNs = (milli: number): number => milli * dtMs * 1000;
    const periods = (dtMs * 1000) / CFS_PERIOD_US;
    for (const [rel, g] of grants) {
      const k = this.counters.get(rel);
      if (!k) continue;
      k.usageNs += toNs(g.grantMilli);
      if (groups.get(rel)?.capMilli !== undefined && g.demandMilli > 0) {
        k.periods += periods;
        if (g.throttled) {
          k.throttledPeriods += periods;
          k.throttledNs += toNs(g.demandMilli - g.grantMilli);
        }
      }
    }
    const rootGrant = grants.get('')?.grantMilli ?? 0;
    this.lastGrantMilli = rootGrant;
    this.lastYarnGrantMilli = grants.get(this.paths.yarnCgroupPath)?.grantMilli ?? 0;
    this.nodeBusyNs += toNs(rootGrant);
    this.nodeIdleNs += toNs(this.capacityMilli - rootGrant);
  }

  /** A view per live cgroup: own and hierarchical memory, counters, pids, PSI. */
  private views(): Map<string, CgroupView> {
    const own = this.ownLoads();
    const rels = [...this.staticGroups];
    for (const c of this.containers.values()) if (c.state === 'running') rels.push(c.rel);
    const totals = new Map<string, MemoryCharge>(rels.map((r) => [r, { anon: 0, file: 0 }]));
    const subtreePids = new Map<string, number>(rels.map((r) => [r, 0]));
    for (const [rel, l] of own) {
      for (const a of ['', ...(rel === '' ? [] : withAncestors(rel))]) {
        const t = totals.get(a);
        if (t) {
          t.anon += l.memoryBytes;
          t.file += l.cacheBytes;
        }
      }
    }
    for (const c of this.containers.values()) {
      if (c.state !== 'running') continue;
      for (const a of ['', ...withAncestors(c.rel)]) subtreePids.set(a, (subtreePids.get(a) ?? 0) + 1);
    }
    const out = new Map<string, CgroupView>();
    for (const c of this.containers.values()) {
      if (c.state === 'running') out.set(c.rel, this.containerView(c, this.counters.get(c.rel) ?? newCounters()));
    }
    for (const rel of this.staticGroups) {
      const k = this.counters.get(rel) ?? newCounters();
      const l = own.get(rel) ?? ZERO_LOAD;
      const ownCharge = { anon: l.memoryBytes, file: l.cacheBytes };
      const total = totals.get(rel)!;
      trackPages(k, ownCharge, total);
      out.set(rel, {
        rel,
        isRoot: rel === '',
        isLeaf: false,
        own: ownCharge,
        total,
        ownEvents: k.ownEvents,
        totalEvents: k.totalEvents,
        memoryLimitBytes: null,
        usageNs: k.usageNs,
        throttle: { nrPeriods: k.periods, nrThrottled: k.throttledPeriods, throttledNs: k.throttledNs },
        shares: this.sharesOf(rel),
        pids: [],
        subtreePids: subtreePids.get(rel) ?? 0,
        psi: this.psiOf(rel, undefined),
      });
    }
    return out;
  }

  /** A container's cgroup: a leaf whose own usage is its total. */
  private containerView(c: Container, k: GroupCounters): CgroupView {
    const charge = { anon: c.load.memoryBytes, file: c.load.cacheBytes };
    trackPages(k, charge, charge);
    const running = c.state === 'running';
    return {
      rel: c.rel,
      isRoot: false,
      isLeaf: true,
      own: charge,
      total: charge,
      ownEvents: k.ownEvents,
      totalEvents: k.totalEvents,
      memoryLimitBytes: containerLimitBytes(c.spec),
      usageNs: k.usageNs,
      throttle: { nrPeriods: k.periods, nrThrottled: k.throttledPeriods, throttledNs: k.throttledNs },
      shares: this.sharesOf(c.rel),
      pids: running ? [c.proc.pid] : [],
      subtreePids: running ? 1 : 0,
      psi: this.psiOf(c.rel, c),
    };
  }

  /** Cgroups above the YARN parent mirror the node's (root, kubepods) or YARN's (besteffort) PSI. */
  private psiOf(rel: string, c: Container | undefined): Record<PressureResource, Psi> {
    const get = (s: PressureScope): Record<PressureResource, Psi> => this.psi.get(s) ?? zeroPsiSet();
    if (c) return get(c.spec.id);
    const be = this.kube.besteffort;
    if (rel === this.paths.yarnCgroupPath || rel === be || rel.startsWith(`${be}/`)) return get('yarn');
    return get('node');
  }

  private nodeMemory(totals: MemoryCharge): NodeMemory {
    const page = (b: number): number => Math.floor(b / 4096) * 4096;
    const slab = page(this.memoryBytes * 0.005); // each half of the 1 % slab
    const buffers = page(Math.min(64 * MIB, this.memoryBytes * 0.005));
    const input = {
      totalBytes: this.memoryBytes,
      anonBytes: totals.anon,
      cacheBytes: totals.file,
      buffersBytes: buffers,
      slabReclaimableBytes: slab,
      slabUnreclaimableBytes: slab,
    };
    return { ...input, ...nodeMemory(input) };
  }

  private procStatText(): string {
    const cores = Math.max(1, Math.ceil(this.capacityMilli / 1000));
    const busy = this.nodeBusyNs / cores;
    const idle = this.nodeIdleNs / cores;
    const cpus = Array.from({ length: cores }, () => ({ userNs: busy * 0.8, systemNs: busy * 0.2, idleNs: idle }));
    return procStat(cpus, this.btimeSec, 1000 + this.spawned, Math.max(1, Math.ceil(this.lastGrantMilli / 1000)));
  }

  private pidFileContents(c: Container): Record<string, string> {
    const usageNs = this.counters.get(c.rel)?.usageNs ?? 0;
    const rss = c.load.memoryBytes;
    return {
      stat: procPidStat(c.realStatLine, { usageNs, rssBytes: rss }),
      status: procPidStatus(c.proc.pid, process.pid, COMMAND, rss),
    };
  }

  private writePidFiles(c: Container): void {
    if (c.pidFilesRss === c.load.memoryBytes) return;
    c.pidFilesRss = c.load.memoryBytes;
    const dir = path.join(this.paths.procRoot, String(c.proc.pid));
    try {
      for (const [f, content] of Object.entries(this.pidFileContents(c))) this.files.write(path.join(dir, f), content);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  // ------------------------------------------------------------------ filesystem

  private buildTree(): void {
    const { cgroupRoot, procRoot, layout } = this.paths;
    fs.mkdirSync(cgroupRoot, { recursive: true });
    fs.mkdirSync(path.join(procRoot, 'pressure'), { recursive: true });
    if (hasV1(layout)) {
      for (const rel of this.staticGroups) {
        for (const d of cgroupDirs(layout, cgroupRoot, rel).v1.values()) fs.mkdirSync(d, { recursive: true });
      }
      fs.symlinkSync('cpu,cpuacct', path.join(cgroupRoot, 'cpu'));
      fs.symlinkSync('cpu,cpuacct', path.join(cgroupRoot, 'cpuacct'));
    }
    for (const rel of this.staticGroups) {
      const u = cgroupDirs(layout, cgroupRoot, rel).unified;
      if (u !== undefined) fs.mkdirSync(u, { recursive: true });
    }
    this.files.write(path.join(procRoot, 'mounts'), mountsFile(layout, cgroupRoot, procRoot));
    // Control files once; everything else through render().
    const views = this.views();
    for (const rel of this.staticGroups) {
      for (const set of cgroupFileSets(layout, cgroupRoot, views.get(rel)!)) writeAll(this.files, set);
    }
    this.render();
  }

  /** Builds a directory in staging and renames it into place, so it appears complete. */
  private createDirAtomically(dir: string, files: Record<string, string>): void {
    const tmp = path.join(this.staging, `d${this.trashSeq++}`);
    fs.mkdirSync(tmp);
    for (const [f, content] of Object.entries(files)) fs.writeFileSync(path.join(tmp, f), content);
    fs.renameSync(tmp, dir);
    for (const [f, content] of Object.entries(files)) this.files.remember(path.join(dir, f), content);
  }

  /** Moves a directory out of sight in one rename, then deletes it. */
  private removeTree(dir: string): void {
    this.files.forget(dir);
    const trash = path.join(this.staging, `t${this.trashSeq++}`);
    try {
      fs.renameSync(dir, trash);
    } catch {
      return; // already gone
    }
    fs.rmSync(trash, { recursive: true, force: true });
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
    if (this.stopped) throw new Error(`simulated node ${this.name} is stopped`);
  }
}

function writeAll(files: AtomicFiles, set: FileSet): void {
  for (const [f, content] of Object.entries(set.files)) files.write(path.join(set.dir, f), content);
}

/** v1 pgpgin/pgpgout: pages charged in and out since creation, so pgpgin − pgpgout = charged pages. */
function trackPages(k: GroupCounters, own: MemoryCharge, total: MemoryCharge): void {
  const pages = (m: MemoryCharge): number => Math.floor((m.anon + m.file) / 4096);
  const bump = (ev: PageEvents, before: number, now: number): void => {
    if (now > before) ev.pgpgin += now - before;
    else ev.pgpgout += before - now;
  };
  const o = pages(own);
  const t = pages(total);
  bump(k.ownEvents, k.ownPages, o);
  bump(k.totalEvents, k.totalPages, t);
  k.ownPages = o;
  k.totalPages = t;
}
