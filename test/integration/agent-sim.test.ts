/**
 * The node agent against a simulated node (fake cgroupfs/proc with real processes) and a
 * simulated YARN over loopback HTTP: memory eviction, CPU suppression, CPU eviction, dry-run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeCgroups } from '../../cgroup/index.js';
import { milliCores } from '../../kube/quantity.js';
import { alive, GiB, MiB, Rig, until } from './agent-harness.js';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

/** Two apps: app1 = AM + 3 workers, app2 = AM + 2 workers; each worker pinned at 1 GiB, no cache. */
async function twoApps(r: Rig) {
  const a1 = await r.submit({ am: { memoryMiB: 1024, vcores: 1 }, containers: [{ count: 3, memoryMiB: 2048, vcores: 1 }] });
  const a2 = await r.submit({ am: { memoryMiB: 1024, vcores: 1 }, containers: [{ count: 2, memoryMiB: 2048, vcores: 1 }] });
  for (const id of [a1.am, a2.am, ...a1.workers, ...a2.workers]) r.node.setContainerUsage(id, { memoryBytes: GiB, cacheBytes: 0, cpuMilli: 100 });
  r.node.render();
  return { a1, a2 };
}

describe('memory eviction', () => {
  it('evicts newest first, spares the AM, stops at the lower threshold; the YARN model sees the exits', async () => {
    rig = await Rig.create();
    const { a1, a2 } = await twoApps(rig);
    const agent = await rig.startAgent({ rules: { memoryEvictThresholdPercent: 70, memoryEvictLowerPercent: 68 } });
    await rig.step(agent);
    expect(agent.evictions).toHaveLength(0);

    // 75 % used, lower 68 %: release 7 % of 16 GiB ≈ 1.12 GiB → two 1 GiB workers.
    rig.setNodeMemoryPercent(75);
    const t = await rig.step(agent);
    const victims = t.issued.map((i) => i.record.containerId);
    // app2 is newer than app1; its AM (seq 1) is protected: workers 3 and 2 of app2.
    expect(victims).toEqual([a2.workers[1], a2.workers[0]]);
    expect(t.issued.every((i) => i.record.reason === 'memory' && i.record.mode === 'graceful')).toBe(true);
    const pids = victims.map((id) => rig!.node.containerPid(id!));
    await agent.settled();
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(agent.evictions.map((e) => [e.containerId, e.outcome, e.method])).toEqual([
      [a2.workers[1], 'stopped', 'SIGTERM'],
      [a2.workers[0], 'stopped', 'SIGTERM'],
    ]);
    // The YARN model saw the processes exit (EXITED_WITH_FAILURE, no longer allocated).
    await until(() => victims.every((id) => rig!.yarn.cluster.container(id!)?.state === 'EXITED_WITH_FAILURE'), 'YARN to see the exits');
    expect(rig.yarn.cluster.liveContainers(rig.nodeId).map((c) => c.id).sort()).toEqual([a1.am, a2.am, ...a1.workers].sort());

    // Memory is now below the threshold: past the cool-down, nothing more is evicted.
    for (let i = 0; i < 6; i++) {
      const again = await rig.step(agent);
      expect(again.issued).toHaveLength(0);
    }
    expect(agent.evicting.size).toBe(0);
    for (const id of [a1.am, a2.am, ...a1.workers]) expect(alive(rig.node.containerPid(id))).toBe(true);
    const logged = rig.log.find(/^evicting YARN container$/);
    expect(logged.map((l) => l.container)).toEqual(victims);
    expect(logged[0]).toMatchObject({ component: 'agent.evictor', reason: 'memory', mode: 'graceful' });
    expect((logged[0]!.inputs as Record<string, unknown>).usagePercent).toBeGreaterThanOrEqual(75);
    const metrics = await agent.registry.metrics();
    expect(metrics).toMatch(/loom_agent_evictions_total\{reason="memory",mode="graceful",node="node-a"\} 2/);
  });

  it('graceful through the RM (GRACEFUL_SHUTDOWN), and the fast watch acts between ticks', async () => {
    rig = await Rig.create({ layout: 'v1' });
    const { a2 } = await twoApps(rig);
    const agent = await rig.startAgent({ rmUrls: [rig.rmUrl], rules: { memoryEvictThresholdPercent: 70, memoryEvictLowerPercent: 68 } });
    await rig.step(agent);
    rig.setNodeMemoryPercent(72); // release 4 % ≈ 0.64 GiB → one worker
    const fast = agent.fastCheck();
    expect(fast.triggered).toBe(true);
    expect(fast.issued.map((i) => i.record.containerId)).toEqual([a2.workers[1]]);
    await agent.settled();
    expect(agent.evictions[0]).toMatchObject({ containerId: a2.workers[1], method: 'rm:GRACEFUL_SHUTDOWN', outcome: 'stopped', escalated: false });
    expect(rig.yarn.cluster.container(a2.workers[1]!)?.state).toBe('EXITED_WITH_FAILURE');
    // Within the cool-down the fast watch does not evict again even though memory is still high.
    rig.setNodeMemoryPercent(72);
    expect(agent.fastCheck().issued).toHaveLength(0);
  });

  it('with real timers: the fast watch evicts without waiting for a tick', async () => {
    rig = await Rig.create();
    const { a2 } = await twoApps(rig);
    // A tick every 60 s: only the fast watch can act within the test.
    const agent = await rig.startAgent({ tickMillis: 60_000, fastWatchMillis: 20, rules: { memoryEvictThresholdPercent: 70, memoryEvictLowerPercent: 68 } }, { manual: false, clock: Date.now });
    await until(() => agent.latest() !== undefined, 'the first tick');
    const pid = rig.node.containerPid(a2.workers[1]!);
    rig.setNodeMemoryPercent(72);
    await until(() => !alive(pid), 'the newest worker to be evicted');
    expect(agent.evictions.map((e) => e.containerId)).toEqual([a2.workers[1]]);
    expect(rig.log.find(/fast memory watch acted before the tick/)).toHaveLength(1);
  });

  it('memory emergency kills at once (SIGKILL / cgroup.kill)', async () => {
    rig = await Rig.create({ layout: 'hybrid' });
    const { a2 } = await twoApps(rig);
    const agent = await rig.startAgent({ rules: { memoryEvictThresholdPercent: 70, memoryEvictLowerPercent: 68, memoryEmergencyPercent: 90 } });
    await rig.step(agent);
    rig.setNodeMemoryPercent(92); // release 24 % ≈ 3.84 GiB → four 1 GiB workers, newest first
    const t = await rig.step(agent);
    expect(t.issued.map((i) => i.record.mode)).toEqual(['immediate', 'immediate', 'immediate', 'immediate']);
    expect(t.issued[0]!.record.containerId).toBe(a2.workers[1]);
    await agent.settled();
    expect(agent.evictions.every((e) => e.outcome === 'stopped' && (e.method === 'cgroup.kill' || e.method === 'SIGKILL'))).toBe(true);
  });
});

