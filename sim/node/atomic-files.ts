/**
 * Writes the fake kernel files so a concurrent reader never sees half a file (write a staging
 * file, then rename over the target — atomic within one filesystem) and skips files whose
 * content did not change, so a step over 200 containers touches only what moved.
 */
import fs from 'node:fs';
import path from 'node:path';

export class AtomicFiles {
  private readonly last = new Map<string, string>();
  private seq = 0;
  writes = 0;

  /** `stagingDir` must be on the same filesystem as every target (a sibling of the trees). */
  constructor(private readonly stagingDir: string) {
    fs.mkdirSync(stagingDir, { recursive: true });
  }

  /** Writes `content` to `file` if it differs from what this writer last put there. */
  write(file: string, content: string): boolean {
    if (this.last.get(file) === content) return false;
    const tmp = path.join(this.stagingDir, `w${this.seq++}`);
    fs.writeFileSync(tmp, content);
    try {
      fs.renameSync(tmp, file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    this.last.set(file, content);
    this.writes++;
    return true;
  }

  /** Forgets the cache of files under `dir` (it was removed or someone else writes there). */
  forget(dir: string): void {
    const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep;
    for (const k of this.last.keys()) if (k === dir || k.startsWith(prefix)) this.last.delete(k);
  }

  /** Records content someone else just put at `file` (e.g. a directory renamed into place). */
  remember(file: string, content: string): void {
    this.last.set(file, content);
  }

  forgetFile(file: string): void {
    this.last.delete(file);
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
