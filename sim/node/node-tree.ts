/**
 * The simulated node's files: the cgroupfs and procfs trees under the node's directory, built
 * once and then rewritten from the model's views — each file atomically and only when its
 * content changed; a directory appears complete (built in staging, renamed into place) and
 * disappears in one rename.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AtomicFiles } from './atomic-files.js';
import { cgroupFileSets, type FileSet } from './cgroup-files.js';
import { cgroupDirs, hasV1, mountsFile } from './hierarchy.js';
import { meminfo, psiFile } from './kernel-files.js';
import { nodeMemoryOf, pidFileContents, procStatText, refreshLoads, RESOURCES, views, zeroPsiSet } from './node-model.js';
import type { NodeState, SimContainer } from './node-state.js';

export class NodeTree {
  readonly files: AtomicFiles;
  private trashSeq = 0;

  constructor(private readonly s: NodeState, private readonly staging: string) {
    this.files = new AtomicFiles(staging);
  }

  /** The static cgroups (every hierarchy), proc, the mounts file, the control files once, then a render. */
  build(): void {
    const { cgroupRoot, procRoot, layout } = this.s.paths;
    fs.mkdirSync(cgroupRoot, { recursive: true });
    fs.mkdirSync(path.join(procRoot, 'pressure'), { recursive: true });
    if (hasV1(layout)) {
      for (const rel of this.s.staticGroups) {
        for (const d of cgroupDirs(layout, cgroupRoot, rel).v1.values()) fs.mkdirSync(d, { recursive: true });
      }
      fs.symlinkSync('cpu,cpuacct', path.join(cgroupRoot, 'cpu'));
      fs.symlinkSync('cpu,cpuacct', path.join(cgroupRoot, 'cpuacct'));
    }
    for (const rel of this.s.staticGroups) {
      const u = cgroupDirs(layout, cgroupRoot, rel).unified;
      if (u !== undefined) fs.mkdirSync(u, { recursive: true });
    }
    this.files.write(path.join(procRoot, 'mounts'), mountsFile(layout, cgroupRoot, procRoot));
    // Control files once; everything else through render().
    const v = views(this.s);
    for (const rel of this.s.staticGroups) {
      for (const set of cgroupFileSets(layout, cgroupRoot, v.get(rel)!)) writeAll(this.files, set);
    }
    this.render();
  }

  /** Rewrites every file whose content changed (loads are re-evaluated at the current time). */
  render(): void {
    const s = this.s;
    if (s.stopped) return;
    refreshLoads(s);
    const all = views(s);
    for (const v of all.values()) {
      for (const set of cgroupFileSets(s.paths.layout, s.paths.cgroupRoot, v)) {
        try {
          for (const [file, content] of Object.entries(set.files)) {
            if (!set.control.has(file)) this.files.write(path.join(set.dir, file), content);
          }
        } catch (e) {
          // a cgroup someone else removed under us: nothing to render there
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      }
    }
    const proc = s.paths.procRoot;
    const totals = all.get('')!.total;
    this.files.write(path.join(proc, 'meminfo'), meminfo(nodeMemoryOf(s, totals)));
    this.files.write(path.join(proc, 'stat'), procStatText(s));
    const nodePsi = s.psi.get('node') ?? zeroPsiSet();
    for (const r of RESOURCES) this.files.write(path.join(proc, 'pressure', r), psiFile(nodePsi[r]));
    for (const c of s.containers.values()) {
      if (c.state !== 'running') continue;
      this.writePidFiles(c);
    }
  }

  /** `/proc/<pid>/{stat,status}` of a container, rewritten only when its RSS changed. */
  writePidFiles(c: SimContainer): void {
    if (c.pidFilesRss === c.load.memoryBytes) return;
    c.pidFilesRss = c.load.memoryBytes;
    const dir = path.join(this.s.paths.procRoot, String(c.proc.pid));
    try {
      for (const [f, content] of Object.entries(pidFileContents(this.s, c))) this.files.write(path.join(dir, f), content);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  /** Builds a directory in staging and renames it into place, so it appears complete. */
  createDirAtomically(dir: string, files: Record<string, string>): void {
    const tmp = path.join(this.staging, `d${this.trashSeq++}`);
    fs.mkdirSync(tmp);
    for (const [f, content] of Object.entries(files)) fs.writeFileSync(path.join(tmp, f), content);
    fs.renameSync(tmp, dir);
    for (const [f, content] of Object.entries(files)) this.files.remember(path.join(dir, f), content);
  }

  /** Moves a directory out of sight in one rename, then deletes it. */
  removeTree(dir: string): void {
    this.files.forget(dir);
    const trash = path.join(this.staging, `t${this.trashSeq++}`);
    try {
      fs.renameSync(dir, trash);
    } catch {
      return; // already gone
    }
    fs.rmSync(trash, { recursive: true, force: true });
  }
}

function writeAll(files: AtomicFiles, set: FileSet): void {
  for (const [f, content] of Object.entries(set.files)) files.write(path.join(set.dir, f), content);
}
