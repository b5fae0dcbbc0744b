/**
 * An operator replica as a child process (`node dist/cli/main.js operator`), talking to the world
 * only through its own fault proxies, so it can be paused (SIGSTOP/SIGCONT), killed (SIGKILL) and
 * restarted, and every write it sends is attributed to it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { ReplicaWiring } from './fault-world.js';

const MAIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;

/** Children still running: killed when this process exits or is told to stop, never left behind. */
const children = new Set<ChildProcess>();
let hooked = false;
function reapOnExit(): void {
  if (hooked) return;
  hooked = true;
  const reap = () => { for (const c of children) { try { c.kill('SIGCONT'); c.kill('SIGKILL'); } catch { /* gone */ } } };
  process.once('exit', reap);
  // Under vitest the runner owns the signals; the exit hook still reaps.
  if (!process.env.VITEST) for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { reap(); process.exit(130); });
}

export interface ReplicaOptions {
  lease: { namespace: string; name: string; durationSeconds: number };
  pollSeconds: number;
  extraFlags?: string[];
}

export class Replica {
  proc: ChildProcess | undefined;
  starts = 0;
  private log: WriteStream | undefined;
  readonly logPath: string;
  stopped = false;
  paused = false;

  constructor(readonly wiring: ReplicaWiring, private readonly o: ReplicaOptions, dir: string) {
    this.logPath = join(dir, `${wiring.name}.log`);
  }

  get name(): string { return this.wiring.name; }
  get alive(): boolean { return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null; }

  start(): void {
    this.starts++;
    this.log = createWriteStream(this.logPath, { flags: 'a' });
    const args = [
      MAIN, 'operator',
      '--kubeconfig', this.wiring.kubeconfigPath, '--hadoop-conf-dir', this.wiring.hadoopConfDir,
      '--identity', this.wiring.name, '--lease-namespace', this.o.lease.namespace, '--lease-name', this.o.lease.name,
      '--lease-duration-seconds', String(this.o.lease.durationSeconds), '--poll-seconds', String(this.o.pollSeconds),
      '--metrics-addr', '127.0.0.1:0', '--grow-interval-seconds', '0',
      '--hysteresis-cpu-milli', '0', '--hysteresis-memory-bytes', '0', '--hysteresis-percent', '0',
      '--rm-timeout-ms', '1000', ...(this.o.extraFlags ?? []),
    ];
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOOM_LOG_LEVEL: 'info' } });
    p.stdout!.pipe(this.log, { end: false });
    p.stderr!.pipe(this.log, { end: false });
    this.proc = p;
    this.paused = false;
    children.add(p);
    p.once('exit', () => children.delete(p));
    reapOnExit();
  }

  signal(sig: 'SIGSTOP' | 'SIGCONT' | 'SIGKILL' | 'SIGTERM'): void {
    if (!this.alive) return;
    this.proc!.kill(sig);
    if (sig === 'SIGSTOP') this.paused = true;
    if (sig === 'SIGCONT') this.paused = false;
  }

  async kill(): Promise<void> {
    if (!this.proc) return;
    const p = this.proc;
    if (this.paused) p.kill('SIGCONT');
    if (p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
    }
    this.proc = undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (!this.proc) return;
    const p = this.proc;
    if (this.paused) p.kill('SIGCONT');
    if (p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    this.proc = undefined;
    await new Promise<void>((r) => (this.log ? this.log.end(() => r()) : r()));
  }

  /** The JSON log lines so far. */
  lines(): Record<string, unknown>[] {
    let text = '';
    try { text = readFileSync(this.logPath, 'utf8'); } catch { return []; }
    const out: Record<string, unknown>[] = [];
    for (const l of text.split('\n')) {
      if (!l.startsWith('{')) continue;
      try { out.push(JSON.parse(l) as Record<string, unknown>); } catch { /* partial line */ }
    }
    return out;
  }
}
