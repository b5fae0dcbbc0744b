/**
 * The fast watch's ready kill plan: refreshed at the end of every tick from what that tick
 * proved, so that reacting to a crossing is read → compare → kill, with no NodeManager call, no
 * cgroup scan and no sort.
 *
 * The plan holds the tick's proven containers already in the memory rule's victim order (sorted
 * once here; with `app-spread`, whose order depends on the set chosen from, the rule sorts
 * itself), their working sets as that tick read them, and for each the directory whose presence
 * a crossing checks. It gives no permission: the kill finds the container's directories again
 * from its id and proves them and every pid afresh just before its signal (cgroup/kill.ts), and a
 * proof that fails there drops the container from the plan at once (`drop`), the YARN parent's
 * refusal drops them all (`clear`).
 */
import fs from 'node:fs';
import type { ContainerCgroup } from '../cgroup/index.js';
import { orderVictims } from './rules/order.js';
// Not the rules' index: it loads the settings schema library, which the watch's thread (which imports this) does not need.
import { decide } from './rules/decide.js';
import type { AgentRulesState, ContainerSnapshot, Decision, NodeSnapshot, RulesConfig, Snapshot } from './rules/index.js';

/** What the evictor knows that the plan does not: who is being evicted, who is in back-off, who is stopped already. */
export interface PlanMarks {
  evicting: ReadonlySet<string>;
  blocked: ReadonlySet<string>;
  released: (containerId: string) => boolean;
}

/**
 * The memory rule's decision on a crossing, from the plan alone (shared by the fast watch on the
 * main thread and on its own thread): victims whose cgroup directory is gone since the tick are
 * dropped from the plan and the rule decides again. Undefined before the first tick.
 */
export function decideOnPlan(plan: KillPlan, node: Pick<NodeSnapshot, 'memoryTotal' | 'memoryUsed'>, marks: PlanMarks, state: AgentRulesState, config: RulesConfig, now: number): { snapshot: Snapshot; decision: Decision } | undefined {
  for (;;) {
    const snapshot = plan.snapshotFor(node, marks.evicting, marks.blocked, state, marks.released);
    if (!snapshot) return undefined;
    const decision = decide(snapshot, config, now, { rules: ['memory'] });
    // A victim that exited since the tick releases nothing more: drop it and decide again.
    const gone = decision.evictions.filter((e) => !e.escalation && !plan.stillThere(e.containerId));
    if (gone.length === 0) return { snapshot, decision };
    for (const e of gone) plan.drop(e.containerId);
  }
}

/** Pure: the directory a planned container's presence is checked by (its memory hierarchy's, else its first); undefined when it has none. */
export function planDirOf(cg: Pick<ContainerCgroup, 'memory' | 'all'>): string | undefined {
  return cg.memory?.dir ?? cg.all[0]?.dir;
}

export interface PlannedVictim {
  snapshot: ContainerSnapshot;
  /**
   * The directory the tick proved it by whose presence is checked on a crossing (its memory
   * hierarchy's, else its first): the kill proves every directory of the container afresh by
   * its id, so the plan (and the message that carries it to the watch's thread) holds no more.
   */
  dir: string;
}

export interface KillPlanSource {
  snapshot: Snapshot;
  /** Each proven container's checked directory, by id (see {@link planDirOf}; containers without one are not in the plan). */
  cgroups: ReadonlyMap<string, string>;
  /** Rules time of the tick the plan comes from. */
  at: number;
}

/** Pure: the plan's victims in the memory rule's order (every proven container; the rule filters). */
export function planVictims(source: KillPlanSource, config: Pick<RulesConfig, 'victimOrder'>): { victims: PlannedVictim[]; ordered: boolean } {
  const proven = source.snapshot.containers.filter((c) => source.cgroups.has(c.id));
  const ordered = !config.victimOrder.includes('app-spread');
  const list = ordered ? orderVictims(proven, config) : proven;
  return { victims: list.map((c) => ({ snapshot: c, dir: source.cgroups.get(c.id)! })), ordered };
}

/**
 * Pure: what the memory rule would see of a plan, as one string — ids in order, each container's
 * working set to the MiB, AM / execution type / app / start / evicting, and the directory the
 * plan checks. The fast watch's thread is sent a plan only when this changes (a working set that
 * moves by less than a MiB changes no decision).
 */
