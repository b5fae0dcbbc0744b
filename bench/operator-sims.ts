/**
 * The simulators of the operator benchmark, each in its own process: the Kubernetes API server
 * (its store seeded with the Nodes and pods, the koord-manager stand-in beside it) and the YARN
 * ResourceManager. At 20,000 nodes the store of 600,000 pods is a 1.4–2.4 GB heap whose
 * collections stalled everything in its process for 0.1–1.6 s; in the bench's own process they
 * stalled the YARN simulator's answers and the bench's timestamps with it. Apart, a change is
 * stamped by the kube process right before its write, its resize by the YARN process as it lands,
 * both on the machine's monotonic clock (`process.hrtime`, CLOCK_MONOTONIC: one base for every
 * process), and the bench's process holds no simulator.
 *
 * Parent side: {@link forkSim}; child side: this module run with LOOM_BENCH_SIM_ROLE set.
 * Requests and answers are IPC messages (`{ id, method, args }` → `{ id, result | error }`).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
import type { Endpoint } from '../sim/yarn/counters.js';
import { computeLedgerMath, type LedgerConfig } from '../operator/ledger/index.js';

const GIB = 2 ** 30;
export const NM_PORT = 8041;

export const LEDGER: LedgerConfig = {
  policy: 'partitioned',
  headroomShare: 0.5,
  safetyMarginPercent: 0,
  vcoresPerCore: 1,
  hysteresis: { cpuMilli: 1000, memoryBytes: GIB, percent: 5 },
  growIntervalMs: 10_000,
  overCommitTimeoutMs: -1,
};

export const nodeName = (i: number): string => `node-${String(i).padStart(5, '0')}`;
export const nodeIdOf = (i: number): string => `${nodeName(i)}:${NM_PORT}`;

/** Milliseconds on the machine's monotonic clock: comparable between processes. */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export type ChangeKind = 'pod-added' | 'pod-removed' | 'origin-lowered' | 'origin-raised';
export type Total = { vcores: number; memoryMiB: number };

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

/** Seed the Nodes and their pods straight into the store. */
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

function desiredOf(store: KubeStore, p: NodePlan): Total {
  return computeLedgerMath(p.origin, k8sRequested(store, p.name), { vcores: 0, memoryMiB: 0 } as never, LEDGER).desired;
}

// ---- the kube process ------------------------------------------------------------------------

/** Node writes of the API server: what a counter of "Node patches" reads. */
export interface KubeCounts { nodeWrites: number; nodeGets: number; events: number; koordWrites: number; nodeModified: number; nodeModifiedByBench: number; heartbeatsSent: number }

