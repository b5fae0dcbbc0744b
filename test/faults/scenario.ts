/**
 * A seeded fault scenario: two operator replicas (child processes, leader election on one Lease)
 * over a simulated cluster with an RM HA pair, each replica behind its own fault proxies. Each
 * step injects one fault (pause or kill the leader, black-hole its lease renewals, cut or 410 its
 * watches, lose its write answers, 5xx/429 bursts, latency, RM failover, NM restart, a competing
 * annotation writer, pod and app churn, origin flaps), makes a change, and waits until the ledger
 * on fresh data wants no write (converged). The invariant checker watches throughout.
 * Used by the fault suite (a short run) and `npm run soak` (a long one).
 */
import { createWriteStream, mkdtempSync } from 'node:fs';
import { createLogger } from '../../log/logger.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimWorld } from '../../sim/world.js';
import { ANNOTATION_THIRD_PARTY, DEFAULT_CLUSTER_ID } from '../../kube/wire.js';
import type { KubeObject } from '../../kube/api.js';
import { decideNode, DEFAULT_LEDGER_CONFIG, type LedgerConfig } from '../../operator/ledger/index.js';
import { projectNode, projectPod, type PodRecord } from '../../operator/observe.js';
import { nodeIdKey, snapshotOf, type ClusterView } from '../../operator/snapshot.js';
import type { RmNode } from '../../yarn/model.js';
import { GIB, setOrigin } from '../integration/operator-helpers.js';
import { closeReplica, wireReplica, type ReplicaWiring } from './fault-world.js';
import { InvariantChecker } from './invariants.js';
import type { FaultRule } from './fault-proxy.js';
import { Replica } from './replica.js';

export type FaultName =
  | 'pause-leader' | 'kill-leader' | 'blackhole-lease' | 'watch-cut' | 'watch-410' | 'lose-answer' | 'api-5xx' | 'api-429'
  | 'api-latency' | 'rm-5xx' | 'rm-failover' | 'nm-restart' | 'competing-writer' | 'pod-churn' | 'app-churn' | 'origin-flap';

export const ALL_FAULTS: readonly FaultName[] = [
  'pause-leader', 'kill-leader', 'blackhole-lease', 'watch-cut', 'watch-410', 'lose-answer', 'api-5xx', 'api-429',
  'api-latency', 'rm-5xx', 'rm-failover', 'nm-restart', 'competing-writer', 'pod-churn', 'app-churn', 'origin-flap',
];

export interface ScenarioOptions {
  seed: number;
  /** Faults in order; default: `steps` drawn from ALL_FAULTS by the seed. */
  faults?: FaultName[];
  steps?: number;
  nodes?: number;
  leaseSeconds?: number;
  pollSeconds?: number;
  log?: (line: string) => void;
}

export interface ScenarioReport {
  seed: number;
  steps: { fault: FaultName; ms: number; leaderBefore: string; leaderAfter: string; injected: boolean }[];
  checker: ReturnType<InvariantChecker['summary']>;
  violations: InvariantChecker['violations'];
  unleased: InvariantChecker['unleased'];
  foreignBroken: InvariantChecker['foreignBroken'];
  exposuresMs: number[];
  converged: boolean;
  convergeMs: number;
  replicaStarts: Record<string, number>;
  logs: string[];
}

