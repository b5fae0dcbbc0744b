/**
 * The simulated YARN cluster: one in-memory model shared by every simulated RM (an HA pair sees
 * the same nodes and apps) and every NM server. It holds the state, runs the simple scheduler on
 * every change, and enforces resize / overCommitTimeout semantics (reference §2.4). The HTTP
 * servers only translate requests into calls on this model and render what it holds.
 */
import type { Logger } from '../../log/logger.js';
import { createLogger } from '../../log/logger.js';
import { type Clock, systemClock } from './clock.js';
import { CallCounters } from './counters.js';
import { TypedEvents } from './events.js';
import { formatApplicationId, formatContainerId } from './java-ids.js';
import { fits, freeOf, isOvercommitted, victimsToFit } from './scheduler.js';
import { TimerQueue } from './timers.js';
import {
  type AppSpec, type AppState, EXIT, type NmContainerState, type NodeSpec, type NodeState, type PendingAsk,
  type Res, type SignalCommand, type SimApp, type SimContainer, type SimNode,
  hasSchedulerReport, isInactiveState, isSchedulable,
} from './types.js';

export interface ClusterOptions {
  clock?: Clock;
  logger?: Logger;
  /** Cluster timestamp of the first active RM (default: clock.now()). */
  clusterTimestamp?: number;
  /** How long the NM keeps listing a finished container before dropping it (simulated ms, default 3000). */
  nmRetainFinishedMs?: number;
  /** RM → NM signal delivery delay, about one NM heartbeat (simulated ms, default 1000). */
  signalDelayMs?: number;
  /**
   * Who ends a container after GRACEFUL/FORCEFUL_SHUTDOWN: 'model' (default) ends it itself with
   * 143/137 when the signal is delivered; 'external' only emits `containerSignal` and waits for a
   * node simulator to call `containerExited`.
   */
  signalHandling?: 'model' | 'external';
  /** Time a new container spends LOCALIZING before RUNNING (simulated ms, default 0). */
  launchDelayMs?: number;
}

export interface ContainerFinishInfo {
  /** Exit status the RM reports to the app (e.g. PREEMPTED −102 for over-commit kills). */
  rmExitStatus: number;
  reason: 'exited' | 'preempted' | 'app-finished' | 'node-lost' | 'signalled';
}

export interface ClusterEvents {
  containerStarted: [container: SimContainer];
  containerFinished: [container: SimContainer, info: ContainerFinishInfo];
  /** A signal reached the NM: a node simulator should signal the container's processes. */
  containerSignal: [container: SimContainer, command: SignalCommand];
  appFinished: [app: SimApp];
  nodeRegistered: [node: SimNode];
}

export type ResizeOutcome =
  | { kind: 'updated'; total: Res; killed: SimContainer[] }
  | { kind: 'unchanged'; total: Res }
  | { kind: 'not-found' }
  | { kind: 'inactive'; message: string }
  /** Accepted and queued (`RMNodeResourceUpdateEvent`); `total` is still the old one. */
  | { kind: 'queued'; total: Res };

export interface ClusterMetrics {
  appsSubmitted: number; appsCompleted: number; appsPending: number; appsRunning: number;
  appsFailed: number; appsKilled: number;
  reservedMB: number; availableMB: number; allocatedMB: number;
  reservedVirtualCores: number; availableVirtualCores: number; allocatedVirtualCores: number;
  containersAllocated: number; containersReserved: number; containersPending: number;
  totalMB: number; totalVirtualCores: number;
  totalNodes: number; lostNodes: number; unhealthyNodes: number; decommissioningNodes: number;
  decommissionedNodes: number; rebootedNodes: number; activeNodes: number; shutdownNodes: number;
}

export class SimError extends Error {
  constructor(readonly code: 'unknown-node' | 'unknown-container' | 'unknown-app' | 'duplicate-node' | 'bad-spec', message: string) {
    super(message);
    this.name = 'SimError';
  }
}

const res = (memoryMiB: number, vcores: number): Res => ({ memoryMiB, vcores });
const sameRes = (a: Res, b: Res): boolean => a.memoryMiB === b.memoryMiB && a.vcores === b.vcores;

