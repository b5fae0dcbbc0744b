/**
 * From hostile input to a decision: mutated annotations, pod requests, NodeManager pod ids and
 * RM answers through the operator's projection, snapshot and ledger; mutated NodeManager
 * answers, cgroup and proc files and yarn-copilot requests through the agent's snapshot and rules.
 * Nothing throws, and no NaN, Infinity or negative number reaches a write, a resize or a kill.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { RUNS, check, evilJson, expectSaneNumbers, mutatedFrom, numberish, parsedOrInputError } from './fuzz.js';
import { realCorpus, type Corpus } from './corpus.js';
import type { KubeObject } from '../../kube/api.js';
import { ANNOTATION_NODE_ID, ANNOTATION_ORIGIN, ANNOTATION_THIRD_PARTY, BATCH_CPU, BATCH_MEMORY, LABEL_COMPONENT, NODE_MANAGER_COMPONENT } from '../../kube/wire.js';
import { projectNode, projectPod, type PodRecord } from '../../operator/observe.js';
import { nodeIdKey, snapshotOf, type ClusterView } from '../../operator/snapshot.js';
import { decideNode, DEFAULT_LEDGER_CONFIG, type LedgerConfig } from '../../operator/ledger/index.js';
import { decodeBody } from '../../yarn/document.js';
import { parseRmNodes } from '../../yarn/parse.js';
import { summarizeNmContainers } from '../../yarn/nm-containers.js';
import { isLiveContainerState } from '../../yarn/model.js';
import { serializeResourceOption } from '../../yarn/serialize.js';
import type { RmNode } from '../../yarn/model.js';
import {
  bandwidthToMilli, cpuUsageNanosFromV2, memoryFromV2, nodeCpuBusyMilli, parseCpuMax, parseMeminfo, parseProcStat, parsePsi,
} from '../../cgroup/index.js';
import { cpuRateMilli, psiSnapshotOf, type CollectedContainer, type Collection } from '../../agent/collector.js';
import { buildSnapshot } from '../../agent/snapshot.js';
import { decide, initialRulesState, killContainersByResource, parseRulesConfig } from '../../agent/rules/index.js';
import { parseKillByResourceRequest } from '../../agent/copilot-wire.js';
import { milliCores } from '../../kube/quantity.js';

let corpus: Corpus;
beforeAll(async () => { corpus = await realCorpus(); }, 60_000);

const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Each input real half of the time, mutated otherwise: with every input mutated at once, almost
 * no run would get past the first refusal to the decision itself.
 */
const mostlyReal = (seeds: readonly string[]) => fc.oneof({ arbitrary: fc.constantFrom(...seeds), weight: 1 }, { arbitrary: mutatedFrom(seeds), weight: 1 });

const quantity = fc.oneof(
  { arbitrary: fc.constantFrom('1k', '500m', '2Gi', '0', '1500m', '4096Mi'), weight: 4 },
  numberish,
  fc.tuple(numberish, fc.constantFrom('', 'm', 'k', 'Gi', 'Mi', 'Ei', 'e3')).map(([a, b]) => a + b),
  evilJson,
);

