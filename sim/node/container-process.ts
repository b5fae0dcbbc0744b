/**
 * The real process behind each simulated YARN container. The agent signals the pids it finds in
 * a container's `cgroup.procs`, so the simulator only ever lists pids it spawned itself.
 *
 * The process is `cat` reading a pipe from us: it costs nothing, and when this Node process dies
 * for any reason (even SIGKILL, where no exit hook runs) the pipe closes, `cat` reads EOF and
 * exits — no strays. Each child is its own process group and session (`detached`), like a real
 * YARN container launched through `setsid`, so `kill(-pgid)` by an agent hits only that child.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';

export interface ProcessExit {
  /** exit status as YARN reports it: the code, or 128 + signal number when killed */
  exitCode: number;
  signal: NodeJS.Signals | null;
}

export interface ContainerProcess {
  readonly pid: number;
  readonly exited: Promise<ProcessExit>;
  kill(signal?: NodeJS.Signals): void;
}

const live = new Set<ChildProcess>();
let hookInstalled = false;

/** Last resort on a normal process exit (e.g. a test forgot `stop()`): SIGKILL every child. */
function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on('exit', () => {
    for (const c of live) {
      try {
        if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export const COMMAND = 'cat';

/** Spawns one container process. Throws if the OS gives no pid (spawn failed). */
export function spawnContainerProcess(): ContainerProcess {
  installExitHook();
  const child = spawn(COMMAND, [], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  const pid = child.pid;
  if (pid === undefined) {
    child.on('error', () => undefined);
    throw new Error(`could not spawn ${COMMAND} for a simulated container`);
  }
  live.add(child);
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      child.stdin?.destroy();
      const signum = signal ? (osConstants.signals[signal] ?? 0) : 0;
      resolve({ exitCode: code ?? 128 + signum, signal });
    });
  });
  child.on('error', () => undefined); // a failed kill must not crash the simulator
  child.stdin?.on('error', () => undefined);
  // Neither the child nor its pipe keeps the event loop alive; stop()/the exit hook end them.
  child.unref();
  (child.stdin as Socket | null)?.unref?.();
  return {
    pid,
    exited,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      // child.kill is a no-op once Node has reaped the child, so a reused pid is never hit.
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** How many container processes this Node process currently owns (for leak checks). */
export const liveContainerProcessCount = (): number => live.size;
