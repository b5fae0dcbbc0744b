/**
 * One demo run: the simulated world, the real operator and one real agent per node, all over
 * loopback, driven through the scenario; samples every node's ledger as it goes.
 */
import type { Logger } from '../log/logger.js';
import { componentLogger } from '../log/logger.js';
import { SimWorld } from '../sim/world.js';
import { resolveSettings } from '../settings/settings.js';
import { operatorSettingSpecs, toOperatorSettings } from '../operator/settings.js';
import { startOperator, type RunningOperator } from '../operator/command.js';
import { agentSettingSpecs, toAgentSettings } from '../agent/settings.js';
import { startAgent, type AgentHandle } from '../agent/agent.js';
import { projectPod } from '../operator/observe.js';
import { k8sRequestedOf } from '../operator/snapshot.js';
import { doubleBooked, yarnToBatch } from '../operator/ledger/index.js';
import { ANNOTATION_ORIGIN, ANNOTATION_THIRD_PARTY, parseOriginAnnotation, parseThirdPartyAllocations, yarnClaimOf } from '../kube/wire.js';
import { isApplicationMaster } from '../yarn/ids.js';
import { burstBytes, nonYarnMemoryBytes, type Scenario, type ScenarioStep } from './scenario.js';

export type Policy = 'partitioned' | 'shared';

export interface NodeSample {
  /** CPU milli-cores, memory bytes (YARN figures converted). */
  origin: { cpu: number; memory: number };
  k8s: { cpu: number; memory: number };
  yarnCapacity: { cpu: number; memory: number };
  yarnUsed: { cpu: number; memory: number };
  claim: { cpu: number; memory: number };
  doubleBooked: { cpu: number; memory: number };
  memoryUsedPercent: number;
  evictions: number;
  /** The RM runs with the capacity Loom set (false before Loom set it, and while it has forgotten it after an NM restart). */
  inForce: boolean;
  /**
   * YARN containers the RM has on the node, and node memory used by everything but YARN (%), as
   * the agent counts it and the burst is sized (nonYarnMemoryBytes).
   */
  yarnContainers: number;
  nonYarnMemoryPercent: number;
}

export interface Sample {
  t: number;
  nodes: Record<string, NodeSample>;
  /**
   * The operator had acted on every Node's latest version when the sample was taken (on a loaded
   * machine it may not have within a second: such samples show its reaction time).
   */
  settled: boolean;
}

export interface DemoEvent {
  t: number;
  node: string;
  kind: 'eviction' | 'nm-restart' | 'nm-repaired' | 'memory-spike' | 'memory-spike-end' | 'batch-pod' | 'submit-app';
  detail: string;
  containerId?: string;
  reason?: string;
  isAM?: boolean;
}

/** The online memory burst on one node and what the agent did about it. */
export interface BurstSummary {
  node: string;
  startSec: number;
  endSec: number;
  thresholdPercent: number;
  /** Node memory used when the burst began and its highest sample during the burst. */
  startPercent: number;
  peakPercent: number;
  /** YARN containers (and their allocated GiB) on the node when the burst began. */
  yarnContainersAtStart: number;
  yarnGiBAtStart: number;
  evictions: number;
  /** Simulated seconds from the burst's start until memory was back under the threshold (null: never). */
  backUnderAfterSec: number | null;
  /** Highest sample from then until the burst ended (null: never back under). */
  highestAfterPercent: number | null;
  /**
   * Node memory used by everything but YARN (online pods with their burst, system) at the peak, as
   * the agent counts it (used less YARN's working set): when it alone is over the threshold, no
   * eviction of YARN containers can bring the node under it.
   */
  nonYarnPeakPercent: number;
}

