/**
 * What `/livez`, `/healthz` and `/readyz` say, check by check.
 *
 * `/livez` is "are the loops turning?" — the only question a restart can answer:
 * - `loop`: the tick loop turns (the last tick ended within 3 periods + 5 s);
 * - `fast-watch`: the fast memory watch turns (it last ran within 3 of its longest periods + 5 s).
 * Neither is checked when the caller drives the ticks.
 *
 * `/healthz` is "can this agent still decide correctly?": the loop checks and
 * - `node-memory`: `<proc-root>/meminfo` was read cleanly (by a tick or the fast watch) within the
 *   last `healthTicks` ticks — an agent that cannot read node memory evicts nothing.
 * - `nodemanager`: the NodeManager's container list was read within the last `healthTicks` ticks
 *   (far under the threshold a steady list is reused for up to 4 ticks: an outage is seen at the
 *   next tick that asks, at most 4 ticks later).
 * A NodeManager that is down, or a wrong proc root, fails these, and a restarted agent would see
 * the same: they are for readiness and alerts, never for a livenessProbe.
 *
 * Healthy = every check passes; a check that has not had `healthTicks` ticks to succeed yet is
 * not failing (start-up). Ready = healthy, and node memory and the NM were each read at least
 * once. The body names every check with its state and, when failing, the last error.
 */
import type { Collection } from './collector.js';

export interface HealthProbeResult {
  ok: boolean;
  detail?: string;
}

export interface AgentHealthOptions {
  healthTicks: number;
  tickMillis: number;
  /** The fast watch's longest period. */
  fastWatchMillis: number;
  /** Ticks are driven by the caller: no loop-age checks. */
  manual: boolean;
  /** Wall time for the loop-age check. */
  now: () => number;
  /** When the fast watch last looked, when it runs on its own thread (shared memory; same time base as `now`). */
  fastWatchAt?: () => number | undefined;
}

interface Check {
  /** The tick (1-based: the one running or about to run) of the last success; undefined before the first. */
  okAt?: number;
  lastError?: string;
}

export class AgentHealth {
  private ticks = 0;
  private lastTickEnded: number;
  private lastFastWatch: number;
  private readonly memory: Check = {};
  private readonly nm: Check = {};

  constructor(private readonly o: AgentHealthOptions) {
    this.lastTickEnded = o.now();
    this.lastFastWatch = o.now();
  }

  /** The fast watch ran (whatever it found). */
  fastWatchTurned(): void {
    this.lastFastWatch = this.o.now();
  }

  /** A tick's collection: node memory and NM outcome. */
  collected(col: Collection): void {
    if (col.node) this.memoryRead();
    else this.memory.lastError = 'the last tick could not read node memory';
    if (col.nmUp) this.nm.okAt = this.ticks + 1;
    else this.nm.lastError = 'the last tick could not read the container list';
  }

  tickEnded(): void {
    this.ticks++;
    this.lastTickEnded = this.o.now();
  }

  memoryRead(): void {
    this.memory.okAt = this.ticks + 1;
  }

  memoryFailed(err: string): void {
    this.memory.lastError = err;
  }

  probe(kind: 'live' | 'healthy' | 'ready'): HealthProbeResult {
    const n = this.o.healthTicks;
    const lines: string[] = [];
    let ok = true;
    const check = (name: string, c: Check, what: string): void => {
      const since = c.okAt === undefined ? this.ticks : this.ticks - c.okAt;
      const failing = c.okAt === undefined ? this.ticks >= n || (kind === 'ready') : since > n;
      if (failing) {
        ok = false;
        const when = c.okAt === undefined ? `never read in ${this.ticks} tick(s)` : `not read for ${since} ticks (limit ${n})`;
        lines.push(`${name}: failing — ${what} ${when}${c.lastError ? `; last error: ${c.lastError}` : ''}`);
      } else {
        lines.push(`${name}: ok`);
      }
    };
    const turning = (name: string, last: number, periodMs: number, what: string): void => {
      const age = this.o.now() - last;
      const limit = periodMs * 3 + 5000;
      if (age >= limit) {
        ok = false;
        lines.push(`${name}: failing — ${what} ${age} ms ago (limit ${limit} ms)`);
      } else {
        lines.push(`${name}: ok`);
      }
    };
    if (!this.o.manual) {
      turning('loop', this.lastTickEnded, this.o.tickMillis, 'last tick ended');
      turning('fast-watch', Math.max(this.lastFastWatch, this.o.fastWatchAt?.() ?? 0), this.o.fastWatchMillis, 'last ran');
    } else if (kind === 'live') {
      lines.push('loops driven by the caller');
    }
    if (kind !== 'live') {
      check('node-memory', this.memory, 'node memory');
      check('nodemanager', this.nm, 'NodeManager containers');
    }
    return ok ? { ok, detail: lines.join('; ') } : { ok, detail: lines.filter((l) => l.includes('failing')).join('; ') + ` (${lines.filter((l) => !l.includes('failing')).join('; ')})` };
  }
}
