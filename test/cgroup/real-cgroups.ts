/** Whether this machine lets the test create real cgroups (root, writable v1 memory controller). */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';

export function probeRealCgroups(): { ok: boolean; reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: `not Linux (${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not running as root' };
  const dir = path.join(CGROUP_ROOT, 'memory', `loom-probe-${randomBytes(4).toString('hex')}`);
  try {
    fs.mkdirSync(dir);
    fs.rmdirSync(dir);
    return { ok: true, reason: '' };
  } catch (err) {
    return { ok: false, reason: `cannot create a cgroup under ${path.dirname(dir)}: ${(err as Error).message}` };
  }
}

/** A container id of the test's fake application, by sequence number (1 is the AM). */
export const testContainerId = (n: number): string => `container_1700000000000_0001_01_${String(n).padStart(6, '0')}`;

/**
 * rmdir the test's cgroups bottom-up (deepest first). A cgroup whose last task just exited can
 * stay busy for a moment, so each is retried for about 2 s before giving up with one line.
 */
export async function removeCgroups(createdTopDown: readonly string[]): Promise<void> {
  for (const dir of [...createdTopDown].reverse()) {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.rmdirSync(dir);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
        if (attempt >= 50) {
          console.log(`cleanup: could not remove ${dir}: ${(err as Error).message}`);
          break;
        }
        await new Promise((r) => setTimeout(r, 40));
      }
    }
  }
}

/** mkdir -p of `rel` under `root`, recording each directory it creates (top-down) for removeCgroups. */
export function mkdirsRecorded(root: string, rel: string, created: string[]): void {
  let cur = root;
  for (const part of rel.split('/')) {
    cur = path.join(cur, part);
    if (!fs.existsSync(cur)) {
      fs.mkdirSync(cur);
      created.push(cur);
    }
  }
}