describe('operator: annotations, pods and RM answers → ledger decision', () => {
  // How many runs reached a write: the property must exercise the decision, not only the refusals.
  const reached = { resize: 0, claim: 0 };
  it('decides without throwing; every claim and capacity it would write is a non-negative integer', () => check(fc.property(
    fc.record({
      origin: fc.option(mostlyReal(corpus.originAnnotation), { nil: undefined, freq: 4 }),
      thirdParty: fc.option(mostlyReal(corpus.thirdPartyAnnotation), { nil: undefined }),
      allocCpu: fc.option(quantity, { nil: undefined }),
      allocMemory: fc.option(quantity, { nil: undefined }),
      nodeId: fc.oneof({ arbitrary: fc.constant('node-1:8041'), weight: 4 }, mutatedFrom(corpus.nodeId)),
      pods: fc.array(fc.record({ cpu: fc.option(quantity, { nil: undefined }), memory: fc.option(quantity, { nil: undefined }), phase: fc.constantFrom('Running', 'Pending', 'Succeeded', 'Unknown') }), { maxLength: 4 }),
      rm: fc.constantFrom(...corpus.rm.nodes).chain((b) => mostlyReal([b.body]).map((body) => ({ ...b, body }))),
      policy: fc.constantFrom('partitioned' as const, 'shared' as const),
      share: fc.double({ min: 0, max: 1, noNaN: true }),
      margin: fc.double({ min: 0, max: 100, noNaN: true }),
      vcoresPerCore: fc.double({ min: 0.01, max: 1000, noNaN: true }),
      lastDesired: fc.option(fc.record({ vcores: evilJson, memoryMiB: evilJson }), { nil: undefined }),
    }),
    (f) => {
      const node: KubeObject = {
        metadata: {
          name: 'node-1', resourceVersion: '7',
          annotations: { ...(f.origin !== undefined ? { [ANNOTATION_ORIGIN]: f.origin } : {}), ...(f.thirdParty !== undefined ? { [ANNOTATION_THIRD_PARTY]: f.thirdParty } : {}) },
        },
        status: { allocatable: { ...(f.allocCpu !== undefined ? { [BATCH_CPU]: f.allocCpu } : {}), ...(f.allocMemory !== undefined ? { [BATCH_MEMORY]: f.allocMemory } : {}) } },
      };
      const pods: KubeObject[] = [
        {
          metadata: { name: 'nm', namespace: 'hadoop-yarn', labels: { [LABEL_COMPONENT]: NODE_MANAGER_COMPONENT }, annotations: { [ANNOTATION_NODE_ID]: f.nodeId } },
          spec: { nodeName: 'node-1', containers: [{ name: 'nm' }] }, status: { phase: 'Running' },
        },
        ...f.pods.map((p, i): KubeObject => ({
          metadata: { name: `batch-${i}`, namespace: 'batch' },
          spec: { nodeName: 'node-1', containers: [{ name: 'c', resources: { requests: { ...(p.cpu !== undefined ? { [BATCH_CPU]: p.cpu } : {}), ...(p.memory !== undefined ? { [BATCH_MEMORY]: p.memory } : {}) } } }] },
          status: { phase: p.phase },
        })),
      ];
      const doc = parsedOrInputError(() => decodeBody(f.rm.body, f.rm.contentType, f.rm.url));
      const list = doc === undefined ? undefined : parsedOrInputError(() => parseRmNodes(doc, f.rm.url));
      const view: ClusterView = list
        ? { status: 'ok', nodes: new Map(list.items.map((n: RmNode) => [nodeIdKey(n.id), n])), at: 0 }
        : { status: 'unavailable', detail: 'unusable answer', at: 0 };

      const record = projectNode(node)!;
      const podRecords = pods.map(projectPod).filter((p): p is PodRecord => p !== undefined);
      const snap = snapshotOf(record, podRecords, new Map([['__default_yarn_cluster__', view]]), f.lastDesired ? { lastDesired: f.lastDesired as never } : {});
      if (!snap.ok) {
        expect(snap.reason).not.toMatch(/\n/);
        return;
      }
      const config: LedgerConfig = { ...DEFAULT_LEDGER_CONFIG, policy: f.policy, headroomShare: f.share, safetyMarginPercent: f.margin, vcoresPerCore: f.vcoresPerCore };
      const d = decideNode(snap.snapshot, config, 1_000_000);
      if (d.figures) expectSaneNumbers(d.figures);
      for (const a of d.actions) {
        if (a.kind === 'set-claim') {
          reached.claim++;
          expect(count(a.claim.cpu) && count(a.claim.memory), JSON.stringify(a)).toBe(true);
        }
        if (a.kind === 'resize') {
          reached.resize++;
          expect(count(a.capacity.vcores) && count(a.capacity.memoryMiB), JSON.stringify(a)).toBe(true);
          // What would go on the wire is a body the RM accepts.
          expect(() => serializeResourceOption(a.capacity, a.overCommitTimeoutMs, 'fuzz', true)).not.toThrow();
        }
      }
    },
  )));

  it.runIf(RUNS >= 50)('the runs above reached real resizes and claim writes', () => {
    expect(reached.resize).toBeGreaterThan(0);
    expect(reached.claim).toBeGreaterThan(0);
  });
});

