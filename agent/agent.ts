/**
 * One node agent: the imperative shell around the pure rules. Each tick (default 1 s) collects,
 * builds the snapshot, decides, applies (CPU limit, evictions) and refreshes the kill plan; a fast
 * memory watch (every 5–250 ms, following the headroom) reads `/proc/meminfo` alone and runs the
 * memory rule on the plan at once when the node crosses the threshold. Serves the yarn-copilot API on a unix socket and `/metrics` + `/healthz`.
 *
 * No globals: every agent has its own clients, Registry and state, so the demo and the tests can
 * run several in one process. With `manual: true` no timer runs and the caller drives `tick()`
 * and `fastCheck()` (deterministic tests, simulated time).
 */
import { setFlagsFromString } from 'node:v8';
import { existsSync } from 'node:fs';
import type { Registry } from 'prom-client';
import { MeminfoWatch, type MemoryLook, NodeCgroups, type ThresholdLook } from '../cgroup/index.js';
import { type Clock, systemClock, type Timer } from '../clock/clock.js';
import { KubeApi } from '../kube/api.js';
import { connect, type KubeConnection } from '../kube/connection.js';
import { EventRecorder, type EventSink, LogOnlyEvents } from '../kube/events.js';
import { componentLogger, createLogger, type Logger } from '../log/logger.js';
import { type MetricsEndpoint, serveMetrics } from '../metrics/endpoint.js';
import { NodeManagerClient } from '../yarn/nm-client.js';
import { ResourceManagerClient } from '../yarn/rm-client.js';
import { ForbiddenReporter } from '../kube/forbidden.js';
import { startKerberos } from '../yarn/kerberos/session.js';
import { type CollectedContainer, type Collection, Collector } from './collector.js';
import { createCopilotBackend } from './copilot-backend.js';
import { type CopilotServer, serveCopilot } from './copilot-server.js';
import { CpuSuppressor } from './cpu-suppression.js';
import { type EvictionRecord, Evictor, type IssuedEviction } from './evictor.js';
import { AgentMetrics } from './metrics.js';
import {
  type AgentRulesState, type ContainerSnapshot, cpuSampleOf, type Decision, decide, type Eviction, initialRulesState, parseRulesConfig,
  pushCpuSample, recordCpuLimit, recordEvictions, type RuleName, type RulesConfig, type Snapshot,
} from './rules/index.js';
import type { AgentSettings } from './settings.js';
import { AgentHealth } from './health.js';
import { buildSnapshot, ratesKnown } from './snapshot.js';
import { decideOnPlan, KillPlan, planDirOf, planSignature } from './kill-plan.js';
import { type FastWatchReport, FastWatchThread } from './fast-watch-thread.js';
import { MemoryBackstop } from './memory-backstop.js';
import { DEFAULT_FAST_WATCH_MAX_MILLIS, fixedPeriod, looksOften, nextLookIn, type WatchPeriod } from './watch-period.js';

export interface StartAgentOptions {
  logger?: Logger;
  /** The agent's clock (ms since the epoch): CPU rates, cool-downs, windows. Default `Date.now`. */
  clock?: () => number;
  /** No timers; the caller drives `tick()` / `fastCheck()`. */
  manual?: boolean;
  /** Event sink (default: Kubernetes Events when a kubeconfig / in-cluster access exists, else log only). */
  events?: EventSink;
  /** Wait for SIGKILL / cgroup.kill to empty a cgroup (default 5000 ms). */
  killDeadlineMs?: number;
  /** The loops' timers, the health check's loop age, and the eviction path's waits (default: the system clock). */
  timers?: Clock;
  /** Pids never signalled besides pid ≤ 1 (defaults: this process and its parent). */
  selfPid?: number;
  parentPid?: number;
  /**
   * Run the fast memory watch on its own thread (default: yes when the loops run on the system
   * clock — neither `manual`, nor injected `timers` or `clock`, which a worker thread cannot share).
   */
  fastWatchThread?: boolean;
}

export interface TickResult {
  collection: Collection;
  /** Absent when nothing could be decided (node memory unreadable). */
  decision?: Decision;
  rules: readonly RuleName[];
  issued: IssuedEviction[];
}

export interface FastCheckResult {
  /** Node memory at or above the eviction threshold. */
  triggered: boolean;
  usagePercent?: number;
  /** What was read (undefined when node memory could not be read): the next look's period follows it. */
  look?: MemoryLook;
  decision?: Decision;
  issued: IssuedEviction[];
}

