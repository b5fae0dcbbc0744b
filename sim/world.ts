/**
 * The simulated mixed cluster behind `loom sim`, the demo and the end-to-end tests: a Kubernetes
 * API server, a YARN RM (or HA pair) with one NM web server per node, one simulated node tree per
 * node (fake cgroupfs/proc with real `sleep` processes for YARN containers), a koord-manager
 * stand-in and a batch-pod scheduler stand-in, glued so that each moves the others:
 *
 *   YARN allocates a container → the node starts its process and cgroup;
 *   the process dies (agent eviction, RM signal) → the NM/RM see the container exit;
 *   online load moves → koord-manager rewrites the origin → the operator reacts.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { componentLogger, createLogger } from '../log/logger.js';
import type { Bytes, MilliCores } from '../kube/quantity.js';
import {
  ANNOTATION_NODE_ID, BATCH_CPU, BATCH_MEMORY, LABEL_COMPONENT, NODE_MANAGER_COMPONENT,
} from '../kube/wire.js';
import { KubeApiServer } from './kube/server.js';
import { RbacPolicy } from './kube/rbac.js';
import { startYarnSim, type YarnSim, scaledClock, systemClock, type Clock, type SpnegoFilter } from './yarn/index.js';
import type { AppSpec, SimApp, SimContainer } from './yarn/types.js';
import { makeSimTempDir, SimulatedNode, type CgroupDriver, type CgroupLayout, type Load, type LoadSource } from './node/index.js';
import { KoordManagerStandIn, type KoordManagerConfig, DEFAULT_KOORD_MANAGER_CONFIG, type NodeUsage } from './cluster/koord-manager.js';
import { BatchSchedulerStandIn } from './cluster/batch-scheduler.js';

export const NM_RPC_PORT = 8041;
export const NM_NAMESPACE = 'hadoop-yarn';
export const BATCH_NAMESPACE = 'batch';
const GIB = 2 ** 30;

export interface WorldOptions {
  nodes: number;
  ha?: boolean;
  kubePort?: number;
  rmPorts?: number[];
  layout?: CgroupLayout;
  driver?: CgroupDriver;
  /** Working directory (kubeconfig, Hadoop conf, node trees); default a temp dir removed on stop. */
  dir?: string;
  logger?: Logger;
  /** Simulated seconds per real second (YARN clock and node steps). Default 1. */
  speed?: number;
  /** Real ms between node steps (cgroup/proc files rewritten). Default 250. */
  stepMs?: number;
  /** Real ms between koord-manager passes. Default 1000. */
  koordIntervalMs?: number;
  nodeCpuCores?: number;
  nodeMemoryGiB?: number;
  /** What each NM registers with before the operator resizes it. */
  nmReported?: { vcores: number; memoryMiB: number };
  /** The fixed initial state: NM pods, a batch pod on every other node, two YARN apps. Default true. */
  seed?: boolean;
  koordManager?: Partial<KoordManagerConfig>;
  /** Run the koord-manager and batch-scheduler stand-ins (default true). Off: tests write origins by hand. */
  standIns?: boolean;
  /**
   * Kerberos: the RM(s) and NMs require SPNEGO through this filter (keytab for `HTTP/localhost`),
   * and every URL handed out names `localhost`, the host in the service principal.
   */
  spnego?: SpnegoFilter;
  /** Simulated ms before an RM resize lands, as on a real RM (default 15; 0: at once). */
  rmResizeDelayMs?: number;
  /** The YARN simulator's clock, when a test drives it by hand (overrides `speed` for YARN). */
  yarnClock?: Clock;
  /** Interval of the API server's watch bookmarks, real ms (default 50). */
  bookmarkIntervalMs?: number;
  /**
   * A manifest of ServiceAccounts, (Cluster)Roles and (Cluster)RoleBindings: the API server then
   * authorizes every request as RBAC does, and a kubeconfig is written per ServiceAccount.
   */
  rbac?: string;
  /** How long the NM keeps finished containers listed (sim ms); default the simulator's. */
  nmRetainFinishedMs?: number;
}

