/**
 * The fast memory watch on a thread of its own (a worker thread: its own isolate, heap and event
 * loop), so that the main thread's ticks, NodeManager answers and garbage collection cannot make
 * a look late. It reads node memory at the headroom-driven period; on a crossing it decides on
 * the ready kill plan the main thread posts after every tick and sends the first signal itself,
 * through the same `cgroup/` kill as the main thread: the container's directories proven afresh
 * (descriptor-based), each pid's `/proc/<pid>/cgroup` read just before its signal, `cgroup.kill`
 * only through O_NOFOLLOW proven control files, never pid ≤ 1, this process or an ancestor. It
 * then posts what it did; the main thread's evictor takes the eviction over (record, marks, log
 * lines, metrics, Event, the wait for the cgroup to empty and the SIGKILL after the grace period).
 *
 * It signals nothing in dry-run, nor when a graceful eviction goes through the ResourceManager:
 * then it only tells the main thread to look at once (`crossing`).
 *
 * It watches only while the watch looks often: far under the threshold (the longest period) the
 * main thread's timer looks itself — a thread of its own costs an idle agent CPU (its own event
 * loop, heap and messages) for no gain there — and hands the watch over once the headroom
 * shortens the period; the thread hands it back after 20 looks in a row at the longest period.
 * With a fixed period it keeps the watch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CgroupPathError, type KillResult, MeminfoWatch, type MemoryLook, NodeCgroups, type ThresholdLook } from '../cgroup/index.js';
import { systemClock, type Timer } from '../clock/clock.js';
import { decideOnPlan, KillPlan, type PlanMarks } from './kill-plan.js';
import { recordEvictions } from './rules/state.js';
import type { AgentRulesState, Eviction, RulesConfig } from './rules/index.js';
import type { FastWatchInit, FastWatchReport, FastWatchUpdate } from './fast-watch-thread.js';
import { looksOften, nextLookIn } from './watch-period.js';

const init = workerData as FastWatchInit;
const port = parentPort!;
const config: RulesConfig = init.config;
const cgroups = NodeCgroups.open(init.cgroups);
const meminfo = new MeminfoWatch(init.procRoot);
/** [0]: when the last look ran (systemClock.now(), shared with the main thread's /livez). */
const turned = new Float64Array(init.turned);
const plan = new KillPlan();
let state: AgentRulesState = init.state;
let evicting = new Set<string>();
let blocked = new Set<string>();
let released = new Set<string>();
/** Signalled here and not yet in a marks update from the main thread (its marks lag by a message). */
const signalledHere = new Set<string>();
let failing = false;
let stopped = false;
/** Watching (the main thread handed the watch over), or idle until it does. */
let active = false;
/** Looks in a row that would have waited the longest period: after HAND_BACK_AFTER the watch goes back. */
let calm = 0;
const HAND_BACK_AFTER = 20;
let timer: Timer | undefined;

const post = (r: FastWatchReport): void => port.postMessage(r);

port.on('message', (m: FastWatchUpdate) => {
  if (m.type === 'plan') {
    plan.refresh({ snapshot: m.snapshot, cgroups: new Map(m.cgroups), at: m.at }, config);
  } else if (m.type === 'marks') {
    state = m.state;
    evicting = new Set(m.evicting);
    blocked = new Set(m.blocked);
    released = new Set(m.released);
    for (const id of m.evicting) signalledHere.delete(id);
    for (const id of m.blocked) signalledHere.delete(id);
  } else if (m.type === 'watch') {
    if (!active) {
      active = true;
      calm = 0;
      schedule(0);
    }
  } else if (m.type === 'stop') {
    stopped = true;
    timer?.cancel();
    meminfo.close();
    port.close();
  }
});

