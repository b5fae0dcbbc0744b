/**
 * Operator benchmark: N nodes × 30 pods (the default run: 5,000 nodes / 150,000 pods; the full
 * scale: a curve at 1,000, 5,000 and 20,000 nodes), one YARN cluster.
 *
 * The simulators run in this process (state seeded straight into the store and the YARN model);
 * the operator runs as a child process (`loom operator`, real HTTP over loopback), so its peak
 * RSS and its CPU time (/proc/<pid>/stat) are its own. Phases:
 *
 *  1. cold start (operator A, the default 2 s poll) → every node converged (RM total = what the
 *     ledger wants, checked in-process); its wall time and CPU time;
 *  2. idle window: nothing changes, the operator's CPU rate from polls alone;
 *  3. 500 single-node changes (batch pod added / removed, origin lowered / raised), paced, each
 *     timed from the in-process store write to the resize landing in the YARN model; the CPU
 *     spent, net of the idle rate; Node MODIFIED events counted through a store watch for the
 *     anchor model (one RM call per Node update event, as Koordinator's yarn-operator does);
 *  4. restart + steady state (operator B, compressed poll period): ≥ 300 polls (= 10 simulated
 *     minutes of the default 2 s poll) with kubelet heartbeats; RM lists, resizes and Node
 *     patches counted — a restart into a converged cluster writes nothing.
 *
 * A koord-manager stand-in (sim/cluster) answers every claim change with the status write
 * koord-manager makes (batch allocatable = origin − claims), as in a real cluster.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createLogger } from '../log/logger.js';
import { type Bytes, type MilliCores } from '../kube/quantity.js';
import {
  ANNOTATION_NODE_ID, ANNOTATION_ORIGIN, BATCH_CPU, BATCH_MEMORY, formatOriginAnnotation, LABEL_COMPONENT, NODE_MANAGER_COMPONENT,
  type BatchResources,
} from '../kube/wire.js';
import { formatBatchCpu, formatBatchMemory } from '../kube/quantity.js';
import { KubeApiServer } from '../sim/kube/server.js';
import { KubeStore } from '../sim/kube/store.js';
import { KoordManagerStandIn } from '../sim/cluster/koord-manager.js';
import { startYarnSim, type YarnSim } from '../sim/yarn/index.js';
import { makeSimTempDir } from '../sim/node/temp-dir.js';
import { yarnSiteXml } from '../sim/world.js';
import { computeLedgerMath, type LedgerConfig } from '../operator/ledger/index.js';
import { percentile, perSimulatedMinute, round } from './stats.js';
import { type LoomChild, sleep, spawnLoom, tail, waitFor } from './proc.js';

const GIB = 2 ** 30;
/** kubelet Node status posts per node in 10 simulated minutes (nodeStatusReportFrequency 5 min). */
const HEARTBEATS_PER_NODE = 2;
const NM_PORT = 8041;

export interface OperatorBenchOptions {
  nodes: number;
  podsPerNode: number;
  changes: number;
  /** Poll period of the operator for the cold start, the idle window and the changes (the default: 2). */
  pollSeconds: number;
  /** Compressed poll period of the restarted operator during the steady state (measured in polls). */
  steadyPollSeconds: number;
  /** Polls the steady state must cover. */
  steadyPolls: number;
  /** Changes per second during the change phase. */
  changeRate: number;
  /** Extra node flags for the operator child (e.g. --cpu-prof). */
  nodeArgs?: string[];
  log?: (msg: string) => void;
}

export interface OperatorResults {
  nodes: number;
  pods: number;
  coldConvergeSeconds: number;
  rmListsPerPoll: number;
  steadyRmUpdatesPerMin: number;
  steadyNodePatchesPerMin: number;
  changeToRmP50Ms: number;
  changeToRmP99Ms: number;
  rmUpdateCalls: number;
  anchorModelRmCalls: number;
  nodePatchCalls: number;
  rssMB: number;
  /** CPU time (user + system) of the operator process from spawn to convergence. */
  coldConvergeCpuSeconds: number;
  /** Operator CPU per 1,000 changes, net of its idle rate (polls) over the change phase. */
  cpuSecondsPer1000Changes: number;
  /** Operator CPU while nothing changes (polls only), % of one core. */
  idleCpuPercent: number;
}

