/**
 * The agent's Prometheus metrics, one Registry per agent (several agents can run in one process:
 * the demo and the tests do). Per-container series are rebuilt every tick so that a container
 * that left the node leaves no stale series behind.
 */
import { kubeForbiddenCounter } from '../kube/forbidden.js';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Collection } from './collector.js';

export class AgentMetrics {
  readonly registry = new Registry();
  /** 403s from the Kubernetes API (kube/forbidden.ts). */
  readonly kubeForbidden = kubeForbiddenCounter(this.registry);
  readonly containerWorkingSet: Gauge<'container'>;
  readonly containerCpu: Gauge<'container'>;
  readonly containerPsi: Gauge<'container' | 'resource' | 'kind'>;
  readonly containers: Gauge<'state'>;
  readonly nodeMemoryUsed: Gauge;
  readonly nodeMemoryTotal: Gauge;
  readonly nodeCpuUsed: Gauge;
  readonly nodeCpuCapacity: Gauge;
  readonly yarnCpuUsed: Gauge;
  readonly yarnCpuLimit: Gauge;
  readonly yarnRequestedVcores: Gauge;
  readonly yarnMemoryWorkingSet: Gauge;
  readonly suppressLimit: Gauge;
  readonly evictions: Counter<'reason' | 'mode'>;
  readonly wouldEvict: Counter<'reason' | 'mode'>;
  readonly evictionFailures: Counter<'reason'>;
  readonly ruleDuration: Histogram<'rules'>;
  readonly tickDuration: Histogram;
  readonly fastWatchTriggers: Counter;
  readonly nmUp: Gauge;
  readonly nmRestarts: Counter;
  readonly nmEntriesIgnored: Gauge<'reason'>;
  readonly cgroupRefusals: Counter<'kind'>;
  readonly cgroupFilesHeld: Gauge;
  readonly cgroupFileReadsUnheld: Counter;

