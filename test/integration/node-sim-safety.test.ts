import { pidAlive, until } from './process-wait.js';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeSimTempDir, SimulatedNode } from '../../sim/node/index.js';

const GiB = 2 ** 30;
const REPO = path.resolve(import.meta.dirname, '../..');
let tmp: string;

beforeEach(() => {
  tmp = makeSimTempDir('loom-node-sim-safety-');
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const cid = (i: number): string => `container_1700000000000_${String(1 + Math.floor(i / 50)).padStart(4, '0')}_01_${String(i + 1).padStart(6, '0')}`;

const alive = pidAlive;


/** Runs a separate Node process that owns a simulated node with 3 containers; resolves its pids. */
async function ownerProcess(mode: 'hang' | 'exit'): Promise<{ ownerPid: number; pids: number[]; done: Promise<void> }> {
  const script = path.join(tmp, 'owner.mts');
  fs.writeFileSync(
    script,
    `import { SimulatedNode } from ${JSON.stringify(path.join(REPO, 'sim/node/index.ts'))};
const n = SimulatedNode.create({ name: 'owned', dir: ${JSON.stringify(tmp)}, layout: 'v2', driver: 'cgroupfs', cpuCores: 2, memoryBytes: 2 ** 32 });
const ids = ['container_1_0001_01_000001', 'container_1_0001_01_000002', 'container_1_0001_01_000003'];
n.syncContainers(ids.map((id) => ({ id, memoryMiB: 256, vcores: 1 })));
process.stdout.write(JSON.stringify(ids.map((id) => n.containerPid(id))) + '\\n');
if (${JSON.stringify(mode)} === 'hang') setInterval(() => n.step(100), 100);
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  let out = '';
  const pids = await new Promise<number[]>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as number[]);
    });
    child.once('exit', (code) => reject(new Error(`owner exited early (${code}): ${out}`)));
  });
  return { ownerPid: child.pid!, pids, done };
}

describe('no stray processes', () => {
  it('container processes die when their owner is SIGKILLed (no hook can run)', async () => {
    const { ownerPid, pids, done } = await ownerProcess('hang');
    expect(pids).toHaveLength(3);
    expect(pids.every(alive)).toBe(true);
    process.kill(ownerPid, 'SIGKILL');
    await done;
    await until(() => pids.every((p) => !alive(p)), 'orphaned container processes to exit');
  });

  it('container processes die when their owner exits without stop()', async () => {
    const { pids, done } = await ownerProcess('exit');
    await done;
    await until(() => pids.every((p) => !alive(p)), 'container processes to exit');
  });
});

describe('scale', () => {
  it('200 containers: a step rewrites only the files that changed, stop() reaps all', async () => {
    const n = SimulatedNode.create({ name: 'big', dir: tmp, layout: 'hybrid', driver: 'cgroupfs', cpuCores: 64, memoryBytes: 512 * GiB });
    try {
      const specs = Array.from({ length: 200 }, (_, i) => ({ id: cid(i), memoryMiB: 1024, vcores: 1 }));
      n.syncContainers(specs);
      // settled usage: memory fixed, CPU running
      for (const s of specs) n.setContainerUsage(s.id, { memoryBytes: 512 * 2 ** 20, cacheBytes: 64 * 2 ** 20, cpuMilli: 200 });
      n.step(1000);
      const { cgroupRoot, yarnCgroupPath } = n.paths;
      const ino = (p: string): number => fs.statSync(p).ino;
      const memStat = path.join(cgroupRoot, 'memory', yarnCgroupPath, specs[7]!.id, 'memory.stat');
      const parentMem = path.join(cgroupRoot, 'memory', yarnCgroupPath, 'memory.usage_in_bytes');
      const cpuacct = path.join(cgroupRoot, 'cpuacct', yarnCgroupPath, specs[7]!.id, 'cpuacct.usage');
      const before = { memStat: ino(memStat), parentMem: ino(parentMem), cpuacct: ino(cpuacct) };
      n.step(1000);
      expect(ino(memStat)).toBe(before.memStat); // unchanged: not rewritten
      expect(ino(parentMem)).toBe(before.parentMem);
      expect(ino(cpuacct)).not.toBe(before.cpuacct); // advanced: replaced by rename
      expect(Number(fs.readFileSync(parentMem, 'utf8'))).toBe(200 * 576 * 2 ** 20);
      expect(fs.readdirSync(path.join(cgroupRoot, 'memory', yarnCgroupPath)).filter((f) => f.startsWith('container_'))).toHaveLength(200);
      const pids = specs.map((s) => n.containerPid(s.id)!);
      expect(new Set(pids).size).toBe(200);
      expect(pids.every(alive)).toBe(true);
      await n.stop();
      expect(pids.some(alive)).toBe(false);
      expect(fs.readdirSync(tmp)).toEqual([]);
    } finally {
      await n.stop();
    }
  });

  it('a concurrent reader never sees a partial file', async () => {
    const n = SimulatedNode.create({ name: 'atomic', dir: tmp, layout: 'v1', driver: 'cgroupfs', cpuCores: 8, memoryBytes: 64 * GiB });
    try {
      const specs = Array.from({ length: 20 }, (_, i) => ({ id: cid(i), memoryMiB: 2048, vcores: 1 }));
      n.syncContainers(specs);
      n.step(10);
      const file = path.join(n.paths.cgroupRoot, 'memory', n.paths.yarnCgroupPath, 'memory.stat');
      const keys = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
      // A worker thread reads in parallel with the (synchronous) steps on this thread.
      const worker = new Worker(
        `const { parentPort, workerData } = require('node:worker_threads');
         const fs = require('node:fs');
         let reads = 0, bad = 0, stop = false;
         parentPort.on('message', () => { stop = true; });
         (function loop() {
           for (let i = 0; i < 200; i++) {
             const lines = fs.readFileSync(workerData.file, 'utf8').split('\\n').filter(Boolean);
             reads++;
             if (lines.length !== workerData.keys || !lines.every((l) => /^\\S+ \\d+$/.test(l))) bad++;
           }
           if (stop) parentPort.postMessage({ reads, bad }); else setImmediate(loop);
         })();`,
        { eval: true, workerData: { file, keys } },
      );
      const result = new Promise<{ reads: number; bad: number }>((r) => worker.once('message', r));
      for (let i = 0; i < 200; i++) {
        n.setContainerUsage(specs[i % 20]!.id, { memoryBytes: (100 + i) * 2 ** 20 });
        n.step(10);
        if (i % 20 === 0) await new Promise((r) => setImmediate(r));
      }
      worker.postMessage('stop');
      const { reads, bad } = await result;
      await worker.terminate();
      expect(reads).toBeGreaterThan(0);
      expect(bad).toBe(0);
    } finally {
      await n.stop();
    }
  });
});