/** What is printed beside the results (not part of results.json). */
export interface OperatorDetails {
  seedSeconds: number;
  coldRmResizes: number;
  coldNodePatches: number;
  steadyPolls: number;
  steadyRealSeconds: number;
  steadyRmLists: number;
  steadyRmResizes: number;
  steadyNodePatches: number;
  changesLanded: number;
  changesByKind: Record<string, number>;
  p50ByKind: Record<string, number>;
  p99ByKind: Record<string, number>;
  changeMaxMs: number;
  changePhaseSeconds: number;
  nodeModifiedByWriter: Record<string, number>;
  anchorModelRmCallsSteady: number;
  anchorModelRmCallsChanges: number;
  changeRmUpdates: number;
  koordManagerWrites: number;
  nodeConflicts: number;
  kubeEventsPosted: number;
  /** CPU of the operator over the steady state (polls + heartbeat watch events), % of one core. */
  steadyCpuPercent: number;
  idleWindowSeconds: number;
  changePhaseCpuSeconds: number;
  /** CPU of this process (the simulators, the bench's own checks) over the cold start. */
  simColdCpuSeconds: number;
  rssColdAndChangesMB: number;
  rssRestartAndSteadyMB: number;
}

export const LEDGER: LedgerConfig = {
  policy: 'partitioned',
  headroomShare: 0.5,
  safetyMarginPercent: 0,
  vcoresPerCore: 1,
  hysteresis: { cpuMilli: 1000, memoryBytes: GIB, percent: 5 },
  growIntervalMs: 10_000,
  overCommitTimeoutMs: -1,
};

const nodeName = (i: number): string => `node-${String(i).padStart(5, '0')}`;

interface NodePlan {
  name: string;
  nodeId: string;
  origin: BatchResources;
}

const originFor = (i: number): BatchResources => ({
  cpu: (16_000 + (i % 7) * 500) as MilliCores,
  memory: ((64 + (i % 5) * 2) * GIB) as Bytes,
});

function batchPod(namespace: string, name: string, node: string, cpuMilli: number, memoryBytes: number, extra: Record<string, unknown> = {}) {
  return {
    metadata: {
      name, namespace,
      labels: { app: 'batch-job', 'koordinator.sh/qosClass': 'BE', 'batch.kubernetes.io/job-name': name.replace(/-\d+$/, '') },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: name.replace(/-\d+$/, ''), uid: `job-${name}`, controller: true }],
      ...extra,
    },
    spec: {
      nodeName: node, priorityClassName: 'koord-batch', schedulerName: 'koord-scheduler', restartPolicy: 'Never',
      containers: [{
        name: 'main', image: 'registry.example.com/batch/spark:3.3.3',
        resources: { requests: { [BATCH_CPU]: String(cpuMilli), [BATCH_MEMORY]: String(memoryBytes) }, limits: { [BATCH_CPU]: String(cpuMilli), [BATCH_MEMORY]: String(memoryBytes) } },
      }],
    },
    status: { phase: 'Running', qosClass: 'BestEffort', conditions: [{ type: 'Ready', status: 'True' }], startTime: '2024-01-01T00:00:00Z' },
  };
}

