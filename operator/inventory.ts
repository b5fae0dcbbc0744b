/**
 * The operator's in-memory view of the cluster: nodes, pods indexed by node, and which nodes
 * changed since they were last reconciled. Fed by the reflectors; read by the controller.
 */
import type { NodeRecord, PodRecord } from './observe.js';

export class Inventory {
  readonly nodes = new Map<string, NodeRecord>();
  private readonly podsByNode = new Map<string, Map<string, PodRecord>>();
  private readonly dirty = new Set<string>();
  private wake: (() => void) | undefined;
  /** When set, dirty nodes go here (the controller's work queue) instead of the dirty set. */
  onDirty: ((node: string) => void) | undefined;

  upsertNode(rec: NodeRecord): void {
    this.nodes.set(rec.name, rec);
    this.markDirty(rec.name);
  }

  /** Keep the resourceVersion fresh without waking the controller (nothing it reads changed). */
  touchNode(rec: NodeRecord): void {
    this.nodes.set(rec.name, rec);
  }

  removeNode(name: string): void {
    this.nodes.delete(name);
    this.markDirty(name);
  }

  upsertPod(key: string, rec: PodRecord, prev: PodRecord | undefined): void {
    if (prev && prev.nodeName !== rec.nodeName) this.removePod(key, prev);
    let m = this.podsByNode.get(rec.nodeName);
    if (!m) this.podsByNode.set(rec.nodeName, (m = new Map()));
    m.set(key, rec);
    this.markDirty(rec.nodeName);
  }

  removePod(key: string, prev: PodRecord): void {
    const m = this.podsByNode.get(prev.nodeName);
    if (m) {
      m.delete(key);
      if (m.size === 0) this.podsByNode.delete(prev.nodeName);
    }
    this.markDirty(prev.nodeName);
  }

  podsOn(node: string): PodRecord[] {
    return [...(this.podsByNode.get(node)?.values() ?? [])];
  }

  markDirty(node: string): void {
    if (this.onDirty) { this.onDirty(node); return; }
    this.dirty.add(node);
    this.wake?.();
  }

  markAllDirty(): void {
    for (const n of this.nodes.keys()) this.markDirty(n);
  }

  get dirtyCount(): number {
    return this.dirty.size;
  }

  /** Take every dirty node name (the set is emptied). */
  takeDirty(): string[] {
    const out = [...this.dirty];
    this.dirty.clear();
    return out;
  }

  /** Resolves as soon as some node is dirty (at once if one already is). */
  whenDirty(): Promise<void> {
    if (this.dirty.size > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Wake a pending `whenDirty` without marking anything (used on shutdown). */
  interrupt(): void {
    this.wake?.();
  }
}