export interface SimDescription {
  kubeconfig: string;
  apiServer: string;
  resourceManagers: string[];
  hadoopConfDir: string;
  nodes: { name: string; nodeManager: string; nodeId: string; cgroupRoot: string; procRoot: string; yarnCgroupPath: string }[];
  /** With an RBAC manifest: `"<namespace>/<name>"` → kubeconfig path, per ServiceAccount. */
  serviceAccountKubeconfigs?: Record<string, string>;
}

/** Default online load: 25 % of CPU and memory, steady. */
export const defaultOnlineLoad = (cores: number, memoryBytes: number): Load => ({ cpuMilli: cores * 250, memoryBytes: memoryBytes * 0.25, cacheBytes: memoryBytes * 0.03 });
const defaultSystemLoad = (cores: number, memoryBytes: number): Load => ({ cpuMilli: cores * 30, memoryBytes: memoryBytes * 0.03, cacheBytes: memoryBytes * 0.01 });

interface NodeEntry {
  name: string;
  nodeId: string;
  node: SimulatedNode;
  online: LoadSource;
  system: LoadSource;
  /** An online memory burst on top of `online` (bytes), as `setMemorySpike` set it. */
  spikeBytes: number;
}

export class SimWorld {
  readonly nodes = new Map<string, NodeEntry>();
  readonly koordManager: KoordManagerStandIn;
  readonly batchScheduler: BatchSchedulerStandIn;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private lastStep = Date.now();
  private batchPodSeq = 0;

  private constructor(
    readonly kube: KubeApiServer,
    readonly yarn: YarnSim,
    readonly dir: string,
    private readonly ownsDir: boolean,
    readonly hadoopConfDir: string,
    readonly clock: Clock,
    readonly serviceAccountKubeconfigs: Record<string, string> | undefined,
    private readonly o: Required<Pick<WorldOptions, 'speed' | 'stepMs' | 'koordIntervalMs' | 'nodeCpuCores' | 'nodeMemoryGiB'>> & WorldOptions,
    readonly log: Logger,
  ) {
    const km = { ...DEFAULT_KOORD_MANAGER_CONFIG, ...(o.koordManager ?? {}) };
    this.koordManager = new KoordManagerStandIn(kube.store, (n) => this.usageOf(n), componentLogger(log, 'sim.koord-manager'), km);
    this.batchScheduler = new BatchSchedulerStandIn(kube.store, componentLogger(log, 'sim.batch-scheduler'));
  }

