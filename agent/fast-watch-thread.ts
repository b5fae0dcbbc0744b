/**
 * The main thread's side of the fast memory watch's own thread (fast-watch-worker.ts): starts it,
 * posts it the kill plan after every tick and the evictor's marks whenever they change, and hands
 * what it reports to the agent. Its last look's time is shared memory, so /livez reads it without
 * a message per look.
 */
import { Worker } from 'node:worker_threads';
import type { KillResult } from '../cgroup/index.js';
import type { CgroupFilesystem } from '../cgroup/proof.js';
import type { AgentRulesState, Eviction, Held, RulesConfig, Snapshot } from './rules/index.js';
import type { WatchPeriod } from './watch-period.js';

export interface FastWatchInit {
  procRoot: string;
  cgroups: { cgroupRoot: string; procRoot: string; yarnCgroupPath: string; filesystem: CgroupFilesystem };
  config: RulesConfig;
  period: WatchPeriod;
  state: AgentRulesState;
  dryRun: boolean;
  /** Graceful evictions go through the ResourceManager: the main thread sends them. */
  rmConfigured: boolean;
  selfPid?: number;
  parentPid?: number;
  /** One Float64: when the worker's last look ran (systemClock.now()). */
  turned: SharedArrayBuffer;
}

export type FastWatchUpdate =
  | { type: 'plan'; snapshot: Snapshot; cgroups: [string, string][]; at: number }
  | { type: 'marks'; state: AgentRulesState; evicting: string[]; blocked: string[]; released: string[] }
  /** Take the watch over (look now, then at the headroom-driven period). */
  | { type: 'watch' }
  | { type: 'stop' };

export interface FastWatchVictim {
  eviction: Eviction;
  /** The first kill, made on the watch's thread (absent when it failed: `error`). */
  result?: KillResult;
  error?: string;
  /** The CgroupPathError kind when a proof refused the kill. */
  refused?: string;
}

export type FastWatchReport =
  | { type: 'ready' }
  | { type: 'memory'; ok: boolean; err?: string }
  /** Over the threshold, nothing to evict (held back, or no victim). */
  | { type: 'triggered'; usagePercent: number; held: Held[] }
  /** Over the threshold with evictions the main thread must send itself (dry-run, through the RM). */
  | { type: 'crossing'; usagePercent: number }
  /** Far under the threshold again: the main thread's timer watches from now on, next after `nextMs`. */
  | { type: 'handback'; nextMs: number }
  | { type: 'acted'; usagePercent: number; planFromTick: number | undefined; lookLateMs: number; decidedAt: number; signalledAt: number; decideMs: number; signalMs: number; victims: FastWatchVictim[] };

// Under the TypeScript sources (tests, tsx) the worker is the .ts file, loaded through tsx.
const fromSource = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(fromSource ? './fast-watch-worker.ts' : './fast-watch-worker.js', import.meta.url);

export class FastWatchThread {
  private readonly worker: Worker;
  private readonly turned: Float64Array;
  readonly ready: Promise<void>;
  private exited = false;

  constructor(init: Omit<FastWatchInit, 'turned'>, onReport: (r: FastWatchReport) => void, onError: (err: Error) => void) {
    const shared = new SharedArrayBuffer(8);
    this.turned = new Float64Array(shared);
    const data: FastWatchInit = { ...init, turned: shared };
    // A small heap of its own: the plan (a few hundred entries) and one look's buffers.
    const options = { workerData: data, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 1 } };
    this.worker = fromSource
      ? new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`, { eval: true, ...options })
      : new Worker(WORKER_URL, options);
    let readyNow!: () => void;
    let failReady!: (err: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => { readyNow = resolve; failReady = reject; });
    this.worker.on('message', (r: FastWatchReport) => {
      if (r.type === 'ready') readyNow();
      else onReport(r);
    });
    this.worker.on('error', (err) => { failReady(err); onError(err); });
    this.worker.on('exit', (code) => {
      this.exited = true;
      failReady(new Error(`fast memory watch thread exited (${code})`));
    });
  }

  /** When the watch last looked (systemClock.now()); 0 before its first look. */
  get lastTurned(): number {
    return this.turned[0]!;
  }

  get running(): boolean {
    return !this.exited;
  }

  plan(snapshot: Snapshot, cgroups: ReadonlyMap<string, string>, at: number): void {
    this.post({ type: 'plan', snapshot, cgroups: [...cgroups], at });
  }

  marks(state: AgentRulesState, evicting: ReadonlySet<string>, blocked: ReadonlySet<string>, released: readonly string[]): void {
    this.post({ type: 'marks', state, evicting: [...evicting], blocked: [...blocked], released: [...released] });
  }

  /** Hand the watch over to the thread. */
  watch(): void {
    this.post({ type: 'watch' });
  }

  private post(m: FastWatchUpdate): void {
    if (!this.exited) this.worker.postMessage(m);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.post({ type: 'stop' });
    // The worker closes its port and ends once its timer is cancelled; terminate if it does not.
    const t = setTimeout(() => void this.worker.terminate(), 2000);
    await exited;
    clearTimeout(t);
  }
}
