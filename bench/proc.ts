/**
 * Child processes of the benchmarks: spawned with their output in a file, measured by peak RSS
 * (`VmHWM`), and always killed when the benchmark ends — normally, by error or by a signal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUNTIME_ENV } from '../settings/runtime-flags.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const live = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of live) {
      try { c.kill('SIGKILL'); } catch { /* gone */ }
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const c of live) {
        try { c.kill('SIGKILL'); } catch { /* gone */ }
      }
      process.exit(130);
    });
  }
}

export interface LoomChild {
  child: ChildProcess;
  pid: number;
  logFile: string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Peak resident set so far, MiB (VmHWM); NaN once the process is gone. */
  peakRssMB(): number;
  /** Current resident set, MiB (VmRSS). */
  rssMB(): number;
  /** CPU time (user + system) the process has used so far, seconds; NaN once it is gone. */
  cpuSeconds(): number;
  /** SIGTERM, then SIGKILL after `graceMs`. Returns the peak RSS seen just before the stop. */
  stop(graceMs?: number): Promise<number>;
}

function statusField(pid: number, field: string): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on every Linux architecture Node runs on). */
const USER_HZ = 100;

/** CPU time (utime + stime) of a live process, seconds, from /proc/<pid>/stat; NaN when it is gone. */
export function cpuSecondsOf(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return NaN;
  }
}

/**
 * `node dist/cli/main.js <args>` — the compiled program, as it runs in production (tsx would add
 * ~90 MB of transpiler to the measured RSS) — with stdout+stderr appended to `logFile`.
 */
export function spawnLoom(args: string[], logFile: string, env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): LoomChild {
  hookExit();
  const fd = openSync(logFile, 'a');
  const main = join(REPO_ROOT, 'dist', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm run bench does)`);
  const child = spawn(process.execPath, [...nodeArgs, main, ...args], {
    cwd: REPO_ROOT,
    // The program's environment as the image's entrypoint gives it (a value already set wins).
    env: { ...(RUNTIME_ENV[args[0] as keyof typeof RUNTIME_ENV] ?? {}), ...process.env, ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  live.add(child);
  const pid = child.pid!;
  let lastPeak = NaN;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => { live.delete(child); resolve({ code, signal }); });
  });
  const peakRssMB = (): number => {
    const v = statusField(pid, 'VmHWM');
    if (Number.isFinite(v)) lastPeak = v;
    return v;
  };
  return {
    child, pid, logFile, exited, peakRssMB,
    rssMB: () => statusField(pid, 'VmRSS'),
    cpuSeconds: () => cpuSecondsOf(pid),
    async stop(graceMs = 5000) {
      peakRssMB();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, graceMs);
        await exited;
        clearTimeout(t);
      }
      return lastPeak;
    },
  };
}

/** Last `n` lines of a file (for error messages). */
export function tail(file: string, n = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `check` every `everyMs` until it returns a value other than undefined, or time out. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
