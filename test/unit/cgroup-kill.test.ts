/**
 * Kill safety on fake trees with real child processes: the fake `cgroup.procs` lists real pids,
 * the fake `<proc-root>/<pid>/cgroup` says where each one "is", and real signals are sent only
 * to the pids the rules allow. (Real cgroups: test/cgroup/real-cgroup.test.ts.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ancestorPids, ANCESTORS_MAX_AGE_MS, CgroupPathError, protectedAncestors, NodeCgroups, pidSkipReason } from '../../cgroup/index.js';
import { buildFakeNode, CID_A, CID_B, type FakeNode, readTree, removeTree, writeTree } from '../cgroup/fake-tree.js';

const YARN = 'kubepods/besteffort/hadoop-yarn';

describe('pidSkipReason (pure)', () => {
  const ctx = { cgroupPath: `${YARN}/${CID_A}`, controller: 'memory', selfPid: 500, parentPid: 400, file: '/proc/77/cgroup' };
  const inside = `4:memory:/${YARN}/${CID_A}\n0::/\n`;

  it('allows a pid whose fresh /proc/<pid>/cgroup places it in the container', () => {
    expect(pidSkipReason(77, inside, ctx)).toBeUndefined();
    expect(pidSkipReason(77, `4:memory:/${YARN}/${CID_A}/task-1\n`, ctx)).toBeUndefined();
  });

  it('never pid ≤ 1, our pid, our parent, a vanished pid', () => {
    expect(pidSkipReason(1, inside, ctx)).toMatch(/≤ 1/);
    expect(pidSkipReason(0, inside, ctx)).toMatch(/≤ 1/);
    expect(pidSkipReason(-5, inside, ctx)).toMatch(/≤ 1/);
    expect(pidSkipReason(500, inside, ctx)).toBe('our own pid');
    expect(pidSkipReason(400, inside, ctx)).toBe("our parent's pid");
    expect(pidSkipReason(77, undefined, ctx)).toMatch(/exited/);
  });

  it('skips a pid in another container, the parent, another hierarchy, or with garbage', () => {
    expect(pidSkipReason(77, `4:memory:/${YARN}/${CID_B}\n`, ctx)).toMatch(/does not place it/);
    expect(pidSkipReason(77, `4:memory:/${YARN}\n`, ctx)).toMatch(/does not place it/);
    expect(pidSkipReason(77, `2:cpu,cpuacct:/${YARN}/${CID_A}\n4:memory:/other\n`, ctx)).toMatch(/memory hierarchy/);
    expect(pidSkipReason(77, `0::/${YARN}/${CID_A}\n`, ctx)).toMatch(/does not place it/);
    expect(pidSkipReason(77, 'garbage', ctx)).toMatch(/unparseable/);
    expect(pidSkipReason(77, `0::/${YARN}/${CID_A}\n`, { ...ctx, controller: undefined })).toBeUndefined();
  });
});

describe('protected processes', () => {
  it('our ancestors up to pid 1 are protected, read from the real /proc', () => {
    const a = ancestorPids();
    expect(a.get(process.ppid)).toBe("our parent's pid");
    expect(a.has(1)).toBe(false);
    expect(pidSkipReason(process.ppid, `0::/${YARN}/${CID_A}\n`, { cgroupPath: `${YARN}/${CID_A}`, controller: undefined, selfPid: 5, parentPid: 6, protectedPids: a, file: 'f' })).toBe("our parent's pid");
  });

  it('the ancestors a kill protects are read again when our parent changes and once they are old, not on every kill', () => {
    // A fake /proc: 40 → 30 → 20 → 1; then 30 dies and 40 is reparented to 20 (a subreaper).
    const proc = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-ancestors-'));
    const stat = (pid: number, ppid: number): void => {
      fs.mkdirSync(path.join(proc, String(pid)), { recursive: true });
      fs.writeFileSync(path.join(proc, String(pid), 'stat'), `${pid} (x) S ${ppid} 0 0\n`);
    };
    stat(40, 30); stat(30, 20); stat(20, 1);
    try {
      const first = protectedAncestors(0, 40, 30, proc);
      expect([...first.keys()]).toEqual([30, 20]);
      fs.rmSync(path.join(proc, '20'), { recursive: true }); // would shorten a fresh read: a cached answer does not see it
      expect(protectedAncestors(ANCESTORS_MAX_AGE_MS - 1, 40, 30, proc)).toBe(first);
      stat(20, 1);
      // Reparented: the parent the kill sees changed, so the chain is read again at once.
      stat(40, 20);
      fs.rmSync(path.join(proc, '30'), { recursive: true });
      expect([...protectedAncestors(ANCESTORS_MAX_AGE_MS - 1, 40, 20, proc).keys()]).toEqual([20]);
      // Old enough: read again even with the same parent.
      stat(20, 7); stat(7, 1);
      expect([...protectedAncestors(2 * ANCESTORS_MAX_AGE_MS, 40, 20, proc).keys()]).toEqual([20, 7]);
    } finally {
      fs.rmSync(proc, { recursive: true, force: true });
    }
  });
});

const children: ChildProcess[] = [];
const nodes: FakeNode[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  while (nodes.length) removeTree(nodes.pop()!.root);
});

function sleeper(): ChildProcess & { pid: number } {
  const c = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(c);
  if (c.pid === undefined) throw new Error('spawn failed');
  return c as ChildProcess & { pid: number };
}

function exited(c: ChildProcess): Promise<NodeJS.Signals | null> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve(c.signalCode);
  return new Promise((resolve) => c.once('exit', (_code, sig) => resolve(sig)));
}

const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;

/** A fake node whose container A lists `pids` in each of its hierarchies; `claims` writes each pid's /proc/<pid>/cgroup. */
function fakeNode(mode: 'v1' | 'v2', pids: number[], claims: Record<number, string>): { n: FakeNode; cgs: NodeCgroups } {
  const n = buildFakeNode(mode, YARN, { [CID_A]: { usage: 1, inactiveFile: 0, cpuUsec: 0, pids }, [CID_B]: { usage: 1, inactiveFile: 0, cpuUsec: 0 } });
  nodes.push(n);
  const files: Record<string, string> = {};
  for (const [pid, text] of Object.entries(claims)) files[`proc/${pid}/cgroup`] = text;
  writeTree(n.root, files);
  return { n, cgs: NodeCgroups.open({ cgroupRoot: n.cgroupRoot, procRoot: n.procRoot, yarnCgroupPath: YARN, filesystem: 'simulated' }) };
}

