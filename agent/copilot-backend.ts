/**
 * What the copilot API does, over the agent's latest collection and its evictor: list and look
 * up containers, and kill — one container by id, or enough containers to release a requested
 * amount (`killContainersByResource`, planned by the pure rule of the same name: never an
 * ApplicationMaster, newest first by default). Only a live, proven container of this node can
 * be killed; kills go through the evictor (logged, counted, rate-accounted, Events).
 *
 * An explicit `killContainer` of an ApplicationMaster is honoured unless
 * `protectApplicationMasters` is `always`: the caller named that container (the AM protection
 * settings govern which victims Loom *chooses*), and `always` promises that Loom never kills an
 * AM, so it refuses (400) then. The log line and the Event say it was an ApplicationMaster.
 */
import { bytes, type MilliCores, milliCores } from '../kube/quantity.js';
import type { Logger } from '../log/logger.js';
import { isFinalContainerState } from '../yarn/nm-containers.js';
import type { Collection } from './collector.js';
import type { CopilotBackend } from './copilot-server.js';
import { checkCpuRequest, type ContainerInfo, CopilotRequestError, releasedResourceList, toContainerInfo } from './copilot-wire.js';
import type { Evictor } from './evictor.js';
import { type ContainerSnapshot, type Eviction, killContainersByResource, type RulesConfig } from './rules/index.js';
import { containerSnapshotOf } from './snapshot.js';

const MIB = 2 ** 20;

export interface CopilotBackendDeps {
  latest: () => Collection | undefined;
  yarnCgroupPath: string;
  evictor: Evictor;
  config: RulesConfig;
  /** The node's CPU capacity (a CPU request above it is refused as a unit mix-up). */
  nodeCpuCapacity: () => MilliCores | undefined;
  logger: Logger;
  /** Account evictions issued through the API (rate limit, cool-downs). */
  onIssued: (evictions: readonly Eviction[]) => void;
}

export function createCopilotBackend(d: CopilotBackendDeps): CopilotBackend {
  const infoOf = (col: Collection, id: string): ContainerInfo | undefined => {
    const live = col.containers.find((c) => c.nm.id === id);
    if (live) return toContainerInfo(live.nm, d.yarnCgroupPath, live.firstSeenAt);
    const any = col.nmContainers.find((c) => c.id === id);
    return any ? toContainerInfo(any, d.yarnCgroupPath) : undefined;
  };
  const snapshots = (col: Collection): ContainerSnapshot[] =>
    col.containers.map((c) => containerSnapshotOf(c, d.evictor.evicting)).filter((c): c is ContainerSnapshot => c !== undefined);
  const issue = async (evictions: Eviction[]): Promise<void> => {
    const issued = d.evictor.execute(evictions);
    const ids = new Set(issued.map((i) => i.record.containerId));
    d.onIssued(evictions.filter((e) => ids.has(e.containerId)));
    await Promise.all(issued.map((i) => i.issued));
  };

  return {
    containers() {
      const col = d.latest();
      if (!col) return [];
      const firstSeen = new Map(col.containers.map((c) => [c.nm.id, c.firstSeenAt]));
      return col.nmContainers.filter((c) => !isFinalContainerState(c.state)).map((c) => toContainerInfo(c, d.yarnCgroupPath, firstSeen.get(c.id)));
    },

    container(id) {
      const col = d.latest();
      return col ? infoOf(col, id) : undefined;
    },

    async killContainer(id) {
      const col = d.latest();
      const c = col?.containers.find((x) => x.nm.id === id);
      if (!col || !c) throw new CopilotRequestError('POST /v1/killContainer', `container ${id} is not a live YARN container of this node`, 'containerID');
      if (!c.cgroup || !c.stats) throw new CopilotRequestError('POST /v1/killContainer', `container ${id} cannot be proven from its cgroup (${c.problem ?? 'not read yet'}): refusing to kill`, 'containerID');
      if (c.nm.isAM && d.config.protectApplicationMasters === 'always') {
        throw new CopilotRequestError('POST /v1/killContainer', `container ${id} is an ApplicationMaster and protectApplicationMasters is "always": refusing to kill`, 'containerID');
      }
      const info = toContainerInfo(c.nm, d.yarnCgroupPath, c.firstSeenAt);
      if (d.evictor.evicting.has(id)) return info;
      await issue([{
        containerId: id,
        reason: 'api',
        mode: 'graceful',
        gracePeriodSeconds: d.config.gracePeriodSeconds,
        credit: {
          memory: bytes((c.nm.totalMemoryNeededMB ?? 0) * MIB),
          cpu: milliCores((c.nm.totalVCoresNeeded ?? 0) * 1000),
        },
        escalation: false,
        inputs: { api: 'killContainer', applicationMaster: c.nm.isAM, workingSet: c.stats.memoryWorkingSet },
      }]);
      return info;
    },

    async killContainersByResource({ resources: request, nodeCpuRatio, nodeMemoryRatio }) {
      checkCpuRequest(request, d.nodeCpuCapacity());
      const col = d.latest();
      const containers = col ? snapshots(col) : [];
      const plan = killContainersByResource(containers, request, d.config);
      d.logger.info(
        {
          request,
          nodeCpuRatio,
          nodeMemoryRatio,
          victims: plan.victims.map((v) => v.id),
          release: plan.release,
          inFlight: plan.inFlight,
          satisfied: plan.satisfied,
          candidates: containers.filter((c) => !c.isAM && !c.evicting).length,
        },
        plan.satisfied ? 'killContainersByResource: plan covers the request' : 'killContainersByResource: cannot cover the request, releasing what is possible',
      );
      await issue(plan.evictions);
      // In-flight evictions count: their resources are already on their way out.
      return releasedResourceList({
        cpu: milliCores(plan.release.cpu + plan.inFlight.cpu),
        memory: bytes(plan.release.memory + plan.inFlight.memory),
      });
    },
  };
}
