/**
 * Deferred model actions keyed by simulated time (container retention on the NM, signal delivery,
 * launch delays). A binary min-heap so a tick costs O(due · log n), not a scan of everything.
 */
interface Entry {
  at: number;
  seq: number;
  run: () => void;
}

export class TimerQueue {
  private readonly heap: Entry[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  schedule(at: number, run: () => void): void {
    this.heap.push({ at, seq: this.seq++, run });
    this.up(this.heap.length - 1);
  }

  /** Runs every action due at or before `now`, in time order (ties in scheduling order). */
  runDue(now: number): number {
    let ran = 0;
    for (;;) {
      const top = this.heap[0];
      if (!top || top.at > now) return ran;
      this.pop();
      top.run();
      ran++;
    }
  }

  clear(): void {
    this.heap.length = 0;
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private pop(): void {
    const last = this.heap.pop()!;
    if (this.heap.length === 0) return;
    this.heap[0] = last;
    this.down(0);
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) return;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