describe('killContainer on a fake v1 node with real processes', () => {
  it('graceful: SIGTERM only to verified pids; look-alike, self, pid 1 and vanished pids are skipped', async () => {
    const victim = sleeper();
    const lookalike = sleeper();
    const vanished = 999_999_99; // listed, but no /proc entry
    const v1Inside = (): string => `4:memory:/${YARN}/${CID_A}\n2:cpu,cpuacct:/${YARN}/${CID_A}\n0::/\n`;
    const { cgs } = fakeNode('v1', [victim.pid, lookalike.pid, process.pid, 1, vanished], {
      [victim.pid]: v1Inside(),
      [lookalike.pid]: `4:memory:/${YARN}/${CID_B}\n2:cpu,cpuacct:/${YARN}/${CID_B}\n0::/\n`,
      [process.pid]: v1Inside(),
      1: v1Inside(),
    });
    const r = await cgs.killContainer(CID_A, { mode: 'graceful', deadlineMs: 100, pollMs: 10 });
    expect(await exited(victim)).toBe('SIGTERM');
    expect(r.method).toBe('SIGTERM');
    expect(r.signalled).toEqual([{ pid: victim.pid, signal: 'SIGTERM' }]);
    const reasons = Object.fromEntries(r.skipped.map((s) => [s.pid, s.reason]));
    expect(reasons[lookalike.pid]).toMatch(/does not place it/);
    expect(reasons[process.pid]).toBe('our own pid');
    expect(reasons[1]).toMatch(/≤ 1/);
    expect(reasons[vanished]).toMatch(/exited/);
    // The fake cgroup.procs never empties: the deadline is honoured and reported
    expect(r.empty).toBe(false);
    expect(r.remaining).toContain(lookalike.pid);
    expect(alive(lookalike)).toBe(true);
  });

  it('emergency without cgroup.kill (v1): SIGKILL', async () => {
    const victim = sleeper();
    const { cgs } = fakeNode('v1', [victim.pid], { [victim.pid]: `4:memory:/${YARN}/${CID_A}\n` });
    const r = await cgs.killContainer(CID_A, { mode: 'emergency', deadlineMs: 50 });
    expect(r.method).toBe('SIGKILL');
    expect(r.signalled).toEqual([{ pid: victim.pid, signal: 'SIGKILL' }]);
    expect(await exited(victim)).toBe('SIGKILL');
  });

  it('dry-run: same verdicts, no signal sent', async () => {
    const victim = sleeper();
    const { cgs } = fakeNode('v1', [victim.pid, process.pid], { [victim.pid]: `4:memory:/${YARN}/${CID_A}\n` });
    const r = await cgs.killContainer(CID_A, { mode: 'emergency', dryRun: true });
    expect(r).toMatchObject({ dryRun: true, method: 'SIGKILL', signalled: [{ pid: victim.pid, signal: 'SIGKILL' }], empty: false });
    expect(r.skipped).toEqual([{ pid: process.pid, reason: 'our own pid', protected: true }]);
    await new Promise((res) => setTimeout(res, 50));
    expect(alive(victim)).toBe(true);
  });

  it('an invalid id or a symlinked container dir is refused before anything happens', async () => {
    const victim = sleeper();
    const { n, cgs } = fakeNode('v1', [victim.pid], { [victim.pid]: `4:memory:/${YARN}/${CID_A}\n` });
    await expect(cgs.killContainer('../../memory', { mode: 'emergency' })).rejects.toBeInstanceOf(CgroupPathError);
    const evil = 'container_1700000000000_0001_01_000066';
    fs.symlinkSync(path.join(n.cgroupRoot, 'memory', YARN, CID_A), path.join(n.cgroupRoot, 'memory', YARN, evil));
    await expect(cgs.killContainer(evil, { mode: 'emergency' })).rejects.toThrow(/symlink/);
    expect(alive(victim)).toBe(true);
  });
});

