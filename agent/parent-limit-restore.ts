/**
 * A limit the agent set on the YARN parent cgroup, put back on the way out: what it found before
 * its first write is written again unless `--keep-limits-on-exit`; a value changed since the
 * agent's last write is somebody else's (or a cgroup the NodeManager re-created) and is left alone.
 * The CPU suppression and the memory backstop both leave this way.
 */
import type { CgroupDirs, NodeCgroups } from '../cgroup/index.js';
import type { Logger } from '../log/logger.js';

export interface ParentLimit<L> {
  /** How the log names the limit: 'CPU' or 'memory'. */
  what: string;
  found: L;
  lastSet: L;
  read(dirs: CgroupDirs): L | undefined;
  same(current: L | undefined, lastSet: L): boolean;
  /** Writes `found` back; returns the fields the log line shows of the write. */
  write(dirs: CgroupDirs, found: L): Record<string, unknown>;
}

export function restoreParentLimit<L>(limit: ParentLimit<L>, keep: boolean, cgroups: NodeCgroups, logger: Logger): void {
  const { what, found, lastSet } = limit;
  if (keep) {
    logger.info({ limit: lastSet, found }, `YARN parent ${what} limit left as set (--keep-limits-on-exit)`);
    return;
  }
  try {
    const dirs = cgroups.yarnParent();
    const current = limit.read(dirs);
    if (!limit.same(current, lastSet)) {
      logger.warn({ current, lastSet, found }, `YARN parent ${what} limit changed since the agent set it; left as it is`);
      return;
    }
    const written = limit.write(dirs, found);
    logger.info({ restored: found, from: current, ...written }, `YARN parent ${what} limit restored to what the agent found`);
  } catch (err) {
    logger.error({ found, err: (err as Error).message }, `cannot put back the YARN parent ${what} limit`);
  }
}
