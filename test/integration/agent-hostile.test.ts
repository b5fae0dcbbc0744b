/**
 * Hostile input: a NodeManager (a real loopback HTTP server serving crafted JSON) that lists ids
 * with `../`, containers of another node, a container whose cgroup dir is a symlink pointing
 * outside, one whose cgroup files are garbage, one with no cgroup; garbage in /proc; an NM that
 * goes down. The agent must never kill outside a proven container, and must say why in the log.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AgentHandle } from '../../agent/agent.js';
import { startAgent } from '../../agent/agent.js';
import { alive, BASE_MS, GiB, MiB, socketRequest, until } from './agent-harness.js';
import { useFakeNmNode, YARN_PARENT as YARN } from './fake-nm-node.js';

const NODE_ID = 'node-a:45454';
const cid = (n: number): string => `container_1700000000000_0001_01_${String(n).padStart(6, '0')}`;
const GOOD = cid(2);
const FOREIGN = cid(3);
const SYMLINKED = cid(4);
const GARBAGE = cid(5);
const MISSING = cid(7);
const GOOD2 = cid(8);

const rig = useFakeNmNode('loom-agent-hostile-');
const children: ChildProcess[] = [];
rig.onTeardown(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** A process with the same command line as the simulated containers, outside any container cgroup. */
function lookalike(): number {
  const c = spawn('cat', [], { stdio: ['pipe', 'ignore', 'ignore'] });
  children.push(c);
  return c.pid!;
}

function yarnDir(id: string): string {
  return path.join(rig.node.paths.cgroupRoot, YARN, id);
}

/** Fake `/proc/<pid>/cgroup` claiming membership of a container: maximally tempting. */
function claimMembership(pid: number, id: string): void {
  const dir = path.join(rig.node.paths.procRoot, String(pid));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'cgroup'), `0::/${YARN}/${id}\n`);
}

function plausibleCgroupFiles(dir: string, pid: number): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'cgroup.procs'), `${pid}\n`);
  fs.writeFileSync(path.join(dir, 'memory.current'), `${4 * GiB}\n`);
  fs.writeFileSync(path.join(dir, 'memory.stat'), 'anon 4294967296\nfile 0\ninactive_file 0\nactive_file 0\n');
  fs.writeFileSync(path.join(dir, 'cpu.stat'), 'usage_usec 1000\nuser_usec 500\nsystem_usec 500\n');
  fs.writeFileSync(path.join(dir, 'cgroup.kill'), '');
}

async function start(rules: Record<string, number | string> = {}): Promise<AgentHandle> {
  const a = await startAgent({
    nodeName: 'node-a', nmUrl: `http://127.0.0.1:${rig.nm.port}`, rmUrls: [],
    cgroupRoot: rig.node.paths.cgroupRoot, procRoot: rig.node.paths.procRoot, simulatedCgroups: true, yarnCgroupPath: YARN,
    socket: path.join(rig.tmp, 'copilot.sock'), socketMode: 0o600, metricsAddr: '', dryRun: false,
    tickMillis: 1000, fastWatchMillis: 100,
    rules: { memoryEvictThresholdPercent: 70, gracePeriodSeconds: 1, ...rules },
  }, { logger: rig.log.logger, clock: () => BASE_MS + rig.node.now(), manual: true, killDeadlineMs: 2000 });
  rig.agent = a;
  return a;
}

function setMemoryPercent(percent: number): void {
  rig.node.setMemorySpike(0);
  const s = rig.node.snapshot();
  rig.node.setMemorySpike(Math.max(0, (s.memoryTotalBytes * percent) / 100 - s.memoryUsedBytes + 2 * MiB));
  rig.node.render();
}