describe('killContainer on a fake v2 node', () => {
  it('emergency: writes 1 to cgroup.kill, then SIGKILLs verified leftovers', async () => {
    const victim = sleeper();
    const { n, cgs } = fakeNode('v2', [victim.pid], { [victim.pid]: `0::/${YARN}/${CID_A}\n` });
    const r = await cgs.killContainer(CID_A, { mode: 'emergency', deadlineMs: 60, pollMs: 10 });
    expect(r.method).toBe('cgroup.kill');
    expect(r.cgroupKillFile).toBe(`${n.cgroupRoot}/${YARN}/${CID_A}/cgroup.kill`);
    expect(readTree(n.root, `cgroup/${YARN}/${CID_A}/cgroup.kill`)).toBe('1');
    // A plain file does not kill anything, so the verified pid gets the fallback SIGKILL
    expect(r.signalled).toEqual([{ pid: victim.pid, signal: 'SIGKILL' }]);
    expect(await exited(victim)).toBe('SIGKILL');
  });

  it('a refused cgroup.kill write falls back to verified SIGKILLs and says why', async () => {
    const victim = sleeper();
    const { n, cgs } = fakeNode('v2', [victim.pid], { [victim.pid]: `0::/${YARN}/${CID_A}\n` });
    const killFile = path.join(n.cgroupRoot, YARN, CID_A, 'cgroup.kill');
    fs.rmSync(killFile);
    fs.mkdirSync(killFile); // open(O_WRONLY) → EISDIR
    const r = await cgs.killContainer(CID_A, { mode: 'emergency', deadlineMs: 30 });
    expect(r.method).toBe('SIGKILL');
    expect(r.cgroupKillError).toMatch(/EISDIR/);
    expect(r.signalled).toEqual([{ pid: victim.pid, signal: 'SIGKILL' }]);
    expect(await exited(victim)).toBe('SIGKILL');
  });

  it('dry-run writes nothing to cgroup.kill', async () => {
    const victim = sleeper();
    const { n, cgs } = fakeNode('v2', [victim.pid], { [victim.pid]: `0::/${YARN}/${CID_A}\n` });
    const r = await cgs.killContainer(CID_A, { mode: 'emergency', dryRun: true });
    expect(r.method).toBe('cgroup.kill');
    expect(readTree(n.root, `cgroup/${YARN}/${CID_A}/cgroup.kill`)).toBe('');
    expect(alive(victim)).toBe(true);
  });

  it('emergency: a pid listed in the v2 directory that fails its proof means no cgroup.kill; the checked SIGKILL loop spares it', async () => {
    const victim = sleeper();
    const decoy = sleeper(); // listed (a bind mount, a race), but its own /proc/<pid>/cgroup says elsewhere
    const { n, cgs } = fakeNode('v2', [victim.pid, decoy.pid], { [victim.pid]: `0::/${YARN}/${CID_A}\n`, [decoy.pid]: '0::/system.slice/sshd.service\n' });
    const r = await cgs.killContainer(CID_A, { mode: 'emergency', deadlineMs: 60, pollMs: 10 });
    expect(r.method).toBe('SIGKILL');
    expect(r.cgroupKillRefused).toMatch(new RegExp(`pid ${decoy.pid} .*does not place it`));
    expect(readTree(n.root, `cgroup/${YARN}/${CID_A}/cgroup.kill`)).toBe('');
    expect(r.signalled).toEqual([{ pid: victim.pid, signal: 'SIGKILL' }]);
    expect(await exited(victim)).toBe('SIGKILL');
    expect(alive(decoy)).toBe(true);
  });

  it('emergency: our own pid in the container means no cgroup.kill, and we are never signalled', async () => {
    const victim = sleeper();
    const inside = `0::/${YARN}/${CID_A}\n`;
    const { n, cgs } = fakeNode('v2', [victim.pid, process.pid], { [victim.pid]: inside, [process.pid]: inside });
    const r = await cgs.killContainer(CID_A, { mode: 'emergency', deadlineMs: 60, pollMs: 10 });
    expect(r.method).toBe('SIGKILL');
    expect(r.cgroupKillRefused).toMatch(/our own pid/);
    expect(readTree(n.root, `cgroup/${YARN}/${CID_A}/cgroup.kill`)).toBe('');
    expect(r.skipped).toEqual([{ pid: process.pid, reason: 'our own pid', protected: true }]);
    expect(await exited(victim)).toBe('SIGKILL');
  });

  it('emergency: a threaded sub-cgroup means no cgroup.kill', async () => {
    const victim = sleeper();
    const { n, cgs } = fakeNode('v2', [victim.pid], { [victim.pid]: `0::/${YARN}/${CID_A}\n` });
    writeTree(n.root, { [`cgroup/${YARN}/${CID_A}/t/cgroup.type`]: 'threaded\n', [`cgroup/${YARN}/${CID_A}/t/cgroup.procs`]: '' });
    const r = await cgs.killContainer(CID_A, { mode: 'emergency', deadlineMs: 60, pollMs: 10 });
    expect(r.cgroupKillRefused).toMatch(/threaded/);
    expect(readTree(n.root, `cgroup/${YARN}/${CID_A}/cgroup.kill`)).toBe('');
    expect(await exited(victim)).toBe('SIGKILL');
  });

  it('escalate (a graceful eviction past its grace period): SIGKILL pid by pid, never cgroup.kill', async () => {
    const victim = sleeper();
    const { n, cgs } = fakeNode('v2', [victim.pid], { [victim.pid]: `0::/${YARN}/${CID_A}\n` });
    const r = await cgs.killContainer(CID_A, { mode: 'escalate', deadlineMs: 60, pollMs: 10 });
    expect(r.method).toBe('SIGKILL');
    expect(r.cgroupKillFile).toBeUndefined();
    expect(readTree(n.root, `cgroup/${YARN}/${CID_A}/cgroup.kill`)).toBe('');
    expect(await exited(victim)).toBe('SIGKILL');
  });

  it('a symlinked cgroup.kill is never written through', async () => {
    const victim = sleeper();
    const { n, cgs } = fakeNode('v2', [victim.pid], { [victim.pid]: `0::/${YARN}/${CID_A}\n` });
    const target = path.join(n.root, 'elsewhere-cgroup.kill');
    fs.writeFileSync(target, '');
    const killFile = path.join(n.cgroupRoot, YARN, CID_A, 'cgroup.kill');
    fs.rmSync(killFile);
    fs.symlinkSync(target, killFile);
    const r = await cgs.killContainer(CID_A, { mode: 'emergency', deadlineMs: 60, pollMs: 10 });
    expect(fs.readFileSync(target, 'utf8')).toBe('');
    expect(r.method).toBe('SIGKILL');
    expect(r.cgroupKillError).toMatch(/symlink/);
    expect(await exited(victim)).toBe('SIGKILL');
  });

  it('a container without processes is reported empty at once', async () => {
    const { cgs } = fakeNode('v2', [], {});
    const r = await cgs.killContainer(CID_B, { mode: 'graceful' });
    expect(r).toMatchObject({ empty: true, remaining: [], signalled: [], skipped: [] });
  });
});