export interface AgentHandle {
  readonly nodeName: string;
  readonly socketPath: string;
  /** `http://host:port` of /metrics and /healthz; undefined when no metrics address is set. */
  readonly metricsUrl: string | undefined;
  readonly registry: Registry;
  readonly config: RulesConfig;
  readonly dryRun: boolean;
  /** Recent evictions (ring), oldest first. */
  readonly evictions: readonly EvictionRecord[];
  /** Containers being evicted right now. */
  readonly evicting: ReadonlySet<string>;
  readonly state: AgentRulesState;
  latest(): Collection | undefined;
  /** What /healthz and /readyz answer now. */
  health(): { live: { ok: boolean; detail?: string }; healthy: { ok: boolean; detail?: string }; ready: { ok: boolean; detail?: string } };
  tick(): Promise<TickResult>;
  fastCheck(): FastCheckResult;
  /** The YARN parent memory limit the backstop set last (undefined: off, or not written yet). */
  readonly backstopLimit: number | undefined;
  /** The fast watch's ready kill plan (refreshed by every tick). */
  readonly plan: KillPlan;
  /** The fast watch runs on its own thread now (it looks often), not on the main thread's timer. */
  readonly fastWatchOnThread: boolean;
  /** When the fast watch looks next after a look that read `look` (ms). */
  nextLookIn(look: MemoryLook | undefined): number;
  /** Wait until every eviction in flight ended (grace periods included). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** Percentage points under the memory eviction threshold from which container figures are read every tick. */
export const NEAR_THRESHOLD_POINTS = 10;
/**
 * Every how many ticks the containers' files are read (together, one pass) while no rule needs
 * them fresh (see {@link containerReadEvery}). Far under the threshold they decide only should
 * node memory jump over it within one tick, a jump that a figure one second old misses as well;
 * the passes are most of what an idle agent spends (20 instead of 10: ≈ 25 % less CPU at 200
 * containers).
 */
export const FAR_READ_EVERY = 20;
/**
 * Every how many ticks the NodeManager is asked while container figures are read once in
 * {@link FAR_READ_EVERY} (far under the threshold) and its list is steady; a container cgroup
 * directory appearing or going (the YARN parent's directory count changing; one appearing as another
 * goes within a tick waits for the next regular ask) makes the next tick ask at once, and near the
 * threshold every tick asks.
 */
export const NM_LIST_EVERY = 5;

/**
 * Every how many ticks a proven container's files are read (pure). Three rules use container
 * figures: the memory rule (victims' working sets, when node memory is at the threshold), PSI
 * eviction (victims' working sets, at any node memory) and CPU eviction (rates). While node memory
 * is more than {@link NEAR_THRESHOLD_POINTS} points under the threshold and PSI and CPU eviction
 * are off, figures up to {@link FAR_READ_EVERY} ticks old decide nothing; near the threshold, with
 * PSI or CPU eviction on, or when node memory is unknown, every tick reads them.
 */
export function containerReadEvery(node: { memoryUsed: number; memoryTotal: number } | undefined, config: Pick<RulesConfig, 'memoryEvictThresholdPercent' | 'cpuEvictBESatisfactionLowerPercent' | 'psiEvictThreshold'>): number {
  if (config.cpuEvictBESatisfactionLowerPercent !== undefined || config.psiEvictThreshold !== undefined || !node || !(node.memoryTotal > 0)) return 1;
  const far = node.memoryUsed * 100 < node.memoryTotal * (config.memoryEvictThresholdPercent - NEAR_THRESHOLD_POINTS);
  return far ? FAR_READ_EVERY : 1;
}

/** The checked directory of each of a collection's proven, measured containers, by id (the fast watch's plan). */
function cgroupsOf(col: Collection): Map<string, string> {
  const m = new Map<string, string>();
  for (const c of col.containers) {
    const dir = c.cgroup && c.stats ? planDirOf(c.cgroup) : undefined;
    if (dir !== undefined) m.set(c.nm.id, dir);
  }
  return m;
}

const inCluster = (): boolean =>
  Boolean(process.env.KUBERNETES_SERVICE_HOST) && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');

export async function startAgent(settings: AgentSettings, options: StartAgentOptions = {}): Promise<AgentHandle> {
  // undici parses HTTP with llhttp compiled to WebAssembly on the first request; V8's optimizing
  // tier for it costs a ~35 MB transient at the agent's first tick for no gain at a few requests a
  // second. The baseline tier is enough. (Read when the module is compiled, i.e. after this line.)
  setFlagsFromString('--liftoff-only');
  const nodeName = settings.nodeName;
  if (!nodeName) throw new Error('no node name: set --node-name (or NODE_NAME) to the Kubernetes Node this agent runs on');
  const root = options.logger ?? createLogger('agent');
  const log = componentLogger(root, 'agent').child({ node: nodeName });
  const clock = options.clock ?? Date.now;
  const timers = options.timers ?? systemClock;
  const config = parseRulesConfig(settings.rules);
  const cgroups = NodeCgroups.open({
    cgroupRoot: settings.cgroupRoot, procRoot: settings.procRoot, yarnCgroupPath: settings.yarnCgroupPath,
    filesystem: settings.simulatedCgroups ? 'simulated' : 'kernel',
  });
  const described = cgroups.describe();
  log.info({ cgroups: described, dryRun: settings.dryRun, nmUrl: settings.nmUrl, rmUrls: settings.rmUrls, config }, 'node agent starting');
  if (described.hint) log.warn({ hint: described.hint }, 'YARN cgroup path not found');

  const metrics = new AgentMetrics(nodeName);
  const kerberos = settings.kerberos
    ? await startKerberos(settings.kerberos, { urls: [settings.nmUrl, ...settings.rmUrls], logger: componentLogger(root, 'agent.kerberos').child({ node: nodeName }) })
    : undefined;
  const nm = new NodeManagerClient({
    ...(kerberos ? { auth: kerberos.authenticator() } : {}),
    url: settings.nmUrl,
    timeoutMs: Math.min(5000, Math.max(500, settings.tickMillis)),
    retries: 0,
    ...(settings.nmMaxBodyBytes !== undefined ? { maxBodyBytes: settings.nmMaxBodyBytes } : {}),
    logger: componentLogger(root, 'agent.nm').child({ node: nodeName }),
    ...(settings.rmUser ? { user: settings.rmUser } : {}),
  });
  const rm = settings.rmUrls.length > 0
    ? new ResourceManagerClient({
      rmUrls: settings.rmUrls, timeoutMs: 5000, retries: 1,
      ...(kerberos ? { auth: kerberos.authenticator() } : {}),
      logger: componentLogger(root, 'agent.rm').child({ node: nodeName }),
      ...(settings.rmUser ? { user: settings.rmUser } : {}),
    })
    : undefined;

  let kube: KubeConnection | undefined;
  let events = options.events;
  const eventsLog = componentLogger(root, 'agent.events').child({ node: nodeName });
  if (!events) {
    if (settings.kubeconfig || inCluster()) {
      try {
        kube = await connect(settings.kubeconfig, { connections: 2 });
        const forbidden = new ForbiddenReporter({ logger: componentLogger(root, 'kube').child({ node: nodeName }), counter: metrics.kubeForbidden });
        events = new EventRecorder(new KubeApi(kube, 10_000, (err) => forbidden.note(err)), {
          namespace: 'default', component: 'loom-agent', logger: eventsLog, dryRun: settings.dryRun,
          // Every eviction Event names its container: none repeats, so none is folded (no patch; RBAC: create only).
          foldWindowMs: 0,
        });
        log.info({ source: kube.source }, 'posting Kubernetes Events on the Node');
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'no Kubernetes access: Events are only logged');
      }
    }
    events ??= new LogOnlyEvents(eventsLog);
  }

