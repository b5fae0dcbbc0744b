/**
 * How many calls each simulated endpoint received — what benchmarks report as "cost" (one node
 * list per poll, one resize per real change …).
 */
export type Endpoint =
  | 'rm.clusterInfo' | 'rm.nodes' | 'rm.node' | 'rm.resize' | 'rm.signal' | 'rm.metrics'
  | 'rm.isActive' | 'rm.redirect' | 'rm.notFound' | 'rm.unauthorized'
  | 'nm.info' | 'nm.containers' | 'nm.container' | 'nm.notFound';

export class CallCounters {
  private readonly counts = new Map<Endpoint, number>();

  hit(endpoint: Endpoint): void {
    this.counts.set(endpoint, (this.counts.get(endpoint) ?? 0) + 1);
  }

  get(endpoint: Endpoint): number {
    return this.counts.get(endpoint) ?? 0;
  }

  snapshot(): Partial<Record<Endpoint, number>> {
    return Object.fromEntries(this.counts) as Partial<Record<Endpoint, number>>;
  }

  reset(): void {
    this.counts.clear();
  }
}
