/**
 * A batch-pod scheduler stand-in (koord-scheduler's view of batch resources): binds a pending pod
 * that requests `kubernetes.io/batch-*` only to a node whose batch allocatable minus what its
 * pods already request fits it, then marks it Running. Pods that fit nowhere stay Pending.
 */
import type { Logger } from '../../log/logger.js';
import { parseBatchCpu, parseBatchMemory } from '../../kube/quantity.js';
import { BATCH_CPU, BATCH_MEMORY } from '../../kube/wire.js';
import type { KubeStore } from '../kube/store.js';
import type { KubeObject } from '../kube/object.js';

interface Need { cpu: number; memory: number }

function requestOf(pod: KubeObject): Need {
  let cpu = 0;
  let memory = 0;
  const containers = ((pod.spec as { containers?: { resources?: { requests?: Record<string, string> } }[] } | undefined)?.containers) ?? [];
  for (const c of containers) {
    const r = c.resources?.requests ?? {};
    if (r[BATCH_CPU] !== undefined) cpu += parseBatchCpu(r[BATCH_CPU]);
    if (r[BATCH_MEMORY] !== undefined) memory += parseBatchMemory(r[BATCH_MEMORY]);
  }
  return { cpu, memory };
}

const terminated = (p: KubeObject) => {
  const phase = (p.status as { phase?: string } | undefined)?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
};

/** Pure: free batch room of a node = allocatable − Σ requests of its live pods. */
export function batchRoom(node: KubeObject, pods: KubeObject[]): Need {
  const alloc = ((node.status as { allocatable?: Record<string, string> } | undefined)?.allocatable) ?? {};
  let cpu = alloc[BATCH_CPU] !== undefined ? parseBatchCpu(alloc[BATCH_CPU]) : 0;
  let memory = alloc[BATCH_MEMORY] !== undefined ? parseBatchMemory(alloc[BATCH_MEMORY]) : 0;
  for (const p of pods) {
    if (terminated(p)) continue;
    const r = requestOf(p);
    cpu -= r.cpu;
    memory -= r.memory;
  }
  return { cpu, memory };
}

export class BatchSchedulerStandIn {
  bound = 0;
  constructor(private readonly store: KubeStore, private readonly logger: Logger) {}

  /** One scheduling pass over pending batch pods; returns how many were bound. */
  schedule(): number {
    let n = 0;
    // The store indexes pods by spec.nodeName; '' is the unscheduled ones.
    const pending = this.store.podsOnNode('').filter((p) => !terminated(p));
    for (const pod of pending) {
      const need = requestOf(pod);
      if (need.cpu === 0 && need.memory === 0) continue;
      const nodes = this.store.list('nodes').items;
      const fit = nodes
        .map((node) => ({ node, room: batchRoom(node, this.store.podsOnNode(node.metadata.name!)) }))
        .filter(({ room }) => room.cpu >= need.cpu && room.memory >= need.memory)
        .sort((a, b) => b.room.cpu - a.room.cpu)[0];
      if (!fit) continue;
      const ns = pod.metadata.namespace!;
      this.store.bind(ns, pod.metadata.name!, fit.node.metadata.name!);
      this.store.patch('pods', ns, pod.metadata.name!, 'merge', { status: { phase: 'Running' } }, { subresource: 'status' });
      this.logger.info({ pod: `${ns}/${pod.metadata.name}`, node: fit.node.metadata.name, need }, 'batch pod bound');
      n++;
      this.bound++;
    }
    return n;
  }
}