/** Seed 5,000 Nodes and 150,000 pods straight into the store. */
function seedKube(store: KubeStore, plans: NodePlan[], podsPerNode: number): void {
  for (const ns of ['hadoop-yarn', 'batch', 'online', 'loom-system']) store.create('namespaces', { metadata: { name: ns } });
  const onlinePerNode = Math.max(0, podsPerNode - 5);
  for (const p of plans) {
    store.create('nodes', {
      metadata: {
        name: p.name,
        labels: {
          'kubernetes.io/hostname': p.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64',
          'node-role.kubernetes.io/mixed': '', 'topology.kubernetes.io/zone': `zone-${p.name.slice(-1)}`,
        },
        annotations: {
          [ANNOTATION_ORIGIN]: formatOriginAnnotation(p.origin),
          'node.alpha.kubernetes.io/ttl': '0',
          'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
        },
      },
      spec: { podCIDR: '10.0.0.0/24' },
      status: {
        capacity: { cpu: '32', memory: '128Gi', pods: '110', [BATCH_CPU]: formatBatchCpu(p.origin.cpu), [BATCH_MEMORY]: formatBatchMemory(p.origin.memory) },
        allocatable: { cpu: '31800m', memory: '126Gi', pods: '110', [BATCH_CPU]: formatBatchCpu(p.origin.cpu), [BATCH_MEMORY]: formatBatchMemory(p.origin.memory) },
        conditions: [
          { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory' },
          { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure' },
          { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID' },
          { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
        ],
        addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'Hostname', address: p.name }],
        nodeInfo: { kubeletVersion: 'v1.28.9', containerRuntimeVersion: 'containerd://1.7.13', osImage: 'Ubuntu 22.04.4 LTS', kernelVersion: '6.5.0' },
      },
    }, { preserveStatus: true });
    // 1 NodeManager pod (batch 1 core / 1 GiB).
    store.create('pods', {
      metadata: {
        name: `nodemanager-${p.name}`, namespace: 'hadoop-yarn',
        labels: { [LABEL_COMPONENT]: NODE_MANAGER_COMPONENT, 'koordinator.sh/qosClass': 'BE', app: 'hadoop-yarn' },
        annotations: { [ANNOTATION_NODE_ID]: p.nodeId },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'nodemanager', uid: 'ds-nodemanager', controller: true }],
      },
      spec: {
        nodeName: p.name, priorityClassName: 'koord-batch', hostNetwork: true,
        containers: [{ name: 'nodemanager', image: 'apache/hadoop:3.3.6', resources: {
          requests: { [BATCH_CPU]: '1k', [BATCH_MEMORY]: '1Gi' }, limits: { [BATCH_CPU]: '2k', [BATCH_MEMORY]: '2Gi' },
        } }],
      },
      status: { phase: 'Running', qosClass: 'BestEffort', conditions: [{ type: 'Ready', status: 'True' }] },
    }, { preserveStatus: true });
    // 1 big batch pod (4 cores / 8 GiB; the change phase may remove it) + 3 small ones.
    store.create('pods', batchPod('batch', `big-${p.name}`, p.name, 4000, 8 * GIB), { preserveStatus: true });
    for (let k = 0; k < 3; k++) store.create('pods', batchPod('batch', `batch-${p.name}-${k}`, p.name, 500, 2 * GIB), { preserveStatus: true });
    // Online pods: plain cpu/memory requests, no batch resources.
    for (let k = 0; k < onlinePerNode; k++) {
      store.create('pods', {
        metadata: {
          name: `web-${p.name}-${k}`, namespace: 'online',
          labels: { app: `web-${k % 8}`, 'pod-template-hash': '7d9f8c6b5d', 'koordinator.sh/qosClass': 'LS' },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `web-${k % 8}-7d9f8c6b5d`, uid: `rs-${k % 8}`, controller: true }],
        },
        spec: {
          nodeName: p.name, priorityClassName: 'koord-prod',
          containers: [{ name: 'app', image: 'registry.example.com/online/web:1.4.2', ports: [{ containerPort: 8080 }],
            resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } } }],
        },
        status: { phase: 'Running', qosClass: 'Burstable', podIP: '10.1.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
      }, { preserveStatus: true });
    }
  }
}

