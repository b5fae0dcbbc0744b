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
 * Watch one process: `ready` once the helper holds its pidfd (false: already gone, or no helper),
 * then `exitedAt` with the exit time on this process's performance.now() clock (undefined when
 * the helper failed). The helper ends with it.
 */
export function watchExit(pid: number): { ready: Promise<boolean>; exitedAt: Promise<number | undefined> } {
  const w = new ExitWatcher();
  const ready = w.watch(pid);
  const exitedAt = w.exitedAt(pid).finally(() => w.close());
  return { ready, exitedAt };
}

const SCRIPT = [
  'import os, select, sys, time',
  'p = select.poll(); p.register(0, select.POLLIN); fds = {}; buf = b""',
  'while True:',
  '    events = p.poll(); t = time.monotonic_ns()',
  '    for fd, ev in events:',
  '        if fd != 0:',
  '            pid = fds.pop(fd); p.unregister(fd); os.close(fd); print("exit", pid, t, flush=True); continue',
  '        data = os.read(0, 65536)',
  '        if not data: sys.exit(0)',
  '        buf += data',
  '        while b"\\n" in buf:',
  '            line, buf = buf.split(b"\\n", 1); pid = int(line)',
  '            try: pfd = os.pidfd_open(pid)',
  '            except OSError: print("gone", pid, flush=True); continue',
  '            fds[pfd] = pid; p.register(pfd, select.POLLIN); print("ready", pid, flush=True)',
].join('\n');

/**
 * Exits of processes, observed off the bench's event loop by one helper holding a pidfd of each
 * (the simulated node's 200 container processes at once, or one growing process).
 */
export class ExitWatcher {
  private readonly helper = spawn('python3', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'ignore'] });
  private readonly ready = new Map<number, (ok: boolean) => void>();
  private readonly exits = new Map<number, number>();
  private readonly waiting = new Map<number, (at: number | undefined) => void>();
  private out = '';

  constructor() {
    this.helper.stdout.on('data', (b: Buffer) => {
      this.out += b.toString('latin1');
      let nl: number;
      while ((nl = this.out.indexOf('\n')) >= 0) {
        const [kind, pidText, ns] = this.out.slice(0, nl).split(' ');
        this.out = this.out.slice(nl + 1);
        const pid = Number(pidText);
        if (kind === 'exit') {
          const at = fromMonotonicMs(Number(ns) / 1e6);
          this.exits.set(pid, at);
          this.waiting.get(pid)?.(at);
          this.waiting.delete(pid);
        } else {
          this.ready.get(pid)?.(kind === 'ready');
          this.ready.delete(pid);
        }
      }
    });
    const gone = (): void => {
      for (const r of this.ready.values()) r(false);
      this.ready.clear();
      for (const w of this.waiting.values()) w(undefined);
      this.waiting.clear();
    };
    this.helper.stdin.on('error', () => undefined); // a helper that is gone: `gone` answers
    this.helper.on('close', gone);
    this.helper.on('error', gone);
  }

  /** Watch `pid`; true once the helper holds its pidfd (false: already gone, or no helper). */
  watch(pid: number): Promise<boolean> {
    if (this.helper.exitCode !== null || !this.helper.stdin.writable) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      this.ready.set(pid, resolve);
      this.helper.stdin.write(`${pid}\n`);
    });
  }

  /** When `pid` exited, on this process's performance.now() clock (waits for it; undefined once the helper is gone). */
  exitedAt(pid: number): Promise<number | undefined> {
    const at = this.exits.get(pid);
    if (at !== undefined) return Promise.resolve(at);
    if (this.helper.exitCode !== null || this.helper.signalCode !== null) return Promise.resolve(undefined);
    return new Promise<number | undefined>((resolve) => this.waiting.set(pid, resolve));
  }

  close(): void {
    this.helper.stdin.end();
    this.helper.kill();
  }
}