  const collector = new Collector({
    nm, cgroups, procRoot: settings.procRoot, logger: componentLogger(root, 'agent.collector').child({ node: nodeName }),
    ...(settings.maxContainers !== undefined ? { maxContainers: settings.maxContainers } : {}),
    onRefusal: (kind) => metrics.cgroupRefusals.inc({ kind }),
    containerReadEvery: (node) => containerReadEvery(node, config),
    nmListEvery: (node) => (containerReadEvery(node, config) > 1 ? NM_LIST_EVERY : 1),
  });
  const evictor = new Evictor({
    cgroups, events, nodeName, metrics, dryRun: settings.dryRun, now: clock,
    clock: timers,
    onProofFailure: (kind) => metrics.cgroupRefusals.inc({ kind }),
    onRefused: (id, err) => {
      metrics.cgroupRefusals.inc({ kind: err.kind });
      collector.invalidate(id, err.message);
      plan.drop(id);
      // When the YARN parent itself no longer proves, no container under it does: drop them all now.
      try {
        cgroups.yarnParent();
      } catch (parentErr) {
        collector.invalidateAll(`YARN parent refused: ${(parentErr as Error).message}`);
        plan.clear();
      }
    },
    logger: componentLogger(root, 'agent.evictor').child({ node: nodeName }),
    ...(rm ? { rm } : {}),
    ...(options.killDeadlineMs !== undefined ? { killDeadlineMs: options.killDeadlineMs } : {}),
    ...(options.selfPid !== undefined ? { selfPid: options.selfPid } : {}),
    ...(options.parentPid !== undefined ? { parentPid: options.parentPid } : {}),
  });
  const backstop = settings.memoryBackstop
    ? new MemoryBackstop({ cgroups, dryRun: settings.dryRun, logger: componentLogger(root, 'agent.backstop').child({ node: nodeName }) })
    : undefined;
  const suppressor = new CpuSuppressor({ cgroups, metrics, dryRun: settings.dryRun, logger: componentLogger(root, 'agent.cpu').child({ node: nodeName }) });
  const health = new AgentHealth({
    healthTicks: settings.healthTicks ?? 5, tickMillis: settings.tickMillis,
    // The watch's period follows the headroom: its longest one bounds the gap between two looks.
    fastWatchMillis: Math.max(settings.fastWatchMillis, settings.fastWatchMaxMillis ?? DEFAULT_FAST_WATCH_MAX_MILLIS),
    manual: options.manual === true, now: () => timers.now(),
    fastWatchAt: () => (watching ? thread?.lastTurned : undefined),
  });
  const rulesLog = componentLogger(root, 'agent.rules').child({ node: nodeName });