export interface RunSummary {
  policy: Policy;
  simulatedSeconds: number;
  /** Simulated seconds until every node's RM capacity first matched the operator's ledger. */
  convergenceSec: number | null;
  /** Batch resources promised to both schedulers, counted from t = 0 (the sum of the three below). */
  doubleBookedCoreSeconds: number;
  doubleBookedGiBSeconds: number;
  /** …while the RM ran with the capacity Loom set. */
  inForceCoreSeconds: number;
  inForceGiBSeconds: number;
  /** …before the first convergence: each RM node ran with the size its NodeManager registered with. */
  beforeConvergenceCoreSeconds: number;
  beforeConvergenceGiBSeconds: number;
  /** …after it, while the RM had forgotten Loom's capacity (NM restart), until the operator repaired it. */
  driftExposureCoreSeconds: number;
  driftExposureGiBSeconds: number;
  /**
   * …in samples taken before the operator had acted on the latest change (it had not within a
   * second, on a loaded machine): its reaction time, e.g. to an origin that just dropped.
   */
  reactingCoreSeconds: number;
  reactingGiBSeconds: number;
  unsettledSamples: number;
  /** What each NodeManager registers with (and returns to after a restart). */
  nmRegistered: { vcores: number; memoryMiB: number };
  evictions: number;
  evictionReasons: Record<string, number>;
  amEvicted: boolean;
  spikeNodeEvictions: number;
  /** The agents' memory eviction threshold (% of node memory). */
  evictThresholdPercent: number;
  burst: BurstSummary | null;
  /** Simulated seconds from the NM restart until the RM had the operator's capacity again. */
  nmRestartRepairedSec: number | null;
  rmResizeCalls: number;
  rmNodeListCalls: number;
  nodeWrites: number;
}

export interface RunResult {
  /** The simulated cluster's working directory (removed when the run ends). */
  workDir: string;
  summary: RunSummary;
  samples: Sample[];
  events: DemoEvent[];
}

export interface RunOptions {
  policy: Policy;
  scenario: Scenario;
  speed: number;
  logger: Logger;
  /** Called after each sample (the live table). */
  onSample?: (s: Sample, policy: Policy) => void;
  sampleEverySec?: number;
}

const GIB = 2 ** 30;
const zero = { cpu: 0, memory: 0 };
/**
 * What each simulated NodeManager registers with: the scheduler's minimum allocation (1 vcore,
 * 1024 MiB), the size Koordinator's NodeManager chart starts with, and what its pod requests in
 * batch resources. Until the operator's first pass, this is what the RM offers YARN.
 */
export const NM_REGISTERED = { vcores: 1, memoryMiB: 1024 } as const;

