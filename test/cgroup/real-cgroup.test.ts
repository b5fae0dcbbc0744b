/**
 * Real cgroups: builds `loom-test-<random>/kubepods/besteffort/hadoop-yarn/<container ids>` in the
 * node's real v1 memory, cpu and cpuacct hierarchies (and the v2 tree when there is one), puts real
 * processes in them and kills through them. Runs only as root with writable cgroups — probed by
 * creating a group under /sys/fs/cgroup/memory; otherwise the whole suite is skipped with one
 * printed reason. Everything created is removed in afterAll, even when a test fails.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CGROUP_ROOT, probeRealCgroups, mkdirsRecorded, removeCgroups, testContainerId } from './real-cgroups.js';
import { CgroupIoError, HeldFiles, NodeCgroups, readCpuLimit, readCpuUsageNanos, readMemory, readPids, readPressure } from '../../cgroup/index.js';
import { milliCores } from '../../kube/quantity.js';

const probed = probeRealCgroups();
/** A v2 tree beside the v1 controllers (hybrid): the cgroup.kill path can be exercised. */
const HAS_UNIFIED = fs.existsSync(path.join(CGROUP_ROOT, 'unified', 'cgroup.controllers'));
if (!probed.ok) console.log(`skipped: ${probed.reason}`);

const PREFIX = `loom-test-${randomBytes(4).toString('hex')}`;
const YARN = `${PREFIX}/kubepods/besteffort/hadoop-yarn`;
const CID = testContainerId;
const V1_ONLY = CID(2); // processes only in v1 groups → SIGKILL path
const SURVIVOR = CID(3);
const VIA_KILLFILE = CID(4); // v1 + unified → cgroup.kill path
const GRACEFUL = CID(5);
const MEMORY = CID(6);
const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct'] as const;

