/**
 * Kubernetes Events on Nodes (core/v1). Identical events within a window are folded into one
 * with a rising count, as kubelet does, so a flapping condition cannot flood the API server.
 */
import { hostname } from 'node:os';
import { type Clock, systemClock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import { type KubeApi, paths } from './api.js';

/**
 * Every Event reason Loom posts on a Node, with its type and the program that posts it.
 * docs/operations.md lists exactly these (a test compares); `NodeEvent.reason` accepts no other.
 */
export const EVENT_REASONS = {
  YarnCapacityResized: { type: 'Normal', poster: 'operator' },
  YarnCapacityRepaired: { type: 'Normal', poster: 'operator' },
  YarnResizeFailed: { type: 'Warning', poster: 'operator' },
  ClaimWriteFailed: { type: 'Warning', poster: 'operator' },
  InputInvalid: { type: 'Warning', poster: 'operator' },
  OriginInvalid: { type: 'Warning', poster: 'operator' },
  NmMalformed: { type: 'Warning', poster: 'operator' },
  RmUnknownNode: { type: 'Warning', poster: 'operator' },
  RmNodeInactive: { type: 'Warning', poster: 'operator' },
  RmReportInvalid: { type: 'Warning', poster: 'operator' },
  YarnContainerEvicted: { type: 'Warning', poster: 'agent' },
  YarnContainerEvictionFailed: { type: 'Warning', poster: 'agent' },
} as const satisfies Record<string, { type: 'Normal' | 'Warning'; poster: 'operator' | 'agent' }>;

export type EventReason = keyof typeof EVENT_REASONS;

export const isEventReason = (s: string): s is EventReason => Object.hasOwn(EVENT_REASONS, s);

export interface NodeEvent {
  node: string;
  type: 'Normal' | 'Warning';
  reason: EventReason;
  message: string;
}

/** Cancellation and the writer's fence, checked right before the Event is sent. */
export interface EventGuard {
  signal?: AbortSignal;
  beforeSend?: () => void;
}

export interface EventSink {
  post(event: NodeEvent, guard?: EventGuard): void;
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
    private readonly opts: { namespace: string; component: string; logger: Logger; foldWindowMs?: number; dryRun?: boolean; clock?: Clock },
  ) {}

  post(e: NodeEvent, guard: EventGuard = {}): void {
    void this.send(e, guard).catch((err: unknown) => {
      if ((err as Error).name === 'FencedError' || guard.signal?.aborted) return; // not ours to say any more
      this.opts.logger.warn({ node: e.node, reason: e.reason, err: (err as Error).message }, 'could not post Kubernetes Event');
    });
  }

  async send(e: NodeEvent, guard: EventGuard = {}): Promise<void> {
    if (this.opts.dryRun) return;
    const key = `${e.node}\u0000${e.type}\u0000${e.reason}\u0000${e.message}`;
    const now = (this.opts.clock ?? systemClock).wallNow();
    const window = this.opts.foldWindowMs ?? 10 * 60_000;
    const folded = this.recent.get(key);
    const nowIso = new Date(now).toISOString();
    if (folded && now - folded.lastSentAt < window) {
      folded.count++;
      folded.lastSentAt = now;
      await this.api.patch(`${paths.events(this.opts.namespace)}/${folded.name}`, 'merge', { count: folded.count, lastTimestamp: nowIso }, guard);
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
    }, guard);
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