/** K on a node: Σ batch requests of its pods (from the store, as the operator computes it). */
function k8sRequested(store: KubeStore, node: string): BatchResources {
  let cpu = 0;
  let memory = 0;
  for (const pod of store.podsOnNode(node)) {
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    for (const c of ((pod.spec as { containers?: { resources?: { requests?: Record<string, string> } }[] }).containers ?? [])) {
      const r = c.resources?.requests ?? {};
      if (r[BATCH_CPU] !== undefined) cpu += r[BATCH_CPU] === '1k' ? 1000 : Number(r[BATCH_CPU]);
      if (r[BATCH_MEMORY] !== undefined) memory += r[BATCH_MEMORY] === '1Gi' ? GIB : Number(r[BATCH_MEMORY]);
    }
  }
  return { cpu: cpu as MilliCores, memory: memory as Bytes };
}

function desiredOf(store: KubeStore, p: NodePlan): { vcores: number; memoryMiB: number } {
  return computeLedgerMath(p.origin, k8sRequested(store, p.name), { vcores: 0, memoryMiB: 0 } as never, LEDGER).desired;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  return res.text();
}

/** Sum of a Prometheus counter's samples (all label sets). */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}

type ChangeKind = 'pod-added' | 'pod-removed' | 'origin-lowered' | 'origin-raised';
const KINDS: ChangeKind[] = ['pod-added', 'pod-removed', 'origin-lowered', 'origin-raised'];

