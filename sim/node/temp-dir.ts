/**
 * A parent directory for simulated nodes. Prefers a tmpfs (`/dev/shm`): a node rewrites
 * hundreds of small files per step by rename, which costs ~30 µs each on tmpfs and up to ~1 ms
 * on a disk filesystem mounted with `discard`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function makeSimTempDir(prefix = 'loom-sim-'): string {
  for (const base of ['/dev/shm', os.tmpdir()]) {
    try {
      fs.accessSync(base, fs.constants.W_OK);
      if (!fs.statSync(base).isDirectory()) continue;
      return fs.mkdtempSync(path.join(base, prefix));
    } catch {
      // not usable here; try the next
    }
  }
  throw new Error('no writable temp directory for simulated nodes');
}