export class YarnCluster {
  readonly clock: Clock;
  readonly counters = new CallCounters();
  readonly events: TypedEvents<ClusterEvents>;
  readonly log: Logger;
  /** Cluster timestamp of the current active RM: prefix of new application ids. */
  clusterTimestamp: number;
  /** RM epoch, bumped on every RM restart / failover; printed in new container ids (`e01`). */
  epoch = 0;
  /** Bumped on every change anyone might render. */
  version = 0;

  private readonly nodeMap = new Map<string, SimNode>();
  private readonly nodeList: SimNode[] = [];
  private readonly appMap = new Map<string, SimApp>();
  private readonly containerIndex = new Map<string, SimContainer>();
  private readonly pendingApps = new Set<SimApp>();
  /** Nodes with an armed deadline that are over-committed right now: the only ones a tick checks. */
  private readonly overcommitted = new Set<SimNode>();
  private readonly timers = new TimerQueue();
  private nextAppSeq = 1;
  private allocationCounter = 0;
  private cursor = 0;
  private readonly retainMs: number;
  private readonly signalDelayMs: number;
  private readonly signalHandling: 'model' | 'external';
  private readonly launchDelayMs: number;

  constructor(options: ClusterOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? createLogger('sim.yarn');
    this.clusterTimestamp = options.clusterTimestamp ?? this.clock.now();
    this.retainMs = options.nmRetainFinishedMs ?? 3000;
    this.signalDelayMs = options.signalDelayMs ?? 1000;
    this.signalHandling = options.signalHandling ?? 'model';
    this.launchDelayMs = options.launchDelayMs ?? 0;
    this.events = new TypedEvents<ClusterEvents>((event, err) => this.log.error({ err, event }, 'sim listener failed'));
  }

  // ---------------------------------------------------------------- reads

  node(id: string): SimNode | undefined {
    return this.nodeMap.get(id);
  }

  /** All nodes ever registered, in registration order (inactive ones included). */
  nodes(): readonly SimNode[] {
    return this.nodeList;
  }

  app(id: string): SimApp | undefined {
    return this.appMap.get(id);
  }

  apps(): SimApp[] {
    return [...this.appMap.values()];
  }

  /** A live container, or a finished one the NM still lists. */
  container(id: string): SimContainer | undefined {
    return this.containerIndex.get(id);
  }

  /** Containers the RM currently counts (allocated), optionally of one node. */
  liveContainers(nodeId?: string): SimContainer[] {
    if (nodeId !== undefined) return [...(this.nodeMap.get(nodeId)?.allocated.values() ?? [])];
    return this.nodeList.flatMap((n) => [...n.allocated.values()]);
  }

  free(nodeId: string): Res {
    const n = this.requireNode(nodeId);
    return freeOf(n.total, n.used);
  }

  // ---------------------------------------------------------------- controls

  addNode(spec: NodeSpec): SimNode {
    if (!Number.isInteger(spec.rpcPort) || spec.rpcPort < 1 || spec.rpcPort > 65535) throw new SimError('bad-spec', `bad rpcPort ${spec.rpcPort}`);
    if (!spec.host || spec.host.includes(':')) throw new SimError('bad-spec', `bad host ${JSON.stringify(spec.host)}`);
    const id = `${spec.host}:${spec.rpcPort}`;
    if (this.nodeMap.has(id)) throw new SimError('duplicate-node', `node ${id} already registered`);
    const now = this.clock.now();
    const node: SimNode = {
      id, host: spec.host, rpcPort: spec.rpcPort,
      httpHost: spec.httpHost ?? spec.host,
      httpPort: spec.httpPort ?? 8042,
      rack: spec.rack ?? '/default-rack',
      state: 'RUNNING',
      healthReport: '',
      version: spec.version ?? '3.3.6',
      reported: res(spec.memoryMiB, spec.vcores),
      total: res(spec.memoryMiB, spec.vcores),
      used: res(0, 0),
      overcommitDeadline: -1,
      lastHealthUpdate: now,
      nmStartupTime: now,
      allocated: new Map(),
      nmContainers: new Map(),
      rev: 0,
    };
    this.nodeMap.set(id, node);
    this.nodeList.push(node);
    this.touch(node);
    this.events.emit('nodeRegistered', node);
    this.schedule(node);
    return node;
  }