/** A small seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LEASE = { namespace: 'loom-system', name: 'loom-operator-faults' };
const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (await cond()) return true;
    await tick();
  }
  return cond();
}

export async function runScenario(o: ScenarioOptions): Promise<ScenarioReport> {
  const random = rng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const nodeCount = o.nodes ?? 4;
  const nodes = Array.from({ length: nodeCount }, (_, i) => `node-${i + 1}`);
  const faults = o.faults ?? Array.from({ length: o.steps ?? 12 }, () => pick(ALL_FAULTS));
  const logs: string[] = [];
  const say = (s: string) => { logs.push(`${Math.round(performance.now())} ${s}`); o.log?.(s); };
  const dir = mkdtempSync(join(tmpdir(), 'loom-faults-'));
  // The simulators log to a file: stdout is the report's.
  const world = await SimWorld.start({ nodes: nodeCount, ha: true, standIns: false, seed: true, logger: createLogger('sim', { level: 'warn' }, createWriteStream(join(dir, 'sim.log')) as never) });
  const wirings: ReplicaWiring[] = [];
  const replicas: Replica[] = [];
  const checker = new InvariantChecker({ world, nodes, lease: LEASE });
  const ledger: LedgerConfig = { ...DEFAULT_LEDGER_CONFIG, hysteresis: { cpuMilli: 0, memoryBytes: 0, percent: 0 }, growIntervalMs: 0 };
  const report: ScenarioReport = {
    seed: o.seed, steps: [], checker: {}, violations: [], unleased: [], foreignBroken: [], exposuresMs: [], converged: false, convergeMs: 0, replicaStarts: {}, logs,
  };
  let podSeq = 0;
  const pods: string[] = [];
  try {
    // Origins alternate between a low and a high level per node: every change needs a resize.
    const high = new Map<string, boolean>();
    const setLevel = (n: string, up: boolean) => {
      high.set(n, up);
      const jitter = Math.floor(random() * 3);
      setOrigin(world, n, (up ? 14_000 : 9000) + jitter * 500, ((up ? 40 : 24) + jitter) * GIB);
    };
    for (const n of nodes) setLevel(n, random() < 0.5);
    for (const name of ['op-a', 'op-b']) {
      const w = await wireReplica(world, name);
      wirings.push(w);
      checker.watchReplica(name, [w.api, ...w.rms]);
      const r = new Replica(w, { lease: { ...LEASE, durationSeconds: o.leaseSeconds ?? 2 }, pollSeconds: o.pollSeconds ?? 0.25 }, dir);
      replicas.push(r);
      r.start();
    }
    const holder = (): string => ((world.kube.store.get('leases', LEASE.namespace, LEASE.name) as unknown as { spec?: { holderIdentity?: string } } | undefined)?.spec?.holderIdentity) ?? '';
    const replicaOf = (name: string) => replicas.find((r) => r.name === name);

    /** The ledger on fresh data (store + RM model) wants no write on any node. */
    const converged = (): boolean => {
      world.yarn.cluster.tick();
      const rmNodes = new Map<string, RmNode>();
      for (const n of world.yarn.cluster.nodes()) {
        rmNodes.set(nodeIdKey(n.id), { id: n.id, state: n.state, totalResource: { vcores: n.total.vcores, memoryMiB: n.total.memoryMiB }, usedResource: { vcores: n.used.vcores, memoryMiB: n.used.memoryMiB } } as unknown as RmNode);
      }
      const views = new Map<string, ClusterView>([[DEFAULT_CLUSTER_ID, { status: 'ok', at: 0, nodes: rmNodes }]]);
      const podsByNode = new Map<string, PodRecord[]>();
      for (const p of world.kube.store.list('pods').items) {
        const rec = projectPod(p as KubeObject);
        if (rec) podsByNode.set(rec.nodeName, [...(podsByNode.get(rec.nodeName) ?? []), rec]);
      }
      for (const n of nodes) {
        const rec = projectNode(world.kube.store.get('nodes', undefined, n) as KubeObject)!;
        const snap = snapshotOf(rec, podsByNode.get(n) ?? [], views, {});
        if (!snap.ok) return false;
        const d = decideNode(snap.snapshot, ledger, 0);
        if (d.actions.length > 0) return false;
      }
      return true;
    };
    const settle = async (what: string, ms = 15_000): Promise<void> => {
      if (!(await until(converged, ms))) throw new Error(`not converged after ${what} within ${ms} ms (leader ${holder() || 'none'})`);
    };

    if (!(await until(() => holder() !== '', 15_000))) throw new Error('no leader elected');
    await settle('start', 20_000);
    checker.arm();
    say(`armed; leader ${holder()}`);

    for (const fault of faults) {
      const t0 = performance.now();
      const leaderBefore = holder();
      const leader = replicaOf(leaderBefore);
      const lw = leader?.wiring;
      const node = pick(nodes);
      const change = (n = pick(nodes)) => setLevel(n, !high.get(n));
      const rules: { rule: { count?: number }; initial: number }[] = [];
      const inject = (p: { rules: unknown[] } | undefined, rule: FaultRule) => {
        if (!p) return;
        p.rules.push(rule);
        rules.push({ rule, initial: rule.count ?? Infinity });
      };
      const handover = async (ms = 15_000) => {
        // Keep giving the old leader reasons to write while it should not.
        await until(() => { if (random() < 0.3) change(); return holder() !== '' && holder() !== leaderBefore; }, ms);
      };
      say(`step ${report.steps.length + 1}: ${fault} (leader ${leaderBefore})`);
      switch (fault) {
        case 'pause-leader':
          leader?.signal('SIGSTOP');
          await handover();
          change();
          leader?.signal('SIGCONT');
          break;
        case 'kill-leader':
          await leader?.kill();
          await handover();
          change();
          leader?.start();
          break;
        case 'blackhole-lease':
          lw?.api.rules.push({ match: (r) => r.path.includes('/leases'), kind: 'blackhole' });
          await handover();
          change();
          if (lw) { lw.api.rules.length = 0; lw.api.releaseHung(); }
          break;
        case 'watch-cut':
          lw?.api.cutStreams();
          change();
          break;
        case 'watch-410':
          inject(lw?.api, { match: (r) => r.path.includes('watch=true'), kind: 'status', value: 410, count: 2 });
          lw?.api.cutStreams();
          change();
          break;
        case 'lose-answer':
          inject(lw?.api, { match: (r) => r.method === 'PATCH' && r.path.startsWith('/api/v1/nodes/'), kind: 'lose-answer', count: 1 });
          change();
          break;
        case 'api-5xx':
          inject(lw?.api, { match: (r) => !r.path.includes('/leases') && !r.path.includes('watch=true'), kind: 'status', value: 503, count: 4 });
          change();
          break;
        case 'api-429':
          inject(lw?.api, { match: (r) => !r.path.includes('watch=true'), kind: 'status', value: 429, count: 3 });
          change();
          break;
        case 'api-latency':
          // Below the fence margin (lease − renew deadline): larger delays are the documented window.
          inject(lw?.api, { match: () => true, kind: 'latency', value: 150, count: 30 });
          change();
          break;
        case 'rm-5xx':
          for (const p of lw?.rms ?? []) inject(p, { match: () => true, kind: 'status', value: 500, count: 3 });
          change();
          break;
        case 'rm-failover':
          world.yarn.failover();
          checker.exposed(nodes, 'rm-failover');
          break;
        case 'nm-restart':
          world.yarn.cluster.restartNodeManager(world.nodeIdOf(node));
          checker.exposed([node], 'nm-restart');
          break;
        case 'competing-writer': {
          // Another tool keeps its own entry, read-modify-write with the resourceVersion.
          for (let attempt = 0; attempt < 5; attempt++) {
            const obj = world.kube.store.get('nodes', undefined, node)!;
            const raw = obj.metadata.annotations?.[ANNOTATION_THIRD_PARTY];
            const doc = raw ? JSON.parse(raw) as { allocations?: Record<string, unknown>[] } : { allocations: [] };
            const mine = { resources: { 'kubernetes.io/batch-cpu': String(100 + Math.floor(random() * 900)) }, name: 'other-tool', priority: 'koord-batch', note: `v${report.steps.length}` };
            const others = (doc.allocations ?? []).filter((a) => a.name !== 'other-tool');
            const next = JSON.stringify({ ...doc, allocations: [mine, ...others] });
            // The checker samples inside the patch (the store's watch is synchronous): expect the
            // new entry first, put the old expectation back if the write is refused.
            const before = checker.foreign.get(node);
            checker.foreign.set(node, JSON.stringify(mine));
            try {
              world.kube.store.patch('nodes', undefined, node, 'merge', { metadata: { resourceVersion: obj.metadata.resourceVersion, annotations: { [ANNOTATION_THIRD_PARTY]: next } } });
              break;
            } catch {
              // 409: read again
              if (before === undefined) checker.foreign.delete(node);
              else checker.foreign.set(node, before);
            }
          }
          change();
          break;
        }
        case 'pod-churn':
          if (pods.length > 0 && random() < 0.5) world.deleteBatchPod(pods.splice(Math.floor(random() * pods.length), 1)[0]!);
          else pods.push(world.addBatchPod({ name: `churn-${++podSeq}`, node, cpuMilli: 500 + Math.floor(random() * 4) * 500, memoryBytes: (1 + Math.floor(random() * 4)) * GIB }));
          break;
        case 'app-churn':
          world.submitApp({ name: `churn-${++podSeq}`, am: { vcores: 1, memoryMiB: 512 }, containers: [{ count: 1 + Math.floor(random() * 3), vcores: 1, memoryMiB: 1024 }] });
          break;
        case 'origin-flap':
          for (let i = 0; i < 5; i++) { change(); await tick(30); }
          break;
      }
      await settle(fault);
      // A rule with a count retires when used up; one left untouched never hit anything.
      const injected = rules.length === 0 || rules.some((r) => (r.rule.count ?? Infinity) < r.initial || !wirings.some((w) => w.api.rules.includes(r.rule as never) || w.rms.some((p) => p.rules.includes(r.rule as never))));
      for (const w of wirings) { w.api.rules.length = 0; for (const p of w.rms) p.rules.length = 0; }
      report.steps.push({ fault, ms: Math.round(performance.now() - t0), leaderBefore, leaderAfter: holder(), injected });
    }
    const c0 = performance.now();
    report.converged = await until(() => converged() && checker.summary().violations === 0, 15_000);
    report.convergeMs = Math.round(performance.now() - c0);
    checker.disarm();
  } finally {
    checker.disarm();
    for (const r of replicas) report.replicaStarts[r.name] = r.starts;
    await Promise.all(replicas.map((r) => r.stop()));
    await Promise.all(wirings.map((w) => closeReplica(w)));
    await world.stop();
  }
  report.checker = checker.summary();
  report.violations = checker.violations;
  report.unleased = checker.unleased;
  report.foreignBroken = checker.foreignBroken;
  report.exposuresMs = checker.exposureDurations().map((d) => Math.round(d));
  return report;
}
