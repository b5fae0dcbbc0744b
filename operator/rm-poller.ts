/**
 * One RM node list per cluster per poll. Each poll yields the cluster's view (or that it is
 * unavailable) and which NodeIds changed since the last poll, so only their nodes are reconciled.
 * Clusters are polled independently: one RM being down never delays another.
 */
import type { Logger } from '../log/logger.js';
import type { ResourceManagerClient } from '../yarn/rm-client.js';
import type { RmNode } from '../yarn/model.js';
import { nodeIdKey, type ClusterView } from './snapshot.js';

export interface PollResult {
  clusterId: string;
  view: ClusterView;
  /** NodeIds (lower-cased) whose state, total or used changed, appeared or disappeared. */
  changed: string[];
  /** The cluster went from available to unavailable or back. */
  availabilityChanged: boolean;
  /** Why the poll failed (view unavailable). */
  error?: Error;
}

const fingerprint = (n: RmNode): string =>
  `${n.state}|${n.totalResource?.vcores}|${n.totalResource?.memoryMiB}|${n.usedResource?.vcores}|${n.usedResource?.memoryMiB}`;

/** Pure: what changed between two views. */
export function diffViews(prev: ClusterView | undefined, next: ClusterView): { changed: string[]; availabilityChanged: boolean } {
  const availabilityChanged = (prev?.status ?? 'none') !== next.status;
  if (next.status !== 'ok') return { changed: [], availabilityChanged };
  const before = prev?.status === 'ok' ? prev.nodes : new Map<string, RmNode>();
  const changed: string[] = [];
  for (const [id, n] of next.nodes) {
    const p = before.get(id);
    if (!p || fingerprint(p) !== fingerprint(n)) changed.push(id);
  }
  for (const id of before.keys()) if (!next.nodes.has(id)) changed.push(id);
  return { changed, availabilityChanged };
}

export class ClusterPoller {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  view: ClusterView | undefined;
  polls = 0;

  constructor(
    readonly clusterId: string,
    private readonly client: ResourceManagerClient,
    private readonly pollMs: number,
    private readonly logger: Logger,
    private readonly onResult: (r: PollResult) => void,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const started = Date.now();
      await this.pollOnce();
      if (!this.running) return;
      await new Promise<void>((r) => { this.timer = setTimeout(r, Math.max(0, this.pollMs - (Date.now() - started))); });
    }
  }

  async pollOnce(): Promise<PollResult> {
    this.polls++;
    let next: ClusterView;
    let error: Error | undefined;
    try {
      const list = await this.client.listNodes();
      if (list.rejected.length > 0) {
        this.logger.warn({ cluster: this.clusterId, rejected: list.rejected.slice(0, 5) }, 'RM node list had invalid entries; they were skipped');
      }
      next = { status: 'ok', nodes: new Map(list.nodes.map((n) => [nodeIdKey(n.id), n])), at: Date.now() };
    } catch (err) {
      error = err as Error;
      next = { status: 'unavailable', detail: `cluster ${this.clusterId}: ${(err as Error).message}`, at: Date.now() };
    }
    const diff = diffViews(this.view, next);
    if (diff.availabilityChanged) {
      if (next.status === 'ok') this.logger.info({ cluster: this.clusterId, nodes: next.nodes.size, activeRm: this.client.activeUrl }, 'ResourceManager available');
      else this.logger.warn({ cluster: this.clusterId, detail: next.detail }, 'ResourceManager unavailable; claims are kept as they are');
    }
    this.view = next;
    const result: PollResult = { clusterId: this.clusterId, view: next, ...diff, ...(error ? { error } : {}) };
    this.onResult(result);
    return result;
  }
}