  let state: AgentRulesState = initialRulesState();
  let lastHeld = '';
  const plan = new KillPlan();
  let unheldSeen = 0;

  const logHeld = (heldBack: Decision['held'], source: 'tick' | 'fast-watch'): void => {
    // Keyed by rule and reason only: messages carry counters ("cooling down 3911 ms more") that
    // would make every fast-watch pass look new and flood the log.
    const held = heldBack.map((h) => `${h.rule}:${h.reason}`).join('\n');
    if (held !== lastHeld && heldBack.length > 0) rulesLog.info({ source, held: heldBack }, 'rules held back');
    else if (heldBack.length > 0) rulesLog.debug({ source, held: heldBack }, 'rules held back');
    lastHeld = held;
  };
  /** The fast watch's own thread, once started (set once it is ready). */
  let thread: FastWatchThread | undefined;
  /** The thread holds the watch (the main thread's timer is off). */
  let watching = false;
  /** What the last tick planned (posted to the thread when it starts after that tick). */
  let lastPlanned: { snapshot: Snapshot; cgroups: ReadonlyMap<string, string>; at: number } | undefined;
  /** The signature of the plan and of the marks last sent to the thread. */
  let postedPlan = '';
  let postedMarks = '';
  /** Tell the fast watch's thread what the evictor and the rules state say now (when that changed). */
  const postMarks = (): void => {
    if (!thread || !watching) return;
    const evicting = [...evictor.evicting];
    const blocked = [...evictor.blocked(clock())];
    const released = evicting.filter((id) => evictor.released(id));
    const sig = `${state.lastMemoryEvictionAt ?? ''} ${state.lastCpuEvictionAt ?? ''} ${state.recentEvictions.join(',')} ${evicting.join(',')} ${blocked.join(',')} ${released.join(',')}`;
    if (sig === postedMarks) return;
    postedMarks = sig;
    thread.marks(state, new Set(evicting), new Set(blocked), released);
  };

