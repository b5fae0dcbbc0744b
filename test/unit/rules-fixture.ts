/**
 * What the rules tests share: container ids, a container snapshot with each suite's defaults, a
 * node snapshot, configs. Each suite states its own defaults (a `containerFactory`) in one line.
 */
import { bytes, milliCores } from '../../kube/quantity.js';
import { mib, vcores } from '../../yarn/resource.js';
import {
  type AgentRulesState, type ContainerSnapshot, type Decision, type RulesConfig, type Snapshot,
  initialRulesState, parseRulesConfig,
} from '../../agent/rules/index.js';

export const GiB = 2 ** 30;
export const NOW = 1_800_000_000_000;

export const cid = (app: number, seq: number, ts = 1700000000000): string =>
  `container_e01_${ts}_${String(app).padStart(4, '0')}_01_${String(seq).padStart(6, '0')}`;

export const appIdOfTest = (app: number): string => `application_1700000000000_${String(app).padStart(4, '0')}`;

/** Shorthands a test may give instead of the full fields: working set in GiB, vcores, CPU in milli-cores. */
export type ContainerOverrides = Partial<ContainerSnapshot> & { ws?: number; v?: number; cpu?: number };

export interface ContainerDefaults {
  memoryMiB: number;
  vcores: number;
  /** Working set, GiB. */
  ws: number;
  cpuMilli: number;
}

/** A suite's container maker: container `seq` of app `app` (seq 1 is the AM), its defaults, the test's overrides. */
export function containerFactory(d: ContainerDefaults): (app: number, seq: number, o?: ContainerOverrides) => ContainerSnapshot {
  return (app, seq, o = {}) => {
    const { ws, v, cpu, ...rest } = o;
    return {
      id: cid(app, seq),
      appId: appIdOfTest(app),
      isAM: seq === 1,
      executionType: 'GUARANTEED',
      allocated: { memoryMiB: mib(d.memoryMiB), vcores: vcores(v ?? d.vcores) },
      memoryWorkingSet: bytes(Math.round((ws ?? d.ws) * GiB)),
      cpuUsed: milliCores(cpu ?? d.cpuMilli),
      ...rest,
    };
  };
}

export interface SnapshotOptions {
  /** Node memory used, GiB, of a 100 GiB node (default 10). */
  usedGiB?: number;
  /** CPU capacity, milli-cores (default 8000). */
  cap?: number;
  nodeCpu?: number;
  yarnCpu?: number;
  /** YARN parent CPU limit (milli-cores); null / undefined = unlimited. */
  limit?: number | null;
  /** PSI memory full avg10 of the YARN parent / the node. */
  yarnPsi?: number;
  nodePsi?: number;
  containers?: ContainerSnapshot[];
  state?: Partial<AgentRulesState>;
}

/** A 100 GiB node with the given load; `requestedVcores` is the containers' total. */
export function snapshot(o: SnapshotOptions = {}): Snapshot {
  const containers = o.containers ?? [];
  return {
    node: {
      memoryTotal: bytes(100 * GiB), memoryUsed: bytes(Math.round((o.usedGiB ?? 10) * GiB)),
      cpuCapacity: milliCores(o.cap ?? 8000), cpuUsed: milliCores(o.nodeCpu ?? 0),
      ...(o.nodePsi !== undefined ? { psi: { memory: { some: o.nodePsi, full: o.nodePsi } } } : {}),
    },
    yarn: {
      cpuUsed: milliCores(o.yarnCpu ?? 0),
      cpuLimit: o.limit === undefined || o.limit === null ? null : milliCores(o.limit),
      requestedVcores: containers.reduce((s, c) => s + c.allocated.vcores, 0),
      ...(o.yarnPsi !== undefined ? { psi: { memory: { some: o.yarnPsi, full: o.yarnPsi } } } : {}),
    },
    containers,
    state: { ...initialRulesState(), ...o.state },
  };
}

export const cfg = (o: Record<string, unknown> = {}): RulesConfig => parseRulesConfig(o);
export const ids = (d: Pick<Decision, 'evictions'>): string[] => d.evictions.map((e) => e.containerId);
export const reasons = (d: Pick<Decision, 'held'>): string[] => d.held.map((h) => `${h.rule}:${h.reason}`);