function kubeRole() {
  const log = createLogger('bench.sim.kube', { level: 'warn' });
  let store: KubeStore;
  let kube: KubeApiServer;
  let koord: KoordManagerStandIn;
  let plans: NodePlan[] = [];
  let counting = false;
  let nodeModified = 0;
  let benchWrite = false;
  let byBench = 0;
  let beat: NodeJS.Timeout | undefined;
  let heartbeatsSent = 0;
  return {
    async start(nodes: number, podsPerNode: number, dir: string) {
      const t0 = performance.now();
      plans = Array.from({ length: nodes }, (_, k) => ({ name: nodeName(k + 1), nodeId: nodeIdOf(k + 1), origin: originFor(k + 1) }));
      store = new KubeStore({ watchHistory: 200_000, logger: log });
      seedKube(store, plans, podsPerNode);
      kube = await KubeApiServer.start({ store, kubeconfigDir: dir, logger: log });
      // koord-manager stand-in: answers each claim change with its status write (origin stays as seeded / changed by hand).
      koord = new KoordManagerStandIn(store, () => undefined, log);
      koord.start();
      // Node MODIFIED events (the anchor's trigger), counted while `counting`.
      store.watch('nodes', (ev) => {
        if (!counting || ev.type !== 'MODIFIED') return;
        nodeModified++;
        if (benchWrite) byBench++;
      });
      return {
        kubeconfigPath: kube.kubeconfigPath, pods: store.count('pods'), seedSeconds: (performance.now() - t0) / 1000,
        desired: plans.map((p): [string, Total] => [p.nodeId, desiredOf(store, p)]),
      };
    },
    counting(on: boolean) { counting = on; },
    /** One change to node `index` (0-based): stamped just before the write; the node's new desired total. */
    change(index: number, kind: ChangeKind): { nodeId: string; t0: number; wall: number; desired: Total } {
      const plan = plans[index]!;
      const t0 = monotonicMs();
      const wall = Date.now();
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
      return { nodeId: plan.nodeId, t0, wall, desired: desiredOf(store, plan) };
    },
    /** kubelet heartbeats: `total` Node status posts spread evenly over `overMs`. */
    startHeartbeats(total: number, overMs: number) {
      const t0 = performance.now();
      heartbeatsSent = 0;
      beat = setInterval(() => {
        const due = Math.min(total, Math.ceil((total * (performance.now() - t0)) / overMs));
        for (; heartbeatsSent < due; heartbeatsSent++) {
          const plan = plans[heartbeatsSent % plans.length]!;
          store.patch('nodes', undefined, plan.name, 'strategic', {
            status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] },
          }, { subresource: 'status' });
        }
      }, 50);
    },
    stopHeartbeats() { if (beat) clearInterval(beat); beat = undefined; },
    counts(): KubeCounts {
      return {
        nodeWrites: kube.stats.count({ verb: 'patch', resource: 'nodes' }) + kube.stats.count({ verb: 'update', resource: 'nodes' }),
        nodeGets: kube.stats.count({ verb: 'get', resource: 'nodes' }),
        events: kube.stats.count({ resource: 'events' }),
        koordWrites: koord.writes,
        nodeModified, nodeModifiedByBench: byBench, heartbeatsSent,
      };
    },
    async stop() {
      if (beat) clearInterval(beat);
      koord?.stop();
      await kube?.stop();
    },
  };
}

// ---- the YARN process ------------------------------------------------------------------------

function yarnRole() {
  const log = createLogger('bench.sim.yarn', { level: 'warn' });
  let yarn: YarnSim;
  const desired = new Map<string, Total>();
  /** Nodes not at their desired total, kept up to date on every resize (no full scan per check). */
  const mismatched = new Set<string>();
  /** Resizes that landed while recording, stamped as they land. */
  let recording = false;
  const landed: { nodeId: string; at: number }[] = [];
  const atDesired = (nodeId: string): boolean => {
    const want = desired.get(nodeId);
    const t = yarn.cluster.node(nodeId)?.total;
    return want !== undefined && t !== undefined && t.vcores === want.vcores && t.memoryMiB === want.memoryMiB;
  };
  const check = (nodeId: string): void => { if (atDesired(nodeId)) mismatched.delete(nodeId); else mismatched.add(nodeId); };
  return {
    async start(nodes: number) {
      yarn = await startYarnSim({
        nmServers: false, logger: log,
        nodes: Array.from({ length: nodes }, (_, k) => ({ host: nodeName(k + 1), rpcPort: NM_PORT, memoryMiB: 1024, vcores: 1, httpHost: '127.0.0.1' })),
      });
      const cluster = yarn.cluster;
      const original = cluster.updateNodeResource.bind(cluster);
      cluster.updateNodeResource = (nodeId, total, timeout) => {
        const out = original(nodeId, total, timeout);
        if (out.kind === 'updated') {
          if (recording) landed.push({ nodeId, at: monotonicMs() });
          if (desired.has(nodeId)) check(nodeId);
        }
        return out;
      };
      return { rmUrls: yarn.resourceManagers.map((r) => r.url) };
    },
    setDesired(entries: [string, Total][]) {
      for (const [nodeId, total] of entries) {
        desired.set(nodeId, total);
        check(nodeId);
      }
    },
    /** Nodes at their desired total (a full check once none is known to be off). */
    converged(): { converged: boolean; done: number } {
      if (mismatched.size === 0) for (const nodeId of desired.keys()) check(nodeId);
      return { converged: mismatched.size === 0, done: desired.size - mismatched.size };
    },
    record(on: boolean) { recording = on; if (on) landed.length = 0; },
    /** For each change (node, stamp), when the first resize of that node after the stamp landed (null: none yet). */
    landedAfter(changes: [string, number][]): (number | null)[] {
      return changes.map(([nodeId, t0]) => landed.find((l) => l.nodeId === nodeId && l.at >= t0)?.at ?? null);
    },
    counter(name: Endpoint): number { return yarn.cluster.counters.get(name); },
    async stop() { await yarn?.stop(); },
  };
}

