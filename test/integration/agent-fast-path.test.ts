/**
 * The fast watch's ready kill plan against a simulated node: refreshed by every tick, acted on
 * with no NodeManager call and no cgroup read beyond the victim's own proofs, shrunk when a proof
 * fails or a victim vanished; and the watch's period following the headroom on the injected clock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../clock/clock.js';
import { containerReadEvery, FAR_READ_EVERY, NM_LIST_EVERY } from '../../agent/agent.js';
import { CgroupPathError, HeldFiles, type KillResult, NodeCgroups } from '../../cgroup/index.js';
import { alive, GiB, Rig, socketRequest, until } from './agent-harness.js';

let rig: Rig | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await rig?.stop();
  rig = undefined;
});

/** Descriptors of this process open on files under `dir`. */
function openUnder(dir: string): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${dir}/`)) n++;
    } catch { /* closed meanwhile */ }
  }
  return n;
}

async function gauge(agent: { registry: import('prom-client').Registry }, name: string): Promise<number> {
  const m = await agent.registry.getSingleMetric(name)!.get();
  return m.values[0]!.value;
}

/** Two apps: app1 = AM + 3 workers, app2 = AM + 2 workers; each container at 1 GiB. */
async function twoApps(r: Rig) {
  const a1 = await r.submit({ am: { memoryMiB: 1024, vcores: 1 }, containers: [{ count: 3, memoryMiB: 2048, vcores: 1 }] });
  const a2 = await r.submit({ am: { memoryMiB: 1024, vcores: 1 }, containers: [{ count: 2, memoryMiB: 2048, vcores: 1 }] });
  for (const id of [a1.am, a2.am, ...a1.workers, ...a2.workers]) r.node.setContainerUsage(id, { memoryBytes: GiB, cacheBytes: 0, cpuMilli: 100 });
  r.node.render();
  return { a1, a2 };
}

const rules = { memoryEvictThresholdPercent: 70, memoryEvictLowerPercent: 68, memoryEvictCoolTimeSeconds: 0 };

/**
 * An agent far under the threshold between two container passes (its last tick reused the
 * containers). `reusedStep` runs one tick and says whether it reused them.
 */
async function betweenPasses(r: Rig) {
  const apps = await twoApps(r);
  const agent = await r.startAgent({ rules });
  for (let i = 0; i < 3; i++) await r.step(agent);
  const reusedStep = async (): Promise<boolean> => {
    const before = agent.latest()!.containers;
    await r.step(agent);
    return agent.latest()!.containers === before;
  };
  while (!(await reusedStep()));
  return { ...apps, agent, reusedStep };
}

/** The victim's kills go through `instead` (given the real kill); every other container's are the real ones. */
function killsOf(victim: string, instead: (real: () => Promise<KillResult>) => Promise<KillResult>): void {
  const kill = NodeCgroups.prototype.killContainer;
  vi.spyOn(NodeCgroups.prototype, 'killContainer').mockImplementation(function (this: NodeCgroups, target, opts) {
    return target === victim ? instead(() => kill.call(this, target, opts)) : kill.call(this, target, opts);
  });
}

describe('the kill plan', () => {
  it('is refreshed by every tick: every proven container in victim order (AMs last), with the directory a crossing checks', async () => {
    rig = await Rig.create({ cpuCores: 16 });
    const { a1, a2 } = await twoApps(rig);
    const agent = await rig.startAgent({ rules });
    expect(agent.plan.size).toBe(0);
    await rig.step(agent);
    expect(agent.plan.refreshes).toBe(1);
    expect(agent.plan.ids()).toEqual([a2.workers[1], a2.workers[0], a1.workers[2], a1.workers[1], a1.workers[0], a2.am, a1.am]);
    for (const id of agent.plan.ids()) expect(agent.plan.victim(id)!.dir).toBe(agent.latest()!.containers.find((c) => c.nm.id === id)!.cgroup!.memory!.dir);
    for (const id of agent.plan.ids()) expect(agent.plan.victim(id)!.dir.endsWith(`/${rig.node.paths.yarnCgroupPath}/${id}`)).toBe(true);

    // A new application: in the plan after the next tick, first (newest).
    const a3 = await rig.submit({ am: { memoryMiB: 1024, vcores: 1 }, containers: [{ count: 1, memoryMiB: 2048, vcores: 1 }] });
    rig.node.setContainerUsage(a3.workers[0]!, { memoryBytes: GiB, cacheBytes: 0, cpuMilli: 100 });
    expect(agent.plan.ids()).not.toContain(a3.workers[0]);
    await rig.step(agent);
    expect(agent.plan.refreshes).toBe(2);
    expect(agent.plan.ids()[0]).toBe(a3.workers[0]);
    expect(agent.plan.ids()).toHaveLength(9);
  });

  it('a crossing is acted on from the plan: no NodeManager call, no cgroup file read but the victim’s', async () => {
    rig = await Rig.create();
    const { a1, a2 } = await twoApps(rig);
    const agent = await rig.startAgent({ rules });
    await rig.step(agent);
    const victim = a2.workers[1]!;
    const pid = rig.node.containerPid(victim)!;
    const others = [a1.am, a2.am, ...a1.workers, a2.workers[0]!].map((id) => `${path.sep}${id}`);
    const counters = rig.yarn.cluster.counters;
    const nmCalls = (): number => counters.get('nm.info') + counters.get('nm.containers') + counters.get('nm.container');
    const before = nmCalls();
    rig.setNodeMemoryPercent(72); // release 4 % of 16 GiB ≈ 0.64 GiB → one container
    const opened: string[] = [];
    const open = fs.openSync;
    vi.spyOn(fs, 'openSync').mockImplementation(((p: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode) => {
      opened.push(String(p));
      return open(p, flags ?? 'r', mode);
    }) as typeof fs.openSync);
    const r = agent.fastCheck();
    vi.restoreAllMocks();
    expect(r.triggered).toBe(true);
    expect(r.issued.map((i) => i.record.containerId)).toEqual([victim]);
    expect(opened.filter((p) => others.some((o) => p.includes(o)))).toEqual([]);
    expect(opened.some((p) => p.includes(victim))).toBe(true); // its directories proven again by the kill
    await agent.settled();
    expect(alive(pid)).toBe(false);
    expect(nmCalls()).toBe(before);
  });

  it('a container whose proof fails at the kill leaves the plan at once; the next crossing takes the next victim', async () => {
    rig = await Rig.create();
    const { a2 } = await twoApps(rig);
    const agent = await rig.startAgent({ rules });
    await rig.step(agent);
    const [x, y] = [a2.workers[1]!, a2.workers[0]!];
    const xPid = rig.node.containerPid(x)!;
    // After the tick proved it, x's directory becomes a symlink to a copy elsewhere.
    const dir = path.join(rig.node.paths.cgroupRoot, rig.node.paths.yarnCgroupPath, x);
    const elsewhere = path.join(rig.tmp, 'elsewhere');
    fs.cpSync(dir, elsewhere, { recursive: true });
    fs.renameSync(dir, `${dir}.moved`);
    fs.symlinkSync(elsewhere, dir);
    rig.setNodeMemoryPercent(72);
    const first = agent.fastCheck();
    expect(first.issued.map((i) => i.record.containerId)).toEqual([x]);
    await agent.settled();
    expect(agent.evictions[0]).toMatchObject({ containerId: x, outcome: 'failed' });
    expect(agent.evictions[0]!.signalledPids).toEqual([]);
    expect(alive(xPid)).toBe(true);
    expect(agent.plan.ids()).not.toContain(x);
    const second = agent.fastCheck();
    expect(second.issued.map((i) => i.record.containerId)).toEqual([y]);
    await agent.settled();
    expect(alive(rig.node.containerPid(y))).toBe(false);
    expect(alive(xPid)).toBe(true);
  });

  it('a refused YARN parent empties the plan', async () => {
    rig = await Rig.create();
    const { a2 } = await twoApps(rig);
    const agent = await rig.startAgent({ rules });
    await rig.step(agent);
    const parent = path.join(rig.node.paths.cgroupRoot, rig.node.paths.yarnCgroupPath);
    const elsewhere = path.join(rig.tmp, 'elsewhere');
    fs.cpSync(parent, elsewhere, { recursive: true });
    fs.renameSync(parent, `${parent}.old`);
    fs.symlinkSync(elsewhere, parent);
    rig.setNodeMemoryPercent(72);
    expect(agent.fastCheck().issued.map((i) => i.record.containerId)).toEqual([a2.workers[1]]);
    await agent.settled();
    expect(agent.plan.size).toBe(0);
    expect(agent.fastCheck().issued).toEqual([]);
  });

  it('a victim that exited since the tick is dropped, not credited: the next one is taken', async () => {
    rig = await Rig.create();
    const { a2 } = await twoApps(rig);
    const agent = await rig.startAgent({ rules });
    await rig.step(agent);
    const [x, y] = [a2.workers[1]!, a2.workers[0]!];
    fs.rmSync(path.join(rig.node.paths.cgroupRoot, rig.node.paths.yarnCgroupPath, x), { recursive: true });
    rig.setNodeMemoryPercent(72);
    const r = agent.fastCheck();
    expect(r.issued.map((i) => i.record.containerId)).toEqual([y]);
    expect(agent.plan.ids()).not.toContain(x);
    await agent.settled();
    expect(alive(rig.node.containerPid(y))).toBe(false);
  });
});

describe('the fast watch on the injected clock', () => {
  it('looks seldom far under the threshold, often near it, and acts between ticks without the NodeManager', async () => {
    rig = await Rig.create();
    const { a2 } = await twoApps(rig);
    const clock = new ManualClock();
    // One tick (at start), then none for a minute: only the fast watch can act.
    const agent = await rig.startAgent({ tickMillis: 60_000, fastWatchMillis: 5, fastWatchMaxMillis: 100, fastWatchGrowthMibPerSecond: 2048, rules }, { manual: false, timers: clock });
    await clock.runDue();
    await until(() => agent.plan.refreshes === 1, 'the first tick');
    const counters = rig.yarn.cluster.counters;
    const nmCalls = counters.get('nm.containers');
    await clock.advance(5); // the first look
    // 16 GiB node, ~13 % used, threshold 70 %: ≈ 9 GiB of headroom ≫ 2 GiB/s × 100 ms → the longest period.
    expect(clock.nextDueIn()).toBe(100);
    // 69.9 %: 16 MiB of headroom at 2 GiB/s → 7 ms.
    rig.setNodeMemoryPercent(69.9);
    await clock.advance(100);
    expect(clock.nextDueIn()).toBeLessThanOrEqual(8);
    expect(clock.nextDueIn()).toBeGreaterThanOrEqual(5);
    const pid = rig.node.containerPid(a2.workers[1]!)!;
    rig.setNodeMemoryPercent(72);
    await clock.advance(8);
    expect(agent.evictions.map((e) => e.containerId)).toEqual([a2.workers[1]]);
    // The evictor's waits run on the same clock: drive it until the eviction has ended.
    let settled = false;
    void agent.settled().then(() => { settled = true; });
    while (!settled) await clock.advance(20);
    expect(alive(pid)).toBe(false);
    expect(agent.evictions[0]).toMatchObject({ outcome: 'stopped', method: 'SIGTERM' });
    expect(counters.get('nm.containers')).toBe(nmCalls);
    expect(rig.log.find(/fast memory watch acted before the tick/)).toHaveLength(1);
  });
});

describe('the tick reads less', () => {
  it("reads each container's files together once in FAR_READ_EVERY ticks far under the threshold, PSI included; near it its memory and CPU every tick and its PSI once in ten (avg10 is a 10 s average)", async () => {
    rig = await Rig.create();
    const { a1, a2 } = await twoApps(rig);
    const ids = [a1.am, a2.am, ...a1.workers, ...a2.workers];
    const agent = await rig.startAgent({ rules });
    await rig.step(agent); // first reads of everything
    const read: string[] = [];
    const readFile = HeldFiles.prototype.readFile;
    vi.spyOn(HeldFiles.prototype, 'readFile').mockImplementation(function (this: HeldFiles, file: string) {
      read.push(file);
      return readFile.call(this, file);
    });
    const ticks = async (n: number): Promise<Map<string, string[]>> => {
      read.length = 0;
      for (let i = 0; i < n; i++) await rig!.step(agent);
      return new Map(ids.map((id) => [id, read.filter((p) => p.includes(`/${id}/`))]));
    };
    const tenTicks = (): Promise<Map<string, string[]>> => ticks(10);
    // Far under the threshold (70 %): figures up to FAR_READ_EVERY ticks old decide nothing.
    const used = (): number => (agent.latest()!.node!.memoryUsed * 100) / agent.latest()!.node!.memoryTotal;
    expect(used()).toBeLessThan(60);
    expect(FAR_READ_EVERY).toBeGreaterThanOrEqual(10);
    for (const [, mine] of await ticks(FAR_READ_EVERY)) {
      expect(mine.filter((p) => p.endsWith('/memory.pressure'))).toHaveLength(1);
      expect(mine.filter((p) => p.endsWith('/io.pressure'))).toHaveLength(0); // no rule or metric uses it
      expect(mine.filter((p) => p.endsWith('/memory.current'))).toHaveLength(1);
      expect(mine.filter((p) => p.endsWith('/cpu.stat'))).toHaveLength(1);
    }
    expect(agent.latest()!.containers.every((c) => c.stats?.psi !== undefined && c.stats.cpuUsed !== undefined)).toBe(true);
    // Within 10 points of it: every tick.
    rig.setNodeMemoryPercent(62);
    await rig.step(agent);
    for (const [, mine] of await tenTicks()) {
      expect(mine.filter((p) => p.endsWith('/memory.pressure'))).toHaveLength(1);
      expect(mine.filter((p) => p.endsWith('/memory.current'))).toHaveLength(10);
      expect(mine.filter((p) => p.endsWith('/cpu.stat'))).toHaveLength(10);
    }
    vi.restoreAllMocks();
  });

  it('between two container passes far under the threshold, a tick reuses the containers as they are: no container file read, the plan not ordered again; a container cgroup appearing ends the reuse at once', async () => {
    rig = await Rig.create({ cpuCores: 16 });
    const { a1, a2 } = await twoApps(rig);
    const ids = [a1.am, a2.am, ...a1.workers, ...a2.workers];
    const agent = await rig.startAgent({ rules });
    await rig.step(agent);
    await rig.step(agent); // the NodeManager's list is steady from here
    const read: string[] = [];
    const readFile = HeldFiles.prototype.readFile;
    vi.spyOn(HeldFiles.prototype, 'readFile').mockImplementation(function (this: HeldFiles, file: string) {
      read.push(file);
      return readFile.call(this, file);
    });
    const ticks: { containerReads: number; reused: boolean; rebuilt: boolean; yarnRead: boolean }[] = [];
    const tick = async (): Promise<void> => {
      read.length = 0;
      const before = agent.latest()!.containers;
      const rebuilds = agent.plan.rebuilds;
      await rig!.step(agent);
      ticks.push({
        containerReads: read.filter((p) => ids.some((id) => p.includes(`/${id}/`))).length,
        reused: agent.latest()!.containers === before,
        rebuilt: agent.plan.rebuilds > rebuilds,
        yarnRead: read.some((p) => p.endsWith('/hadoop-yarn/cpu.stat')),
      });
    };
    for (let i = 0; i < 2 * FAR_READ_EVERY; i++) await tick();
    const passes = ticks.filter((t) => t.containerReads > 0);
    expect(passes).toHaveLength(2);
    // A pass reads every container's memory and CPU (and PSI) together.
    for (const p of passes) expect(p.containerReads).toBe(ids.length * 5);
    for (const t of ticks) {
      expect(t.reused).toBe(t.containerReads === 0);
      expect(t.rebuilt).toBe(!t.reused);
      expect(t.yarnRead).toBe(true); // the YARN parent (CPU suppression) every tick
    }
    expect(agent.plan.ids()).toHaveLength(ids.length);

    // A new container's cgroup appears between two passes: the very next tick is a pass of its own.
    while (ticks.at(-1)!.containerReads > 0) await tick();
    const a3 = await rig.submit({ am: { memoryMiB: 512, vcores: 1 }, containers: [{ count: 1, memoryMiB: 512, vcores: 1 }] });
    rig.node.setContainerUsage(a3.workers[0]!, { memoryBytes: GiB, cacheBytes: 0, cpuMilli: 100 });
    rig.node.render();
    await tick();
    expect(ticks.at(-1)!.reused).toBe(false);
    expect(agent.plan.ids()[0]).toBe(a3.workers[0]);

    // Near the threshold every tick reads every container.
    rig.setNodeMemoryPercent(62);
    await rig.step(agent);
    for (let i = 0; i < 3; i++) await tick();
    for (const t of ticks.slice(-3)) expect(t.reused).toBe(false);
    vi.restoreAllMocks();
  });

  it('a kill refused by a proof between two passes ends the reuse: the next tick has the container unproven, never back from the reused list, until a fresh proof', async () => {
    rig = await Rig.create({ cpuCores: 16 });
    const { a1, agent, reusedStep } = await betweenPasses(rig);
    const victim = a1.workers[0]!;
    killsOf(victim, () => Promise.reject(new CgroupPathError('escapes-yarn-parent', `/yarn/${victim}`, 'is a symlink (symlink in the YARN hierarchy)')));
    await socketRequest(agent.socketPath, 'POST', '/v1/killContainer', JSON.stringify({ containerID: victim }));
    await until(() => !agent.plan.ids().includes(victim), 'the refusal handled (the victim out of the plan)');
    vi.restoreAllMocks();
    const proven = (): boolean => agent.latest()!.containers.find((c) => c.nm.id === victim)!.stats !== undefined;
    expect(proven()).toBe(false); // invalidated at once
    // The next tick is no reuse of the list from before the refusal: it proves the container afresh
    // (its directory is fine: the refusal was the mock's), and only then is it planned again.
    expect(await reusedStep()).toBe(false);
    expect(proven()).toBe(true);
    expect(agent.plan.ids()).toContain(victim);
    expect(await reusedStep()).toBe(true);
  });

  it('an eviction in flight across ticks that reuse the containers: the candidates carry its mark and the plan is ordered again with it', async () => {
    rig = await Rig.create({ cpuCores: 16 });
    const { a1, agent, reusedStep } = await betweenPasses(rig);
    const victim = a1.workers[1]!;
    // The victim's kill stays in flight until released.
    let release: (() => void) | undefined;
    killsOf(victim, (real) => new Promise((resolve, reject) => { release = () => real().then(resolve, reject); }));
    await socketRequest(agent.socketPath, 'POST', '/v1/killContainer', JSON.stringify({ containerID: victim }));
    await until(() => release !== undefined && agent.evicting.has(victim), 'the eviction in flight');
    const rebuilds = agent.plan.rebuilds;
    expect(await reusedStep()).toBe(true); // the collection is reused …
    expect(agent.plan.rebuilds).toBe(rebuilds + 1); // … the plan is not: it carries the mark
    expect(agent.plan.victim(victim)!.snapshot.evicting).toBe(true);
    expect(await reusedStep()).toBe(true);
    expect(agent.plan.victim(victim)!.snapshot.evicting).toBe(true);
    release!();
    await agent.settled();
    vi.restoreAllMocks();
  });

  it('lists the NodeManager once in five ticks far under the threshold while nothing changes; at once when a container cgroup appears or goes; every tick near the threshold', async () => {
    rig = await Rig.create({ cpuCores: 16 });
    const { a1 } = await twoApps(rig);
    const agent = await rig.startAgent({ rules });
    const counters = rig.yarn.cluster.counters;
    const lists = (): number => counters.get('nm.containers');
    await rig.step(agent);
    await rig.step(agent); // a second list, the same as the first: the list is steady
    const steady = lists();
    for (let i = 0; i < 10; i++) await rig.step(agent);
    expect(NM_LIST_EVERY).toBe(5);
    expect(lists() - steady).toBe(2);
    expect(agent.latest()!.nmUp).toBe(true);
    expect(agent.plan.ids()).toHaveLength(7);

    // A new container's cgroup appears: the very next tick lists the NodeManager and plans it.
    const a3 = await rig.submit({ am: { memoryMiB: 512, vcores: 1 }, containers: [{ count: 1, memoryMiB: 512, vcores: 1 }] });
    rig.node.setContainerUsage(a3.workers[0]!, { memoryBytes: GiB, cacheBytes: 0, cpuMilli: 100 });
    rig.node.render();
    let before = lists();
    await rig.step(agent);
    expect(lists()).toBe(before + 1);
    expect(agent.plan.ids()[0]).toBe(a3.workers[0]);

    // A container goes (its cgroup removed): listed at once, it leaves the plan, no warning about it.
    for (let i = 0; i < 2; i++) await rig.step(agent);
    const gone = a1.workers[0]!;
    process.kill(rig.node.containerPid(gone)!, 'SIGKILL');
    await until(() => !rig!.yarn.cluster.liveContainers(rig!.nodeId).some((c) => c.id === gone), 'the NM to forget the killed container');
    rig.sync();
    before = lists();
    await rig.step(agent);
    expect(lists()).toBe(before + 1);
    expect(agent.plan.ids()).not.toContain(gone);
    expect(rig.log.find(/cannot be proven/)).toHaveLength(0);

    // Within 10 points of the threshold: every tick.
    rig.setNodeMemoryPercent(62);
    await rig.step(agent);
    before = lists();
    for (let i = 0; i < 5; i++) await rig.step(agent);
    expect(lists()).toBe(before + 5);
  });

  it('container figures are read every tick whenever a rule may need them (pure)', () => {
    const node = (percent: number) => ({ memoryUsed: percent * GiB, memoryTotal: 100 * GiB });
    const config = { memoryEvictThresholdPercent: 70 };
    expect(containerReadEvery(node(59.9), config)).toBe(FAR_READ_EVERY);
    expect(containerReadEvery(node(60), config)).toBe(1);
    expect(containerReadEvery(node(95), config)).toBe(1);
    expect(containerReadEvery(undefined, config)).toBe(1);
    expect(containerReadEvery({ memoryUsed: 0, memoryTotal: 0 }, config)).toBe(1);
    expect(containerReadEvery(node(10), { ...config, cpuEvictBESatisfactionLowerPercent: 30 })).toBe(1);
    expect(containerReadEvery(node(10), { ...config, psiEvictThreshold: 40 })).toBe(1); // PSI eviction picks by working set at any memory level
  });

  it('keeps the files it reads open between ticks: a file is opened again only when replaced, closed when its container leaves', async () => {
    rig = await Rig.create();
    const { a1, a2 } = await twoApps(rig);
    const ids = [a1.am, a2.am, ...a1.workers, ...a2.workers];
    const agent = await rig.startAgent({ rules });
    for (let i = 0; i < 10; i++) await rig.step(agent); // every PSI file read once
    const held = (): Promise<number> => gauge(agent, 'loom_agent_cgroup_files_held');
    // 7 containers × 5 files (memory.current, memory.stat, cpu.stat, memory and cpu PSI), the YARN parent's and the node's.
    const before = await held();
    expect(before).toBeGreaterThanOrEqual(ids.length * 5);
    const opened: string[] = [];
    const open = fs.openSync;
    vi.spyOn(fs, 'openSync').mockImplementation(((p: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode) => {
      opened.push(String(p));
      return open(p, flags ?? 'r', mode);
    }) as typeof fs.openSync);
    // The simulator rewrites a file by rename only when its content changes: memory is steady here.
    for (let i = 0; i < 3; i++) await rig.step(agent);
    vi.restoreAllMocks();
    for (const id of ids) {
      expect(opened.filter((p) => p.endsWith(`/${id}/memory.current`) || p.endsWith(`/${id}/memory.stat`))).toEqual([]);
    }
    // A container that changes its memory has its file replaced: read afresh, the new content seen.
    rig.node.setContainerUsage(a1.workers[0]!, { memoryBytes: 3 * GiB, cacheBytes: 0, cpuMilli: 100 });
    for (let i = 0; i < FAR_READ_EVERY; i++) await rig.step(agent); // far under the threshold: read within FAR_READ_EVERY ticks
    expect(agent.latest()!.containers.find((c) => c.nm.id === a1.workers[0])!.stats!.memoryWorkingSet).toBe(3 * GiB);
    // A container that leaves: its five descriptors are closed.
    const leaving = a2.workers[0]!;
    expect(openUnder(path.join(rig.node.paths.cgroupRoot, rig.node.paths.yarnCgroupPath, leaving))).toBe(5);
    rig.yarn.cluster.containerExited(leaving, 0);
    await rig.step(agent);
    expect(agent.latest()!.containers.map((c) => c.nm.id)).not.toContain(leaving);
    expect(await held()).toBe(before - 5);
    expect(openUnder(path.join(rig.node.paths.cgroupRoot, rig.node.paths.yarnCgroupPath, leaving))).toBe(0);
    // The agent stops: every descriptor under the node's trees is closed.
    expect(openUnder(rig.tmp)).toBeGreaterThan(0);
    await agent.stop();
    expect(openUnder(rig.tmp)).toBe(0);
  });
});