describe.skipIf(!probed.ok)('real cgroups (hybrid / v1 / v2 node)', () => {
  let cgs: NodeCgroups;
  const created: string[] = []; // directories we made, in creation order
  const children: ChildProcess[] = [];

  /** Hierarchy roots to build in: the v1 memory/cpu/cpuacct mounts and the unified tree. */
  const roots = (): { v1: string[]; unified?: string } => {
    const l = cgs.layout;
    const v1 = [...new Set(V1_CONTROLLERS.map((c) => l.controllerDirs[c]).filter((d): d is string => d !== undefined && d !== l.unified?.dir))];
    return l.unified ? { v1, unified: l.unified.dir } : { v1 };
  };

  const mkdirs = (root: string, rel: string): void => mkdirsRecorded(root, rel, created);

  function makeContainer(id: string, withUnified: boolean): void {
    const r = roots();
    for (const root of r.v1) mkdirs(root, `${YARN}/${id}`);
    if (withUnified && r.unified) mkdirs(r.unified, `${YARN}/${id}`);
  }

  /** Write the pid into cgroup.procs of every directory the container has. */
  function enter(id: string, pid: number): void {
    for (const d of cgs.container(id).all) fs.writeFileSync(path.join(d.dir, 'cgroup.procs'), String(pid));
  }

  function start(cmd: string, args: string[], opts: { stdin?: boolean } = {}): ChildProcess & { pid: number } {
    const c = spawn(cmd, args, { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'ignore'] });
    children.push(c);
    if (c.pid === undefined) throw new Error(`spawn ${cmd} failed`);
    return c as ChildProcess & { pid: number };
  }

  const sleeper = (): ChildProcess & { pid: number } => start('sleep', ['300']);
  const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;
  const exitSignal = (c: ChildProcess): Promise<NodeJS.Signals | null> =>
    !alive(c) ? Promise.resolve(c.signalCode) : new Promise((res) => c.once('exit', (_code, sig) => res(sig)));

  beforeAll(() => {
    cgs = NodeCgroups.open({ cgroupRoot: CGROUP_ROOT, procRoot: '/proc', yarnCgroupPath: YARN });
    makeContainer(V1_ONLY, false);
    for (const id of [SURVIVOR, VIA_KILLFILE, GRACEFUL, MEMORY]) makeContainer(id, true);
  });

  afterAll(async () => {
    for (const c of children) if (alive(c)) c.kill('SIGKILL');
    await Promise.all(children.map((c) => exitSignal(c)));
    await removeCgroups(created);
    for (const dir of created) expect(fs.existsSync(dir)).toBe(false);
  });

  it('detects this node', () => {
    const d = cgs.describe();
    expect(['v1', 'v2', 'hybrid']).toContain(d.mode);
    expect(d.naming).toBe('cgroupfs');
    expect(d.yarnParentDirs.length).toBeGreaterThanOrEqual(roots().v1.length);
    if (HAS_UNIFIED) expect(d.mode).toBe('hybrid');
  });

  it('emergency kill without a v2 group (SIGKILL path): exactly that container\'s processes die', async () => {
    const victims = [sleeper(), sleeper(), sleeper()];
    const survivors = [sleeper(), sleeper()];
    const lookalike = sleeper(); // same command line, never moved into the hierarchy
    enter(V1_ONLY, victims[0]!.pid); // in every controller group
    // only in the cpu group: the kill must walk every controller's directory
    const cpuDir = cgs.container(V1_ONLY).cpu!.dir;
    fs.writeFileSync(path.join(cpuDir, 'cgroup.procs'), String(victims[1]!.pid));
    // in a sub-cgroup of the memory group: the kill must walk the subtree
    const memDir = cgs.container(V1_ONLY).memory!.dir;
    mkdirs(memDir, 'task-1');
    fs.writeFileSync(path.join(memDir, 'task-1', 'cgroup.procs'), String(victims[2]!.pid));
    for (const s of survivors) enter(SURVIVOR, s.pid);
    expect(readPids(cgs.container(V1_ONLY))).toEqual([victims[0]!.pid, victims[1]!.pid].sort((a, b) => a - b));

    const r = await cgs.killContainer(V1_ONLY, { mode: 'emergency', deadlineMs: 3000 });
    expect(r.method).toBe('SIGKILL');
    expect(r.signalled.map((s) => s.pid).sort((a, b) => a - b)).toEqual(victims.map((v) => v.pid).sort((a, b) => a - b));
    expect(r.signalled.every((s) => s.signal === 'SIGKILL')).toBe(true);
    expect(r.skipped).toEqual([]);
    expect(r.empty).toBe(true);
    for (const v of victims) expect(await exitSignal(v)).toBe('SIGKILL');
    await sleep(50);
    for (const s of [...survivors, lookalike]) expect(alive(s)).toBe(true);
    expect(readPids(cgs.container(SURVIVOR))).toEqual(survivors.map((s) => s.pid).sort((a, b) => a - b));
  });

  it.runIf(HAS_UNIFIED)(
    'emergency kill through cgroup.kill: the kernel kills the group, nothing else',
    async () => {
      const victims = [sleeper(), sleeper(), sleeper()];
      const lookalike = sleeper();
      for (const v of victims) enter(VIA_KILLFILE, v.pid);
      const survivorPids = readPids(cgs.container(SURVIVOR));
      const c = cgs.container(VIA_KILLFILE);
      expect(c.unified).toBeDefined();
      expect(fs.existsSync(path.join(c.unified!.dir, 'cgroup.kill'))).toBe(true);

      const r = await cgs.killContainer(VIA_KILLFILE, { mode: 'emergency', deadlineMs: 3000 });
      expect(r.method).toBe('cgroup.kill');
      expect(r.cgroupKillFile).toBe(path.join(c.unified!.dir, 'cgroup.kill'));
      expect(r.signalled).toEqual([]); // the kernel did it; the SIGKILL sweep found nothing left
      expect(r.empty).toBe(true);
      for (const v of victims) expect(await exitSignal(v)).toBe('SIGKILL');
      await sleep(50);
      expect(alive(lookalike)).toBe(true);
      expect(readPids(cgs.container(SURVIVOR))).toEqual(survivorPids);
      expect(survivorPids.length).toBeGreaterThan(0);
    },
  );

  it('graceful kill sends SIGTERM; dry-run before it signals nothing', async () => {
    const victim = sleeper();
    enter(GRACEFUL, victim.pid);
    const dry = await cgs.killContainer(GRACEFUL, { mode: 'graceful', dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, signalled: [{ pid: victim.pid, signal: 'SIGTERM' }], empty: false });
    const dryKill = await cgs.killContainer(GRACEFUL, { mode: 'emergency', dryRun: true });
    expect(dryKill.signalled.map((s) => s.pid)).toEqual([victim.pid]);
    await sleep(100);
    expect(alive(victim)).toBe(true);

    const r = await cgs.killContainer(GRACEFUL, { mode: 'graceful', deadlineMs: 3000 });
    expect(r).toMatchObject({ method: 'SIGTERM', empty: true, signalled: [{ pid: victim.pid, signal: 'SIGTERM' }] });
    expect(await exitSignal(victim)).toBe('SIGTERM');
  });

  it('reads the working set, CPU and PSI of a process that allocated 50 MB', async () => {
    const script = "process.stdin.once('data', () => { globalThis.keep = Buffer.alloc(50 * 1024 * 1024, 7); console.log('ready'); setInterval(() => {}, 1e6); });";
    const hog = start(process.execPath, ['-e', script], { stdin: true });
    enter(MEMORY, hog.pid); // before allocating: v1 does not move existing charges
    const ready = new Promise<void>((res) => hog.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && res()));
    hog.stdin!.write('go\n');
    await ready;
    const c = cgs.container(MEMORY);
    const mem = readMemory(c);
    expect(mem.workingSet).toBeGreaterThan(45 * 1024 * 1024);
    expect(mem.usage).toBeGreaterThanOrEqual(mem.workingSet);
    expect(readCpuUsageNanos(c)).toBeGreaterThan(0);
    expect(readPids(c)).toEqual([hog.pid]);
    const psi = readPressure(c);
    if (c.unified) expect(psi.memory?.some.avg10).toBeGreaterThanOrEqual(0);
    // the parent aggregates its children
    expect(readMemory(cgs.yarnParent()).usage).toBeGreaterThanOrEqual(mem.usage);
  });

  it('held descriptors on cgroupfs: read by pread with no stat, the CPU limit written is read back, a removed cgroup answers ENODEV', () => {
    const held = new HeldFiles(16);
    const stats = vi.spyOn(fs, 'statSync');
    try {
      const parent = cgs.yarnParent();
      expect(readMemory(parent, held.read).usage).toBeGreaterThanOrEqual(0);
      expect(readCpuLimit(parent, held.read).milliCores).toBeNull();
      cgs.setYarnCpuLimit(milliCores(1500));
      expect(readCpuLimit(parent, held.read).milliCores).toBe(1500); // the same descriptor sees the write
      cgs.setYarnCpuLimit('unlimited');
      expect(readCpuLimit(parent, held.read).milliCores).toBeNull();
      expect(stats).not.toHaveBeenCalled();
      const opens = held.opens;
      // A cgroup of its own, read through held descriptors, then removed.
      const rel = `${YARN}/${CID(7)}`;
      const memRoot = cgs.layout.controllerDirs.memory!;
      mkdirs(memRoot, rel);
      const gone = cgs.container(CID(7));
      expect(readMemory(gone, held.read).usage).toBe(0);
      fs.rmdirSync(path.join(memRoot, rel));
      created.splice(created.indexOf(path.join(memRoot, rel)), 1);
      const size = held.size;
      let err: unknown;
      try { readMemory(gone, held.read); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(CgroupIoError);
      expect((err as CgroupIoError).gone).toBe(true);
      expect(held.size).toBe(size - 1);
      expect(held.opens).toBe(opens + 2);
    } finally {
      stats.mockRestore();
      held.closeAll();
    }
  });

  it('sets the YARN parent CPU quota and reads it back; dry-run leaves it', () => {
    const before = readCpuLimit(cgs.yarnParent());
    expect(before.milliCores).toBeNull();
    const dry = cgs.setYarnCpuLimit(milliCores(1500), { dryRun: true });
    expect(dry.writes).toHaveLength(1);
    expect(readCpuLimit(cgs.yarnParent()).quotaUs).toBeNull();

    const r = cgs.setYarnCpuLimit(milliCores(1500));
    expect(r.applied).toBe(true);
    const after = readCpuLimit(cgs.yarnParent());
    expect(after).toMatchObject({ milliCores: 1500, quotaUs: 1500 * (before.periodUs / 1000) });
    expect(fs.readFileSync(r.writes[0]!.file, 'utf8').trim()).toBe(String(after.quotaUs));

    cgs.setYarnCpuLimit('unlimited');
    expect(readCpuLimit(cgs.yarnParent()).quotaUs).toBeNull();
  });
});