  /** Decide on a snapshot and apply: the one path shared by the tick and the fast watch. */
  const decideAndApply = (snapshot: Snapshot, now: number, rules: readonly RuleName[], source: 'tick' | 'fast-watch', decided?: Decision): { decision: Decision; issued: IssuedEviction[] } => {
    let decision = decided;
    if (!decision) {
      const end = metrics.ruleDuration.startTimer({ rules: source === 'tick' ? rules.join('+') : 'memory' });
      decision = decide(snapshot, config, now, { rules });
      end();
    }
    logHeld(decision.held, source);
    if (decision.cpuLimit && source === 'tick') {
      const r = suppressor.apply(decision.cpuLimit, snapshot, config);
      if (r) state = recordCpuLimit(state, decision.cpuLimit);
    }
    let issued: IssuedEviction[] = [];
    if (decision.evictions.length > 0) {
      rulesLog.info({
        source,
        evictions: decision.evictions.map((e) => ({ container: e.containerId, reason: e.reason, mode: e.mode })),
        nodeMemoryUsed: snapshot.node.memoryUsed,
        nodeMemoryTotal: snapshot.node.memoryTotal,
        candidates: snapshot.containers.length,
      }, 'rules decided evictions');
      issued = evictor.execute(decision.evictions);
      const ids = new Set(issued.map((i) => i.record.containerId));
      state = recordEvictions(state, decision.evictions.filter((e) => ids.has(e.containerId) || e.escalation), now);
      if (thread && watching) {
        postMarks();
        for (const i of issued) void i.done.then(postMarks);
      }
    }
    return { decision, issued };
  };

  /** The last unmarked tick's candidates and proven cgroups, by the collection's container list they come from. */
  let lastCandidates: { from: readonly CollectedContainer[]; candidates: readonly ContainerSnapshot[]; cgroups: ReadonlyMap<string, string> } | undefined;
  /** A tick is between its start and its end (for the fast watch's log: was a late look held up by it?). */
  let tickRunning = false;
  const tick = async (): Promise<TickResult> => {
    const endTick = metrics.tickDuration.startTimer();
    tickRunning = true;
    try {
      const now = clock();
      const col = await collector.collect(now);
      health.collected(col);
      if (col.nmRestarted) metrics.nmRestarts.inc();
      evictor.reconcile(new Set(col.containers.map((c) => c.nm.id)));
      // Let a fast-watch look that fell due during the collection run before the rules (a crossing then acts first).
      await new Promise<void>((resolve) => setImmediate(resolve));
      metrics.observe(col);
      metrics.cgroupFilesHeld.set(collector.files.size);
      if (collector.files.unheldReads > unheldSeen) {
        metrics.cgroupFileReadsUnheld.inc(collector.files.unheldReads - unheldSeen);
        unheldSeen = collector.files.unheldReads;
      }
      const known = ratesKnown(col);
      const blocked = evictor.blocked(now);
      // The same containers as the last tick's (an idle node between two container passes) and
      // nobody marked: the last tick's candidates and cgroups, as they are.
      const unmarked = evictor.evicting.size === 0 && blocked.size === 0;
      const same = unmarked && lastCandidates?.from === col.containers ? lastCandidates : undefined;
      const built = buildSnapshot(col, evictor.evicting, state, blocked, same?.candidates);
      // The CPU sample uses the node and YARN figures only; the snapshot then carries the new state.
      if (known && built) state = pushCpuSample(state, cpuSampleOf(built, now), config);
      const snapshot = built ? { ...built, state } : undefined;
      // Until a second reading gives CPU rates, only memory-based rules can decide.
      const rules: RuleName[] = known ? ['memory', 'psi', 'cpu-suppress', 'cpu-evict'] : ['memory', 'psi'];
      if (!snapshot) return { collection: col, rules, issued: [] };
      const { decision, issued } = decideAndApply(snapshot, now, rules, 'tick');
      backstop?.apply(snapshot, config.memoryEvictThresholdPercent);
      // The fast watch's plan: this tick's proven containers, marks as they are after its evictions.
      const cgroupsById = same?.cgroups ?? cgroupsOf(col);
      if (unmarked && !same) lastCandidates = { from: col.containers, candidates: snapshot.containers, cgroups: cgroupsById };
      // The plan leaves nobody out for back-off (the fast watch asks the evictor); its marks are
      // as they are after this tick's evictions: the snapshot is rebuilt only when those changed.
      const planned = issued.length === 0 && blocked.size === 0 ? { ...snapshot, state } : buildSnapshot(col, evictor.evicting, state, new Set()) ?? snapshot;
      plan.refresh({ snapshot: planned, cgroups: cgroupsById, at: now }, config);
      lastPlanned = { snapshot: planned, cgroups: cgroupsById, at: now };
      if (thread && watching) {
        // Sent only when what the memory rule would see changed: a structured clone of a few
        // hundred containers each second costs the idle agent more than its looks do.
        const sig = planSignature(planned, cgroupsById);
        if (sig !== postedPlan) {
          thread.plan(planned, cgroupsById, now);
          postedPlan = sig;
        }
        postMarks();
      }
      return { collection: col, decision, rules, issued };
    } finally {
      tickRunning = false;
      endTick();
      health.tickEnded();
    }
  };