export type KubeSimApi = ReturnType<typeof kubeRole>;
export type YarnSimApi = ReturnType<typeof yarnRole>;

// ---- IPC ------------------------------------------------------------------------------------

type Api = Record<string, (...args: never[]) => unknown>;

/** A simulator process as its parent sees it: each method of the role, answered over IPC. */
export type SimProcess<A extends Api> = {
  [M in keyof A]: (...args: Parameters<A[M]>) => Promise<Awaited<ReturnType<A[M]>>>;
} & { pid: number; child: ChildProcess; close(): Promise<void> };

const ROLE_ENV = 'LOOM_BENCH_SIM_ROLE';

/** Fork a simulator process (`kube` or `yarn`) running this module, with extra Node flags. */
export function forkSim<R extends 'kube' | 'yarn'>(role: R, nodeArgs: string[] = []): SimProcess<R extends 'kube' ? KubeSimApi : YarnSimApi> {
  const self = fileURLToPath(import.meta.url);
  const child = fork(self, [], {
    env: { ...process.env, [ROLE_ENV]: role },
    execArgv: [...(self.endsWith('.ts') ? ['--import', 'tsx'] : []), ...nodeArgs],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; method: string }>();
  let seq = 0;
  child.on('message', (m: { id: number; result?: unknown; error?: string }) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error !== undefined) p.reject(new Error(`${role} simulator: ${p.method}: ${m.error}`));
    else p.resolve(m.result);
  });
  child.once('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`${role} simulator exited (${code ?? signal}) during ${p.method}`));
    pending.clear();
  });
  const call = (method: string, args: unknown[]): Promise<unknown> => new Promise((resolve, reject) => {
    const id = ++seq;
    pending.set(id, { resolve, reject, method });
    child.send({ id, method, args });
  });
  const proxy = new Proxy({}, {
    get(_t, prop: string) {
      if (prop === 'pid') return child.pid;
      if (prop === 'child') return child;
      if (prop === 'then') return undefined;
      if (prop === 'close') {
        return async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((r) => child.once('exit', r));
          await call('stop', []).catch(() => undefined);
          child.disconnect();
          const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(kill);
        };
      }
      return (...args: unknown[]) => call(prop, args);
    },
  });
  process.once('exit', () => { try { child.kill('SIGKILL'); } catch { /* gone */ } });
  return proxy as SimProcess<R extends 'kube' ? KubeSimApi : YarnSimApi>;
}

function serve(api: Api): void {
  process.on('message', (m: { id: number; method: string; args: unknown[] }) => {
    void (async () => {
      try {
        const fn = api[m.method];
        if (!fn) throw new Error(`no method ${m.method}`);
        const result = await (fn as (...a: unknown[]) => unknown)(...m.args);
        process.send!({ id: m.id, result });
      } catch (err) {
        process.send!({ id: m.id, error: err instanceof Error ? err.stack ?? err.message : String(err) });
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
}

const role = process.env[ROLE_ENV];
if (role && process.send) serve(role === 'kube' ? kubeRole() : yarnRole());
