/**
 * Leader election on a coordination.k8s.io/v1 Lease, in client-go's model, plus a fence.
 *
 * - A candidate takes a lease held by another only when it has seen the same lease record
 *   unchanged for `leaseDuration` on its own clock (no trust in the holder's clock).
 * - The holder renews every `retryPeriod`; each attempt is bounded by the renew deadline. When a
 *   renewal cannot be confirmed within `renewDeadline` of the last confirmed one, it stops leading
 *   at once (a timer, not the next round, so a hanging call cannot keep it leading).
 * - Leadership is a **term**: a number that changes on every gain and every loss. Writers take
 *   the term when they start and call {@link Fence.check} right before each write: it throws
 *   unless the term is still current and the last confirmed renewal is younger than
 *   `renewDeadline`. A process resumed after a pause (SIGSTOP, a long GC) finds its deadline gone
 *   on the monotonic clock and writes nothing until it has confirmed the lease again.
 *
 * What this cannot do: a Kubernetes Lease is not a fencing token — the API server and the RM do
 * not check it. The fence closes the window to a write *sent* before the deadline but delivered
 * late; `leaseDuration − renewDeadline` is the margin such a write has before another candidate
 * may take over.
 */
import type { Clock, Timer } from '../clock/clock.js';
import { systemClock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import { KubeApiError, type KubeApi, type KubeObject, paths } from './api.js';

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
type Lease = KubeObject & { spec?: LeaseSpec };

/** Thrown by {@link Fence.check} when a write would leave without a valid lease. */
export class FencedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FencedError';
  }
}

/** What every writer asks right before it writes. */
export interface Fence {
  /** The current term (0: not leading). */
  readonly term: number;
  /** Throws {@link FencedError} unless `term` is current and the lease valid for the margin. */
  check(term: number): void;
}

/** A fence for a single writer (no leader election, `--once`): always term 1. */
export const soleWriter: Fence = { term: 1, check: () => {} };

export interface LeaderElectorOptions {
  api: KubeApi;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  /** Default ⅔ of the lease duration (client-go: 10 s of 15 s). */
  renewDeadlineMs?: number;
  /** Default ⅕ of the lease duration (client-go: 2 s of 15 s). */
  retryPeriodMs?: number;
  logger: Logger;
  clock?: Clock;
  onStartedLeading(term: number): void;
  onStoppedLeading(term: number): void;
}

/** MicroTime as the API server expects it (RFC 3339 with microseconds). */
const microTime = (ms: number): string => new Date(ms).toISOString().replace('Z', '000Z');

/** Pure: the elector's timing, validated (renewDeadline < leaseDuration, retryPeriod < renewDeadline). */
export function electionTiming(leaseDurationSeconds: number, renewDeadlineMs?: number, retryPeriodMs?: number): { leaseMs: number; renewDeadlineMs: number; retryPeriodMs: number } {
  const leaseMs = leaseDurationSeconds * 1000;
  const renew = renewDeadlineMs ?? Math.round(leaseMs * 2 / 3);
  const retry = retryPeriodMs ?? Math.round(leaseMs / 5);
  if (!(renew < leaseMs)) throw new RangeError(`renew deadline ${renew} ms must be shorter than the lease (${leaseMs} ms)`);
  if (!(retry < renew)) throw new RangeError(`retry period ${retry} ms must be shorter than the renew deadline (${renew} ms)`);
  return { leaseMs, renewDeadlineMs: renew, retryPeriodMs: retry };
}

export class LeaderElector implements Fence {
  private readonly clock: Clock;
  private readonly timing: ReturnType<typeof electionTiming>;
  private timer: Timer | undefined;
  private deadlineTimer: Timer | undefined;
  private leading = false;
  private currentTerm = 0;
  private terms = 0;
  /** Monotonic time the last confirmed acquire/renew was sent. */
  private confirmedAt = -Infinity;
  private observed: { key: string; at: number } | undefined;
  private stopped = false;
  private inFlight: AbortController | undefined;
  private round: Promise<void> | undefined;
  /** Counters for metrics and tests. */
  readonly stats = { renewals: 0, failedRounds: 0, fenced: 0, transitions: 0 };

  constructor(private readonly o: LeaderElectorOptions) {
    this.clock = o.clock ?? systemClock;
    this.timing = electionTiming(o.leaseDurationSeconds, o.renewDeadlineMs, o.retryPeriodMs);
  }

  get isLeader(): boolean { return this.leading; }
  /** A round (read, then renew or acquire) is in flight. */
  get busy(): boolean { return this.inFlight !== undefined; }
  get term(): number { return this.currentTerm; }
  /** Milliseconds of write validity left (≤ 0: none). */
  get validForMs(): number { return this.leading ? this.confirmedAt + this.timing.renewDeadlineMs - this.clock.now() : 0; }

  check(term: number): void {
    if (!this.leading || term !== this.currentTerm) {
      this.stats.fenced++;
      throw new FencedError(`not leading in term ${term} (current term ${this.currentTerm}${this.leading ? '' : ', standby'})`);
    }
    if (this.validForMs <= 0) {
      this.stats.fenced++;
      // Resumed after a pause, or renewals failing: the deadline timer may not have run yet.
      this.loseLeadership('lease renewal not confirmed within the renew deadline');
      throw new FencedError(`lease not confirmed within ${this.timing.renewDeadlineMs} ms; writes stopped`);
    }
  }

  start(): void {
    this.schedule(0);
  }

