/**
 * Kubernetes Events on Nodes (core/v1). Identical events within a window are folded into one
 * with a rising count, as kubelet does, so a flapping condition cannot flood the API server.
 */
import { hostname } from 'node:os';
import type { Logger } from '../log/logger.js';
import { type KubeApi, paths } from './api.js';

export interface NodeEvent {
  node: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface EventSink {
  post(event: NodeEvent): void;
}

interface Folded {
  name: string;
  count: number;
  firstAt: string;
  lastSentAt: number;
}

export class EventRecorder implements EventSink {
  private readonly recent = new Map<string, Folded>();
  private seq = 0;
  posted = 0;

  constructor(
    private readonly api: KubeApi,
    private readonly opts: { namespace: string; component: string; logger: Logger; foldWindowMs?: number; dryRun?: boolean },
  ) {}

  post(e: NodeEvent): void {
    void this.send(e).catch((err: unknown) => {
      this.opts.logger.warn({ node: e.node, reason: e.reason, err: (err as Error).message }, 'could not post Kubernetes Event');
    });
  }

  async send(e: NodeEvent): Promise<void> {
    if (this.opts.dryRun) return;
    const key = `${e.node}\u0000${e.type}\u0000${e.reason}\u0000${e.message}`;
    const now = Date.now();
    const window = this.opts.foldWindowMs ?? 10 * 60_000;
    const folded = this.recent.get(key);
    const nowIso = new Date(now).toISOString();
    if (folded && now - folded.lastSentAt < window) {
      folded.count++;
      folded.lastSentAt = now;
      await this.api.patch(`${paths.events(this.opts.namespace)}/${folded.name}`, 'merge', { count: folded.count, lastTimestamp: nowIso });
      this.posted++;
      return;
    }
    if (this.recent.size > 1000) this.recent.clear();
    const name = `${e.node}.${now.toString(16)}${(this.seq++).toString(16)}`.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
    await this.api.create(paths.events(this.opts.namespace), {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: this.opts.namespace },
      involvedObject: { apiVersion: 'v1', kind: 'Node', name: e.node, uid: e.node },
      reason: e.reason,
      message: e.message,
      type: e.type,
      source: { component: this.opts.component, host: hostname() },
      firstTimestamp: nowIso,
      lastTimestamp: nowIso,
      count: 1,
      reportingComponent: this.opts.component,
      reportingInstance: hostname(),
    });
    this.recent.set(key, { name, count: 1, firstAt: nowIso, lastSentAt: now });
    this.posted++;
  }
}

/** An event sink that only logs (no API access, or dry-run). */
export class LogOnlyEvents implements EventSink {
  constructor(private readonly logger: Logger) {}
  post(e: NodeEvent): void {
    this.logger.info({ node: e.node, eventType: e.type, reason: e.reason }, e.message);
  }
}