  submitApp(spec: AppSpec = {}): SimApp {
    const seq = this.nextAppSeq++;
    const am = spec.am ?? res(1024, 1);
    const workerAsks: PendingAsk[] = [];
    for (const ask of spec.containers ?? []) {
      if (!Number.isInteger(ask.count) || ask.count < 0) throw new SimError('bad-spec', `bad container count ${ask.count}`);
      for (let i = 0; i < ask.count; i++) {
        workerAsks.push({ isAM: false, resource: res(ask.memoryMiB, ask.vcores), executionType: ask.executionType ?? 'GUARANTEED' });
      }
    }
    const app: SimApp = {
      id: formatApplicationId(this.clusterTimestamp, seq),
      clusterTimestamp: this.clusterTimestamp,
      seq,
      user: spec.user ?? 'hadoop',
      queue: spec.queue ?? 'default',
      name: spec.name ?? `app-${seq}`,
      submittedAt: this.clock.now(),
      replaceFailed: spec.replaceFailed ?? true,
      state: 'ACCEPTED',
      attempt: 1,
      nextContainerSeq: 1,
      pending: [{ isAM: true, resource: res(am.memoryMiB, am.vcores), executionType: 'GUARANTEED' }],
      workerAsks,
      live: new Map(),
      completedWorkers: 0,
    };
    this.appMap.set(app.id, app);
    this.pendingApps.add(app);
    this.version++;
    this.schedule();
    return app;
  }

  /** Ends an application: its live containers are killed (−106), pending asks dropped. */
  finishApp(appId: string, finalState: Exclude<AppState, 'ACCEPTED' | 'RUNNING'> = 'FINISHED'): void {
    const app = this.appMap.get(appId);
    if (!app) throw new SimError('unknown-app', `unknown application ${appId}`);
    this.endApp(app, finalState);
  }

  /**
   * The node reports that a container's process ended: it leaves the RM allocation at once; the
   * NM keeps listing it (EXITED_*) for `nmRetainFinishedMs`, then drops it.
   */
  containerExited(containerId: string, exitCode: number, diagnostics = ''): void {
    const c = this.containerIndex.get(containerId);
    if (!c || !this.isLive(c)) throw new SimError('unknown-container', `container ${containerId} is not running`);
    const state: NmContainerState = exitCode === 0 ? 'EXITED_WITH_SUCCESS' : 'EXITED_WITH_FAILURE';
    this.complete(c, { exitCode, diagnostics, nmState: state, rmExitStatus: exitCode, reason: 'exited' });
  }

  /**
   * NM re-registration (restart with recovery): the RM forgets any resize override and takes the
   * NM-reported capability (optionally a new one); nmStartupTime changes; running containers
   * survive. With a different `rpcPort` the NM comes back under a new NodeId: the old one turns
   * SHUTDOWN (its containers are lost) and a fresh node is registered.
   */
  restartNodeManager(nodeId: string, opts: { reported?: Res; rpcPort?: number } = {}): SimNode {
    const node = this.requireNode(nodeId);
    if (opts.rpcPort !== undefined && opts.rpcPort !== node.rpcPort) {
      this.setNodeState(nodeId, 'SHUTDOWN');
      for (const c of [...node.nmContainers.values()]) this.forgetNmContainer(node, c);
      const fresh = this.addNode({
        host: node.host, rpcPort: opts.rpcPort, httpHost: node.httpHost, httpPort: node.httpPort, rack: node.rack, version: node.version,
        memoryMiB: (opts.reported ?? node.reported).memoryMiB, vcores: (opts.reported ?? node.reported).vcores,
      });
      return fresh;
    }
    const now = this.clock.now();
    if (opts.reported) node.reported = res(opts.reported.memoryMiB, opts.reported.vcores);
    node.total = res(node.reported.memoryMiB, node.reported.vcores);
    node.nmStartupTime = now;
    node.lastHealthUpdate = now;
    node.healthReport = '';
    node.state = 'RUNNING';
    // The scheduler node is rebuilt when nothing runs on it (deadline gone); otherwise its total is
    // updated with timeout −1, which leaves an earlier deadline armed.
    if (node.allocated.size === 0) node.overcommitDeadline = -1;
    for (const c of [...node.nmContainers.values()]) if (!this.isLive(c)) this.forgetNmContainer(node, c);
    this.touch(node);
    this.refreshOvercommit(node);
    this.events.emit('nodeRegistered', node);
    this.schedule(node);
    return node;
  }

