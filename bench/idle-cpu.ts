/**
 * One idle window of an agent child: its user + system CPU time over a number of seconds, % of
 * one core, with the machine's 1-minute load when the window began and ended (the machine is
 * shared). The same measurement for the simulated node and the real one.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { type LoomChild, sleep } from './proc.js';

export interface IdleWindow {
  label: string;
  /** 1-minute load average when the window began and when it ended. */
  before: number;
  after: number;
  cpuPercent: number;
}

/** utime and stime of a process in seconds (`/proc/<pid>/stat`, USER_HZ = 100). */
function cpuTimesOf(pid: number): { user: number; system: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) / 100, system: Number(f[12]) / 100 };
}

const load1 = (): number => Number(fs.readFileSync('/proc/loadavg', 'latin1').split(' ')[0]);

/**
 * The agent child's CPU over `seconds` of a node with no pressure (the population steady, node
 * memory well under the threshold): user + system time from `/proc/<pid>/stat`, % of one core.
 */
export async function idleCpu(c: LoomChild, seconds: number, containers: number, say: (m: string) => void, label: string): Promise<IdleWindow> {
  const before = load1();
  const cpu0 = cpuTimesOf(c.pid);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const cpu1 = cpuTimesOf(c.pid);
  const wall = (performance.now() - t0) / 1000;
  const after = load1();
  const user = ((cpu1.user - cpu0.user) * 100) / wall;
  const system = ((cpu1.system - cpu0.system) * 100) / wall;
  const cpuPercent = user + system;
  say(`agent bench: idle CPU (${label}, ${containers} containers, ${wall.toFixed(0)} s): ${cpuPercent.toFixed(2)} % of one core (user ${user.toFixed(2)}, system ${system.toFixed(2)}); machine load ${before} → ${after}`);
  return { label, before, after, cpuPercent };
}