  async stop(release = true): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.inFlight?.abort(new Error('elector stopped'));
    await this.round?.catch(() => {});
    const wasLeading = this.leading && this.validForMs > 0;
    this.loseLeadership('shutting down');
    if (wasLeading && release) {
      // Hand over quickly: mark the lease free so a standby need not wait a full duration.
      try {
        const lease = await this.o.api.get<Lease>(paths.lease(this.o.namespace, this.o.name), { timeoutMs: this.timing.renewDeadlineMs });
        if (lease.spec?.holderIdentity === this.o.identity) {
          await this.o.api.replace(paths.lease(this.o.namespace, this.o.name), {
            ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(0) },
          }, { timeoutMs: this.timing.renewDeadlineMs });
        }
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message }, 'could not release the leader lease');
      }
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer?.cancel();
    this.timer = this.clock.setTimer(ms, () => {
      this.round = this.tick();
    });
  }

  private gainLeadership(sentAt: number): void {
    this.confirmedAt = sentAt;
    this.armDeadline();
    if (this.leading) return;
    this.leading = true;
    this.currentTerm = ++this.terms;
    this.stats.transitions++;
    this.o.logger.info({ identity: this.o.identity, lease: `${this.o.namespace}/${this.o.name}`, term: this.currentTerm }, 'became leader');
    this.o.onStartedLeading(this.currentTerm);
  }

  private loseLeadership(why: string): void {
    this.deadlineTimer?.cancel();
    if (!this.leading) return;
    const term = this.currentTerm;
    this.leading = false;
    this.currentTerm = 0;
    this.confirmedAt = -Infinity;
    this.stats.transitions++;
    this.o.logger.info({ identity: this.o.identity, lease: `${this.o.namespace}/${this.o.name}`, term, why }, 'stopped leading');
    this.o.onStoppedLeading(term);
  }

  /** Stop leading the moment the renew deadline passes unconfirmed. */
  private armDeadline(): void {
    this.deadlineTimer?.cancel();
    this.deadlineTimer = this.clock.setTimer(Math.max(0, this.validForMs), () => {
      if (this.leading && this.validForMs <= 0) this.loseLeadership('lease renewal not confirmed within the renew deadline');
    });
  }

  private async tick(): Promise<void> {
    // A leader's attempt may take until its deadline (then it must stop leading anyway); a
    // candidate's is bounded by the renew deadline, so a slow API server delays it, never stalls it.
    const budget = this.leading ? Math.max(1, this.validForMs) : this.timing.renewDeadlineMs;
    const ctl = new AbortController();
    this.inFlight = ctl;
    const t = this.clock.setTimer(budget, () => ctl.abort(new Error(`lease round took longer than ${budget} ms`)));
    try {
      await this.tryAcquireOrRenew(ctl.signal);
    } catch (err) {
      this.stats.failedRounds++;
      if (!this.stopped) this.o.logger.warn({ err: (err as Error).message, leading: this.leading }, 'leader election round failed');
    } finally {
      t.cancel();
      this.inFlight = undefined;
    }
    if (this.leading && this.validForMs <= 0) this.loseLeadership('lease renewal not confirmed within the renew deadline');
    this.schedule(this.timing.retryPeriodMs);
  }

  private async ensureNamespace(signal: AbortSignal): Promise<void> {
    try {
      await this.o.api.create(paths.namespaces(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.o.namespace } }, { signal });
    } catch (err) {
      if (!(err instanceof KubeApiError && (err.conflict || err.status === 403))) throw err;
    }
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<void> {
    const sentAt = this.clock.now();
    const wall = this.clock.wallNow();
    const path = paths.lease(this.o.namespace, this.o.name);
    let lease: Lease | undefined;
    try {
      lease = await this.o.api.get<Lease>(path, { signal });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.notFound)) throw err;
    }
    if (!lease) {
      const body = {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
        metadata: { name: this.o.name, namespace: this.o.namespace },
        spec: { holderIdentity: this.o.identity, leaseDurationSeconds: this.o.leaseDurationSeconds, acquireTime: microTime(wall), renewTime: microTime(wall), leaseTransitions: 0 },
      };
      try {
        await this.o.api.create(paths.leases(this.o.namespace), body, { signal });
      } catch (err) {
        if (err instanceof KubeApiError && err.notFound) {
          await this.ensureNamespace(signal);
          await this.o.api.create(paths.leases(this.o.namespace), body, { signal });
        } else if (err instanceof KubeApiError && err.conflict) {
          return; // someone else created it first; the next round reads it
        } else throw err;
      }
      this.stats.renewals++;
      this.gainLeadership(sentAt);
      return;
    }
    const spec = lease.spec ?? {};
    const mine = spec.holderIdentity === this.o.identity;
    // client-go: expiry is judged on our own clock from when we first saw this exact record.
    const key = `${spec.holderIdentity ?? ''}|${spec.renewTime ?? ''}|${lease.metadata.resourceVersion ?? ''}`;
    if (this.observed?.key !== key) this.observed = { key, at: sentAt };
    const duration = (spec.leaseDurationSeconds ?? this.o.leaseDurationSeconds) * 1000;
    const free = !spec.holderIdentity;
    const expired = free || this.clock.now() - this.observed.at > duration;
    if (!mine && !expired) {
      this.loseLeadership(`lease held by ${spec.holderIdentity}`);
      return;
    }
    const next: Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.o.identity,
        leaseDurationSeconds: this.o.leaseDurationSeconds,
        renewTime: microTime(wall),
        ...(mine ? {} : { acquireTime: microTime(wall), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
      },
    };
    try {
      await this.o.api.replace(path, next, { signal });
    } catch (err) {
      if (err instanceof KubeApiError && err.conflict) {
        // Another candidate renewed or took it between our read and write.
        this.loseLeadership('lease changed under our renewal (409)');
        return;
      }
      throw err;
    }
    this.stats.renewals++;
    this.gainLeadership(sentAt);
  }
}
