/**
 * Counts of API requests the simulated server received, per (verb, resource, subresource), so a
 * benchmark can say e.g. how many node PATCHes the operator sent. HTTP requests only.
 */
export interface RequestCount {
  verb: string;
  resource: string;
  subresource: string;
  count: number;
}

export interface RequestFilter {
  verb?: string;
  resource?: string;
  /** '' = the main resource only; omitted = any. */
  subresource?: string;
}

export class RequestStats {
  private counts = new Map<string, RequestCount>();

  record(verb: string, resource: string, subresource = ''): void {
    const key = `${verb}\u0000${resource}\u0000${subresource}`;
    const c = this.counts.get(key);
    if (c) c.count++;
    else this.counts.set(key, { verb, resource, subresource, count: 1 });
  }

  /** Sum of the counts that match every given part of `filter`. */
  count(filter: RequestFilter = {}): number {
    let n = 0;
    for (const c of this.counts.values()) {
      if (filter.verb !== undefined && c.verb !== filter.verb) continue;
      if (filter.resource !== undefined && c.resource !== filter.resource) continue;
      if (filter.subresource !== undefined && c.subresource !== filter.subresource) continue;
      n += c.count;
    }
    return n;
  }

  /** A copy of every non-zero counter, sorted by resource, subresource, verb. */
  snapshot(): RequestCount[] {
    return [...this.counts.values()]
      .map((c) => ({ ...c }))
      .sort((a, b) => a.resource.localeCompare(b.resource) || a.subresource.localeCompare(b.subresource) || a.verb.localeCompare(b.verb));
  }

  reset(): void {
    this.counts = new Map();
  }
}