  /** Moves a node between NodeStates; turning inactive loses its containers (ABORTED −100). */
  setNodeState(nodeId: string, state: NodeState): void {
    const node = this.requireNode(nodeId);
    if (node.state === state) return;
    node.state = state;
    node.lastHealthUpdate = this.clock.now();
    if (state === 'UNHEALTHY' && !node.healthReport) node.healthReport = 'simulated unhealthy node';
    if (state === 'RUNNING') node.healthReport = '';
    if (isInactiveState(state)) {
      for (const c of [...node.allocated.values()]) {
        this.complete(c, {
          exitCode: EXIT.ABORTED, diagnostics: 'Container released on a *lost* node', nmState: 'DONE',
          rmExitStatus: EXIT.ABORTED, reason: 'node-lost',
        });
      }
      this.overcommitted.delete(node);
    }
    this.touch(node);
    if (isSchedulable(state)) this.schedule(node);
  }

  /** Health-report text shown by the RM (and the NM). */
  setHealthReport(nodeId: string, report: string): void {
    const node = this.requireNode(nodeId);
    node.healthReport = report;
    node.lastHealthUpdate = this.clock.now();
    this.touch(node);
  }

  /**
   * `POST /nodes/{id}/resource` after the HTTP layer parsed the id and body
   * (`AdminService.updateNodeResource` → `AbstractYarnScheduler.updateNodeResource`).
   */
  /**
   * What the REST handler does on a real RM: AdminService checks the node and dispatches an
   * asynchronous `RMNodeResourceUpdateEvent`, then the handler reads the node's total — which may
   * still be the old one. The update lands `delayMs` later (simulated ms), unless the RM state was
   * reset meanwhile (failover or restart: the queued event died with it).
   */
  queueNodeResourceUpdate(nodeId: string, total: Res, overCommitTimeout: number, delayMs: number): ResizeOutcome {
    if (delayMs <= 0) return this.updateNodeResource(nodeId, total, overCommitTimeout);
    const node = this.nodeMap.get(nodeId);
    if (!node) return { kind: 'not-found' };
    if (isInactiveState(node.state)) {
      return { kind: 'inactive', message: `Resource update get failed on all nodes due to change resource on an unrecognized node: ${nodeId}` };
    }
    const epoch = this.epoch;
    this.timers.schedule(this.clock.now() + delayMs, () => {
      if (this.epoch === epoch) this.updateNodeResource(nodeId, total, overCommitTimeout);
    });
    return { kind: 'queued', total: { ...node.total } };
  }

  updateNodeResource(nodeId: string, total: Res, overCommitTimeout: number): ResizeOutcome {
    const node = this.nodeMap.get(nodeId);
    if (!node) return { kind: 'not-found' };
    if (isInactiveState(node.state)) {
      return { kind: 'inactive', message: `Resource update get failed on all nodes due to change resource on an unrecognized node: ${nodeId}` };
    }
    if (sameRes(node.total, total)) {
      this.log.warn({ node: nodeId, total }, 'Update resource on node with the same resource');
      return { kind: 'unchanged', total: { ...node.total } };
    }
    const grew = total.memoryMiB > node.total.memoryMiB || total.vcores > node.total.vcores;
    node.total = res(total.memoryMiB, total.vcores);
    // setOvercommitTimeOut: only a non-negative timeout (re-)arms; a negative one never disarms.
    if (overCommitTimeout >= 0) node.overcommitDeadline = this.clock.now() + overCommitTimeout;
    this.touch(node);
    const killed = overCommitTimeout === 0 ? this.killIfTimedOut(node) : [];
    this.refreshOvercommit(node);
    if (grew || killed.length > 0) this.schedule(node);
    return { kind: 'updated', total: { ...node.total }, killed };
  }

