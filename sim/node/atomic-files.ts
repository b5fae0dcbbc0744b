/**
 * Writes the fake kernel files so a concurrent reader never sees half a file (write a staging
 * file, then rename over the target — atomic within one filesystem) and skips files whose
 * content did not change, so a step over 200 containers touches only what moved.
 *
 * Cost note: every rewrite allocates a new inode. On tmpfs that is ~30 µs; on ext4 mounted with
 * `discard` it can be ~1 ms, so large simulated nodes belong on a tmpfs (see temp-dir.ts).
 */
import fs from 'node:fs';
import path from 'node:path';

export class AtomicFiles {
  /** last content written, per directory then file name */
  private readonly last = new Map<string, Map<string, string>>();
  private seq = 0;
  /** files actually written since creation (for tests and benchmarks) */
  writes = 0;

  /** `stagingDir` must be on the same filesystem as every target (a sibling of the trees). */
  constructor(private readonly stagingDir: string) {
    fs.mkdirSync(stagingDir, { recursive: true });
  }

  /** Writes `content` to `file` if it differs from what this writer last put there. */
  write(file: string, content: string): boolean {
    const dir = path.dirname(file);
    const name = path.basename(file);
    const known = this.last.get(dir);
    if (known?.get(name) === content) return false;
    const tmp = path.join(this.stagingDir, `w${this.seq++}`);
    fs.writeFileSync(tmp, content);
    try {
      fs.renameSync(tmp, file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    this.remember(file, content);
    this.writes++;
    return true;
  }

  /** Records content someone else just put at `file` (e.g. a directory renamed into place). */
  remember(file: string, content: string): void {
    const dir = path.dirname(file);
    let m = this.last.get(dir);
    if (!m) this.last.set(dir, (m = new Map()));
    m.set(path.basename(file), content);
  }

  /** Forgets what it wrote under `dir` (the directory was removed). */
  forget(dir: string): void {
    this.last.delete(dir);
    const prefix = dir + path.sep;
    for (const k of this.last.keys()) if (k.startsWith(prefix)) this.last.delete(k);
  }
}

/** Reads a small file; undefined if it is missing or unreadable. */
export function readSmall(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
