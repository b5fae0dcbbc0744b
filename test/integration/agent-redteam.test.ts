/**
 * Red team on the simulated node: the agent against a NodeManager and a filesystem that lie,
 * flood and block. Each scenario asserts exactly which processes die and that `/healthz` stays
 * under a second. (The same on real cgroups — bind mounts, the agent inside a container cgroup,
 * a symlinked cgroup.kill into a real cgroup — is test/cgroup/agent-redteam-real.test.ts.)
 *
 * - `loom agent` as a child process with the documented heap (`--max-old-space-size=96`): a
 *   container whose `memory.stat` is a FIFO, 50,000 valid entries, then 50,000 foreign entries
 *   and 50,000 invalid ids, then a 200 MB body. The agent stays alive, answers `/healthz` fast,
 *   and the fast watch still evicts the right container each time.
 * - In process: pid 1 listed in a container (never signalled, no `cgroup.kill`), and a YARN parent
 *   that turns into a symlink at runtime (one failed eviction, one Event, then the container is
 *   no candidate any more).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AgentHandle, startAgent } from '../../agent/agent.js';
import type { EventSink } from '../../kube/events.js';
import { SimulatedNode } from '../../sim/node/index.js';
import { AgentChild, HealthMonitor } from './agent-child.js';
import { alive, BASE_MS, GiB, LogCapture, MiB } from './agent-harness.js';
import { FakeNm, type NmEntry, nmEntryJson } from './fake-nm.js';

const YARN = 'kubepods/besteffort/hadoop-yarn';
const cid = (app: number, n: number): string => `container_1700000000000_${String(app).padStart(4, '0')}_01_${String(n).padStart(6, '0')}`;

function newNode(dir: string): SimulatedNode {
  return SimulatedNode.create({
    name: 'node-a', dir, layout: 'v2', driver: 'cgroupfs', cpuCores: 4, memoryBytes: 16 * GiB,
    systemLoad: { cpuMilli: 100, memoryBytes: 512 * MiB, cacheBytes: 0 },
    onlineLoad: { cpuMilli: 500, memoryBytes: GiB, cacheBytes: 0 },
  });
}

function setMemoryPercent(node: SimulatedNode, percent: number): void {
  node.setMemorySpike(0);
  const s = node.snapshot();
  node.setMemorySpike(Math.max(0, (s.memoryTotalBytes * percent) / 100 - s.memoryUsedBytes + 2 * MiB));
  node.render();
}

/** A process that looks like a container's, outside every container cgroup. */
function lookalike(children: ChildProcess[]): number {
  const c = spawn('cat', [], { stdio: ['pipe', 'ignore', 'ignore'] });
  children.push(c);
  return c.pid!;
}

/** Filler entries of this node without any cgroup (never proven, full NM entries), or of another node, or with invalid ids (id and node only). */
function filler(kind: 'valid' | 'foreign' | 'invalid', n: number, app: number): NmEntry[] {
  return Array.from({ length: n }, (_, i) => {
    const id = cid(app + Math.floor(i / 900_000), 100_000 + (i % 900_000));
    if (kind === 'foreign') return { id, nodeId: `other-${i % 50}:45454`, minimal: true };
    if (kind === 'invalid') return { id: `${id}/../../../x${i}`, minimal: true };
    return { id };
  });
}

