/**
 * When a process exited, observed off the bench's event loop: a small Python helper blocks in
 * poll(2) on a pidfd of the process (readable the moment the kernel has finished the exit:
 * memory freed, files closed — before the parent is told) and prints CLOCK_MONOTONIC then. The
 * bench's own 'exit' event comes later by however long its event loop was busy (the simulators,
 * the meminfo stand-in, timers). Used when `python3` with `os.pidfd_open` (Linux ≥ 5.3) is there;
 * callers fall back to the 'exit' event otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const SCRIPT = [
  'import os, select, sys, time',
  'fd = os.pidfd_open(int(sys.argv[1]))',
  'print("ready", flush=True)',
  'p = select.poll(); p.register(fd, select.POLLIN); p.poll()',
  'print(time.monotonic_ns(), flush=True)',
].join('\n');

let usable: boolean | undefined;

/** Whether exits can be observed this way here. */
export function exitWatchUsable(): boolean {
  if (usable === undefined) {
    const r = spawnSync('python3', ['-c', 'import os; os.pidfd_open'], { stdio: 'ignore', timeout: 5000 });
    usable = r.status === 0;
  }
  return usable;
}

/** CLOCK_MONOTONIC ms → performance.now() ms of this process. */
function fromMonotonicMs(ms: number): number {
  const offset = Number(process.hrtime.bigint()) / 1e6 - performance.now();
  return ms - offset;
}

/**
 * Watch `pid`: resolves `ready` once the helper holds its pidfd, then `exitedAt` with the exit
 * time on this process's performance.now() clock (undefined when the helper failed).
 */
export function watchExit(pid: number): { ready: Promise<boolean>; exitedAt: Promise<number | undefined> } {
  const c = spawn('python3', ['-c', SCRIPT, String(pid)], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  let readyNow!: (ok: boolean) => void;
  const ready = new Promise<boolean>((resolve) => { readyNow = resolve; });
  const exitedAt = new Promise<number | undefined>((resolve) => {
    c.stdout.on('data', (b: Buffer) => {
      out += b.toString('latin1');
      if (out.startsWith('ready\n')) readyNow(true);
    });
    c.on('close', () => {
      readyNow(false);
      const ns = Number(out.split('\n')[1]);
      resolve(Number.isFinite(ns) && ns > 0 ? fromMonotonicMs(ns / 1e6) : undefined);
    });
    c.on('error', () => { readyNow(false); resolve(undefined); });
  });
  return { ready, exitedAt };
}
