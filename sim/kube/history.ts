/**
 * The bounded list of recent changes of one resource type, from which a watch resumes at a
 * resourceVersion. Older changes are dropped; a watch from before the drop point is "too old"
 * (410 Expired), exactly the contract informers recover from by relisting.
 */
import type { StoreEvent } from './object.js';

export class EventHistory {
  private readonly ring: (StoreEvent | undefined)[];
  private start = 0;
  private size = 0;
  /** Every change with resourceVersion ≤ this is no longer retained. */
  private compactedThrough: number;

  constructor(readonly capacity: number, initialVersion = 0) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`watch history capacity must be a positive integer, got ${capacity}`);
    this.ring = new Array<StoreEvent | undefined>(capacity);
    this.compactedThrough = initialVersion;
  }

  push(e: StoreEvent): void {
    if (this.size === this.capacity) {
      this.compactedThrough = this.ring[this.start]!.resourceVersion;
      this.ring[this.start] = undefined;
      this.start = (this.start + 1) % this.capacity;
      this.size--;
    }
    this.ring[(this.start + this.size) % this.capacity] = e;
    this.size++;
  }

  /** Drops everything up to and including `version` (tests and `store.compact`). */
  compact(version: number): void {
    while (this.size > 0 && this.ring[this.start]!.resourceVersion <= version) {
      this.ring[this.start] = undefined;
      this.start = (this.start + 1) % this.capacity;
      this.size--;
    }
    this.compactedThrough = Math.max(this.compactedThrough, version);
  }

  /** The oldest version a watch may still start from. */
  get oldestResumable(): number {
    return this.compactedThrough;
  }

  /** Changes after `version`, oldest first; `undefined` when `version` is too old. */
  since(version: number): StoreEvent[] | undefined {
    if (version < this.compactedThrough) return undefined;
    // Binary search for the first retained change newer than `version`.
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).resourceVersion <= version) lo = mid + 1;
      else hi = mid;
    }
    const out: StoreEvent[] = [];
    for (let i = lo; i < this.size; i++) out.push(this.at(i));
    return out;
  }

  private at(i: number): StoreEvent {
    return this.ring[(this.start + i) % this.capacity]!;
  }
}