  const fastLog = componentLogger(root, 'agent.fast-watch').child({ node: nodeName });
  const meminfo = new MeminfoWatch(settings.procRoot);
  const watchPeriod: WatchPeriod = {
    minMs: settings.fastWatchMillis,
    maxMs: settings.fastWatchMaxMillis ?? DEFAULT_FAST_WATCH_MAX_MILLIS,
    growthBytesPerSecond: (settings.fastWatchGrowthMibPerSecond ?? 2048) * 2 ** 20,
  };
  let fastFailing = false;
  /** How late the current look started after its timer was due (the event loop was busy): logged when it acts. */
  let lookLateMs = 0;
  /**
   * The fast watch: one look at node memory (a pread, no allocation); under the threshold that is
   * all. Over it: the strict parse of the same bytes confirms, the memory rule decides on the
   * ready kill plan (no NM call, no cgroup read), victims whose cgroup vanished since the tick are
   * dropped, and the evictor kills — proving each container's directories and each pid afresh.
   */
  const fastCheck = (): FastCheckResult => {
    let seen: ThresholdLook;
    try {
      seen = meminfo.lookAt(config.memoryEvictThresholdPercent);
      health.memoryRead();
      if (fastFailing) fastLog.info('node memory readable again');
      fastFailing = false;
    } catch (err) {
      health.memoryFailed((err as Error).message);
      if (!fastFailing) fastLog.error({ err: (err as Error).message }, 'fast memory watch cannot read node memory');
      fastFailing = true;
      return { triggered: false, issued: [] };
    }
    const { look, over: memory } = seen;
    const usagePercent = (look.used * 100) / look.total;
    if (!memory) return { triggered: false, usagePercent, look, issued: [] };
    metrics.fastWatchTriggers.inc();
    const now = clock();
    const node = { memoryTotal: memory.total, memoryUsed: memory.used };
    const end = metrics.ruleDuration.startTimer({ rules: 'memory' });
    const decided = decideOnPlan(plan, node, { evicting: evictor.evicting, blocked: evictor.blocked(now), released: (id) => evictor.released(id) }, state, config, now);
    end();
    if (!decided) return { triggered: true, usagePercent, look, issued: [] };
    const { snapshot, decision } = decided;
    const { issued } = decideAndApply(snapshot, now, ['memory'], 'fast-watch', decision);
    if (issued.length > 0) fastLog.info({ usagePercent: Math.round(usagePercent * 100) / 100, threshold: config.memoryEvictThresholdPercent, evictions: issued.length, planFromTick: plan.at, lookLateMs: Math.round(lookLateMs * 10) / 10, duringTick: tickRunning }, 'fast memory watch acted before the tick');
    return { triggered: true, usagePercent, look, decision, issued };
  };

  const backend = createCopilotBackend({
    latest: () => collector.latest,
    yarnCgroupPath: cgroups.yarn.path,
    evictor,
    config,
    nodeCpuCapacity: () => collector.latest?.node?.cpuCapacity,
    logger: componentLogger(root, 'agent.api').child({ node: nodeName }),
    onIssued: (evs: readonly Eviction[]) => { state = recordEvictions(state, evs, clock()); },
  });

  let copilot: CopilotServer | undefined;
  let metricsEndpoint: MetricsEndpoint | undefined;
  const closeClients = async (): Promise<void> => {
    await Promise.allSettled([nm.close(), rm?.close(), kube?.close()]);
  };
  try {
    copilot = await serveCopilot(settings.socket, settings.socketMode, backend, componentLogger(root, 'agent.api').child({ node: nodeName }));
    if (settings.metricsAddr) {
      metricsEndpoint = await serveMetrics(settings.metricsAddr, metrics.registry, {
        live: () => health.probe('live'),
        healthy: () => health.probe('healthy'),
        ready: () => health.probe('ready'),
      });
    }
  } catch (err) {
    await copilot?.close();
    await closeClients();
    throw err;
  }

