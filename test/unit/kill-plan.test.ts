import { describe, expect, it } from 'vitest';
import { KillPlan } from '../../agent/kill-plan.js';
import { type ContainerSnapshot, initialRulesState, parseRulesConfig, type Snapshot } from '../../agent/rules/index.js';
import { bytes, milliCores } from '../../kube/quantity.js';
import { mib, vcores } from '../../yarn/resource.js';

const container = (id: string, startedAt: number): ContainerSnapshot => ({
  id, appId: 'application_1_0001', isAM: false, allocated: { memoryMiB: mib(1024), vcores: vcores(1) },
  memoryWorkingSet: bytes(2 ** 30), cpuUsed: milliCores(0), startedAt,
});
const snapshotOf = (containers: readonly ContainerSnapshot[]): Snapshot => ({
  node: { memoryTotal: bytes(100 * 2 ** 30), memoryUsed: bytes(40 * 2 ** 30), cpuCapacity: milliCores(4000), cpuUsed: milliCores(0) },
  yarn: { cpuUsed: milliCores(0), cpuLimit: null, requestedVcores: containers.length },
  containers, state: initialRulesState(),
});
const cgroupsOf = (containers: readonly ContainerSnapshot[]): Map<string, string> =>
  new Map(containers.map((c) => [c.id, `/sys/fs/cgroup/memory/yarn/${c.id}`]));

describe('the kill plan refresh', () => {
  const config = parseRulesConfig({});
  const containers = [container('container_1_0001_01_000002', 1), container('container_1_0001_01_000003', 2)];

  it('keeps its ordered victims while a tick brings the very same candidates and cgroups; orders again when they change', () => {
    const plan = new KillPlan();
    const cgroups = cgroupsOf(containers);
    plan.refresh({ snapshot: snapshotOf(containers), cgroups, at: 1 }, config);
    expect(plan.ids()).toEqual(['container_1_0001_01_000003', 'container_1_0001_01_000002']); // newest first
    expect(plan.rebuilds).toBe(1);
    // The same candidates (a new snapshot around them: new node figures) — kept, base and time new.
    plan.drop('container_1_0001_01_000003');
    plan.refresh({ snapshot: snapshotOf(containers), cgroups, at: 2 }, config);
    expect(plan.rebuilds).toBe(1);
    expect(plan.refreshes).toBe(2);
    expect(plan.at).toBe(2);
    // A victim a failed proof dropped stays dropped while the candidates are the same.
    expect(plan.ids()).toEqual(['container_1_0001_01_000002']);
    // New candidates (a container pass), new cgroups, or another victim order: ordered again.
    plan.refresh({ snapshot: snapshotOf([...containers]), cgroups, at: 3 }, config);
    expect(plan.rebuilds).toBe(2);
    expect(plan.ids()).toHaveLength(2);
    const list = [...containers];
    plan.refresh({ snapshot: snapshotOf(list), cgroups, at: 4 }, config);
    expect(plan.rebuilds).toBe(3);
    plan.refresh({ snapshot: snapshotOf(list), cgroups: cgroupsOf(list), at: 5 }, config);
    expect(plan.rebuilds).toBe(4);
    plan.refresh({ snapshot: snapshotOf(list), cgroups, at: 6 }, { ...config, victimOrder: ['oldest'] as never });
    expect(plan.rebuilds).toBe(5);
    expect(plan.ids()[0]).toBe('container_1_0001_01_000002');
  });
});