export function planSignature(snapshot: Snapshot, cgroups: ReadonlyMap<string, string>): string {
  let sig = '';
  for (const c of snapshot.containers) {
    const dir = cgroups.get(c.id);
    if (dir === undefined) continue;
    sig += `${c.id} ${c.appId} ${c.isAM ? 1 : 0} ${c.executionType ?? ''} ${c.startedAt ?? ''} ${Math.round(c.memoryWorkingSet / 2 ** 20)} ${c.evicting ? 1 : 0} ${c.appFailures ?? ''} ${dir}\n`;
  }
  return sig;
}

export class KillPlan {
  private victims: PlannedVictim[] = [];
  private ordered = false;
  private base: Snapshot | undefined;
  private builtAt: number | undefined;
  /** Times the plan was refreshed, one a tick (tests, metrics). */
  refreshes = 0;

  /** Times the victims were ordered afresh (a refresh with the same containers keeps them). */
  rebuilds = 0;
  private from: { containers: readonly ContainerSnapshot[]; cgroups: ReadonlyMap<string, string>; victimOrder: RulesConfig['victimOrder'] } | undefined;

  /**
   * Replace the plan with the tick's (called once per tick). A tick with the very same container
   * snapshots and cgroups as the last (an idle node between two container passes) keeps the
   * ordered victims, and whichever of them a failed proof dropped stays dropped until they change.
   */
  refresh(source: KillPlanSource, config: Pick<RulesConfig, 'victimOrder'>): void {
    const f = this.from;
    if (!f || f.containers !== source.snapshot.containers || f.cgroups !== source.cgroups || f.victimOrder !== config.victimOrder) {
      const p = planVictims(source, config);
      this.victims = p.victims;
      this.ordered = p.ordered;
      this.from = { containers: source.snapshot.containers, cgroups: source.cgroups, victimOrder: config.victimOrder };
      this.rebuilds++;
    }
    this.base = source.snapshot;
    this.builtAt = source.at;
    this.refreshes++;
  }

  /** The container failed a proof: never a victim of this plan again (the next tick decides anew). */
  drop(containerId: string): void {
    const i = this.victims.findIndex((v) => v.snapshot.id === containerId);
    if (i >= 0) this.victims.splice(i, 1);
  }

  /** The YARN parent failed its proof: no container under it is a victim until a tick proves them again. */
  clear(): void {
    this.victims = [];
  }

  get size(): number {
    return this.victims.length;
  }

  get at(): number | undefined {
    return this.builtAt;
  }

  /** Container ids in plan order. */
  ids(): string[] {
    return this.victims.map((v) => v.snapshot.id);
  }

  victim(containerId: string): PlannedVictim | undefined {
    return this.victims.find((v) => v.snapshot.id === containerId);
  }

  /**
   * The memory rule's snapshot for a crossing: node memory just read, the plan's containers with
   * today's `evicting` marks (only the changed ones are copied), those in back-off and those an
   * eviction already stopped (`released`) left out.
   * Undefined before the first tick.
   */
  snapshotFor(
    node: Pick<NodeSnapshot, 'memoryTotal' | 'memoryUsed'>, evicting: ReadonlySet<string>, blocked: ReadonlySet<string>, state: AgentRulesState,
    released: (containerId: string) => boolean = () => false,
  ): Snapshot | undefined {
    const base = this.base;
    if (!base) return undefined;
    const containers: ContainerSnapshot[] = [];
    for (const v of this.victims) {
      const c = v.snapshot;
      // In back-off, or already stopped by an eviction (nothing left to release or to count in flight).
      if (blocked.has(c.id) || released(c.id)) continue;
      const marked = evicting.has(c.id);
      containers.push(marked === (c.evicting === true) ? c : marked ? { ...c, evicting: true } : withoutEvicting(c));
    }
    return { node: { ...base.node, memoryTotal: node.memoryTotal, memoryUsed: node.memoryUsed }, yarn: base.yarn, containers, state, inVictimOrder: this.ordered };
  }

  /**
   * Whether the victim's cgroup directory still exists (one `lstat`): a container that exited
   * since the tick is dropped instead of being credited for memory it no longer holds.
   */
  stillThere(containerId: string): boolean {
    const v = this.victim(containerId);
    const dir = v?.dir;
    if (dir === undefined) return false;
    // Whatever is there now (a symlink put in its place included) goes on to the kill, whose proofs refuse it.
    try {
      fs.lstatSync(dir);
      return true;
    } catch {
      return false;
    }
  }
}

function withoutEvicting(c: ContainerSnapshot): ContainerSnapshot {
  const { evicting: _e, ...rest } = c;
  return rest;
}