export async function runOperatorBench(o: OperatorBenchOptions): Promise<{ results: OperatorResults; details: OperatorDetails }> {
  const say = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const dir = makeSimTempDir('loom-bench-op-');
  mkdirSync(dir, { recursive: true });
  const simLog = createLogger('bench.sim', { level: 'warn' });
  let kube: KubeApiServer | undefined;
  let yarn: YarnSim | undefined;
  let op: LoomChild | undefined;
  let koord: KoordManagerStandIn | undefined;
  const stopFlag = { stopping: false };
  try {
    // ---- seed ------------------------------------------------------------------------------
    const t0 = performance.now();
    const plans: NodePlan[] = Array.from({ length: o.nodes }, (_, k) => {
      const name = nodeName(k + 1);
      return { name, nodeId: `${name}:${NM_PORT}`, origin: originFor(k + 1) };
    });
    const store = new KubeStore({ watchHistory: 200_000, logger: simLog });
    seedKube(store, plans, o.podsPerNode);
    kube = await KubeApiServer.start({ store, kubeconfigDir: dir, logger: simLog });
    yarn = await startYarnSim({
      nmServers: false, logger: simLog,
      nodes: plans.map((p) => ({ host: p.name, rpcPort: NM_PORT, memoryMiB: 1024, vcores: 1, httpHost: '127.0.0.1' })),
    });
    const cluster = yarn.cluster;
    const hadoop = join(dir, 'hadoop');
    mkdirSync(hadoop, { recursive: true });
    writeFileSync(join(hadoop, 'yarn-site.xml'), yarnSiteXml(yarn.resourceManagers.map((r) => r.url)));
    const pods = store.count('pods');
    const seedSeconds = (performance.now() - t0) / 1000;
    say(`operator bench: seeded ${plans.length} nodes, ${pods} pods in ${seedSeconds.toFixed(1)} s`);

    // koord-manager stand-in: reacts to claim changes with its status write (origin stays as seeded / changed by hand).
    koord = new KoordManagerStandIn(store, () => undefined, simLog);
    koord.start();

    // Every resize that lands in the YARN model, timestamped.
    const resizeListeners = new Set<(nodeId: string, at: number) => void>();
    const original = cluster.updateNodeResource.bind(cluster);
    cluster.updateNodeResource = (nodeId, total, timeout) => {
      const out = original(nodeId, total, timeout);
      if (out.kind === 'updated') {
        const at = performance.now();
        for (const l of resizeListeners) l(nodeId, at);
      }
      return out;
    };

    // Node MODIFIED events (the anchor's trigger), counted while `counting`.
    let counting = false;
    let nodeModified = 0;
    let benchWrite = false;
    let byBench = 0;
    store.watch('nodes', (ev) => {
      if (!counting || ev.type !== 'MODIFIED') return;
      nodeModified++;
      if (benchWrite) byBench++;
    });

    // ---- cold start (operator A, the default poll period) -----------------------------------
    const logFile = join(dir, 'operator.log');
    const desired = new Map<string, { vcores: number; memoryMiB: number }>();
    for (const p of plans) desired.set(p.nodeId, desiredOf(store, p));
    const atDesired = (nodeId: string): boolean => {
      const want = desired.get(nodeId)!;
      const t = cluster.node(nodeId)!.total;
      return t.vcores === want.vcores && t.memoryMiB === want.memoryMiB;
    };
    // Nodes not at their desired total, kept up to date on every resize (the simulators share
    // this process: a full scan every 50 ms would cost them O(nodes) each time at 20,000 nodes).
    const mismatched = new Set(plans.filter((p) => !atDesired(p.nodeId)).map((p) => p.nodeId));
    resizeListeners.add((nodeId) => { if (desired.has(nodeId) && atDesired(nodeId)) mismatched.delete(nodeId); else mismatched.add(nodeId); });
    const converged = (): boolean => {
      if (mismatched.size > 0) return false;
      for (const p of plans) if (!atDesired(p.nodeId)) { mismatched.add(p.nodeId); return false; }
      return true;
    };
    const spawnOperator = async (pollSeconds: number): Promise<{ child: LoomChild; metricsUrl: string }> => {
      const port = await freePort();
      const child = spawnLoom([
        'operator', '--kubeconfig', kube!.kubeconfigPath, '--hadoop-conf-dir', hadoop, '--no-leader-election',
        '--metrics-addr', `127.0.0.1:${port}`, '--poll-seconds', String(pollSeconds),
      ], logFile, { LOOM_LOG_LEVEL: 'info' }, o.nodeArgs ?? []);
      op = child;
      void child.exited.then((e) => { if (!stopFlag.stopping && op === child) say(`operator exited early (${JSON.stringify(e)}):\n${tail(logFile)}`); });
      return { child, metricsUrl: `http://127.0.0.1:${port}` };
    };
    const nodeWrites = (): number => kube!.stats.count({ verb: 'patch', resource: 'nodes' }) + kube!.stats.count({ verb: 'update', resource: 'nodes' });

    const tStart = performance.now();
    const simCpu0 = process.cpuUsage();
    const { child } = await spawnOperator(o.pollSeconds);
    let lastProgress = 0;
    await waitFor('every node converged', () => {
      if (child.child.exitCode !== null) throw new Error(`operator exited: ${tail(logFile)}`);
      if (converged()) return true;
      if (performance.now() - lastProgress > 10_000) {
        lastProgress = performance.now();
        const done = plans.length - mismatched.size;
        say(`  cold start: ${done}/${plans.length} nodes converged after ${((performance.now() - tStart) / 1000).toFixed(1)} s (rss ${child.rssMB().toFixed(0)} MB, cpu ${child.cpuSeconds().toFixed(1)} s)`);
      }
      return undefined;
    }, Math.max(300_000, 30 * o.nodes), 50);
    const coldConvergeSeconds = (performance.now() - tStart) / 1000;
    const coldConvergeCpuSeconds = child.cpuSeconds();
    const simCold = process.cpuUsage(simCpu0);
    const simColdCpuSeconds = (simCold.user + simCold.system) / 1e6;
    say(`operator bench: converged in ${coldConvergeSeconds.toFixed(1)} s, ${coldConvergeCpuSeconds.toFixed(1)} s of operator CPU (peak rss so far ${child.peakRssMB().toFixed(0)} MB)`);
    await sleep(3000); // trailing claim writes / koord-manager reactions / events
    // BENCH_COLD_ONLY=1: stop here (profiling the cold start: --cpu-prof in BENCH_OPERATOR_NODE_ARGS).
    if (process.env.BENCH_COLD_ONLY === '1') throw new Error(`BENCH_COLD_ONLY: stopped after the cold start (${coldConvergeSeconds.toFixed(1)} s, ${coldConvergeCpuSeconds.toFixed(1)} s CPU)`);
    const coldRmResizes = cluster.counters.get('rm.resize');
    const coldNodePatches = nodeWrites();

    // ---- idle ------------------------------------------------------------------------------
    // Nothing changes: what the operator spends on polls alone, subtracted from the change
    // phase's CPU below.
    const idleWindowMs = Math.max(10_000, 5 * o.pollSeconds * 1000);
    const tIdle = performance.now();
    const idleCpu0 = child.cpuSeconds();
    await sleep(idleWindowMs);
    const idleWindowSeconds = (performance.now() - tIdle) / 1000;
    const idleCpuPerSecond = (child.cpuSeconds() - idleCpu0) / idleWindowSeconds;
    say(`operator bench: idle ${(100 * idleCpuPerSecond).toFixed(1)} % of a core over ${idleWindowSeconds.toFixed(1)} s`);

    // ---- changes ---------------------------------------------------------------------------
    const n = Math.min(o.changes, plans.length);
    const stride = Math.max(1, Math.floor(plans.length / n));
    const pending = new Map<string, { kind: ChangeKind; t0: number; resolve: (ms: number) => void }>();
    resizeListeners.add((nodeId, at) => {
      const p = pending.get(nodeId);
      if (p && at >= p.t0) {
        pending.delete(nodeId);
        p.resolve(at - p.t0);
      }
    });
    const rm0 = cluster.counters.get('rm.resize');
    const np0 = nodeWrites();
    const conflicts0 = kube.stats.count({ verb: 'get', resource: 'nodes' });
    const koord0 = koord.writes;
    const ev0 = kube.stats.count({ resource: 'events' });
    const latencies: { kind: ChangeKind; ms: number }[] = [];
    const waits: Promise<void>[] = [];
    counting = true;
    const changeNodeModified0 = nodeModified;
    const changeCpu0 = child.cpuSeconds();
    const tChanges = performance.now();
    for (let k = 0; k < n; k++) {
      const plan = plans[(k * stride + Math.floor(stride / 2)) % plans.length]!;
      const kind = KINDS[k % KINDS.length]!;
      const due = tChanges + (k * 1000) / o.changeRate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      let resolveLanded!: (ms: number) => void;
      const landed = new Promise<number>((r) => { resolveLanded = r; });
      const t = performance.now();
      pending.set(plan.nodeId, { kind, t0: t, resolve: resolveLanded });
      benchWrite = true;
      if (kind === 'pod-added') {
        store.create('pods', batchPod('batch', `added-${plan.name}`, plan.name, 2000, 4 * GIB), { preserveStatus: true });
      } else if (kind === 'pod-removed') {
        store.delete('pods', 'batch', `big-${plan.name}`);
      } else {
        const f = kind === 'origin-lowered' ? -1 : 1;
        plan.origin = { cpu: (plan.origin.cpu + f * 3000) as MilliCores, memory: (plan.origin.memory + f * 6 * GIB) as Bytes };
        store.patch('nodes', undefined, plan.name, 'merge', { metadata: { annotations: { [ANNOTATION_ORIGIN]: formatOriginAnnotation(plan.origin) } } });
      }
      benchWrite = false;
      desired.set(plan.nodeId, desiredOf(store, plan));
      if (!atDesired(plan.nodeId)) mismatched.add(plan.nodeId);
      waits.push(Promise.race([landed, sleep(20_000).then(() => NaN)]).then((ms) => {
        pending.delete(plan.nodeId);
        if (Number.isFinite(ms)) latencies.push({ kind, ms });
      }));
    }
    await Promise.all(waits);
    await sleep(3000); // trailing claim writes and koord-manager reactions
    counting = false;
    const changePhaseSeconds = (performance.now() - tChanges) / 1000;
    const changePhaseCpuSeconds = child.cpuSeconds() - changeCpu0;
    const cpuSecondsPer1000Changes = ((changePhaseCpuSeconds - idleCpuPerSecond * changePhaseSeconds) / Math.max(1, n)) * 1000;
    const changeRmUpdates = cluster.counters.get('rm.resize') - rm0;
    const nodePatchCalls = nodeWrites() - np0;
    const nodeConflicts = kube.stats.count({ verb: 'get', resource: 'nodes' }) - conflicts0;
    const changeNodeEvents = nodeModified - changeNodeModified0;
    const koordChangeWrites = koord.writes - koord0;
    if (!converged()) say('operator bench: WARNING — not every node is at its desired total after the change phase');
    const all = latencies.map((l) => l.ms);
    const byKind = (k: ChangeKind) => latencies.filter((l) => l.kind === k).map((l) => l.ms);
    say(`operator bench: ${latencies.length}/${n} changes landed; p50 ${percentile(all, 50).toFixed(1)} ms, p99 ${percentile(all, 99).toFixed(1)} ms`);
    op = undefined; // stopped on purpose: not an early exit
    const rssColdAndChanges = await child.stop();

    // ---- steady state (operator B: restarted, compressed poll period) ----------------------
    // 300 polls of the default 2 s stand for 10 minutes; they run compressed in a second
    // operator process, so the restart is measured too: it finds every claim and every RM
    // total as it should be and must write nothing. Every kubelet posts its Node status at
    // least every nodeStatusReportFrequency (5 min) with a fresh heartbeat time: 2 heartbeats
    // per node, spread over the phase. Nothing the ledger reads changes, so Loom must not write;
    // Koordinator's operator resizes on each of these Node events.
    const lists0 = cluster.counters.get('rm.nodes');
    const resizes0 = cluster.counters.get('rm.resize');
    const patches0 = nodeWrites();
    const tSteady = performance.now();
    const steady = await spawnOperator(o.steadyPollSeconds);
    counting = true;
    const steadyNodeModified0 = nodeModified;
    const heartbeats = plans.length * HEARTBEATS_PER_NODE;
    let sent = 0;
    const expectedSteadyMs = o.steadyPolls * o.steadyPollSeconds * 1000;
    const beat = setInterval(() => {
      const due = Math.min(heartbeats, Math.ceil((heartbeats * (performance.now() - tSteady)) / expectedSteadyMs));
      for (; sent < due; sent++) {
        const plan = plans[sent % plans.length]!;
        store.patch('nodes', undefined, plan.name, 'strategic', {
          status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] },
        }, { subresource: 'status' });
      }
    }, 50);
    await waitFor(`${o.steadyPolls} polls`, () => {
      if (steady.child.child.exitCode !== null) throw new Error(`operator exited: ${tail(logFile)}`);
      return cluster.counters.get('rm.nodes') - lists0 >= o.steadyPolls && sent >= heartbeats ? true : undefined;
    }, Math.max(300_000, 30 * o.nodes), 200);
    clearInterval(beat);
    counting = false;
    const steadyNodeEvents = nodeModified - steadyNodeModified0;
    // The operator counts a poll when its answer is in; a list the simulator has received may
    // still be on its way: read both once they agree (or after 2 s).
    let polls = 0;
    let lists = 0;
    for (let tries = 0; tries < 40; tries++) {
      lists = cluster.counters.get('rm.nodes') - lists0;
      polls = metricSum(await scrape(steady.metricsUrl), 'loom_rm_node_lists_total');
      if (polls === lists) break;
      await sleep(50);
    }
    const steadyRealSeconds = (performance.now() - tSteady) / 1000;
    const steadyCpuPercent = (100 * steady.child.cpuSeconds()) / steadyRealSeconds;
    const steadyResizes = cluster.counters.get('rm.resize') - resizes0;
    const steadyPatches = nodeWrites() - patches0;
    stopFlag.stopping = true;
    const rssSteady = await steady.child.stop();
    say(`operator bench: restart + steady state ${polls} polls in ${steadyRealSeconds.toFixed(1)} s: ${lists} RM lists, ${steadyResizes} resizes, ${steadyPatches} node patches (peak rss ${rssSteady.toFixed(0)} MB)`);

    // Ours vs the anchor's over the same event stream: the steady state (heartbeats) plus the changes.
    const rmUpdateCalls = steadyResizes + changeRmUpdates;
    const results: OperatorResults = {
      nodes: plans.length,
      pods,
      coldConvergeSeconds: round(coldConvergeSeconds, 2),
      rmListsPerPoll: round(polls > 0 ? lists / polls : NaN, 3),
      steadyRmUpdatesPerMin: round(perSimulatedMinute(steadyResizes, polls), 3),
      steadyNodePatchesPerMin: round(perSimulatedMinute(steadyPatches, polls), 3),
      changeToRmP50Ms: round(percentile(all, 50), 1),
      changeToRmP99Ms: round(percentile(all, 99), 1),
      rmUpdateCalls,
      anchorModelRmCalls: nodeModified,
      nodePatchCalls,
      rssMB: round(Math.max(rssColdAndChanges, rssSteady), 1),
      coldConvergeCpuSeconds: round(coldConvergeCpuSeconds, 2),
      cpuSecondsPer1000Changes: round(cpuSecondsPer1000Changes, 2),
      idleCpuPercent: round(100 * idleCpuPerSecond, 1),
    };
    const details: OperatorDetails = {
      seedSeconds: round(seedSeconds, 2),
      coldRmResizes,
      coldNodePatches,
      steadyPolls: polls,
      steadyRealSeconds: round(steadyRealSeconds, 1),
      steadyRmLists: lists,
      steadyRmResizes: steadyResizes,
      steadyNodePatches: steadyPatches,
      changesLanded: latencies.length,
      changesByKind: Object.fromEntries(KINDS.map((k) => [k, byKind(k).length])),
      p50ByKind: Object.fromEntries(KINDS.map((k) => [k, round(percentile(byKind(k), 50), 1)])),
      p99ByKind: Object.fromEntries(KINDS.map((k) => [k, round(percentile(byKind(k), 99), 1)])),
      changeMaxMs: round(Math.max(...all), 1),
      changePhaseSeconds: round(changePhaseSeconds, 1),
      nodeModifiedByWriter: { heartbeat: steadyNodeEvents, change: byBench, koordManager: koordChangeWrites, operator: changeNodeEvents - byBench - koordChangeWrites },
      anchorModelRmCallsSteady: steadyNodeEvents,
      anchorModelRmCallsChanges: changeNodeEvents,
      changeRmUpdates,
      koordManagerWrites: koordChangeWrites,
      nodeConflicts,
      kubeEventsPosted: kube.stats.count({ resource: 'events' }) - ev0,
      steadyCpuPercent: round(steadyCpuPercent, 1),
      idleWindowSeconds: round(idleWindowSeconds, 1),
      changePhaseCpuSeconds: round(changePhaseCpuSeconds, 2),
      simColdCpuSeconds: round(simColdCpuSeconds, 2),
      rssColdAndChangesMB: round(rssColdAndChanges, 1),
      rssRestartAndSteadyMB: round(rssSteady, 1),
    };
    return { results, details };
  } finally {
    stopFlag.stopping = true;
    koord?.stop();
    await op?.stop(30_000); // time to write a --cpu-prof profile
    await yarn?.stop();
    await kube?.stop();
    // BENCH_OPERATOR_LOG=/path keeps the operator's log (it lives in a temp dir removed here).
    const keep = process.env.BENCH_OPERATOR_LOG;
    if (keep && existsSync(join(dir, 'operator.log'))) copyFileSync(join(dir, 'operator.log'), keep);
    rmSync(dir, { recursive: true, force: true });
  }
}