describe('hostile NodeManager and node files', () => {
  it('kills only the proven container; every refusal is logged once', async () => {
    rig.node.syncContainers([
      { id: GOOD, memoryMiB: 2048, vcores: 1 },
      { id: FOREIGN, memoryMiB: 2048, vcores: 1 },
    ]);
    rig.node.setContainerUsage(GOOD, { memoryBytes: GiB, cacheBytes: 0 });
    rig.node.setContainerUsage(FOREIGN, { memoryBytes: 4 * GiB, cacheBytes: 0 });
    rig.node.render();
    // Symlinked container dir → a directory outside the hierarchy holding a look-alike process.
    const l1 = lookalike();
    const outside = path.join(rig.tmp, 'outside', SYMLINKED);
    plausibleCgroupFiles(outside, l1);
    fs.symlinkSync(outside, yarnDir(SYMLINKED));
    claimMembership(l1, SYMLINKED);
    // A real directory whose files are garbage, listing another look-alike.
    const l2 = lookalike();
    plausibleCgroupFiles(yarnDir(GARBAGE), l2);
    fs.writeFileSync(path.join(yarnDir(GARBAGE), 'memory.current'), 'lots\n');
    fs.writeFileSync(path.join(yarnDir(GARBAGE), 'memory.stat'), 'inactive_file -5\n\0\0garbage');
    claimMembership(l2, GARBAGE);
    rig.nm.entries = [
      { id: GOOD, nodeId: NODE_ID },
      { id: FOREIGN, nodeId: 'node-b:45454' },
      { id: SYMLINKED, nodeId: NODE_ID },
      { id: GARBAGE, nodeId: NODE_ID },
      { id: MISSING, nodeId: NODE_ID },
      { id: `${cid(6)}/../../../../etc`, nodeId: NODE_ID },
      { id: '../../kubepods', nodeId: NODE_ID },
    ];
    const a = await start();
    for (let i = 0; i < 3; i++) {
      rig.node.step(1000);
      await a.tick();
    }
    const col = a.latest()!;
    expect(col.containers.filter((c) => c.stats).map((c) => c.nm.id)).toEqual([GOOD]);
    expect(col.containers.map((c) => c.nm.id).sort()).toEqual([GARBAGE, GOOD, MISSING, SYMLINKED].sort());

    // Each refusal: one clear line, not one per tick.
    const refused = rig.log.find(/NodeManager listed a container entry Loom refuses/);
    expect(refused).toHaveLength(2);
    const foreign = rig.log.find(/container of another node/);
    expect(foreign).toHaveLength(1);
    expect(foreign[0]).toMatchObject({ container: FOREIGN, containerNodeId: 'node-b:45454', nodeId: NODE_ID });
    const unproven = rig.log.find(/cannot be proven from its cgroup/);
    expect(unproven.map((l) => l.container).sort()).toEqual([GARBAGE, MISSING, SYMLINKED].sort());
    expect(String(unproven.find((l) => l.container === SYMLINKED)!.problem)).toMatch(/outside|symlink/);
    expect(String(unproven.find((l) => l.container === GARBAGE)!.problem)).toMatch(/unreadable/);
    expect(String(unproven.find((l) => l.container === MISSING)!.problem)).toMatch(/no cgroup directory/);

    // The API refuses them too.
    for (const id of [SYMLINKED, GARBAGE, MISSING]) {
      const r = await socketRequest(a.socketPath, 'POST', '/v1/killContainer', JSON.stringify({ containerID: id }));
      expect(r.status).toBe(400);
      expect((r.json as { error: string }).error).toMatch(/cannot be proven/);
    }
    expect((await socketRequest(a.socketPath, 'POST', '/v1/killContainer', JSON.stringify({ containerID: FOREIGN }))).status).toBe(400);

    // Memory emergency: everything evictable goes, which is only the proven container.
    setMemoryPercent(95);
    const goodPid = rig.node.containerPid(GOOD);
    const foreignPid = rig.node.containerPid(FOREIGN);
    const t = await a.tick();
    expect(t.issued.map((i) => [i.record.containerId, i.record.mode])).toEqual([[GOOD, 'immediate']]);
    await a.settled();
    await until(() => !alive(goodPid), 'the proven container to die');
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(foreignPid)).toBe(true);
    expect(alive(l1)).toBe(true);
    expect(alive(l2)).toBe(true);
    expect(fs.readFileSync(path.join(outside, 'cgroup.kill'), 'utf8')).toBe('');
    expect(fs.readFileSync(path.join(yarnDir(GARBAGE), 'cgroup.kill'), 'utf8')).toBe('');
    expect(rig.log.find(/rules decided evictions/).length).toBe(1);
  });

  it('garbage /proc/meminfo: no decision, one clear line; NM down: logged once, protection continues on proven containers', async () => {
    rig.node.syncContainers([{ id: GOOD, memoryMiB: 2048, vcores: 1 }, { id: GOOD2, memoryMiB: 2048, vcores: 1 }, { id: FOREIGN, memoryMiB: 2048, vcores: 1 }]);
    for (const id of [GOOD, GOOD2, FOREIGN]) rig.node.setContainerUsage(id, { memoryBytes: GiB, cacheBytes: 0 });
    rig.node.render();
    rig.nm.entries = [{ id: GOOD, nodeId: NODE_ID }, { id: GOOD2, nodeId: NODE_ID }, { id: FOREIGN, nodeId: 'node-b:45454' }];
    const a = await start({ memoryEvictLowerPercent: 68 });
    rig.node.step(1000);
    await a.tick();

    const meminfo = path.join(rig.node.paths.procRoot, 'meminfo');
    const good = fs.readFileSync(meminfo, 'utf8');
    fs.writeFileSync(meminfo, 'MemTotal: lots kB\nMemAvailable: -1 kB\n');
    for (let i = 0; i < 3; i++) expect((await a.tick()).decision).toBeUndefined();
    expect(a.fastCheck()).toMatchObject({ triggered: false, issued: [] });
    expect(rig.log.find(/^cannot read node memory/)).toHaveLength(1);
    expect(rig.log.find(/fast memory watch cannot read node memory/)).toHaveLength(1);
    fs.writeFileSync(meminfo, good);

    await rig.nm.stop();
    for (let i = 0; i < 3; i++) {
      rig.node.step(1000);
      const t = await a.tick();
      expect(t.collection.nmUp).toBe(false);
    }
    const down = rig.log.find(/NodeManager unreachable/);
    expect(down).toHaveLength(1);
    expect(down[0]).toMatchObject({ lastKnownContainers: 2 });
    // Memory pressure while the NM is down: the last known, still proven containers protect the node.
    setMemoryPercent(72); // release ≈ 4 % of 16 GiB ≈ 0.64 GiB → one container (newest id: GOOD2)
    const fast = a.fastCheck();
    expect(fast.issued.map((i) => i.record.containerId)).toEqual([GOOD2]);
    await a.settled();
    expect(alive(rig.node.containerPid(GOOD2))).toBe(false);
    expect(alive(rig.node.containerPid(GOOD))).toBe(true);
    expect(alive(rig.node.containerPid(FOREIGN))).toBe(true);
    // Its cgroup vanished: it is no longer "last known".
    await a.tick();
    expect(a.latest()!.containers.map((c) => c.nm.id)).toEqual([GOOD]);

    rig.nm.entries = [{ id: GOOD, nodeId: NODE_ID }];
    await rig.nm.start();
    const back = await a.tick();
    expect(back.collection.nmUp).toBe(true);
    expect(rig.log.find(/NodeManager reachable again/)).toHaveLength(1);
  });
});
