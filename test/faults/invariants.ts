/**
 * The invariant checker of the fault suites. It samples the simulated world from outside — the
 * API server's store and the RM's model, never the operator's memory — on every Node change,
 * every write a replica's proxy forwards, and every few milliseconds, and records:
 *
 * - **violations**: a node whose RM capacity (or YARN's used amount) exceeds the claim Kubernetes
 *   sees, outside an exposure window;
 * - **exposures**: from the moment the harness makes the RM forget an override (NM restart, RM
 *   failover) until capacity and used are within the claim again, per node, with durations;
 * - **writes without the lease**: a Node PATCH or RM resize forwarded from a replica while the
 *   Lease in the store names another holder;
 * - **foreign entries**: another writer's `thirdPartyAllocations` entry not exactly as it wrote it.
 */
import type { SimWorld } from '../../sim/world.js';
import { ANNOTATION_THIRD_PARTY, BATCH_CPU, BATCH_MEMORY } from '../../kube/wire.js';
import { quantity } from '../integration/operator-helpers.js';
import type { FaultProxy, Forwarded } from './fault-proxy.js';
import { isWrite } from './fault-proxy.js';

const MIB = 2 ** 20;

export interface Violation { node: string; kind: 'capacity' | 'used'; start: number; end?: number; rm: { vcores: number; memoryMiB: number }; claim?: { cpu: number; memory: number }; recent?: string[] }
export interface Exposure { node: string; cause: string; start: number; end?: number }
export interface UnleasedWrite { replica: string; at: number; method: string; path: string; holder: string }

export interface CheckerOptions {
  world: SimWorld;
  nodes: string[];
  lease?: { namespace: string; name: string };
  vcoresPerCore?: number;
  sampleEveryMs?: number;
}

export function claimFromAnnotation(raw: string | undefined): { cpu: number; memory: number } | undefined {
  if (raw === undefined) return undefined;
  try {
    const doc = JSON.parse(raw) as { allocations?: { name: string; resources?: Record<string, string> }[] };
    const e = doc.allocations?.find((a) => a.name === 'hadoop-yarn');
    return e ? { cpu: quantity(e.resources?.[BATCH_CPU]), memory: quantity(e.resources?.[BATCH_MEMORY]) } : undefined;
  } catch {
    return undefined;
  }
}

export class InvariantChecker {
  readonly violations: Violation[] = [];
  readonly exposures: Exposure[] = [];
  readonly unleased: UnleasedWrite[] = [];
  readonly foreignBroken: { node: string; at: number; want: string; got: string | undefined }[] = [];
  samples = 0;
  private armed = false;
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private readonly open = new Map<string, Violation>();
  private readonly openExposure = new Map<string, Exposure>();
  /** node → the foreign entry JSON the competing writer last wrote. */
  readonly foreign = new Map<string, string>();
  /** The last writes and changes seen, attached to a violation when it opens (to explain it). */
  private readonly recent: string[] = [];
  private note(line: string): void {
    this.recent.push(`${Math.round(performance.now())} ${line}`);
    if (this.recent.length > 30) this.recent.shift();
  }
  private lastSeen = new Map<string, string>();

  constructor(private readonly o: CheckerOptions) {}

  /** Start checking (after the first convergence: before it, every node is exposed by design). */
  arm(): void {
    if (this.armed) return;
    this.armed = true;
    this.unwatch = this.o.world.kube.store.watch('nodes', () => this.sample());
    this.timer = setInterval(() => this.sample(), this.o.sampleEveryMs ?? 5);
    this.sample();
  }

  disarm(): void {
    this.sample();
    this.armed = false;
    if (this.timer) clearInterval(this.timer);
    this.unwatch?.();
    const now = performance.now();
    for (const v of this.open.values()) v.end = now;
    for (const e of this.openExposure.values()) e.end = now;
  }

  /** The harness made the RM forget `node`'s override (or all nodes' for a failover). */
  exposed(nodes: string[], cause: string): void {
    const now = performance.now();
    for (const node of nodes) {
      if (this.openExposure.has(node)) continue;
      const e: Exposure = { node, cause, start: now };
      this.openExposure.set(node, e);
      this.exposures.push(e);
      // A violation already open becomes part of the exposure.
      const v = this.open.get(node);
      if (v) { this.open.delete(node); this.violations.splice(this.violations.indexOf(v), 1); }
    }
  }