  /**
   * `ClientRMService.signalToContainer`: only containers the scheduler holds can be signalled.
   * Delivery to the NM happens about one heartbeat later.
   */
  signalContainer(containerId: string, command: SignalCommand): void {
    const c = this.containerIndex.get(containerId);
    if (!c || !this.isLive(c)) throw new SimError('unknown-container', `Trying to signal an absent container ${containerId}`);
    this.timers.schedule(this.clock.now() + this.signalDelayMs, () => this.deliverSignal(containerId, command));
  }

  /**
   * What an RM restart or failover does to the model: RMNodes are rebuilt from NM registrations,
   * so every override and armed deadline is forgotten; new container ids carry a new epoch.
   */
  resetRmState(clusterTimestamp: number): void {
    this.clusterTimestamp = clusterTimestamp;
    this.epoch++;
    this.overcommitted.clear();
    for (const node of this.nodeList) {
      node.total = res(node.reported.memoryMiB, node.reported.vcores);
      node.overcommitDeadline = -1;
      this.touch(node);
    }
    this.schedule();
  }

  /**
   * Advances the model to `clock.now()`: due timers (signal delivery, NM retention, launches) and
   * over-commit deadlines (the RM checks those on each NM heartbeat). Cheap when nothing is due.
   */
  tick(): void {
    const now = this.clock.now();
    this.timers.runDue(now);
    if (this.overcommitted.size === 0) return;
    for (const node of [...this.overcommitted]) {
      if (now >= node.overcommitDeadline) {
        const killed = this.killIfTimedOut(node);
        this.refreshOvercommit(node);
        if (killed.length > 0) this.schedule(node);
      }
    }
  }

  metrics(): ClusterMetrics {
    let totalMB = 0, totalV = 0, usedMB = 0, usedV = 0, containers = 0;
    const count: Partial<Record<NodeState, number>> = {};
    for (const n of this.nodeList) {
      count[n.state] = (count[n.state] ?? 0) + 1;
      if (hasSchedulerReport(n.state)) {
        totalMB += n.total.memoryMiB; totalV += n.total.vcores;
        usedMB += n.used.memoryMiB; usedV += n.used.vcores;
        containers += n.allocated.size;
      }
    }
    const apps = [...this.appMap.values()];
    const byState = (s: AppState): number => apps.filter((a) => a.state === s).length;
    const c = (s: NodeState): number => count[s] ?? 0;
    return {
      appsSubmitted: apps.length,
      appsCompleted: byState('FINISHED'),
      appsPending: byState('ACCEPTED'),
      appsRunning: byState('RUNNING'),
      appsFailed: byState('FAILED'),
      appsKilled: byState('KILLED'),
      reservedMB: 0,
      availableMB: totalMB - usedMB,
      allocatedMB: usedMB,
      reservedVirtualCores: 0,
      availableVirtualCores: totalV - usedV,
      allocatedVirtualCores: usedV,
      containersAllocated: containers,
      containersReserved: 0,
      containersPending: [...this.pendingApps].reduce((s, a) => s + a.pending.length, 0),
      totalMB,
      totalVirtualCores: totalV,
      totalNodes: c('RUNNING') + c('UNHEALTHY') + c('DECOMMISSIONING') + c('NEW'),
      lostNodes: c('LOST'),
      unhealthyNodes: c('UNHEALTHY'),
      decommissioningNodes: c('DECOMMISSIONING'),
      decommissionedNodes: c('DECOMMISSIONED'),
      rebootedNodes: c('REBOOTED'),
      activeNodes: c('RUNNING'),
      shutdownNodes: c('SHUTDOWN'),
    };
  }

  /** Drops every pending timer (used when the simulator stops). */
  dispose(): void {
    this.timers.clear();
  }

  // ---------------------------------------------------------------- internals

  private requireNode(id: string): SimNode {
    const n = this.nodeMap.get(id);
    if (!n) throw new SimError('unknown-node', `unknown node ${id}`);
    return n;
  }

  private touch(node: SimNode): void {
    node.rev++;
    this.version++;
  }

