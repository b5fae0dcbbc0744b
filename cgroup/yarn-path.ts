/**
 * The YARN cgroup hierarchy path (`--yarn-cgroup-path`, e.g. `kubepods/besteffort/hadoop-yarn`)
 * and the container id as a path component. Both are validated before they meet a filesystem
 * path: the agent kills whatever is inside these directories.
 */
import { isContainerId } from '../yarn/ids.js';
import { CgroupPathError } from './errors.js';

/** cgroupfs driver (`kubepods/besteffort/…`) or systemd driver (`kubepods.slice/kubepods-besteffort.slice/…`). */
export type CgroupNaming = 'cgroupfs' | 'systemd';

export interface YarnHierarchy {
  /** Relative, normalised path (no leading or trailing `/`), used as given otherwise. */
  path: string;
  components: readonly string[];
  naming: CgroupNaming;
}

/**
 * Validate the configured YARN cgroup path: relative, non-empty, no `.`/`..`/empty components,
 * no NUL or newline. A single trailing `/` is tolerated. We accept the path as configured and
 * only *report* its naming; we never rewrite cgroupfs names into systemd ones or back.
 */
export function parseYarnHierarchy(configured: string): YarnHierarchy {
  const raw = configured;
  if (raw.startsWith('/')) {
    throw new CgroupPathError('invalid-yarn-path', raw, 'must be relative to the controller mount (drop the leading "/")');
  }
  const trimmed = raw.endsWith('/') ? raw.slice(0, -1) : raw;
  if (trimmed === '') throw new CgroupPathError('invalid-yarn-path', raw, 'empty');
  const components = trimmed.split('/');
  for (const c of components) {
    const bad = componentProblem(c);
    if (bad) throw new CgroupPathError('invalid-yarn-path', raw, bad);
  }
  return { path: components.join('/'), components, naming: namingOf(components) };
}

/** systemd slices end in `.slice`; any slice component means the systemd driver laid it out. */
export function namingOf(components: readonly string[]): CgroupNaming {
  return components.some((c) => c.endsWith('.slice')) ? 'systemd' : 'cgroupfs';
}

/**
 * The same hierarchy under the other cgroup driver's naming, for a hint when the configured one
 * does not exist (`kubepods/besteffort/hadoop-yarn` ⇄ `kubepods.slice/kubepods-besteffort.slice/hadoop-yarn`).
 * Only the kubepods prefix is translated; undefined when the path does not start with it.
 */
export function otherNaming(h: YarnHierarchy): string | undefined {
  const c = h.components;
  if (h.naming === 'cgroupfs' && c[0] === 'kubepods') {
    const out = ['kubepods.slice'];
    let i = 1;
    if (c[1] === 'besteffort' || c[1] === 'burstable') {
      out.push(`kubepods-${c[1]}.slice`);
      i = 2;
    }
    return [...out, ...c.slice(i)].join('/');
  }
  if (h.naming === 'systemd' && c[0] === 'kubepods.slice') {
    const out = ['kubepods'];
    let i = 1;
    const qos = /^kubepods-(besteffort|burstable)\.slice$/.exec(c[1] ?? '');
    if (qos) {
      out.push(qos[1]!);
      i = 2;
    }
    return [...out, ...c.slice(i)].join('/');
  }
  return undefined;
}

/** The container id, validated as the one path component it may become. */
export function containerComponent(containerId: unknown): string {
  if (!isContainerId(containerId)) {
    throw new CgroupPathError('invalid-container-id', String(containerId), 'not a YARN container id (container_[e<epoch>_]<ts>_<app>_<attempt>_<seq>)');
  }
  return containerId;
}

function componentProblem(c: string): string | undefined {
  if (c === '') return 'empty path component ("//")';
  if (c === '.' || c === '..') return `"${c}" component`;
  if (/[\0\n\r\\]/.test(c)) return 'control character or backslash in a component';
  return undefined;
}
