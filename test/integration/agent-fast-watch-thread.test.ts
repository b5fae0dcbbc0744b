/**
 * The fast memory watch on its own thread: it looks and kills while the main thread is held (a
 * long synchronous stretch, as a tick, a large answer's parse or a GC pause would hold it), with
 * every proof of the kill path made on that thread; the main thread then takes the eviction over
 * (record, marks, log lines, the wait for the cgroup to empty).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alive, GiB, Rig, until } from './agent-harness.js';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

/** The process has exited (a zombie nobody reaped yet, or gone). */
function exited(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Hold this thread (the agent's main thread) until `pid` has exited or `limitMs` passed; true when it exited. */
function holdMainThreadUntilExit(pid: number, limitMs: number): boolean {
  const end = Date.now() + limitMs;
  while (Date.now() < end) if (exited(pid)) return true;
  return false;
}

async function oneApp(r: Rig) {
  const a = await r.submit({ am: { memoryMiB: 1024, vcores: 1 }, containers: [{ count: 3, memoryMiB: 2048, vcores: 1 }] });
  for (const id of [a.am, ...a.workers]) r.node.setContainerUsage(id, { memoryBytes: GiB, cacheBytes: 0, cpuMilli: 100 });
  r.node.render();
  return a;
}

const rules = { memoryEvictThresholdPercent: 70, memoryEvictLowerPercent: 68, memoryEvictCoolTimeSeconds: 0 };

describe('the fast watch on its own thread', () => {
  it('kills the planned victim while the main thread is held; the main thread then records and logs the eviction', async () => {
    rig = await Rig.create();
    const app = await oneApp(rig);
    // Real time, no injected clock: the watch runs on its own thread. One tick at start, then none for a minute.
    const agent = await rig.startAgent({ tickMillis: 60_000, fastWatchMillis: 5, fastWatchMaxMillis: 5, rules }, { manual: false, clock: undefined });
    await until(() => agent.plan.refreshes === 1 && agent.fastWatchOnThread, 'the first tick and the watch on its thread (a fixed period)');
    const victim = agent.plan.ids()[0]!;
    expect(victim).toBe(app.workers[2]);
    const pid = rig.node.containerPid(victim)!;
    rig.setNodeMemoryPercent(72); // ≈ 0.3 GiB over on 16 GiB: one container
    // The main thread does nothing but wait: only another thread can act.
    expect(holdMainThreadUntilExit(pid, 5000)).toBe(true);
    await until(() => agent.evictions.length === 1, 'the main thread to take the eviction over');
    expect(agent.evictions[0]).toMatchObject({ containerId: victim, reason: 'memory', mode: 'graceful', method: 'SIGTERM', signalledPids: [pid] });
    expect(agent.evicting.has(victim)).toBe(true);
    await until(() => agent.evictions[0]!.outcome === 'stopped', 'the eviction to end');
    expect(alive(pid)).toBe(false);
    const acted = rig.log.find(/fast memory watch acted before the tick/);
    expect(acted).toHaveLength(1);
    expect(acted[0]).toMatchObject({ ownThread: true, evictions: 1 });
    expect(rig.log.find(/evicting YARN container/)[0]).toMatchObject({ container: victim, reason: 'memory' });
    // The others live; the next look does not take the same container again.
    for (const id of [app.am, app.workers[0]!, app.workers[1]!]) expect(alive(rig.node.containerPid(id)!)).toBe(true);
  });

  it('proves every pid on its thread: pid 1 and the agent itself listed in the victim are never signalled, the victim’s own process is', async () => {
    rig = await Rig.create();
    const app = await oneApp(rig);
    // One container's memory ends it (95 % used, back under 93.9 %).
    const emergency = { memoryEvictThresholdPercent: 94, memoryEvictLowerPercent: 93.9, memoryEvictCoolTimeSeconds: 0 };
    const agent = await rig.startAgent({ tickMillis: 60_000, fastWatchMillis: 5, fastWatchMaxMillis: 5, rules: emergency }, { manual: false, clock: undefined });
    await until(() => agent.plan.refreshes === 1 && agent.fastWatchOnThread, 'the first tick and the watch on its thread (a fixed period)');
    const victim = agent.plan.ids()[0]!;
    expect(victim).toBe(app.workers[2]);
    const pid = rig.node.containerPid(victim)!;
    const dir = path.join(rig.node.paths.cgroupRoot, rig.node.paths.yarnCgroupPath, victim);
    // The victim's cgroup lists pid 1 and this very process, and their cgroup files claim the container.
    fs.writeFileSync(path.join(dir, 'cgroup.procs'), `1\n${process.pid}\n${pid}\n`);
    for (const p of [1, process.pid]) {
      fs.mkdirSync(path.join(rig.node.paths.procRoot, String(p)), { recursive: true });
      fs.writeFileSync(path.join(rig.node.paths.procRoot, String(p), 'cgroup'), `0::/${rig.node.paths.yarnCgroupPath}/${victim}\n`);
    }
    rig.setNodeMemoryPercent(95);
    expect(holdMainThreadUntilExit(pid, 5000)).toBe(true);
    await until(() => agent.evictions.length === 1, 'the main thread to take the eviction over');
    const record = agent.evictions[0]!;
    expect(record).toMatchObject({ containerId: victim, method: 'SIGTERM', signalledPids: [pid] });
    expect(record.skipped.filter((s) => s.protected).map((s) => s.pid).sort((a, b) => a - b)).toEqual([1, process.pid].sort((a, b) => a - b));
    expect(rig.log.find(/were not signalled \(membership not proven\)/)[0]).toMatchObject({ container: victim });
  });

  it('far under the threshold the main thread watches; the thread takes the watch when the headroom shortens the period, and gives it back after 20 calm looks', async () => {
    rig = await Rig.create();
    const app = await oneApp(rig);
    // Headroom-driven: 5 ms near the threshold, 20 ms far under it (2 GiB/s: far = 41 MiB of headroom or more).
    const agent = await rig.startAgent({ tickMillis: 60_000, fastWatchMillis: 5, fastWatchMaxMillis: 20, rules }, { manual: false, clock: undefined });
    await until(() => agent.plan.refreshes === 1 && agent.health().live.ok, 'the first tick and a look');
    // ≈ 13 % used: far under 70 %: the main thread watches, no thread was even started.
    expect(agent.fastWatchOnThread).toBe(false);
    expect(rig.log.find(/fast memory watch thread ready/)).toHaveLength(0);
    rig.setNodeMemoryPercent(69.9); // 16 MiB of headroom: 7 ms
    await until(() => agent.fastWatchOnThread, 'the thread to take the watch');
    // It acts from there, the main thread held or not.
    const pid = rig.node.containerPid(app.workers[2]!)!;
    rig.setNodeMemoryPercent(72);
    expect(holdMainThreadUntilExit(pid, 5000)).toBe(true);
    await until(() => agent.evictions.length === 1, 'the main thread to take the eviction over');
    rig.setNodeMemoryPercent(20);
    await until(() => !agent.fastWatchOnThread, 'the watch back on the main thread');
    expect(agent.health().live).toMatchObject({ ok: true });
  });
});