  /** What the fast watch's thread reports: the main thread logs, counts and takes its evictions over. */
  const onThreadReport = (r: FastWatchReport): void => {
    if (r.type === 'ready') return;
    if (r.type === 'handback') {
      watching = false;
      scheduleFastOnMain?.(r.nextMs);
      return;
    }
    if (r.type === 'memory') {
      if (r.ok) {
        health.memoryRead();
        fastLog.info('node memory readable again');
      } else {
        health.memoryFailed(r.err ?? 'unreadable');
        fastLog.error({ err: r.err }, 'fast memory watch cannot read node memory');
      }
      return;
    }
    metrics.fastWatchTriggers.inc();
    if (r.type === 'triggered') {
      logHeld(r.held, 'fast-watch');
      return;
    }
    if (r.type === 'crossing') {
      // Evictions the thread does not send (dry-run, through the ResourceManager): decided and sent here.
      fastCheck();
      return;
    }
    const evictions = r.victims.map((v) => v.eviction);
    rulesLog.info({
      source: 'fast-watch',
      evictions: evictions.map((e) => ({ container: e.containerId, reason: e.reason, mode: e.mode })),
      usagePercent: Math.round(r.usagePercent * 100) / 100,
      candidates: plan.size,
    }, 'rules decided evictions');
    const issued: IssuedEviction[] = [];
    for (const v of r.victims) {
      // A kill the thread could not make (a proof refused it) is made again here, proofs and all:
      // the refusal is then handled (metrics, the container dropped) as on any kill.
      const i = v.result ? evictor.adopt(v.eviction, v.result) : evictor.execute([v.eviction])[0];
      if (i) issued.push(i);
    }
    state = recordEvictions(state, evictions, r.decidedAt);
    postMarks();
    for (const i of issued) void i.done.then(postMarks);
    fastLog.info({
      usagePercent: Math.round(r.usagePercent * 100) / 100, threshold: config.memoryEvictThresholdPercent, evictions: r.victims.length,
      planFromTick: r.planFromTick, lookLateMs: Math.round(r.lookLateMs * 10) / 10, duringTick: tickRunning, ownThread: true,
      decidedAt: r.decidedAt, signalledAt: r.signalledAt, decideMs: Math.round(r.decideMs * 100) / 100, signalMs: Math.round(r.signalMs * 100) / 100,
    }, 'fast memory watch acted before the tick');
  };
  const startFastWatchThread = async (): Promise<FastWatchThread> => {
    let t: FastWatchThread | undefined;
    t = new FastWatchThread({
      procRoot: settings.procRoot,
      cgroups: { cgroupRoot: settings.cgroupRoot, procRoot: settings.procRoot, yarnCgroupPath: settings.yarnCgroupPath, filesystem: settings.simulatedCgroups ? 'simulated' : 'kernel' },
      config, period: watchPeriod, state, dryRun: settings.dryRun, rmConfigured: rm !== undefined,
      ...(options.selfPid !== undefined ? { selfPid: options.selfPid } : {}),
      ...(options.parentPid !== undefined ? { parentPid: options.parentPid } : {}),
    }, onThreadReport, (err) => {
      // The node is never left unwatched: the main thread takes the watch back.
      loopLog.error({ err: err.message, stack: err.stack }, 'fast memory watch thread failed: the watch runs on the main thread');
      if (thread === t && !stopped) {
        thread = undefined;
        if (watching) {
          watching = false;
          scheduleFastOnMain?.(watchPeriod.minMs);
        }
      }
    });
    await t.ready;
    return t;
  };
  let scheduleFastOnMain: ((delay: number) => void) | undefined;
  const useThread = !options.manual && (options.fastWatchThread ?? (options.timers === undefined && options.clock === undefined));
  /** Start the watch's thread unless it runs, is starting, failed to start, or is not wanted. */
  const ensureThread = (): void => {
    if (!useThread || thread || starting || threadFailed || stopped) return;
    const started = startFastWatchThread();
    starting = started;
    started.then((t) => {
      starting = undefined;
      if (stopped) return void t.stop();
      // The main thread's next look hands the watch over while it looks often.
      thread = t;
      loopLog.info({ fastWatch: watchPeriod }, `fast memory watch thread ready: it watches whenever the watch looks more often than every ${watchPeriod.maxMs} ms`);
    }, (err: unknown) => {
      starting = undefined;
      threadFailed = true;
      loopLog.error({ err: (err as Error).message }, 'fast memory watch thread did not start: the watch stays on the main thread');
    });
  };
  let threadFailed = false;
  /** Give the watch to the thread: the current plan and marks first, then the watch. */
  const handOver = (t: FastWatchThread): void => {
    watching = true;
    if (lastPlanned) {
      t.plan(lastPlanned.snapshot, lastPlanned.cgroups, lastPlanned.at);
      postedPlan = planSignature(lastPlanned.snapshot, lastPlanned.cgroups);
    }
    postedMarks = '';
    postMarks();
    t.watch();
  };
  /** The thread being started (stopped with the agent if it is not ready by then). */
  let starting: Promise<FastWatchThread> | undefined;

