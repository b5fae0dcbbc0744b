/**
 * The demo's scripted, seeded scenario, in simulated seconds. Pure data: the runner executes it.
 * Times scale with the duration so a short test run still contains every step.
 */
import { seededRandom } from '../sim/workload.js';

export type ScenarioStep =
  | { at: number; kind: 'submit-app'; name: string; executors: number; executorMiB: number }
  | { at: number; kind: 'batch-pod'; cpuMilli: number; memoryBytes: number; name: string }
  | { at: number; kind: 'delete-batch-pod'; name: string }
  | { at: number; kind: 'nm-restart'; node: string }
  | { at: number; kind: 'memory-spike'; node: string; targetUsedShare: number }
  | { at: number; kind: 'memory-spike-end'; node: string };

export interface Scenario {
  durationSec: number;
  nodes: string[];
  steps: ScenarioStep[];
  /** Online load share (0–1) of node i at simulated second t. */
  onlineShare(nodeIndex: number, t: number): number;
  /** The node that gets the memory spike and the one whose NM restarts. */
  spikeNode: string;
  restartNode: string;
}

const GIB = 2 ** 30;

/** What the demo's burst figures need of a node (the simulated node's snapshot has them). */
export interface NodeMemory {
  memoryTotalBytes: number;
  /** MemTotal − MemAvailable: the node memory used the agent's memory rule compares with its threshold. */
  memoryUsedBytes: number;
  /** YARN's working set: its part of `memoryUsedBytes` (YARN's page cache is reclaimable, not in it). */
  yarnWorkingSetBytes: number;
}

/**
 * Pure: node memory used by everything but YARN, counted as the agent counts it (used less YARN's
 * working set): what is left were every YARN container evicted, whatever page cache YARN holds.
 */
export function nonYarnMemoryBytes(node: NodeMemory): number {
  return Math.max(0, node.memoryUsedBytes - node.yarnWorkingSetBytes);
}

/**
 * Pure: how much the online pods' memory grows in the burst, given the node now. The burst aims
 * at `targetUsedShare` of the node, but everything besides YARN (nonYarnMemoryBytes) stays at most
 * 64 % (under the 68 % the agent evicts down to), so YARN's containers are what takes the node
 * past 70 %. When YARN holds too little for that, everything besides YARN may go up to 68 % to
 * take the node just past 70 % (70.5 %); a YARN holding less than 2.5 % of the node cannot take
 * it over at all.
 */
export function burstBytes(node: NodeMemory, targetUsedShare: number): number {
  const total = node.memoryTotalBytes;
  const yarn = node.yarnWorkingSetBytes;
  let nonYarn = Math.min(0.64 * total, targetUsedShare * total - yarn);
  if (nonYarn + yarn < 0.705 * total) nonYarn = Math.min(0.68 * total, 0.705 * total - yarn);
  return Math.max(0, nonYarn - nonYarnMemoryBytes(node));
}

export function buildScenario(o: { durationSec: number; nodes: number; seed: number }): Scenario {
  const rand = seededRandom(o.seed);
  const d = o.durationSec;
  const nodes = Array.from({ length: o.nodes }, (_, i) => `node-${i + 1}`);
  const at = (fraction: number) => Math.round(d * fraction * 10) / 10;
  const spikeNode = nodes[1 % nodes.length]!;
  const restartNode = nodes[nodes.length - 1]!;
  const steps: ScenarioStep[] = [
    { at: at(0.05), kind: 'submit-app', name: 'spark-etl-daily', executors: 2 * nodes.length, executorMiB: 2048 },
    { at: at(0.15), kind: 'batch-pod', cpuMilli: 1000, memoryBytes: 2 * GIB, name: 'k8s-batch-train-1' },
    { at: at(0.2), kind: 'batch-pod', cpuMilli: 500, memoryBytes: 1 * GIB, name: 'k8s-batch-train-2' },
    { at: at(0.3), kind: 'submit-app', name: 'hive-report', executors: nodes.length, executorMiB: 3072 },
    { at: at(0.42), kind: 'nm-restart', node: restartNode },
    { at: at(0.5), kind: 'delete-batch-pod', name: 'k8s-batch-train-1' },
    { at: at(0.55), kind: 'submit-app', name: 'flink-backfill', executors: nodes.length, executorMiB: 2048 },
    // Online pods burst until the node uses 76 % of its memory: past the 70 % eviction threshold,
    // short of the 90 % emergency level, so the agent evicts gracefully, newest first, and spares
    // AMs. YARN's containers must be what takes the node over, so that evicting them can bring it
    // back (burstBytes).
    { at: at(0.62), kind: 'memory-spike', node: spikeNode, targetUsedShare: 0.76 },
    { at: at(0.9), kind: 'memory-spike-end', node: spikeNode },
  ];
  const phase = nodes.map(() => rand() * Math.PI * 2);
  const spikeIndex = nodes.indexOf(spikeNode);
  const [burstFrom, burstTo] = [at(0.62), at(0.9)];
  return {
    durationSec: d,
    nodes,
    steps: steps.sort((a, b) => a.at - b.at),
    // During the burst the spiked node's online load holds still: the burst is all that changes.
    onlineShare: (i, t) => {
      const tt = i === spikeIndex && t >= burstFrom && t < burstTo ? burstFrom : t;
      return 0.22 + 0.1 * Math.sin((2 * Math.PI * tt) / d + phase[i]!);
    },
    spikeNode,
    restartNode,
  };
}