  static async start(options: WorldOptions): Promise<SimWorld> {
    const log = options.logger ?? createLogger('sim');
    // tmpfs when there is one: a simulated node rewrites hundreds of small files per step.
    const dir = options.dir ?? makeSimTempDir('loom-sim-');
    mkdirSync(dir, { recursive: true });
    const speed = options.speed ?? 1;
    const clock = options.yarnClock ?? (speed === 1 ? systemClock : scaledClock(speed));
    const cores = options.nodeCpuCores ?? 16;
    const memGiB = options.nodeMemoryGiB ?? 64;
    const reported = options.nmReported ?? { vcores: Math.floor(cores / 2), memoryMiB: Math.floor(memGiB * 1024 / 4) };
    const nodeNames = Array.from({ length: options.nodes }, (_, i) => `node-${i + 1}`);
    const rbac = options.rbac !== undefined ? RbacPolicy.fromFile(options.rbac) : undefined;
    const kube = await KubeApiServer.start({
      port: options.kubePort ?? 0, kubeconfigDir: dir, logger: log,
      // Frequent bookmarks let "everything observed has been processed" be waited for quickly.
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 50,
      ...(rbac ? { rbac } : {}),
    });
    const serviceAccountKubeconfigs = rbac ? rbac.writeKubeconfigs(join(dir, 'serviceaccounts'), kube.url) : undefined;
    const yarn = await startYarnSim({
      ha: options.ha ?? false,
      ...(options.rmPorts ? { rmPorts: options.rmPorts } : {}),
      clock,
      logger: log,
      resizeDelayMs: options.rmResizeDelayMs ?? 15,
      nodes: nodeNames.map((name) => ({ host: name, rpcPort: NM_RPC_PORT, memoryMiB: reported.memoryMiB, vcores: reported.vcores, httpHost: '127.0.0.1' })),
      ...(options.spnego ? { spnego: options.spnego } : {}),
      cluster: { signalHandling: 'external', ...(options.nmRetainFinishedMs !== undefined ? { nmRetainFinishedMs: options.nmRetainFinishedMs } : {}) },
    });
    const hadoopConfDir = join(dir, 'hadoop');
    mkdirSync(hadoopConfDir, { recursive: true });
    const named = (url: string) => (options.spnego ? url.replace('//127.0.0.1:', '//localhost:') : url);
    writeFileSync(join(hadoopConfDir, 'yarn-site.xml'), yarnSiteXml(yarn.resourceManagers.map((r) => named(r.url))));
    const world = new SimWorld(kube, yarn, dir, options.dir === undefined, hadoopConfDir, clock, serviceAccountKubeconfigs, {
      ...options, speed, stepMs: options.stepMs ?? 250, koordIntervalMs: options.koordIntervalMs ?? 1000, nodeCpuCores: cores, nodeMemoryGiB: memGiB,
    }, log);
    try {
      world.build(nodeNames);
      if (options.seed ?? true) world.seed();
      if (options.standIns ?? true) {
        world.koordManager.syncAll(true);
        world.koordManager.start();
        world.batchScheduler.schedule();
      }
      world.run(options.standIns ?? true);
    } catch (err) {
      await world.stop();
      throw err;
    }
    return world;
  }

  nodeIdOf(name: string): string {
    return `${name}:${NM_RPC_PORT}`;
  }

  private build(names: string[]): void {
    const store = this.kube.store;
    for (const ns of [NM_NAMESPACE, BATCH_NAMESPACE, 'loom-system']) {
      if (!store.get('namespaces', undefined, ns)) store.create('namespaces', { metadata: { name: ns } });
    }
    const cores = this.o.nodeCpuCores;
    const memory = this.o.nodeMemoryGiB * GIB;
    for (const name of names) {
      const node = SimulatedNode.create({
        name, dir: join(this.dir, 'nodes'), layout: this.o.layout ?? 'v2', driver: this.o.driver ?? 'cgroupfs',
        cpuCores: cores, memoryBytes: memory, logger: componentLogger(this.log, 'sim.node'),
        onlineLoad: defaultOnlineLoad(cores, memory), systemLoad: defaultSystemLoad(cores, memory),
      });
      const entry: NodeEntry = { name, nodeId: this.nodeIdOf(name), node, online: defaultOnlineLoad(cores, memory), system: defaultSystemLoad(cores, memory), spikeBytes: 0 };
      this.nodes.set(name, entry);
      node.onContainerExit((id, exit) => {
        // The NM sees its container's process end and reports it (a kill by the agent, a signal).
        try {
          this.yarn.cluster.containerExited(id, exit.exitCode, exit.signal ? `killed by ${exit.signal}` : '');
        } catch { /* already finished in the model */ }
      });
      store.create('nodes', {
        metadata: { name, labels: { 'kubernetes.io/hostname': name, 'node-role.kubernetes.io/mixed': '' } },
        spec: {},
        status: {
          capacity: { cpu: String(cores), memory: `${this.o.nodeMemoryGiB}Gi`, pods: '110' },
          allocatable: { cpu: String(cores), memory: `${this.o.nodeMemoryGiB}Gi`, pods: '110' },
          conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
        },
      }, { preserveStatus: true });
      this.createNodeManagerPod(name);
    }
    const cluster = this.yarn.cluster;
    const sync = (c: SimContainer) => this.syncNode(c.nodeId);
    cluster.events.on('containerStarted', sync);
    cluster.events.on('containerFinished', sync);
    cluster.events.on('containerSignal', (c, command) => {
      if (command === 'OUTPUT_THREAD_DUMP') return;
      const entry = [...this.nodes.values()].find((n) => n.nodeId === c.nodeId);
      const pid = entry?.node.containerPid(c.id);
      if (pid) {
        try { process.kill(pid, command === 'GRACEFUL_SHUTDOWN' ? 'SIGTERM' : 'SIGKILL'); } catch { /* already gone */ }
      }
    });
    for (const n of this.nodes.values()) this.syncNode(n.nodeId);
  }

