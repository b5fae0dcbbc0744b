/**
 * Real cgroups for the agent benchmarks: whether this machine lets the bench make them (root,
 * writable v1 hierarchies), and the directories the bench makes — under a unique
 * `loom-bench-<hex>` prefix in every hierarchy the agent uses — removed again, deepest first,
 * whatever happened.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { CgroupLayout } from '../cgroup/index.js';
import { sleep } from './proc.js';

export const CGROUP_ROOT = '/sys/fs/cgroup';

/** The v1 controllers the agent reads and limits through (and the bench makes its groups in). */
const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct'] as const;

/** Why real cgroups cannot be used here (one line), or undefined when a group can be made in each v1 hierarchy. */
export function probeRealCgroups(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not running as root';
  for (const controller of V1_CONTROLLERS) {
    const probe = path.join(CGROUP_ROOT, controller, `loom-bench-probe-${randomBytes(4).toString('hex')}`);
    try {
      fs.mkdirSync(probe);
      fs.rmdirSync(probe);
    } catch (err) {
      return `cannot create a cgroup under ${path.dirname(probe)}: ${(err as Error).message}`;
    }
  }
  return undefined;
}

/** A fresh prefix for one benchmark's groups: nothing another run (or a crashed one) made can collide. */
export const benchPrefix = (): string => `loom-bench-${randomBytes(4).toString('hex')}`;

/** The hierarchy roots a cgroup of the agent has directories in: memory, cpu, cpuacct and the unified tree. */
export function agentHierarchyRoots(layout: CgroupLayout): string[] {
  const roots = new Set(V1_CONTROLLERS.map((c) => layout.controllerDirs[c]).filter((d): d is string => d !== undefined));
  if (layout.unified) roots.add(layout.unified.dir);
  return [...roots];
}

/** The directories a benchmark made; `removeAll` takes them away deepest first. */
export class MadeCgroups {
  private readonly made: string[] = [];

  /** `<root>/<rel>`, each missing component made (and remembered). */
  make(root: string, rel: string): void {
    let cur = root;
    for (const part of rel.split('/')) {
      cur = path.join(cur, part);
      if (!fs.existsSync(cur)) {
        fs.mkdirSync(cur);
        this.made.push(cur);
      }
    }
  }

  get count(): number {
    return this.made.length;
  }

  /**
   * Remove every directory made, deepest first. A v1 group whose last process just exited may
   * refuse (EBUSY) for a moment: each is retried for up to 2 s. Returns those left behind.
   */
  async removeAll(): Promise<string[]> {
    const left: string[] = [];
    for (const d of [...this.made].reverse()) {
      for (let attempt = 0; ; attempt++) {
        try {
          fs.rmdirSync(d);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
          if (attempt >= 50) { left.push(d); break; }
          await sleep(40);
        }
      }
    }
    this.made.length = 0;
    return left;
  }
}
