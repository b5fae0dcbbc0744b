/**
 * Typed errors of the cgroup layer. Every error names the file or path it is about, so a log line
 * is enough to find the culprit on a node.
 */
import { InputError } from '../input/input-error.js';

/** A cgroup or proc file whose content is not what the kernel writes (garbage, negative, truncated). */
export class CgroupParseError extends InputError {
  constructor(readonly file: string, readonly reason: string) {
    super(file, reason);
    this.name = 'CgroupParseError';
  }
}

/** Codes Loom sets itself, and errnos whose plain name would puzzle a reader of the log. */
const IO_CODE_MEANING: Record<string, string> = {
  ENOTREG: 'not a regular file: a FIFO, device or socket is never read',
  EFBIG: 'larger than the size limit for kernel files',
  ELOOP: 'a symlink: never followed',
};

/** A cgroup or proc file that could not be read or written (gone, permission, kernel refusal). */
export class CgroupIoError extends Error {
  constructor(
    readonly file: string,
    readonly op: 'read' | 'write' | 'stat',
    /** errno name from Node (`ENOENT`, `EACCES`, `EINVAL` …), or `EUNKNOWN`. */
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(`${op} ${file} failed: ${code}${IO_CODE_MEANING[code] ? ` (${IO_CODE_MEANING[code]})` : ''}`, options);
    this.name = 'CgroupIoError';
  }

  /** The file (or its cgroup) no longer exists — a container that exited between list and read. */
  get gone(): boolean {
    return this.code === 'ENOENT' || this.code === 'ENODEV';
  }
}

export type CgroupPathErrorKind =
  | 'invalid-container-id'
  | 'invalid-yarn-path'
  | 'invalid-component'
  | 'escapes-yarn-parent'
  | 'not-a-directory'
  /** Something is mounted over the directory or file (or over a directory above it). */
  | 'bind-mount'
  /** A file to write is not on a cgroup filesystem. */
  | 'not-cgroupfs'
  /** A file to read or write is a FIFO, device, socket or directory. */
  | 'not-a-regular-file'
  /** The proof itself could not be made (procfs unreadable): refused, never assumed. */
  | 'unprovable';

/** A path Loom refuses to touch: bad id, `..`, absolute component, a symlink escape, a bind mount, not cgroupfs. */
export class CgroupPathError extends Error {
  constructor(readonly kind: CgroupPathErrorKind, readonly path: string, reason: string) {
    super(`refusing cgroup path ${JSON.stringify(path)}: ${reason}`);
    this.name = 'CgroupPathError';
  }
}

/** No usable cgroup hierarchy (or not the one an operation needs) under the configured root. */
export class CgroupLayoutError extends Error {
  constructor(readonly root: string, reason: string) {
    super(`cgroup layout under ${root}: ${reason}`);
    this.name = 'CgroupLayoutError';
  }
}

/** Node's errno name of a thrown fs error, or EUNKNOWN. */
export function errnoCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}

/** The cgroup has no directory in the hierarchy an operation needs (not created yet, or gone). */
export class CgroupNotFoundError extends Error {
  constructor(readonly cgroupPath: string, readonly role: string) {
    super(`cgroup ${cgroupPath || '/'} has no ${role} directory`);
    this.name = 'CgroupNotFoundError';
  }
}