  /** Attribute every write `replica`'s proxies forward, against the Lease holder at that moment. */
  watchReplica(replica: string, proxies: FaultProxy[]): void {
    for (const p of proxies) {
      const prev = p.onForward;
      p.onForward = (f: Forwarded) => {
        prev?.(f);
        this.onWrite(replica, f);
      };
    }
  }

  private onWrite(replica: string, f: Forwarded): void {
    if (this.armed && isWrite(f.method) && !f.path.includes('/leases') && !f.path.includes('/events')) this.note(`${replica} ${f.method} ${f.path} ${f.body.slice(0, 160)}`);
    if (!this.armed || !isWrite(f.method) || !this.o.lease) return;
    const isNodePatch = f.path.startsWith('/api/v1/nodes/');
    const isResize = /\/ws\/v1\/cluster\/nodes\/[^/]+\/resource/.test(f.path);
    if (!isNodePatch && !isResize) return;
    const lease = this.o.world.kube.store.get('leases', this.o.lease.namespace, this.o.lease.name) as unknown as { spec?: { holderIdentity?: string } } | undefined;
    const holder = lease?.spec?.holderIdentity ?? '';
    if (holder !== replica) this.unleased.push({ replica, at: f.at, method: f.method, path: f.path, holder });
    this.sample();
  }

  sample(): void {
    if (!this.armed) return;
    this.samples++;
    const now = performance.now();
    const world = this.o.world;
    world.yarn.cluster.tick();
    const perCore = this.o.vcoresPerCore ?? 1;
    for (const node of this.o.nodes) {
      const rm = world.yarn.cluster.node(world.nodeIdOf(node));
      const obj = world.kube.store.get('nodes', undefined, node);
      if (!rm || !obj) continue;
      const raw = obj.metadata.annotations?.[ANNOTATION_THIRD_PARTY];
      const claim = claimFromAnnotation(raw);
      const active = rm.state === 'RUNNING' || rm.state === 'UNHEALTHY';
      const capOk = !active || (claim !== undefined && Math.ceil((rm.total.vcores / perCore) * 1000) <= claim.cpu && rm.total.memoryMiB * MIB <= claim.memory);
      const usedOk = !active || (claim !== undefined && Math.ceil((rm.used.vcores / perCore) * 1000) <= claim.cpu && rm.used.memoryMiB * MIB <= claim.memory);
      const ok = capOk && usedOk;
      const seen = `${node} rm ${rm.total.vcores}/${rm.total.memoryMiB} claim ${claim?.cpu}/${claim?.memory}`;
      if (this.lastSeen.get(node) !== seen) { this.lastSeen.set(node, seen); this.note(seen); }
      const exp = this.openExposure.get(node);
      if (exp) {
        if (ok) { exp.end = now; this.openExposure.delete(node); }
      } else {
        const v = this.open.get(node);
        if (!ok && !v) {
          const nv: Violation = { node, kind: capOk ? 'used' : 'capacity', start: now, rm: { ...rm.total }, ...(claim ? { claim } : {}), recent: [...this.recent] };
          this.open.set(node, nv);
          this.violations.push(nv);
        } else if (ok && v) {
          v.end = now;
          this.open.delete(node);
        }
      }
      const want = this.foreign.get(node);
      if (want !== undefined && (raw === undefined || !raw.includes(want))) {
        if (!this.foreignBroken.some((b) => b.node === node && b.want === want)) this.foreignBroken.push({ node, at: now, want, got: raw });
      }
    }
  }

  /** Exposure durations (ms), closed ones. */
  exposureDurations(): number[] {
    return this.exposures.filter((e) => e.end !== undefined).map((e) => e.end! - e.start);
  }

  summary(): Record<string, unknown> {
    const d = this.exposureDurations().sort((a, b) => a - b);
    const q = (p: number) => (d.length ? Math.round(d[Math.min(d.length - 1, Math.floor(p * d.length))]!) : 0);
    return {
      samples: this.samples,
      violations: this.violations.length,
      unleasedWrites: this.unleased.length,
      foreignEntriesBroken: this.foreignBroken.length,
      exposures: d.length,
      exposureMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: d.length ? Math.round(d[d.length - 1]!) : 0 },
    };
  }
}