describe('CPU suppression', () => {
  for (const layout of ['v1', 'v2'] as const) {
    it(`writes the YARN parent quota (${layout})`, async () => {
      rig = await Rig.create({ layout, node: { onlineLoad: { cpuMilli: 3000, memoryBytes: GiB, cacheBytes: 0 } } });
      await twoApps(rig);
      const agent = await rig.startAgent({ rules: { cpuSuppressThresholdPercent: 65 } });
      const first = await rig.step(agent);
      expect(first.rules).toEqual(['memory', 'psi']); // no CPU rates yet: no CPU decision
      expect(rig.node.readYarnCpuLimit()).toBeUndefined();
      const s = rig.node.snapshot();
      const second = await rig.step(agent);
      const limit = second.decision?.cpuLimit?.milli;
      // 65 % of 8000m − non-YARN (system 200m + online 3000m) = 2000m
      const expected = Math.floor(8000 * 0.65 - (s.cpuUsedMilli - s.yarnCpuMilli));
      expect(expected).toBe(2000);
      expect(limit).toBeDefined();
      expect(Math.abs(limit! - expected)).toBeLessThanOrEqual(20);
      const dir = rig.node.yarnCgroupDirs();
      const quotaUs = (limit! * 100_000) / 1000;
      if (layout === 'v1') {
        const cpuDir = dir.v1.get('cpu,cpuacct')!;
        expect(fs.readFileSync(path.join(cpuDir, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe(String(quotaUs));
        expect(fs.readFileSync(path.join(cpuDir, 'cpu.cfs_period_us'), 'utf8').trim()).toBe('100000');
      } else {
        expect(fs.readFileSync(path.join(dir.unified!, 'cpu.max'), 'utf8').trim()).toBe(`${quotaUs} 100000`);
      }
      expect(rig.node.readYarnCpuLimit()).toBe(limit);
      const line = rig.log.find(/^YARN parent CPU limit set$/);
      expect(line).toHaveLength(1);
      expect(line[0]).toMatchObject({ component: 'agent.cpu', limitMilli: limit, applied: true, dryRun: false });
      // Steady state: nothing is rewritten while the target does not move.
      await rig.step(agent);
      expect(rig.log.find(/^YARN parent CPU limit set$/)).toHaveLength(1);
    });
  }

  it('CPU eviction fires only once its window has enough samples', async () => {
    rig = await Rig.create({ node: { onlineLoad: { cpuMilli: 4000, memoryBytes: GiB, cacheBytes: 0 } } });
    const a = await rig.submit({ am: { memoryMiB: 1024, vcores: 1 }, containers: [{ count: 3, memoryMiB: 2048, vcores: 2 }] });
    for (const id of a.workers) rig.node.setContainerUsage(id, { memoryBytes: GiB, cacheBytes: 0, cpuMilli: 2000 });
    // The YARN parent is already suppressed to one core (as a previous agent left it).
    NodeCgroups.open({ ...rig.node.paths, filesystem: 'simulated' }).setYarnCpuLimit(milliCores(1000));
    const agent = await rig.startAgent({
      rules: {
        cpuSuppressThresholdPercent: 65,
        cpuEvictBESatisfactionLowerPercent: 40,
        cpuEvictBESatisfactionUpperPercent: 60,
        cpuEvictTimeWindowSeconds: 9, // needs ceil(9 / 3) = 3 samples
      },
    });
    await rig.step(agent); // first reading: no rates, no sample
    const held: string[] = [];
    for (let i = 0; i < 2; i++) {
      const t = await rig.step(agent);
      expect(t.issued).toHaveLength(0);
      held.push(...(t.decision?.held ?? []).filter((h) => h.rule === 'cpu-evict').map((h) => h.reason));
    }
    expect(held).toEqual(['window-not-filled', 'window-not-filled']);
    const t = await rig.step(agent);
    // satisfaction 1000 / 7000 ≈ 14 % ≤ 40 %, busy: release 7000 × (60 % − 14 %) ≈ 3200m → two 2-vcore workers, newest first
    expect(t.issued.map((i) => [i.record.containerId, i.record.reason])).toEqual([[a.workers[2], 'cpu'], [a.workers[1], 'cpu']]);
    await agent.settled();
    expect(alive(rig.node.containerPid(a.workers[0]!))).toBe(true);
    expect(alive(rig.node.containerPid(a.am))).toBe(true);
  });
});

describe('dry-run', () => {
  it('decides and logs, kills nothing and writes nothing', async () => {
    rig = await Rig.create({ layout: 'v1', node: { onlineLoad: { cpuMilli: 3000, memoryBytes: GiB, cacheBytes: 0 } } });
    const { a1, a2 } = await twoApps(rig);
    const agent = await rig.startAgent({ dryRun: true, rules: { memoryEvictThresholdPercent: 70, memoryEvictLowerPercent: 68 } });
    const quotaFile = path.join(rig.node.yarnCgroupDirs().v1.get('cpu,cpuacct')!, 'cpu.cfs_quota_us');
    const before = fs.readFileSync(quotaFile, 'utf8');
    await rig.step(agent);
    rig.setNodeMemoryPercent(93);
    const t = await rig.step(agent);
    expect(t.decision?.cpuLimit).toBeDefined();
    expect(t.issued.length).toBeGreaterThan(0);
    expect(t.issued.every((i) => i.record.outcome === 'would-evict' && i.record.dryRun)).toBe(true);
    expect(agent.fastCheck().triggered).toBe(true);
    await agent.settled();
    await new Promise((r) => setTimeout(r, 200));
    for (const id of [a1.am, a2.am, ...a1.workers, ...a2.workers]) expect(alive(rig.node.containerPid(id))).toBe(true);
    expect(fs.readFileSync(quotaFile, 'utf8')).toBe(before);
    expect(agent.evicting.size).toBe(0);
    expect(rig.log.find(/would evict YARN container/).length).toBeGreaterThan(0);
    expect(rig.log.find(/would set the YARN parent CPU limit/)).toHaveLength(1);
    expect(rig.log.find(/^evicting YARN container$/)).toHaveLength(0);
    expect(await agent.registry.metrics()).toMatch(/loom_agent_dry_run_evictions_total\{reason="memory",mode="immediate",node="node-a"\} \d+/);
    expect(rig.yarn.cluster.liveContainers(rig.nodeId)).toHaveLength(7);
    void MiB;
  });
});