describe('agent: NodeManager answers, cgroup and proc files, copilot requests → rules decision', () => {
  const reached = { evictions: 0, cpuLimits: 0, apiKills: 0 };
  it('decides without throwing; every eviction names a measured container, every figure is finite and non-negative', () => check(fc.property(
    fc.record({
      meminfo: mostlyReal(corpus.kernel.get('proc/meminfo')!),
      stat0: fc.constantFrom(...corpus.kernel.get('proc/stat')!),
      stat1: mostlyReal(corpus.kernel.get('proc/stat')!),
      containers: fc.constantFrom(...corpus.nm.containers).chain((b) => mostlyReal([b.body]).map((body) => ({ ...b, body }))),
      current: mostlyReal(corpus.kernel.get('memory.current')!),
      memStat: mostlyReal(corpus.kernel.get('memory.stat')!),
      cpuStat0: fc.constantFrom(...corpus.kernel.get('cpu.stat')!),
      cpuStat1: mostlyReal(corpus.kernel.get('cpu.stat')!),
      pressure: mostlyReal(corpus.kernel.get('memory.pressure')!),
      cpuMax: mostlyReal(corpus.kernel.get('cpu.max')!),
      killRequest: mostlyReal(corpus.copilotKillByResource),
      threshold: fc.integer({ min: 1, max: 100 }),
      victimOrder: fc.constantFrom('newest', 'largest-memory,oldest', 'largest-cpu', 'most-failed-app,app-spread'),
    }),
    (f) => {
      const config = parsedOrInputError(() => parseRulesConfig({ memoryEvictThresholdPercent: f.threshold, victimOrder: f.victimOrder, cpuEvictBESatisfactionLowerPercent: 40, cpuEvictBESatisfactionUpperPercent: 60 }));
      if (!config) return;
      const doc = parsedOrInputError(() => decodeBody(f.containers.body, f.containers.contentType, f.containers.url));
      // The agent's own path: this node's entries, capped, then the live ones.
      const summary = doc === undefined ? undefined : parsedOrInputError(() => summarizeNmContainers(doc, f.containers.url, { nodeId: 'node-1:8041', max: 200 }));
      const list = summary && { items: summary.containers.filter((c) => isLiveContainerState(c.state)), rejected: summary.rejected.samples };
      const memory = parsedOrInputError(() => memoryFromV2(f.current, f.memStat, '/sys/fs/cgroup/c'));
      const cpu0 = parsedOrInputError(() => cpuUsageNanosFromV2(f.cpuStat0));
      const cpu1 = parsedOrInputError(() => cpuUsageNanosFromV2(f.cpuStat1));
      const psi = parsedOrInputError(() => parsePsi(f.pressure, 'memory.pressure'));
      const containers: CollectedContainer[] = (list?.items ?? []).map((nm) => ({
        nm,
        ...(memory ? {
          cgroup: {} as never,
          stats: {
            memoryWorkingSet: memory.workingSet,
            ...(cpu0 !== undefined && cpu1 !== undefined ? { cpuUsed: cpuRateMilli(cpu0, 0, cpu1, 1000) } : {}),
            ...(psi ? { psi: psiSnapshotOf({ memory: psi }) } : {}),
          },
        } : { problem: 'cgroup unreadable' }),
      }));
      const col: Collection = {
        at: 1000, nmUp: list !== undefined, nmRestarted: false, containers, nmContainers: list?.items ?? [],
        nmEntries: { total: summary?.total ?? 0, rejected: summary?.rejected.count ?? 0, foreign: summary?.foreign.count ?? 0, overCap: summary?.overflow ?? 0 },
      };
      const mem = parsedOrInputError(() => parseMeminfo(f.meminfo));
      const t0 = parsedOrInputError(() => parseProcStat(f.stat0));
      const t1 = parsedOrInputError(() => parseProcStat(f.stat1));
      if (mem && t1) {
        col.node = {
          memoryTotal: mem.total, memoryUsed: mem.used, cpuCapacity: milliCores(t1.cpus * 1000),
          ...(t0 ? { cpuUsed: nodeCpuBusyMilli(t0, t1) } : {}),
        };
      }
      const bw = parsedOrInputError(() => parseCpuMax(f.cpuMax, 'cpu.max'));
      col.yarn = {
        cpuLimit: bw ? bandwidthToMilli(bw) : null,
        requestedVcores: containers.reduce((a, c) => a + (c.nm.totalVCoresNeeded ?? 0), 0),
        ...(cpu0 !== undefined && cpu1 !== undefined ? { cpuUsed: cpuRateMilli(cpu0, 0, cpu1, 1000) } : {}),
      };
      const snapshot = buildSnapshot(col, new Set(), initialRulesState());
      if (!snapshot) return;
      expectSaneNumbers({ node: snapshot.node, yarn: snapshot.yarn }, new Set(['memoryTotal', 'memoryUsed', 'cpuCapacity', 'cpuUsed', 'requestedVcores']));
      for (const c of snapshot.containers) expectSaneNumbers(c, new Set(['memoryMiB', 'vcores', 'memoryWorkingSet', 'cpuUsed']));

      const d = decide(snapshot, config, 1_000_000);
      const measured = new Set(snapshot.containers.map((c) => c.id));
      const chosen = new Set<string>();
      for (const e of d.evictions) {
        expect(measured.has(e.containerId), e.containerId).toBe(true);
        expect(chosen.has(e.containerId), `${e.containerId} chosen twice`).toBe(false);
        chosen.add(e.containerId);
        expectSaneNumbers({ credit: e.credit, grace: e.gracePeriodSeconds }, new Set(['memory', 'cpu', 'grace']));
        expectSaneNumbers(e.inputs);
      }
      if (d.cpuLimit) expect(count(d.cpuLimit.milli), JSON.stringify(d.cpuLimit)).toBe(true);
      reached.evictions += d.evictions.length;
      if (d.cpuLimit) reached.cpuLimits++;

      const request = parsedOrInputError(() => parseKillByResourceRequest(f.killRequest));
      if (!request) return;
      expectSaneNumbers(request, new Set(['cpu', 'memory', 'nodeCpuRatio', 'nodeMemoryRatio']));
      const plan = killContainersByResource(snapshot.containers, request.resources, config);
      for (const e of plan.evictions) expect(measured.has(e.containerId) && !snapshot.containers.find((c) => c.id === e.containerId)!.isAM).toBe(true);
      expectSaneNumbers({ release: plan.release, inFlight: plan.inFlight }, new Set(['cpu', 'memory']));
      reached.apiKills += plan.evictions.length;
    },
  )));

  it.runIf(RUNS >= 50)('the runs above reached evictions, CPU limits and API kills', () => {
    expect(reached.evictions).toBeGreaterThan(0);
    expect(reached.cpuLimits).toBeGreaterThan(0);
    expect(reached.apiKills).toBeGreaterThan(0);
  });
});