describe('red team: a hostile NodeManager and node files, against the agent process (simulated node)', () => {
  let tmp: string;
  let node: SimulatedNode;
  let nm: FakeNm;
  let agent: AgentChild;
  const children: ChildProcess[] = [];
  const A = cid(1, 2); // memory.stat is a FIFO
  const B = cid(1, 3);
  const C = cid(1, 4);
  const D = cid(1, 5);
  let aLook: number;
  const decoys: number[] = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-redteam-'));
    node = newNode(tmp);
    node.syncContainers([B, C, D].map((id) => ({ id, memoryMiB: 2048, vcores: 1 })));
    node.setContainerUsage(B, { memoryBytes: 1536 * MiB, cacheBytes: 0 });
    node.setContainerUsage(C, { memoryBytes: 1024 * MiB, cacheBytes: 0 });
    node.setContainerUsage(D, { memoryBytes: 512 * MiB, cacheBytes: 0 });
    node.render();
    // A: a real directory of the YARN hierarchy, listing a look-alike, whose memory.stat is a FIFO.
    aLook = lookalike(children);
    const aDir = path.join(node.paths.cgroupRoot, YARN, A);
    fs.mkdirSync(aDir);
    fs.writeFileSync(path.join(aDir, 'cgroup.procs'), `${aLook}\n`);
    fs.writeFileSync(path.join(aDir, 'memory.current'), `${4 * GiB}\n`);
    fs.writeFileSync(path.join(aDir, 'cpu.stat'), 'usage_usec 1000\nuser_usec 500\nsystem_usec 500\n');
    fs.writeFileSync(path.join(aDir, 'cgroup.kill'), '');
    expect(spawnSync('mkfifo', [path.join(aDir, 'memory.stat')]).status).toBe(0);
    fs.mkdirSync(path.join(node.paths.procRoot, String(aLook)), { recursive: true });
    fs.writeFileSync(path.join(node.paths.procRoot, String(aLook), 'cgroup'), `0::/${YARN}/${A}\n`);
    for (let i = 0; i < 2; i++) decoys.push(lookalike(children));

    nm = new FakeNm();
    nm.entries = [{ id: A }, { id: B }, { id: C }, { id: D }, ...filler('valid', 50_000, 2)];
    nm.render();
    await nm.start();
    agent = new AgentChild({
      args: [
        '--node-name', 'node-a', '--nm-url', nm.url, '--cgroup-root', node.paths.cgroupRoot, '--proc-root', node.paths.procRoot,
        '--simulated-cgroups', '--yarn-cgroup-path', YARN, '--socket', path.join(tmp, 'copilot.sock'), '--metrics-addr', '127.0.0.1:0',
        '--tick-millis', '1000', '--fast-watch-millis', '100', '--nm-max-body-bytes', String(64 * 2 ** 20),
        '--memory-evict-threshold-percent', '70', '--memory-evict-lower-percent', '69.9', '--memory-evict-cool-time-seconds', '1',
        '--grace-period-seconds', '1', '--victim-order', 'largest-memory',
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await nm?.stop();
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await node?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Raise node memory until the fast watch evicts `victim`; returns when its process is gone. */
  /**
   * Raise node memory until `victim` is evicted; returns the reaction time (from the new
   * meminfo to the agent's "evicting" line, both on this machine's wall clock).
   */
  async function pressureEvicts(victim: string): Promise<number> {
    const pid = node.containerPid(victim)!;
    const since = agent.mark;
    setMemoryPercent(node, 72);
    const pressedAt = Date.now();
    const evicting = await agent.waitFor(/^evicting YARN container$/, 'an eviction', () => true, 40_000, since);
    setMemoryPercent(node, 40);
    expect(evicting.container).toBe(victim);
    await agent.waitFor(/^YARN container stopped$/, `${victim} stopped`, (l) => l.container === victim, 40_000, since);
    expect(alive(pid)).toBe(false);
    return Date.parse(String(evicting.time)) - pressedAt;
  }

  it('50,000 valid entries and a FIFO memory.stat: bounded work, the FIFO container refused, the fast watch evicts the largest proven one', async () => {
    const health = new HealthMonitor(await agent.metricsUrl());
    await agent.waitFor(/more containers of this node than --max-containers/, 'the over-cap report', (l) => l.overCap === 49_004, 40_000);
    const refused = await agent.waitFor(/cannot be proven from its cgroup/, 'A refused', (l) => l.container === A, 40_000);
    expect(String(refused.problem)).toMatch(/memory\.stat.*not a regular file/);
    await agent.moreTicks(1);
    expect(await agent.metric('loom_agent_nodemanager_entries_ignored', { reason: 'over-cap' })).toBe(49_004);
    expect(await agent.metric('loom_agent_containers', { state: 'proven' })).toBe(3);

    // The fast watch (100 ms) acts within a tick (1 s) of the pressure while 50,000 entries are handled.
    expect(await pressureEvicts(B)).toBeLessThan(1000);
    for (const id of [C, D]) expect(alive(node.containerPid(id))).toBe(true);
    for (const pid of [aLook, ...decoys]) expect(alive(pid)).toBe(true);
    const h = await health.stop();
    expect(h.count).toBeGreaterThan(5);
    expect(h.maxMs).toBeLessThan(1000);
    expect(agent.alive).toBe(true);
  }, 120_000);

  it('50,000 foreign entries and 50,000 invalid ids: counted, a few logged, the right container still evicted', async () => {
    nm.entries = [...filler('foreign', 50_000, 3), { id: C }, ...filler('invalid', 50_000, 4), { id: D }];
    nm.render();
    const health = new HealthMonitor(await agent.metricsUrl());
    const since = agent.mark;
    await agent.waitFor(/more containers of other nodes than are logged one by one/, 'the foreign count', (l) => l.count === 50_000, 40_000, since);
    await agent.waitFor(/more container entries Loom refuses than are logged one by one/, 'the rejected count', (l) => l.count === 50_000, 40_000, since);
    await agent.moreTicks(1);
    expect(agent.find(/NodeManager listed a container of another node/).length).toBeLessThanOrEqual(5);
    expect(await agent.metric('loom_agent_nodemanager_entries_ignored', { reason: 'foreign' })).toBe(50_000);
    expect(await agent.metric('loom_agent_nodemanager_entries_ignored', { reason: 'rejected' })).toBe(50_000);
    await pressureEvicts(C);
    expect(alive(node.containerPid(D))).toBe(true);
    for (const pid of [aLook, ...decoys]) expect(alive(pid)).toBe(true);
    const h = await health.stop();
    expect(h.maxMs).toBeLessThan(1000);
    expect(agent.alive).toBe(true);
  }, 120_000);

  it('a 200 MB body is refused as it streams in; protection continues with the last proven containers', async () => {
    const health = new HealthMonitor(await agent.metricsUrl());
    const since = agent.mark;
    const entry = Buffer.from(`${JSON.stringify(nmEntryJson({ id: cid(9, 2) }))},`.repeat(256));
    nm.streamContainers = (res: http.ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"containers":{"container":[');
      let sent = 0;
      const pump = (): void => {
        while (sent < 200 * 2 ** 20) {
          sent += entry.length;
          if (!res.write(entry)) { res.once('drain', pump); return; }
        }
        res.end('{}]}}');
      };
      res.on('error', () => undefined);
      pump();
    };
    // Refused while it streams in: past the size limit, or past the request timeout, whichever comes first.
    const down = await agent.waitFor(/NodeManager unreachable/, 'the refused body', () => true, 40_000, since);
    expect(String(down.err)).toMatch(/larger than 67108864 bytes|no answer within/);
    await pressureEvicts(D);
    for (const pid of [aLook, ...decoys]) expect(alive(pid)).toBe(true);
    const h = await health.stop();
    expect(h.maxMs).toBeLessThan(1000);
    expect(agent.alive).toBe(true);
    await agent.stop();
    expect((await agent.exited).code).toBe(0);
  }, 120_000);
});

describe('red team in process: pid 1 in a container, a YARN parent that turns into a symlink', () => {
  let tmp: string;
  let node: SimulatedNode;
  let nm: FakeNm;
  let agent: AgentHandle | undefined;
  let log: LogCapture;
  const posted: { reason: string; message: string }[] = [];
  const events: EventSink = { post: (e) => { posted.push({ reason: e.reason, message: e.message }); } } as EventSink;

  afterEach(async () => {
    vi.restoreAllMocks();
    await agent?.stop();
    agent = undefined;
    await nm?.stop();
    await node?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
    posted.length = 0;
  });

  async function setup(ids: string[], rules: Record<string, number> = {}): Promise<AgentHandle> {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-redteam-in-'));
    node = newNode(tmp);
    node.syncContainers(ids.map((id) => ({ id, memoryMiB: 2048, vcores: 1 })));
    for (const id of ids) node.setContainerUsage(id, { memoryBytes: GiB, cacheBytes: 0 });
    node.render();
    nm = new FakeNm();
    nm.entries = ids.map((id) => ({ id }));
    await nm.start();
    log = new LogCapture();
    agent = await startAgent({
      nodeName: 'node-a', nmUrl: nm.url, rmUrls: [], cgroupRoot: node.paths.cgroupRoot, procRoot: node.paths.procRoot,
      simulatedCgroups: true, yarnCgroupPath: YARN, socket: path.join(tmp, 'copilot.sock'), socketMode: 0o600,
      metricsAddr: '127.0.0.1:0', dryRun: false, tickMillis: 1000, fastWatchMillis: 100,
      rules: { memoryEvictThresholdPercent: 70, memoryEvictLowerPercent: 68, gracePeriodSeconds: 1, ...rules },
    }, { logger: log.logger, clock: () => BASE_MS + node.now(), manual: true, killDeadlineMs: 1000, events });
    node.step(1000);
    await agent.tick();
    return agent;
  }

  it('pid 1 listed in a container (emergency): never signalled, no cgroup.kill; the container\'s own process dies', async () => {
    const X = cid(5, 2);
    const a = await setup([X]);
    const dir = path.join(node.paths.cgroupRoot, YARN, X);
    const pid = node.containerPid(X)!;
    const real = process.kill.bind(process);
    const signalled: number[] = [];
    vi.spyOn(process, 'kill').mockImplementation((p: number, s?: string | number) => {
      if (s !== 0 && s !== undefined) signalled.push(p);
      if (p === 1) throw new Error('the test refuses to signal pid 1');
      return real(p, s);
    });
    const health = new HealthMonitor(a.metricsUrl!);
    setMemoryPercent(node, 95);
    // The container lists pid 1 too, and pid 1's cgroup file claims the container.
    fs.writeFileSync(path.join(dir, 'cgroup.procs'), `1\n${pid}\n`);
    fs.mkdirSync(path.join(node.paths.procRoot, '1'), { recursive: true });
    fs.writeFileSync(path.join(node.paths.procRoot, '1', 'cgroup'), `0::/${YARN}/${X}\n`);
    const r = a.fastCheck();
    expect(r.issued.map((i) => [i.record.containerId, i.record.mode])).toEqual([[X, 'immediate']]);
    await a.settled();
    expect(signalled).not.toContain(1);
    expect(signalled).toContain(pid);
    expect(alive(pid)).toBe(false);
    expect(a.evictions[0]).toMatchObject({ containerId: X, method: 'SIGKILL', signalledPids: [pid] });
    expect(log.find(/cgroup.kill not proven safe/)[0]).toMatchObject({ container: X, why: expect.stringMatching(/pid 1 .*≤ 1 is never signalled/) });
    const h = await health.stop();
    expect(h.maxMs).toBeLessThan(1000);
  });

  it('the YARN parent becomes a symlink at runtime: one failed eviction, one Event, then no candidate any more', async () => {
    const X = cid(6, 2);
    const Y = cid(6, 3);
    const a = await setup([X, Y], { memoryEvictThresholdPercent: 74, memoryEvictLowerPercent: 73.9 });
    const pids = [node.containerPid(X)!, node.containerPid(Y)!];
    // Replace the YARN parent by a symlink to a copy elsewhere (reads through it still work).
    const parent = path.join(node.paths.cgroupRoot, YARN);
    const elsewhere = path.join(tmp, 'elsewhere');
    fs.cpSync(parent, elsewhere, { recursive: true });
    fs.renameSync(parent, `${parent}.old`);
    fs.symlinkSync(elsewhere, parent);
    const health = new HealthMonitor(a.metricsUrl!);
    setMemoryPercent(node, 75);
    // Thirty fast-watch passes (3 s of them) while the node stays above the threshold.
    for (let i = 0; i < 30; i++) {
      a.fastCheck();
      await a.settled();
    }
    const failed = posted.filter((e) => e.reason === 'YarnContainerEvictionFailed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.message).toMatch(/symlink/);
    expect(a.latest()!.containers.filter((c) => c.stats)).toEqual([]);
    for (const pid of pids) expect(alive(pid)).toBe(true);
    const metrics = await (await fetch(`${a.metricsUrl}/metrics`)).text();
    expect(Number(/loom_agent_cgroup_refusals_total\{kind="escapes-yarn-parent"[^}]*\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    await a.tick();
    expect(a.latest()!.containers.filter((c) => c.stats)).toEqual([]);
    const h = await health.stop();
    expect(h.maxMs).toBeLessThan(1000);
  });
});
