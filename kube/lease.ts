/**
 * Leader election on a coordination.k8s.io/v1 Lease. Only the holder writes; a holder that
 * cannot renew before the lease expires stops leading (callers must stop writing at once), and
 * another candidate takes over once `leaseDurationSeconds` has passed since the last renewal.
 * Every update is guarded by resourceVersion, so two candidates can never both win.
 */
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

export interface LeaderElectorOptions {
  api: KubeApi;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  logger: Logger;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  now?: () => number;
}

/** MicroTime as the API server expects it (RFC 3339 with microseconds). */
const microTime = (ms: number): string => new Date(ms).toISOString().replace('Z', '000Z');

export class LeaderElector {
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private lastRenewOk = 0;
  private stopped = false;

  constructor(private readonly o: LeaderElectorOptions) {}

  get isLeader(): boolean { return this.leading; }

  start(): void {
    void this.tick();
  }

  async stop(release = true): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.leading && release) {
      // Hand over quickly: mark the lease expired so a standby need not wait a full duration.
      try {
        const lease = await this.o.api.get<Lease>(paths.lease(this.o.namespace, this.o.name));
        if (lease.spec?.holderIdentity === this.o.identity) {
          await this.o.api.replace(paths.lease(this.o.namespace, this.o.name), {
            ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(0) },
          });
        }
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message }, 'could not release the leader lease');
      }
    }
    this.setLeading(false);
  }

  private now(): number { return this.o.now ? this.o.now() : Date.now(); }

  private setLeading(v: boolean): void {
    if (v === this.leading) return;
    this.leading = v;
    this.o.logger.info({ identity: this.o.identity, lease: `${this.o.namespace}/${this.o.name}`, leading: v }, v ? 'became leader' : 'stopped leading');
    if (v) this.o.onStartedLeading();
    else this.o.onStoppedLeading();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    const durationMs = this.o.leaseDurationSeconds * 1000;
    try {
      await this.tryAcquireOrRenew();
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'leader election round failed');
    }
    // A leader that has not renewed within the lease duration must assume it lost the lease.
    if (this.leading && this.now() - this.lastRenewOk > durationMs) this.setLeading(false);
    this.schedule(this.leading ? durationMs / 3 : durationMs / 4);
  }

  private async ensureNamespace(): Promise<void> {
    try {
      await this.o.api.create(paths.namespaces(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.o.namespace } });
    } catch (err) {
      if (!(err instanceof KubeApiError && (err.conflict || err.status === 403))) throw err;
    }
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const now = this.now();
    let lease: Lease | undefined;
    try {
      lease = await this.o.api.get<Lease>(paths.lease(this.o.namespace, this.o.name));
    } catch (err) {
      if (!(err instanceof KubeApiError && err.notFound)) throw err;
    }
    if (!lease) {
      const body = {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
        metadata: { name: this.o.name, namespace: this.o.namespace },
        spec: { holderIdentity: this.o.identity, leaseDurationSeconds: this.o.leaseDurationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
      };
      try {
        await this.o.api.create(paths.leases(this.o.namespace), body);
      } catch (err) {
        if (err instanceof KubeApiError && err.notFound) {
          await this.ensureNamespace();
          await this.o.api.create(paths.leases(this.o.namespace), body);
        } else if (err instanceof KubeApiError && err.conflict) {
          return; // someone else created it first; next round reads it
        } else throw err;
      }
      this.lastRenewOk = now;
      this.setLeading(true);
      return;
    }
    const spec = lease.spec ?? {};
    const renewedAt = spec.renewTime ? Date.parse(spec.renewTime) : 0;
    const duration = (spec.leaseDurationSeconds ?? this.o.leaseDurationSeconds) * 1000;
    const mine = spec.holderIdentity === this.o.identity;
    const expired = !spec.holderIdentity || now - renewedAt > duration;
    if (!mine && !expired) {
      this.setLeading(false);
      return;
    }
    const next: Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.o.identity,
        leaseDurationSeconds: this.o.leaseDurationSeconds,
        renewTime: microTime(now),
        ...(mine ? {} : { acquireTime: microTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
      },
    };
    try {
      await this.o.api.replace(paths.lease(this.o.namespace, this.o.name), next);
    } catch (err) {
      if (err instanceof KubeApiError && err.conflict) {
        // Another candidate renewed or took it between our read and write.
        if (!mine) this.setLeading(false);
        return;
      }
      throw err;
    }
    this.lastRenewOk = now;
    this.setLeading(true);
  }
}
