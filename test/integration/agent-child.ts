/**
 * `loom agent` as a real child process for the red-team suites: started with the production V8
 * flags (settings/runtime-flags.ts: its documented 96 MB heap), optionally inside a private mount
 * namespace (`unshare -m`) where the test's bind mounts exist for the agent alone, with a shell
 * as its parent (so a test can move that parent too). Its JSON log is parsed as it arrives, and
 * tests wait on log lines, never on time. A health monitor measures every `/healthz` answer.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { RUNTIME_ENV, RUNTIME_FLAGS } from '../../settings/runtime-flags.js';

const REPO = path.join(import.meta.dirname, '..', '..');

export interface AgentLogLine {
  level: number;
  msg?: string;
  component?: string;
  [k: string]: unknown;
}

export interface SpawnAgentOptions {
  /** `loom agent` arguments. */
  args: string[];
  /** Bind mounts `[source, target]` made in a private mount namespace before the agent starts. */
  mounts?: [string, string][];
  env?: NodeJS.ProcessEnv;
}

interface Waiter {
  test: (l: AgentLogLine) => boolean;
  resolve: (l: AgentLogLine) => void;
}

export class AgentChild {
  readonly lines: AgentLogLine[] = [];
  /** The shell that started the agent (its parent). */
  readonly shell: ChildProcess;
  private agentPid: number | undefined;
  private readonly waiters: Waiter[] = [];
  private pidWaiters: ((pid: number) => void)[] = [];
  private raw = '';
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(o: SpawnAgentOptions) {
    const cli = [process.execPath, '--import', 'tsx', 'cli/main.ts', 'agent', ...o.args].map(shellQuote).join(' ');
    const mounts = (o.mounts ?? []).map(([s, t]) => `mount --bind ${shellQuote(s)} ${shellQuote(t)} || exit 97`).join('; ');
    // The shell stays the agent's parent and prints the agent's pid first; SIGTERM to the agent ends both.
    const script = `${mounts ? `${mounts}; ` : ''}${cli} & echo "AGENT_PID $!"; wait $!`;
    const argv = o.mounts?.length ? ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script] : ['sh', '-c', script];
    this.shell = spawn(argv[0]!, argv.slice(1), {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...RUNTIME_ENV.agent, ...process.env, NODE_OPTIONS: RUNTIME_FLAGS.agent.join(' '), LOOM_LOG_LEVEL: 'info', ...o.env },
    });
    this.exited = new Promise((resolve) => this.shell.once('exit', (code, signal) => {
      this.exitInfo = { code, signal };
      resolve(this.exitInfo);
    }));
    this.shell.stdout!.on('data', (c: Buffer) => this.onData(String(c)));
    this.shell.stderr!.on('data', (c: Buffer) => { this.raw += String(c); });
  }

  private onData(text: string): void {
    this.raw += text;
    const parts = this.raw.split('\n');
    this.raw = parts.pop()!;
    for (const line of parts) {
      const m = /^AGENT_PID (\d+)$/.exec(line);
      if (m) {
        this.agentPid = Number(m[1]);
        for (const w of this.pidWaiters.splice(0)) w(this.agentPid);
        continue;
      }
      let parsed: AgentLogLine;
      try {
        parsed = JSON.parse(line) as AgentLogLine;
      } catch {
        parsed = { level: 60, msg: line };
      }
      this.lines.push(parsed);
      for (const w of [...this.waiters]) {
        if (w.test(parsed)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(parsed);
        }
      }
    }
  }

  /** The agent's pid (the shell's child). */
  pid(): Promise<number> {
    if (this.agentPid !== undefined) return Promise.resolve(this.agentPid);
    return new Promise((resolve) => this.pidWaiters.push(resolve));
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  find(re: RegExp): AgentLogLine[] {
    return this.lines.filter((l) => re.test(String(l.msg ?? '')));
  }

  /** Index of the next log line: pass it to `waitFor` to wait only for lines logged from now on. */
  get mark(): number {
    return this.lines.length;
  }

  /** The first log line (logged since `since`, or to come) whose message matches and `pred` accepts. */
  waitFor(re: RegExp, what: string, pred: (l: AgentLogLine) => boolean = () => true, ms = 20_000, since = 0): Promise<AgentLogLine> {
    const test = (l: AgentLogLine): boolean => re.test(String(l.msg ?? '')) && pred(l);
    const seen = this.lines.slice(since).find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.findIndex((w) => w.resolve === done), 1);
        reject(new Error(`timed out waiting for ${what}; agent log tail:\n${this.lines.slice(-15).map((l) => JSON.stringify(l)).join('\n')}`));
      }, ms);
      const done = (l: AgentLogLine): void => {
        clearTimeout(timer);
        resolve(l);
      };
      this.waiters.push({ test, resolve: done });
      void this.exited.then((e) => {
        if (this.waiters.some((w) => w.resolve === done)) {
          clearTimeout(timer);
          reject(new Error(`the agent exited (${e.code ?? e.signal}) before ${what}; log tail:\n${this.lines.slice(-15).map((l) => JSON.stringify(l)).join('\n')}`));
        }
      });
    });
  }

  /** The metrics URL from the "node agent running" line. */
  async metricsUrl(): Promise<string> {
    const l = await this.waitFor(/^node agent running$/, 'the agent to run');
    return String(l.metrics);
  }

  /** Ticks ended so far (from /metrics). */
  async ticks(): Promise<number> {
    const text = await (await fetch(`${await this.metricsUrl()}/metrics`)).text();
    const m = /^loom_agent_tick_duration_seconds_count\{[^}]*\} (\d+)/m.exec(text);
    return m ? Number(m[1]) : 0;
  }

  /** A metric's value (first series matching the label filter), or undefined. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    const text = await (await fetch(`${await this.metricsUrl()}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return undefined;
  }

  /** Waits until `n` more ticks ended than now (by the tick counter, polled on /metrics). */
  async moreTicks(n: number, ms = 20_000): Promise<void> {
    const start = await this.ticks();
    const deadline = Date.now() + ms;
    while ((await this.ticks()) < start + n) {
      if (Date.now() > deadline || !this.alive) throw new Error(`${n} more ticks did not come (agent alive: ${this.alive})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    const pid = this.agentPid;
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch { /* gone */ }
    }
    const t = setTimeout(() => {
      try {
        if (pid !== undefined) process.kill(pid, 'SIGKILL');
      } catch { /* gone */ }
      this.shell.kill('SIGKILL');
    }, 8000);
    await this.exited;
    clearTimeout(t);
  }
}

/** Measures every `/healthz` answer while running: the slowest one, and the statuses seen. */
export class HealthMonitor {
  maxMs = 0;
  count = 0;
  readonly statuses = new Set<number>();
  private running = true;
  private readonly done: Promise<void>;

  constructor(url: string, gapMs = 20) {
    this.done = (async () => {
      while (this.running) {
        const t0 = performance.now();
        try {
          const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
          await r.text();
          this.statuses.add(r.status);
        } catch {
          this.statuses.add(0);
        }
        this.maxMs = Math.max(this.maxMs, performance.now() - t0);
        this.count++;
        // A measurement cadence, not a wait for anything.
        await new Promise((r) => setTimeout(r, gapMs));
      }
    })();
  }

  async stop(): Promise<{ maxMs: number; count: number; statuses: number[] }> {
    this.running = false;
    await this.done;
    return { maxMs: this.maxMs, count: this.count, statuses: [...this.statuses].sort() };
  }
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