  private isLive(c: SimContainer): boolean {
    return this.nodeMap.get(c.nodeId)?.allocated.has(c.id) ?? false;
  }

  private refreshOvercommit(node: SimNode): void {
    if (node.overcommitDeadline >= 0 && hasSchedulerReport(node.state) && isOvercommitted(node.total, node.used)) {
      this.overcommitted.add(node);
    } else {
      this.overcommitted.delete(node);
    }
  }

  /** `signalContainersIfOvercommitted(node, kill=true)`. */
  private killIfTimedOut(node: SimNode): SimContainer[] {
    if (node.overcommitDeadline < 0 || this.clock.now() < node.overcommitDeadline) return [];
    const victims = victimsToFit(node.allocated.values(), node.total, node.used);
    for (const c of victims) {
      this.complete(c, {
        exitCode: EXIT.KILLED_BY_RESOURCEMANAGER,
        diagnostics: 'Container preempted by scheduler',
        nmState: 'DONE',
        rmExitStatus: EXIT.PREEMPTED,
        reason: 'preempted',
      });
    }
    if (victims.length > 0) this.log.info({ node: node.id, killed: victims.map((v) => v.id) }, 'over-committed node: containers killed');
    return victims;
  }

  private deliverSignal(containerId: string, command: SignalCommand): void {
    const c = this.containerIndex.get(containerId);
    if (!c || !this.isLive(c)) return;
    this.events.emit('containerSignal', c, command);
    if (this.signalHandling !== 'model' || command === 'OUTPUT_THREAD_DUMP') return;
    if (!this.isLive(c)) return; // a listener may already have ended it
    const exitCode = command === 'GRACEFUL_SHUTDOWN' ? EXIT.SIGTERM : EXIT.SIGKILL;
    this.complete(c, {
      exitCode, diagnostics: `Container signalled: ${command}`, nmState: 'EXITED_WITH_FAILURE',
      rmExitStatus: exitCode, reason: 'signalled',
    });
  }

  /** Takes a live container out of the RM allocation and leaves the NM's record to expire. */
  private complete(
    c: SimContainer,
    how: { exitCode: number; diagnostics: string; nmState: NmContainerState; rmExitStatus: number; reason: ContainerFinishInfo['reason'] },
  ): void {
    const node = this.nodeMap.get(c.nodeId);
    if (!node || !node.allocated.delete(c.id)) return;
    node.used = res(node.used.memoryMiB - c.resource.memoryMiB, node.used.vcores - c.resource.vcores);
    c.state = how.nmState;
    c.exitCode = how.exitCode;
    c.diagnostics = how.diagnostics;
    c.finishedAt = this.clock.now();
    this.touch(node);
    this.refreshOvercommit(node);
    this.timers.schedule(c.finishedAt + this.retainMs, () => this.forgetNmContainer(node, c));
    const app = this.appMap.get(c.appId);
    app?.live.delete(c.id);
    this.events.emit('containerFinished', c, { rmExitStatus: how.rmExitStatus, reason: how.reason });
    if (!app || (app.state !== 'RUNNING' && app.state !== 'ACCEPTED')) return;
    if (c.isAM) {
      this.endApp(app, how.exitCode === 0 ? 'FINISHED' : 'FAILED');
    } else if (how.exitCode === 0) {
      app.completedWorkers++;
      if (app.completedWorkers >= app.workerAsks.length && app.pending.length === 0 && app.live.size === 1) {
        // All work done: the AM unregisters and exits cleanly.
        const am = [...app.live.values()][0]!;
        this.complete(am, { exitCode: 0, diagnostics: '', nmState: 'EXITED_WITH_SUCCESS', rmExitStatus: 0, reason: 'exited' });
      }
    } else if (app.replaceFailed) {
      app.pending.push({ isAM: false, resource: c.resource, executionType: c.executionType });
      this.pendingApps.add(app);
      this.schedule();
    }
  }

  private forgetNmContainer(node: SimNode, c: SimContainer): void {
    if (node.allocated.has(c.id)) return;
    if (node.nmContainers.delete(c.id)) this.touch(node);
    if (this.containerIndex.get(c.id) === c) this.containerIndex.delete(c.id);
  }

