/** The operator's Prometheus metrics, on a registry of its own (several operators may share a process in tests). */
import { kubeForbiddenCounter } from '../kube/forbidden.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { YarnRequestEvent } from '../yarn/http.js';

export type LedgerQuantity = 'origin' | 'k8s_requested' | 'yarn_capacity' | 'yarn_used' | 'claim' | 'free';

const QUANTITIES: readonly LedgerQuantity[] = ['origin', 'k8s_requested', 'yarn_capacity', 'yarn_used', 'claim', 'free'];

/**
 * One per-node gauge family, rendered at scrape time from the figures the reconciler keeps in a
 * typed array per node. A prom-client Gauge keeps an object and a label string per series: 12
 * series per node were ≈ 45 MB of live heap at 20,000 nodes, and a label hash per `set`.
 */
class NodeFigureFamily {
  readonly type = 'gauge';
  readonly aggregator = 'sum';
  constructor(readonly name: string, readonly help: string, private readonly figures: Map<string, Float64Array>, private readonly offset: number) {}

  get() {
    const values: { labels: { node: string; quantity: LedgerQuantity }; value: number }[] = [];
    for (const [node, f] of this.figures) {
      for (let i = 0; i < QUANTITIES.length; i++) values.push({ labels: { node, quantity: QUANTITIES[i]! }, value: f[this.offset + i]! });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void { this.figures.clear(); }
}

export class OperatorMetrics {
  readonly registry = new Registry();
  /** 403s from the Kubernetes API (kube/forbidden.ts). */
  readonly kubeForbidden = kubeForbiddenCounter(this.registry);
  // One unit per metric, base units (Prometheus naming): CPU in cores, memory in bytes.
  /** Per node: CPU in cores (6 quantities), then memory in bytes (6). */
  private readonly nodeFigures = new Map<string, Float64Array>();
  readonly nodeBatchCpu = new NodeFigureFamily('loom_node_batch_cpu_cores',
    'Per-node ledger figures for batch CPU, in cores (origin, k8s_requested, yarn_capacity, yarn_used, claim, free)', this.nodeFigures, 0);
  readonly nodeBatchMemory = new NodeFigureFamily('loom_node_batch_memory_bytes',
    'Per-node ledger figures for batch memory, in bytes (origin, k8s_requested, yarn_capacity, yarn_used, claim, free)', this.nodeFigures, QUANTITIES.length);
  readonly term = new Gauge({ name: 'loom_leader_term', help: 'Leadership term of this replica (changes on every gain and loss; 0 while standby)', registers: [this.registry] });
  readonly fencedWrites = new Counter({ name: 'loom_fenced_writes_total', help: 'Writes stopped by the fence because the lease was not confirmed in time', registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'loom_work_queue_depth', help: 'Nodes queued for a reconcile', registers: [this.registry] });
  readonly queueRetries = new Counter({ name: 'loom_work_queue_retries_total', help: 'Reconciles that failed and were queued again with backoff', registers: [this.registry] });
  readonly rmRequestSeconds = new Histogram({
    name: 'loom_rm_request_duration_seconds', help: 'ResourceManager REST request latency',
    labelNames: ['cluster', 'endpoint', 'code'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly rmRequestErrors = new Counter({
    name: 'loom_rm_request_errors_total', help: 'ResourceManager REST requests that failed',
    labelNames: ['cluster', 'endpoint', 'error'] as const, registers: [this.registry],
  });
  readonly rmPollFailures = new Counter({
    name: 'loom_rm_poll_failures_total', help: 'RM node-list polls that gave no usable answer (down, HTTP error, unparsable body …)',
    labelNames: ['cluster', 'reason'] as const, registers: [this.registry],
  });
  readonly rmNodeLists = new Counter({ name: 'loom_rm_node_lists_total', help: 'RM node lists made', labelNames: ['cluster'] as const, registers: [this.registry] });
  readonly rmResizes = new Counter({
    name: 'loom_rm_resizes_total', help: 'NodeManager capacity updates sent to the RM',
    labelNames: ['cluster', 'direction'] as const, registers: [this.registry],
  });
  readonly driftRepairs = new Counter({ name: 'loom_drift_repairs_total', help: 'Resizes that restored an override the RM forgot', labelNames: ['cluster'] as const, registers: [this.registry] });
  readonly nodePatches = new Counter({ name: 'loom_node_patches_total', help: 'thirdPartyAllocations writes (including conflict retries)', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly reconcileSeconds = new Histogram({
    name: 'loom_reconcile_duration_seconds', help: 'Time to reconcile one node', buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly reconciles = new Counter({ name: 'loom_reconciles_total', help: 'Node reconciles by outcome', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly inputErrors = new Counter({ name: 'loom_input_errors_total', help: 'Bad inputs seen (annotations, quantities, RM bodies …)', labelNames: ['source'] as const, registers: [this.registry] });
  readonly clusterAvailable = new Gauge({ name: 'loom_rm_available', help: '1 when the cluster has an answering active RM', labelNames: ['cluster'] as const, registers: [this.registry] });
  readonly leader = new Gauge({ name: 'loom_leader', help: '1 while this operator holds the leader lease', registers: [this.registry] });

  constructor(defaults = false) {
    this.registry.registerMetric(this.nodeBatchCpu as never);
    this.registry.registerMetric(this.nodeBatchMemory as never);
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'loom_operator_' });
  }

  observeRmRequest(e: YarnRequestEvent): void {
    this.rmRequestSeconds.observe({ cluster: e.cluster, endpoint: e.endpoint, code: e.status !== undefined ? String(e.status) : 'none' }, e.durationMs / 1000);
    if (e.error) this.rmRequestErrors.inc({ cluster: e.cluster, endpoint: e.endpoint, error: e.error });
  }

  /** One node's ledger figure: CPU in cores, memory in bytes. */
  setNodeFigure(node: string, quantity: LedgerQuantity, cpuCores: number, memoryBytes: number): void {
    let f = this.nodeFigures.get(node);
    if (!f) this.nodeFigures.set(node, (f = new Float64Array(2 * QUANTITIES.length)));
    const i = QUANTITIES.indexOf(quantity);
    f[i] = cpuCores;
    f[QUANTITIES.length + i] = memoryBytes;
  }

  forgetNode(node: string): void {
    this.nodeFigures.delete(node);
  }
}
