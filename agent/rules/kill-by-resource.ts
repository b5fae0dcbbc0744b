/**
 * `POST /v1/killContainersByResource` planner (koordinator's proposal, reference/koordinator.md
 * §3.7): koordlet asks the agent to release `{"kubernetes.io/batch-cpu": milli,
 * "kubernetes.io/batch-memory": bytes}`; the agent picks YARN containers in the victim order,
 * **never ApplicationMasters**, until what they release covers every requested resource.
 *
 * Credit is by allocation, as koordlet credits requests: vcores × 1000 milli and MiB × 2^20 bytes.
 * Containers whose graceful eviction is already in flight are not picked again; their allocation
 * counts first (`inFlight`), so a repeated request while they drain does not kill twice.
 * A container that would release nothing still missing (e.g. 0 vcores when only CPU is missing)
 * is skipped. When the request cannot be covered, every eligible container is chosen and
 * `satisfied` is false. A request with nothing positive in it chooses nobody.
 */
import { bytes, milliCores, type Bytes, type MilliCores } from '../../kube/quantity.js';
import { allocatedCpu, allocatedMemory } from './common.js';
import type { RulesConfig } from './config.js';
import { orderVictims } from './order.js';
import type { ContainerSnapshot, Eviction } from './types.js';

export interface ResourceRequest {
  cpu?: MilliCores;
  memory?: Bytes;
}

export interface ReleasedResources {
  cpu: MilliCores;
  memory: Bytes;
}

export interface KillPlan {
  /** Victims in kill order. */
  victims: ContainerSnapshot[];
  /** The same victims as evictions (`reason: 'api'`, graceful). */
  evictions: Eviction[];
  /** What the new victims release, by allocation. */
  release: ReleasedResources;
  /** What evictions already in flight release, by allocation. */
  inFlight: ReleasedResources;
  /** Whether release + inFlight covers every requested resource. */
  satisfied: boolean;
}

export function killContainersByResource(
  containers: readonly ContainerSnapshot[],
  request: ResourceRequest,
  config: Pick<RulesConfig, 'victimOrder' | 'gracePeriodSeconds'>,
): KillPlan {
  const wantCpu = request.cpu !== undefined && request.cpu > 0 ? request.cpu : 0;
  const wantMem = request.memory !== undefined && request.memory > 0 ? request.memory : 0;
  let flyCpu = 0;
  let flyMem = 0;
  for (const c of containers) {
    if (c.evicting && !c.isAM) { flyCpu += allocatedCpu(c); flyMem += allocatedMemory(c); }
  }
  let cpu = 0;
  let mem = 0;
  const missingCpu = () => wantCpu - flyCpu - cpu > 0;
  const missingMem = () => wantMem - flyMem - mem > 0;
  const victims: ContainerSnapshot[] = [];
  const ordered = orderVictims(containers.filter((c) => !c.isAM && !c.evicting), config);
  for (const c of ordered) {
    const mc = missingCpu();
    const mm = missingMem();
    if (!mc && !mm) break;
    const gc = allocatedCpu(c);
    const gm = allocatedMemory(c);
    if (!((mc && gc > 0) || (mm && gm > 0))) continue;
    victims.push(c);
    cpu += gc;
    mem += gm;
  }
  const evictions: Eviction[] = victims.map((c) => ({
    containerId: c.id,
    reason: 'api',
    mode: 'graceful',
    gracePeriodSeconds: config.gracePeriodSeconds,
    credit: { memory: allocatedMemory(c), cpu: allocatedCpu(c) },
    escalation: false,
    inputs: { requestedCpu: wantCpu, requestedMemory: wantMem },
  }));
  return {
    victims,
    evictions,
    release: { cpu: milliCores(cpu), memory: bytes(mem) },
    inFlight: { cpu: milliCores(flyCpu), memory: bytes(flyMem) },
    satisfied: !missingCpu() && !missingMem(),
  };
}