  private createNodeManagerPod(node: string): void {
    this.kube.store.create('pods', {
      metadata: {
        name: `nodemanager-${node}`, namespace: NM_NAMESPACE,
        labels: { [LABEL_COMPONENT]: NODE_MANAGER_COMPONENT, 'koordinator.sh/qosClass': 'BE' },
        annotations: { [ANNOTATION_NODE_ID]: this.nodeIdOf(node) },
      },
      spec: {
        nodeName: node, priorityClassName: 'koord-batch',
        containers: [{ name: 'nodemanager', image: 'apache/hadoop:3.3.6', resources: {
          requests: { [BATCH_CPU]: '1k', [BATCH_MEMORY]: '1Gi' }, limits: { [BATCH_CPU]: '2k', [BATCH_MEMORY]: '2Gi' },
        } }],
      },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    }, { preserveStatus: true });
  }

  /** The fixed initial state of `loom sim`: a batch pod on every other node, two Spark-like apps. */
  private seed(): void {
    let i = 0;
    for (const name of this.nodes.keys()) {
      if (i++ % 2 === 0) this.addBatchPod({ cpuMilli: 1000, memoryBytes: 2 * GIB, node: name });
    }
    this.submitApp({ name: 'spark-etl', user: 'etl', am: { vcores: 1, memoryMiB: 1024 }, containers: [{ count: 3, vcores: 1, memoryMiB: 2048 }] });
    this.submitApp({ name: 'hive-report', user: 'bi', am: { vcores: 1, memoryMiB: 1024 }, containers: [{ count: 2, vcores: 1, memoryMiB: 1024 }] });
  }

  /** Containers the RM allocated on this node → the node's processes and cgroups. */
  private syncNode(nodeId: string): void {
    const entry = [...this.nodes.values()].find((n) => n.nodeId === nodeId);
    if (!entry || this.stopped) return;
    entry.node.syncContainers(this.yarn.cluster.liveContainers(nodeId).map((c) => ({
      id: c.id, memoryMiB: c.resource.memoryMiB, vcores: c.resource.vcores, executionType: c.executionType,
    })));
  }

  submitApp(spec: AppSpec): SimApp {
    return this.yarn.cluster.submitApp(spec);
  }

  /** A Kubernetes batch pod; with `node` it is created bound, else the batch scheduler places it. */
  addBatchPod(o: { cpuMilli: number; memoryBytes: number; node?: string; name?: string }): string {
    const name = o.name ?? `batch-job-${++this.batchPodSeq}`;
    this.kube.store.create('pods', {
      metadata: { name, namespace: BATCH_NAMESPACE, labels: { app: 'batch-job', 'koordinator.sh/qosClass': 'BE' } },
      spec: {
        ...(o.node ? { nodeName: o.node } : {}), priorityClassName: 'koord-batch',
        containers: [{ name: 'main', image: 'busybox', resources: { requests: { [BATCH_CPU]: String(o.cpuMilli), [BATCH_MEMORY]: String(o.memoryBytes) } } }],
      },
      status: { phase: o.node ? 'Running' : 'Pending' },
    }, { preserveStatus: true });
    return name;
  }

  deleteBatchPod(name: string): void {
    this.kube.store.delete('pods', BATCH_NAMESPACE, name);
  }

  setOnlineLoad(node: string, load: LoadSource): void {
    const e = this.nodes.get(node);
    if (!e) throw new Error(`no simulated node ${node}`);
    e.online = load;
    e.node.setOnlineLoad(load);
  }

