/**
 * "Log it once": a problem that persists (a container whose cgroup cannot be proven, an NM that is
 * down, a garbage file) gets one clear line when it starts, not one per tick, and one line when
 * it ends — so the log says what happened without drowning the next problem.
 */
import type { Logger } from '../log/logger.js';

export class OnceLog {
  private readonly active = new Map<string, string>();

  constructor(private readonly logger: Logger) {}

  /**
   * Logs at `level` unless the same key is already reported with the same message (or, when
   * given, the same `signature`: e.g. a count, so a changed count logs again). Returns whether it logged.
   */
  report(key: string, level: 'warn' | 'error' | 'info', fields: Record<string, unknown>, message: string, signature = message): boolean {
    if (this.active.get(key) === signature) return false;
    this.active.set(key, signature);
    this.logger[level](fields, message);
    return true;
  }

  has(key: string): boolean {
    return this.active.has(key);
  }

  /** The problem is over; logs `resolved` at info when one was reported. */
  clear(key: string, resolved?: { fields: Record<string, unknown>; message: string }): void {
    if (!this.active.delete(key)) return;
    if (resolved) this.logger.info(resolved.fields, resolved.message);
  }

  /** Forget (silently) every key with this prefix that `keep` does not accept. */
  prune(prefix: string, keep: (key: string) => boolean): void {
    for (const k of [...this.active.keys()]) if (k.startsWith(prefix) && !keep(k)) this.active.delete(k);
  }
}