  constructor(nodeName: string) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: nodeName });
    const g = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Gauge<L>({ name, help, labelNames: labelNames as L[], registers });
    const c = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Counter<L>({ name, help, labelNames: labelNames as L[], registers });
    // Per-container series are filled when scraped (prom-client calls `collect` then), from the
    // latest collection: rebuilding ~1,200 labelled series every tick was a third of the tick's
    // allocations, for a scrape every 15–60 s.
    const perContainer = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Gauge<L>({ name, help, labelNames: labelNames as L[], registers, collect: () => this.fillContainers() });
    this.containerWorkingSet = perContainer('loom_agent_container_memory_working_set_bytes', 'YARN container memory working set (usage − inactive file)', ['container']);
    this.containerCpu = perContainer('loom_agent_container_cpu_usage_millicores', 'YARN container CPU rate over the last tick', ['container']);
    this.containerPsi = perContainer('loom_agent_container_psi_avg10_percent', 'YARN container PSI avg10 (cgroup v2)', ['container', 'resource', 'kind']);
    this.containers = g('loom_agent_containers', 'live YARN containers of this node: proven (cgroup found and read) or unproven (never a victim)', ['state']);
    this.nodeMemoryUsed = g('loom_agent_node_memory_used_bytes', 'node MemTotal − MemAvailable');
    this.nodeMemoryTotal = g('loom_agent_node_memory_total_bytes', 'node MemTotal');
    this.nodeCpuUsed = g('loom_agent_node_cpu_usage_millicores', 'node CPU in use over the last tick (/proc/stat)');
    this.nodeCpuCapacity = g('loom_agent_node_cpu_capacity_millicores', 'node CPU capacity');
    this.yarnCpuUsed = g('loom_agent_yarn_cpu_usage_millicores', 'CPU rate of the YARN parent cgroup');
    this.yarnCpuLimit = g('loom_agent_yarn_cpu_limit_millicores', 'CPU limit observed on the YARN parent cgroup (−1 = unlimited)');
    this.yarnRequestedVcores = g('loom_agent_yarn_requested_vcores', 'Σ allocated vcores of the live YARN containers');
    this.yarnMemoryWorkingSet = g('loom_agent_yarn_memory_working_set_bytes', 'working set of the YARN parent cgroup');
    this.suppressLimit = g('loom_agent_cpu_suppress_limit_millicores', 'last CPU limit the suppression rule decided for the YARN parent');
    this.evictions = c('loom_agent_evictions_total', 'YARN container evictions issued', ['reason', 'mode']);
    this.wouldEvict = c('loom_agent_dry_run_evictions_total', 'evictions decided but not executed (--dry-run)', ['reason', 'mode']);
    this.evictionFailures = c('loom_agent_eviction_failures_total', 'evictions that did not empty the container cgroup', ['reason']);
    this.ruleDuration = new Histogram({
      name: 'loom_agent_rule_duration_seconds', help: 'time spent in the pure rules (decide)', labelNames: ['rules'],
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05], registers,
    });
    this.tickDuration = new Histogram({
      name: 'loom_agent_tick_duration_seconds', help: 'one full collect + decide + apply',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers,
    });
    this.fastWatchTriggers = c('loom_agent_fast_watch_triggers_total', 'fast memory watch readings at or above the eviction threshold');
    this.nmUp = g('loom_agent_nodemanager_up', '1 when the last NodeManager poll succeeded');
    this.nmRestarts = c('loom_agent_nodemanager_restarts_total', 'NodeManager restarts noticed through nmStartupTime');
    this.nmEntriesIgnored = g('loom_agent_nodemanager_entries_ignored', "entries of the NodeManager's last container list not considered: rejected (invalid), foreign (another node), over-cap (beyond --max-containers)", ['reason']);
    this.cgroupFilesHeld = g('loom_agent_cgroup_files_held', 'cgroup and proc files kept open between ticks (read by one pread each; at most --max-containers × 5 + 16)');
    this.cgroupFileReadsUnheld = c('loom_agent_cgroup_file_reads_unheld_total', 'file reads that opened and closed the file because the cap of held files was reached');
    this.cgroupRefusals = c('loom_agent_cgroup_refusals_total', 'cgroup directories or files refused because they are not what they claim (bind-mount, escapes-yarn-parent, not-cgroupfs, not-a-regular-file, …)', ['kind']);
  }

  /** The collection the per-container series show, and the one they were last filled from. */
  private latest: Collection | undefined;
  private filledFrom: Collection | undefined;

  /** Replace the per-container series with the latest collection's (at most once per collection). */
  private fillContainers(): void {
    const col = this.latest;
    if (col === this.filledFrom) return;
    this.filledFrom = col;
    this.containerWorkingSet.reset();
    this.containerCpu.reset();
    this.containerPsi.reset();
    for (const c of col?.containers ?? []) {
      if (!c.stats) continue;
      const id = c.nm.id;
      this.containerWorkingSet.set({ container: id }, c.stats.memoryWorkingSet);
      if (c.stats.cpuUsed !== undefined) this.containerCpu.set({ container: id }, c.stats.cpuUsed);
      for (const resource of ['memory', 'cpu'] as const) {
        const p = c.stats.psi?.[resource];
        if (p?.some !== undefined) this.containerPsi.set({ container: id, resource, kind: 'some' }, p.some);
        if (p?.full !== undefined) this.containerPsi.set({ container: id, resource, kind: 'full' }, p.full);
      }
    }
  }

  /** Every per-node series takes the collection's values; the per-container ones follow at the next scrape. */
  observe(col: Collection): void {
    this.latest = col;
    let proven = 0;
    for (const c of col.containers) if (c.stats) proven++;
    this.containers.set({ state: 'proven' }, proven);
    this.containers.set({ state: 'unproven' }, col.containers.length - proven);
    this.nmUp.set(col.nmUp ? 1 : 0);
    this.nmEntriesIgnored.set({ reason: 'rejected' }, col.nmEntries.rejected);
    this.nmEntriesIgnored.set({ reason: 'foreign' }, col.nmEntries.foreign);
    this.nmEntriesIgnored.set({ reason: 'over-cap' }, col.nmEntries.overCap);
    if (col.node) {
      this.nodeMemoryUsed.set(col.node.memoryUsed);
      this.nodeMemoryTotal.set(col.node.memoryTotal);
      this.nodeCpuCapacity.set(col.node.cpuCapacity);
      if (col.node.cpuUsed !== undefined) this.nodeCpuUsed.set(col.node.cpuUsed);
    }
    if (col.yarn) {
      if (col.yarn.cpuUsed !== undefined) this.yarnCpuUsed.set(col.yarn.cpuUsed);
      this.yarnCpuLimit.set(col.yarn.cpuLimit ?? -1);
      this.yarnRequestedVcores.set(col.yarn.requestedVcores);
      if (col.yarn.memoryUsed !== undefined) this.yarnMemoryWorkingSet.set(col.yarn.memoryUsed);
    }
  }
}