  /**
   * A sudden extra memory use by the node's online pods (0 ends it). koord-manager sees it as
   * high-priority usage, as the real one does through NodeMetric, so the origin drops with it.
   */
  setMemorySpike(node: string, bytesExtra: number): void {
    const e = this.nodes.get(node);
    if (!e) throw new Error(`no simulated node ${node}`);
    e.spikeBytes = Math.max(0, bytesExtra);
    e.node.setMemorySpike(e.spikeBytes);
  }

  /** Batch usage the koord-manager stand-in bases the origin on (§4.2 "usage"). */
  private usageOf(name: string): NodeUsage | undefined {
    const e = this.nodes.get(name);
    if (!e) return undefined;
    const t = e.node.now();
    const at = (src: LoadSource): Load => (typeof src === 'function' ? src(t) : src);
    const online = at(e.online);
    const system = at(e.system);
    return {
      capacity: { cpu: (this.o.nodeCpuCores * 1000) as MilliCores, memory: (this.o.nodeMemoryGiB * GIB) as Bytes },
      system: { cpu: Math.round(system.cpuMilli) as MilliCores, memory: Math.round(system.memoryBytes) as Bytes },
      highPriority: { cpu: Math.round(online.cpuMilli) as MilliCores, memory: Math.round(online.memoryBytes + e.spikeBytes) as Bytes },
    };
  }

  /** Advance every node's simulated time and rewrite its files. */
  step(): void {
    const now = Date.now();
    const dt = (now - this.lastStep) * this.o.speed;
    this.lastStep = now;
    for (const e of this.nodes.values()) e.node.step(dt);
  }

  private run(standIns: boolean): void {
    this.lastStep = Date.now();
    this.timers.push(setInterval(() => this.step(), this.o.stepMs));
    if (standIns) {
      this.timers.push(setInterval(() => {
        this.koordManager.syncAll();
        this.batchScheduler.schedule();
      }, this.o.koordIntervalMs));
    }
    for (const t of this.timers) t.unref();
  }

  /** A simulator URL as clients must use it (`localhost` when Kerberos is on). */
  named(url: string): string {
    return this.o.spnego ? url.replace('//127.0.0.1:', '//localhost:') : url;
  }

  describe(): SimDescription {
    return {
      kubeconfig: this.kube.kubeconfigPath,
      apiServer: this.kube.url,
      resourceManagers: this.yarn.resourceManagers.map((r) => this.named(r.url)),
      hadoopConfDir: this.hadoopConfDir,
      nodes: [...this.nodes.values()].map((e) => ({
        name: e.name,
        nodeId: e.nodeId,
        nodeManager: this.named(this.yarn.nodeManagers.get(e.nodeId)?.url ?? ''),
        cgroupRoot: e.node.paths.cgroupRoot,
        procRoot: e.node.paths.procRoot,
        yarnCgroupPath: e.node.paths.yarnCgroupPath,
      })),
      ...(this.serviceAccountKubeconfigs ? { serviceAccountKubeconfigs: this.serviceAccountKubeconfigs } : {}),
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.koordManager.stop();
    await Promise.all([...this.nodes.values()].map((e) => e.node.stop()));
    await this.yarn.stop();
    await this.kube.stop();
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A yarn-site.xml pointing at the simulated RM(s), HA style when there are two. */
export function yarnSiteXml(rmUrls: string[]): string {
  const prop = (name: string, value: string) => `  <property><name>${name}</name><value>${value}</value></property>`;
  const hostPort = (u: string) => new URL(u).host;
  const props = rmUrls.length > 1
    ? [
        prop('yarn.resourcemanager.ha.enabled', 'true'),
        prop('yarn.resourcemanager.ha.rm-ids', rmUrls.map((_, i) => `rm${i + 1}`).join(',')),
        ...rmUrls.map((u, i) => prop(`yarn.resourcemanager.webapp.address.rm${i + 1}`, hostPort(u))),
      ]
    : [prop('yarn.resourcemanager.webapp.address', hostPort(rmUrls[0]!))];
  return `<?xml version="1.0"?>\n<configuration>\n${props.join('\n')}\n</configuration>\n`;
}