  private endApp(app: SimApp, finalState: AppState): void {
    if (app.state === 'FINISHED' || app.state === 'FAILED' || app.state === 'KILLED') return;
    app.state = finalState;
    app.pending = [];
    this.pendingApps.delete(app);
    for (const c of [...app.live.values()]) {
      this.complete(c, {
        exitCode: EXIT.KILLED_BY_RESOURCEMANAGER, diagnostics: 'Container killed by the ApplicationMaster.', nmState: 'DONE',
        rmExitStatus: EXIT.KILLED_BY_RESOURCEMANAGER, reason: 'app-finished',
      });
    }
    this.version++;
    this.events.emit('appFinished', app);
  }

  /**
   * Places pending asks: apps in submission order, the AM before anything else of its app.
   * With `only`, just that node is tried (what a heartbeat from it would do); otherwise nodes are
   * scanned round-robin. A size that found no room is not tried again in the same pass, which
   * keeps one pass at O(apps + sizes × nodes).
   */
  private schedule(only?: SimNode): void {
    if (this.pendingApps.size === 0) return;
    const apps = [...this.pendingApps].sort((a, b) => a.seq - b.seq);
    const noRoom = new Set<string>();
    const started: SimContainer[] = [];
    for (const app of apps) {
      let i = 0;
      while (i < app.pending.length) {
        const ask = app.pending[i]!;
        const key = `${ask.resource.memoryMiB}/${ask.resource.vcores}`;
        if (noRoom.has(key)) { i++; continue; }
        const node = only
          ? (isSchedulable(only.state) && fits(ask.resource, freeOf(only.total, only.used)) ? only : undefined)
          : this.findNode(ask.resource);
        if (!node) { noRoom.add(key); i++; continue; }
        app.pending.splice(i, 1);
        const c = this.allocate(app, ask, node);
        if (c.state === 'RUNNING') started.push(c);
      }
      if (app.pending.length === 0) this.pendingApps.delete(app);
    }
    // Announced after the pass, so a listener calling back into the model cannot disturb it.
    for (const c of started) if (this.isLive(c)) this.events.emit('containerStarted', c);
  }

  private findNode(ask: Res): SimNode | undefined {
    const n = this.nodeList.length;
    for (let k = 0; k < n; k++) {
      const idx = (this.cursor + k) % n;
      const node = this.nodeList[idx]!;
      if (isSchedulable(node.state) && fits(ask, freeOf(node.total, node.used))) {
        this.cursor = (idx + 1) % n;
        return node;
      }
    }
    return undefined;
  }

  private allocate(app: SimApp, ask: PendingAsk, node: SimNode): SimContainer {
    const now = this.clock.now();
    const seq = app.nextContainerSeq++;
    const c: SimContainer = {
      id: formatContainerId(this.epoch, app.clusterTimestamp, app.seq, app.attempt, seq),
      appId: app.id,
      seq,
      isAM: ask.isAM,
      resource: { ...ask.resource },
      executionType: ask.executionType,
      user: app.user,
      nodeId: node.id,
      state: this.launchDelayMs > 0 ? 'LOCALIZING' : 'RUNNING',
      allocatedAt: now,
      allocationOrder: ++this.allocationCounter,
      finishedAt: undefined,
      exitCode: EXIT.INVALID,
      diagnostics: '',
    };
    node.allocated.set(c.id, c);
    node.nmContainers.set(c.id, c);
    node.used = res(node.used.memoryMiB + c.resource.memoryMiB, node.used.vcores + c.resource.vcores);
    app.live.set(c.id, c);
    this.containerIndex.set(c.id, c);
    this.touch(node);
    if (ask.isAM) {
      app.state = 'RUNNING';
      // The AM, once up, asks for the app's other containers.
      app.pending.push(...app.workerAsks);
    }
    if (this.launchDelayMs > 0) {
      this.timers.schedule(now + this.launchDelayMs, () => {
        if (c.state !== 'LOCALIZING' || !this.isLive(c)) return;
        c.state = 'RUNNING';
        this.touch(node);
        this.events.emit('containerStarted', c);
      });
    }
    return c;
  }
}