function look(lateMs: number): MemoryLook | undefined {
  let seen: ThresholdLook;
  try {
    seen = meminfo.lookAt(config.memoryEvictThresholdPercent);
    if (failing) post({ type: 'memory', ok: true });
    failing = false;
  } catch (err) {
    if (!failing) post({ type: 'memory', ok: false, err: (err as Error).message });
    failing = true;
    return undefined;
  }
  const { look: m, over: memory } = seen;
  if (!memory) return m;
  const now = Date.now();
  const decideFrom = performance.now();
  const marks: PlanMarks = {
    evicting: signalledHere.size > 0 ? new Set([...evicting, ...signalledHere]) : evicting,
    blocked,
    released: (id) => released.has(id),
  };
  const decided = decideOnPlan(plan, { memoryTotal: memory.total, memoryUsed: memory.used }, marks, state, config, now);
  const evictions = decided?.decision.evictions ?? [];
  const usagePercent = (memory.used * 100) / memory.total;
  if (evictions.length === 0) {
    post({ type: 'triggered', usagePercent, held: decided?.decision.held ?? [] });
    return m;
  }
  // Nothing to signal from here: dry-run, or graceful evictions that go through the ResourceManager.
  const local = (e: Eviction): boolean => !init.dryRun && !(e.mode === 'graceful' && init.rmConfigured);
  if (!evictions.every(local)) {
    post({ type: 'crossing', usagePercent });
    return m;
  }
  const signalFrom = performance.now();
  const acted: { eviction: Eviction; result?: KillResult; error?: string; refused?: string }[] = [];
  const pending: Promise<void>[] = [];
  for (const e of evictions) {
    if (e.escalation) continue; // an eviction in flight on the main thread: it escalates it itself
    const entry: (typeof acted)[number] = { eviction: e };
    acted.push(entry);
    signalledHere.add(e.containerId);
    const failed = (err: unknown): void => {
      entry.error = (err as Error).message;
      if (err instanceof CgroupPathError) entry.refused = err.kind;
    };
    try {
      // Signals synchronously (proofs first); the deadline 0 only checks once whether it emptied.
      pending.push(cgroups.killContainer(e.containerId, {
        mode: e.mode === 'immediate' ? 'emergency' : 'graceful', deadlineMs: 0, clock: systemClock,
        ...(init.selfPid !== undefined ? { selfPid: init.selfPid } : {}),
        ...(init.parentPid !== undefined ? { parentPid: init.parentPid } : {}),
      }).then((r) => { entry.result = r; }, failed));
    } catch (err) {
      failed(err);
    }
  }
  const signalledAt = Date.now();
  const spent = { decideMs: signalFrom - decideFrom, signalMs: performance.now() - signalFrom };
  state = recordEvictions(state, acted.map((a) => a.eviction), now);
  void Promise.all(pending).then(() => {
    for (const a of acted) {
      if (a.error === undefined) continue;
      signalledHere.delete(a.eviction.containerId);
      plan.drop(a.eviction.containerId);
    }
    post({
      type: 'acted', usagePercent, planFromTick: plan.at, lookLateMs: lateMs, decidedAt: now, signalledAt, ...spent,
      victims: acted.map((a) => ({ eviction: a.eviction, ...(a.result ? { result: a.result } : {}), ...(a.error !== undefined ? { error: a.error } : {}), ...(a.refused ? { refused: a.refused } : {}) })),
    });
  });
  return m;
}

const period = init.period;
function schedule(delay: number): void {
  if (stopped || !active) return;
  const due = systemClock.now() + delay;
  timer = systemClock.setTimer(delay, () => {
    const late = systemClock.now() - due;
    let next = period.minMs;
    try {
      next = nextLookIn(look(late), config.memoryEvictThresholdPercent, period);
    } catch (err) {
      post({ type: 'memory', ok: false, err: `fast memory watch failed: ${(err as Error).message}` });
    }
    turned[0] = systemClock.now();
    // Far under the threshold again (the longest period, HAND_BACK_AFTER looks in a row): the
    // main thread's own timer is enough there, and this thread sleeps until handed the watch again.
    calm = looksOften(next, period) ? 0 : calm + 1;
    if (calm >= HAND_BACK_AFTER) {
      active = false;
      timer = undefined;
      post({ type: 'handback', nextMs: next });
      return;
    }
    schedule(next);
  });
}
post({ type: 'ready' });