  // ---- loops -------------------------------------------------------------------------------
  let stopped = false;
  let tickTimer: Timer | undefined;
  let fastTimer: Timer | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const loopLog = componentLogger(root, 'agent.loop').child({ node: nodeName });
  if (!options.manual) {
    const scheduleTick = (delay: number): void => {
      if (stopped) return;
      tickTimer = timers.setTimer(delay, () => {
        const started = timers.now();
        running = tick().catch((err: unknown) => loopLog.error({ err: (err as Error).message, stack: (err as Error).stack }, 'tick failed'))
          .finally(() => scheduleTick(Math.max(0, settings.tickMillis - (timers.now() - started))));
      });
    };
    scheduleTick(0);
    // The fast watch has its own timer: a slow tick (a slow NodeManager, a huge list) never delays it.
    // Its period follows the headroom under the threshold (watch-period.ts).
    const scheduleFast = (delay: number): void => {
      if (stopped || watching) return;
      const due = timers.now() + delay;
      fastTimer = timers.setTimer(delay, () => {
        lookLateMs = timers.now() - due;
        let next = watchPeriod.minMs;
        try {
          next = nextLookIn(fastCheck().look, config.memoryEvictThresholdPercent, watchPeriod);
        } catch (err) {
          loopLog.error({ err: (err as Error).message }, 'fast memory watch failed');
        }
        health.fastWatchTurned();
        // Looking more often than the longest period (or at a fixed period): the thread watches.
        if (looksOften(next, watchPeriod)) {
          if (thread) {
            handOver(thread);
            return;
          }
          ensureThread();
        }
        scheduleFast(next);
      });
    };
    scheduleFastOnMain = scheduleFast;
    // The watch starts on this thread and moves to its own once that is ready (the start never
    // waits for it: the node is watched from the first moment, and a thread that cannot start
    // leaves the watch here).
    scheduleFast(watchPeriod.minMs);
    // Far under the threshold the watch stays here; the thread is started the first time the
    // watch looks often (an idle agent never pays for it) and kept for the next time.
    if (fixedPeriod(watchPeriod)) ensureThread();
  }
  log.info({ socket: copilot.socketPath, metrics: metricsEndpoint?.url, tickMillis: settings.tickMillis, fastWatch: watchPeriod, manual: options.manual === true }, 'node agent running');

  const server = copilot;
  return {
    nodeName,
    socketPath: server.socketPath,
    metricsUrl: metricsEndpoint?.url,
    registry: metrics.registry,
    config,
    dryRun: settings.dryRun,
    get evictions() { return evictor.recent; },
    get evicting() { return evictor.evicting; },
    get state() { return state; },
    get backstopLimit() { return backstop?.limit; },
    latest: () => collector.latest,
    health: () => ({ live: health.probe('live'), healthy: health.probe('healthy'), ready: health.probe('ready') }),
    tick,
    fastCheck,
    plan,
    get fastWatchOnThread() { return watching; },
    nextLookIn: (look) => nextLookIn(look, config.memoryEvictThresholdPercent, watchPeriod),
    settled: () => evictor.settled(),
    async stop() {
      if (stopped) return;
      stopped = true;
      tickTimer?.cancel();
      fastTimer?.cancel();
      await thread?.stop();
      await starting?.then((t) => t.stop(), () => undefined);
      await running;
      // No tick runs any more: put back the YARN parent's CPU limit (a clean way out).
      suppressor.onExit(settings.keepLimitsOnExit === true);
      backstop?.onExit(settings.keepLimitsOnExit === true);
      await server.close();
      await metricsEndpoint?.close();
      await evictor.settled();
      await closeClients();
      meminfo.close();
      collector.close();
      kerberos?.stop();
      log.info('node agent stopped');
    },
  };
}