export async function runScenario(o: RunOptions): Promise<RunResult> {
  const { scenario, policy } = o;
  const log = componentLogger(o.logger, 'demo');
  const world = await SimWorld.start({
    nodes: scenario.nodes.length, speed: o.speed, logger: o.logger, seed: true, koordIntervalMs: 500, stepMs: 200,
    koordManager: { resourceDiffThreshold: 0.05 }, nmReported: NM_REGISTERED,
  });
  let operator: RunningOperator | undefined;
  const agents: AgentHandle[] = [];
  const samples: Sample[] = [];
  const events: DemoEvent[] = [];
  const started = Date.now();
  const simNow = () => ((Date.now() - started) * o.speed) / 1000;
  try {
    scenario.nodes.forEach((name, i) => {
      const mem = world.nodes.get(name)!.node.snapshot().memoryTotalBytes;
      const cores = world.nodes.get(name)!.node.snapshot().cpuCapacityMilli;
      // The scenario's clock, not the node's (which started with the world, earlier): the online
      // load holds still exactly while the scripted burst lasts.
      world.setOnlineLoad(name, () => {
        const share = scenario.onlineShare(i, simNow());
        return { cpuMilli: cores * share, memoryBytes: mem * share, cacheBytes: mem * 0.03 };
      });
    });
    // t = 0: the cluster as Loom finds it, before the operator's first pass.
    const first: Sample = { t: simNow(), nodes: {}, settled: true };
    for (const name of scenario.nodes) first.nodes[name] = nodeSample(world, undefined, name, 0).sample;
    samples.push(first);
    o.onSample?.(first, policy);
    operator = await startOperator(toOperatorSettings(resolveSettings({
      specs: operatorSettingSpecs, env: {},
      flags: {
        kubeconfig: world.kube.kubeconfigPath, hadoopConfDir: world.hadoopConfDir, policy, pollSeconds: '0.5',
        growIntervalSeconds: '1', leaderElection: false, metricsAddr: '127.0.0.1:0', 'hysteresis.percent': '2',
      },
    }), {}), componentLogger(o.logger, 'operator'));
    const d = world.describe();
    for (const n of d.nodes) {
      agents.push(await startAgent(toAgentSettings(resolveSettings({
        specs: agentSettingSpecs, env: {},
        flags: {
          nodeName: n.name, nmUrl: n.nodeManager, rmUrl: d.resourceManagers.join(','), cgroupRoot: n.cgroupRoot, procRoot: n.procRoot, simulatedCgroups: true,
          yarnCgroupPath: n.yarnCgroupPath, socket: `${world.dir}/agent-${n.name}.sock`, metricsAddr: '127.0.0.1:0',
          kubeconfig: world.kube.kubeconfigPath, gracePeriodSeconds: '2', tickMillis: '500', memoryEvictCoolTimeSeconds: '1',
        },
      }), {}), { logger: o.logger }));
    }

    const pending = [...scenario.steps];
    let restartAt: number | undefined;
    let repairedAt: number | undefined;
    let convergedAt: number | undefined;
    const seenEvictions = new Set<string>();
    const evictionsByNode = new Map<string, number>();
    const every = o.sampleEverySec ?? 0.5;
    for (;;) {
      const t = simNow();
      while (pending.length && pending[0]!.at <= t) applyStep(world, pending.shift()!, t, events);
      if (restartAt === undefined) restartAt = events.find((e) => e.kind === 'nm-restart')?.t;

      scenario.nodes.forEach((name, i) => {
        agents[i]!.evictions.forEach((ev) => {
          const key = `${name}/${ev.containerId}`;
          if (seenEvictions.has(key) || ev.dryRun) return;
          seenEvictions.add(key);
          evictionsByNode.set(name, (evictionsByNode.get(name) ?? 0) + 1);
          events.push({ t, node: name, kind: 'eviction', containerId: ev.containerId, reason: ev.reason, isAM: isApplicationMaster(ev.containerId), detail: `${ev.reason} eviction of ${ev.containerId} (${ev.mode})` });
        });
      });

      // Sample settled states: the operator has seen every Node's latest version and acted on it
      // (the microseconds between a write and the reaction are not what the ledger promises).
      const settled = await settle(world, operator, scenario.nodes);
      const sample: Sample = { t, nodes: {}, settled };
      let allConverged = true;
      for (const name of scenario.nodes) {
        const ns = nodeSample(world, operator, name, evictionsByNode.get(name) ?? 0);
        sample.nodes[name] = ns.sample;
        if (!ns.converged) allConverged = false;
        if (name === scenario.restartNode && restartAt !== undefined && repairedAt === undefined && t > restartAt && ns.converged) {
          repairedAt = t;
          events.push({ t, node: name, kind: 'nm-repaired', detail: `operator restored the YARN capacity after the NM restart (${(t - restartAt).toFixed(1)} s)` });
        }
      }
      if (allConverged && convergedAt === undefined) convergedAt = t;
      samples.push(sample);
      o.onSample?.(sample, policy);
      if (t >= scenario.durationSec) break;
      await new Promise((r) => setTimeout(r, (every * 1000) / o.speed));
    }

    // Counted from t = 0: each sample's double booking holds until the next sample.
    const dt = (i: number) => (i + 1 < samples.length ? samples[i + 1]!.t - (i === 0 ? 0 : samples[i]!.t) : 0);
    const sums = { inForce: [0, 0], before: [0, 0], drift: [0, 0], reacting: [0, 0] };
    samples.forEach((s, i) => {
      for (const n of Object.values(s.nodes)) {
        const bucket = convergedAt === undefined || s.t < convergedAt ? (n.inForce ? sums.inForce : sums.before)
          : !s.settled ? sums.reacting : n.inForce ? sums.inForce : sums.drift;
        bucket[0]! += (n.doubleBooked.cpu / 1000) * dt(i);
        bucket[1]! += (n.doubleBooked.memory / GIB) * dt(i);
      }
    });
    const evictions = events.filter((e) => e.kind === 'eviction');
    const reasons: Record<string, number> = {};
    for (const e of evictions) reasons[e.reason ?? 'unknown'] = (reasons[e.reason ?? 'unknown'] ?? 0) + 1;
    const counters = world.yarn.cluster.counters;
    const summary: RunSummary = {
      policy,
      simulatedSeconds: Math.round(samples[samples.length - 1]!.t),
      convergenceSec: convergedAt === undefined ? null : round1(convergedAt),
      doubleBookedCoreSeconds: round1(sums.inForce[0]! + sums.before[0]! + sums.drift[0]! + sums.reacting[0]!),
      doubleBookedGiBSeconds: round1(sums.inForce[1]! + sums.before[1]! + sums.drift[1]! + sums.reacting[1]!),
      reactingCoreSeconds: round1(sums.reacting[0]!),
      reactingGiBSeconds: round1(sums.reacting[1]!),
      unsettledSamples: samples.filter((s) => !s.settled).length,
      inForceCoreSeconds: round1(sums.inForce[0]!),
      inForceGiBSeconds: round1(sums.inForce[1]!),
      beforeConvergenceCoreSeconds: round1(sums.before[0]!),
      beforeConvergenceGiBSeconds: round1(sums.before[1]!),
      driftExposureCoreSeconds: round1(sums.drift[0]!),
      driftExposureGiBSeconds: round1(sums.drift[1]!),
      nmRegistered: { ...NM_REGISTERED },
      evictions: evictions.length,
      evictionReasons: reasons,
      amEvicted: evictions.some((e) => e.isAM),
      spikeNodeEvictions: evictions.filter((e) => e.node === scenario.spikeNode).length,
      evictThresholdPercent: agents[0]!.config.memoryEvictThresholdPercent,
      burst: burstSummary(samples, events, scenario.spikeNode, agents[scenario.nodes.indexOf(scenario.spikeNode)]!.config.memoryEvictThresholdPercent),
      nmRestartRepairedSec: restartAt !== undefined && repairedAt !== undefined ? round1(repairedAt - restartAt) : null,
      rmResizeCalls: counters.get('rm.resize'),
      rmNodeListCalls: counters.get('rm.nodes'),
      nodeWrites: world.kube.stats.count({ verb: 'patch', resource: 'nodes' }),
    };
    log.info({ summary }, 'demo run finished');
    return { workDir: world.dir, summary, samples, events };
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await operator?.stop();
    await world.stop();
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Pure: the burst on `node` as the samples and events show it. */
export function burstSummary(samples: Sample[], events: DemoEvent[], node: string, thresholdPercent: number): BurstSummary | null {
  const start = events.find((e) => e.node === node && e.kind === 'memory-spike')?.t;
  if (start === undefined) return null;
  const end = events.find((e) => e.node === node && e.kind === 'memory-spike-end')?.t ?? Infinity;
  const during = samples.filter((s) => s.t >= start && s.t < end && s.nodes[node]).map((s) => ({ t: s.t, n: s.nodes[node]! }));
  if (during.length === 0) return null;
  const first = during[0]!.n;
  const peakAt = during.reduce((a, b) => (b.n.memoryUsedPercent > a.n.memoryUsedPercent ? b : a));
  // Back under: the first sample under the threshold after the burst had taken the node over it.
  const overAt = during.findIndex((d) => d.n.memoryUsedPercent >= thresholdPercent);
  const underAt = overAt < 0 ? -1 : during.findIndex((d, i) => i > overAt && d.n.memoryUsedPercent < thresholdPercent);
  const after = underAt < 0 ? [] : during.slice(underAt);
  return {
    node,
    startSec: round1(start),
    endSec: round1(Math.min(end, samples[samples.length - 1]!.t)),
    thresholdPercent,
    startPercent: round1(first.memoryUsedPercent),
    peakPercent: round1(peakAt.n.memoryUsedPercent),
    yarnContainersAtStart: first.yarnContainers,
    yarnGiBAtStart: round1(first.yarnUsed.memory / GIB),
    evictions: events.filter((e) => e.node === node && e.kind === 'eviction' && e.t >= start && e.t < end).length,
    backUnderAfterSec: underAt < 0 ? null : round1(during[underAt]!.t - start),
    highestAfterPercent: underAt < 0 ? null : round1(Math.max(...after.map((d) => d.n.memoryUsedPercent))),
    nonYarnPeakPercent: round1(peakAt.n.nonYarnMemoryPercent),
  };
}

/** Waits (at most `maxMs`) until the operator has acted on every Node's latest version; whether it had. */
async function settle(world: SimWorld, op: RunningOperator, nodes: string[], maxMs = 1000): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const caughtUp = nodes.every((n) => world.kube.store.get('nodes', undefined, n)?.metadata.resourceVersion === op.controller.seenNodeVersion(n));
    if (caughtUp && op.controller.idle) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
}

function applyStep(world: SimWorld, step: ScenarioStep, t: number, events: DemoEvent[]): void {
  switch (step.kind) {
    case 'submit-app':
      world.submitApp({ name: step.name, am: { vcores: 1, memoryMiB: 1024 }, containers: [{ count: step.executors, vcores: 1, memoryMiB: step.executorMiB }] });
      events.push({ t, node: '*', kind: 'submit-app', detail: `YARN app ${step.name}: AM + ${step.executors} executors` });
      break;
    case 'batch-pod':
      // Submitted unbound: the batch scheduler stand-in places it where Kubernetes' share fits it.
      world.addBatchPod({ name: step.name, cpuMilli: step.cpuMilli, memoryBytes: step.memoryBytes });
      events.push({ t, node: '*', kind: 'batch-pod', detail: `Kubernetes batch pod ${step.name} submitted (${step.cpuMilli / 1000} cores, ${step.memoryBytes / GIB} GiB)` });
      break;
    case 'delete-batch-pod':
      world.deleteBatchPod(step.name);
      events.push({ t, node: '*', kind: 'batch-pod', detail: `batch pod ${step.name} finished` });
      break;
    case 'nm-restart':
      world.yarn.cluster.restartNodeManager(world.nodeIdOf(step.node));
      events.push({ t, node: step.node, kind: 'nm-restart', detail: 'NodeManager restarted: the RM forgot the capacity override' });
      break;
    case 'memory-spike': {
      const extra = burstBytes(world.nodes.get(step.node)!.node.snapshot(), step.targetUsedShare);
      world.setMemorySpike(step.node, extra);
      events.push({ t, node: step.node, kind: 'memory-spike', detail: `online pods burst by ${(extra / GIB).toFixed(1)} GiB` });
      break;
    }
    case 'memory-spike-end':
      world.setMemorySpike(step.node, 0);
      events.push({ t, node: step.node, kind: 'memory-spike-end', detail: 'online burst over' });
      break;
  }
}

function nodeSample(world: SimWorld, op: RunningOperator | undefined, name: string, evictions: number): { sample: NodeSample; converged: boolean } {
  const obj = world.kube.store.get('nodes', undefined, name);
  const ann = obj?.metadata.annotations ?? {};
  let origin = zero;
  try {
    const o = ann[ANNOTATION_ORIGIN] ? parseOriginAnnotation(ann[ANNOTATION_ORIGIN]) : {};
    origin = { cpu: o.cpu ?? 0, memory: o.memory ?? 0 };
  } catch { /* shown as 0 */ }
  let claim = zero;
  try {
    claim = yarnClaimOf(parseThirdPartyAllocations(ann[ANNOTATION_THIRD_PARTY])) ?? zero;
  } catch { /* shown as 0 */ }
  const pods = world.kube.store.podsOnNode(name).map((p) => projectPod(p as never)).filter((p) => p !== undefined);
  const req = k8sRequestedOf(pods);
  const k8s = req.ok ? req.value : zero;
  const rmNode = world.yarn.cluster.node(world.nodeIdOf(name))!;
  const cap = yarnToBatch({ vcores: rmNode.total.vcores as never, memoryMiB: rmNode.total.memoryMiB as never }, 1);
  const used = yarnToBatch({ vcores: rmNode.used.vcores as never, memoryMiB: rmNode.used.memoryMiB as never }, 1);
  const db = doubleBooked({
    origin: origin as never, k8sRequested: k8s as never, claim: claim as never, yarnCapacity: cap, yarnUsed: used,
  });
  const snap = world.nodes.get(name)!.node.snapshot();
  const applied = op?.controller.decisions.get(name)?.figures?.applied;
  const lastSet = op?.controller.memory.get(name)?.lastDesired;
  const converged = applied !== undefined && applied.vcores === rmNode.total.vcores && applied.memoryMiB === rmNode.total.memoryMiB;
  return {
    converged,
    sample: {
      origin, k8s: { cpu: k8s.cpu, memory: k8s.memory }, yarnCapacity: { cpu: cap.cpu, memory: cap.memory },
      yarnUsed: { cpu: used.cpu, memory: used.memory }, claim: { cpu: claim.cpu, memory: claim.memory },
      doubleBooked: { cpu: Math.max(0, db.cpu), memory: Math.max(0, db.memory) },
      memoryUsedPercent: Math.round((snap.memoryUsedBytes / snap.memoryTotalBytes) * 1000) / 10,
      evictions,
      yarnContainers: world.yarn.cluster.liveContainers(world.nodeIdOf(name)).length,
      nonYarnMemoryPercent: Math.round((nonYarnMemoryBytes(snap) / snap.memoryTotalBytes) * 1000) / 10,
      inForce: lastSet !== undefined && lastSet.vcores === rmNode.total.vcores && lastSet.memoryMiB === rmNode.total.memoryMiB,
    },
  };
}

