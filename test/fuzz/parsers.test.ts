/**
 * Every external parser fed random and mutated real bodies: nothing escapes but the one typed
 * input error, and no NaN, Infinity or negative quantity comes out. Bounded runs in `npm test`;
 * `LOOM_FUZZ_RUNS=N` for more, `LOOM_FUZZ_SEED=S` to replay a failure.
 */
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { check, expectSaneNumbers, mutatedFrom, numberish, parsedOrInputError, evilJson } from './fuzz.js';
import { realCorpus, type Body, type Corpus } from './corpus.js';
import { parseBatchCpu, parseBatchMemory, parseCpu, parseMemory, parseQuantity, quantityValue } from '../../kube/quantity.js';
import { parseOriginAnnotation, parseThirdPartyAllocations, sumBatchClaims, yarnClaimOf } from '../../kube/wire.js';
import { parseNodeId } from '../../yarn/ids.js';
import { decodeBody } from '../../yarn/document.js';
import {
  parseClusterInfo, parseClusterMetrics, parseNmContainer, parseNmContainers, parseNmNodeInfo, parseResourceInfo, parseRmNode, parseRmNodes,
} from '../../yarn/parse.js';
import { yarnClusterFromXml } from '../../yarn/site.js';
import {
  cpuUsageNanosFromV2, memoryFromV1, memoryFromV2, parseCfsPeriod, parseCfsQuota, parseCgroupMounts, parseCpuMax, parseFlatKeyed,
  parseMeminfo, parseProcPidCgroup, parseProcStat, parseProcs, parsePsi, parseSingleUint,
} from '../../cgroup/index.js';
import { parseKillByResourceRequest, parseKillContainerRequest } from '../../agent/copilot-wire.js';
import { parseRulesConfig } from '../../agent/rules/index.js';
import { resolveSettings, settingsFor, envOf } from '../../settings/settings.js';
import { commandSettingSpecs } from '../../cli/command-settings.js';
import { resolveKubeConfigFile } from '../../kube/kubeconfig.js';

let corpus: Corpus;
beforeAll(async () => { corpus = await realCorpus(); }, 60_000);

/** Quantities and resources that must never be negative once parsed. */
const NON_NEGATIVE = new Set(['cpu', 'memory', 'vcores', 'memoryMiB', 'totalMemoryNeededMB', 'totalVCoresNeeded', 'workingSet', 'usage', 'inactiveFile']);

describe('Kubernetes quantities and Koordinator annotations', () => {
  const quantityText = fc.oneof(
    numberish,
    fc.tuple(numberish, fc.constantFrom('', 'm', 'k', 'M', 'G', 'T', 'P', 'E', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'n', 'u', 'e3', 'E-2', 'e400')).map(([a, b]) => a + b),
    fc.string({ maxLength: 30 }),
  );

  it('quantity parsers return finite numbers (batch ones non-negative integers) or an input error', () => check(fc.property(
    fc.oneof(quantityText, evilJson),
    (q) => {
      for (const parse of [parseQuantity, quantityValue, parseCpu, parseMemory, parseBatchCpu, parseBatchMemory]) {
        const v = parsedOrInputError(() => parse(q));
        if (v === undefined) continue;
        expect(Number.isFinite(v), `${parse.name}(${JSON.stringify(q)}) = ${v}`).toBe(true);
        if (parse !== parseQuantity && parse !== quantityValue) {
          expect(Number.isInteger(v) && v >= 0 && !Object.is(v, -0), `${parse.name}(${JSON.stringify(q)}) = ${v}`).toBe(true);
        }
      }
    },
  )));

  it('originExtendedAllocatable: batch origin or an input error', () => check(fc.property(
    mutatedFrom(corpus.originAnnotation),
    (raw) => {
      const v = parsedOrInputError(() => parseOriginAnnotation(raw));
      if (v) expectSaneNumbers(v, NON_NEGATIVE);
    },
  )));

  it('thirdPartyAllocations: entries, the Σ of batch claims and the YARN claim, or an input error', () => check(fc.property(
    mutatedFrom(corpus.thirdPartyAnnotation),
    (raw) => {
      const entries = parsedOrInputError(() => parseThirdPartyAllocations(raw));
      if (!entries) return;
      const sum = parsedOrInputError(() => sumBatchClaims(entries));
      if (sum) expectSaneNumbers(sum, NON_NEGATIVE);
      const mine = parsedOrInputError(() => yarnClaimOf(entries));
      if (mine) expectSaneNumbers(mine, NON_NEGATIVE);
    },
  )));

  it('NodeIds: host and port in range, or refused', () => check(fc.property(
    mutatedFrom(corpus.nodeId),
    (raw) => {
      const id = parsedOrInputError(() => parseNodeId(raw));
      if (id) expect(Number.isInteger(id.port) && id.port >= 0 && id.port <= 65535, JSON.stringify(id)).toBe(true);
    },
  )));
});

describe('ResourceManager and NodeManager answers (JSON and XML)', () => {
  const cases: [string, (c: Corpus) => Body[], (doc: unknown, url: string) => unknown][] = [
    ['RM cluster info', (c) => c.rm.info, parseClusterInfo],
    ['RM cluster metrics', (c) => c.rm.metrics, parseClusterMetrics],
    ['RM node list', (c) => c.rm.nodes, parseRmNodes],
    ['RM node', (c) => c.rm.node, parseRmNode],
    ['RM resize answer', () => [
      { body: '{"resourceInfo":{"memory":8192,"vCores":4}}', contentType: 'application/json', url: 'u' },
      { body: '<?xml version="1.0"?><resourceInfo><memory>8192</memory><vCores>4</vCores></resourceInfo>', contentType: 'application/xml', url: 'u' },
    ], parseResourceInfo],
    ['NM node info', (c) => c.nm.info, parseNmNodeInfo],
    ['NM container list', (c) => c.nm.containers, parseNmContainers],
    ['NM container', (c) => c.nm.container, parseNmContainer],
  ];

  it.each(cases)('%s: a typed document or an input error naming the URL', (_name, bodies, parse) => check(fc.property(
    fc.constantFrom(...bodies(corpus)).chain((b) => fc.record({
      body: mutatedFrom([b.body]),
      contentType: fc.oneof({ arbitrary: fc.constant(b.contentType), weight: 8 }, fc.constantFrom('text/html', 'application/json', 'application/xml', '', 'application/json; charset=latin1')),
      url: fc.constant(b.url),
    })),
    ({ body, contentType, url }) => {
      const doc = parsedOrInputError(() => decodeBody(body, contentType, url));
      if (doc === undefined) return;
      const parsed = parsedOrInputError(() => parse(doc, url));
      if (parsed === undefined) return;
      // Finite here; whether a sign makes sense is the consumer's call (an RM's `availableResource`
      // is negative when over-committed; a negative total is reported by the ledger, see decisions.test.ts).
      expectSaneNumbers(parsed);
    },
  )));
});

describe('yarn-site.xml', () => {
  it('RM endpoints (absolute http(s) URLs) or an input error naming the file', () => check(fc.property(
    mutatedFrom(corpus.yarnSite),
    (xml) => {
      const c = parsedOrInputError(() => yarnClusterFromXml(xml, 'c1', '/etc/hadoop/yarn-site.xml', {}));
      if (!c) return;
      expect(c.rmUrls.length).toBeGreaterThan(0);
      for (const u of c.rmUrls) expect(() => new URL(u), u).not.toThrow();
    },
  )));
});

describe('cgroup and proc files', () => {
  const kernel = (name: string) => corpus.kernel.get(name) ?? [];
  const cases: [string, string, (text: string, file: string) => unknown][] = [
    ['memory.current', 'memory.current', parseSingleUint],
    ['memory.usage_in_bytes', 'memory.usage_in_bytes', parseSingleUint],
    ['cpuacct.usage', 'cpuacct.usage', parseSingleUint],
    ['memory.stat', 'memory.stat', parseFlatKeyed],
    ['cpu.stat', 'cpu.stat', parseFlatKeyed],
    ['cpu.stat usage', 'cpu.stat', cpuUsageNanosFromV2],
    ['pressure', 'memory.pressure', parsePsi],
    ['cpu.pressure', 'cpu.pressure', parsePsi],
    ['cgroup.procs', 'cgroup.procs', parseProcs],
    ['cpu.max', 'cpu.max', parseCpuMax],
    ['cpu.cfs_quota_us', 'cpu.cfs_quota_us', parseCfsQuota],
    ['cpu.cfs_period_us', 'cpu.cfs_period_us', parseCfsPeriod],
    ['/proc/meminfo', 'proc/meminfo', parseMeminfo],
    ['/proc/stat', 'proc/stat', parseProcStat],
    ['/proc/mounts', 'proc/mounts', parseCgroupMounts],
    ['/proc/<pid>/cgroup', 'proc/pid/cgroup', parseProcPidCgroup],
  ];

  it.each(cases)('%s: finite, non-negative numbers or an input error naming the file', (_name, name, parse) => {
    expect(kernel(name).length, `the simulated nodes wrote ${name}`).toBeGreaterThan(0);
    return check(fc.property(mutatedFrom(kernel(name)), (text) => {
      const v = parsedOrInputError(() => parse(text, `/sys/fs/cgroup/x/${name}`));
      if (v === undefined) return;
      const bad = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && (!Number.isFinite(x) || x < 0) ? `BAD ${x}` : x instanceof Map ? Object.fromEntries(x) : x));
      expect(bad).not.toMatch(/BAD/);
    }));
  });

  it('working set from v1 and v2 memory files: never negative, never NaN', () => check(fc.property(
    mutatedFrom([...kernel('memory.current'), ...kernel('memory.usage_in_bytes')]), mutatedFrom(kernel('memory.stat')),
    (usage, stat) => {
      for (const read of [memoryFromV1, memoryFromV2]) {
        const m = parsedOrInputError(() => read(usage, stat, '/sys/fs/cgroup/x'));
        if (m) expectSaneNumbers(m, NON_NEGATIVE);
      }
    },
  )));
});

describe('yarn-copilot requests', () => {
  it('killContainer: a valid container id or an input error', () => check(fc.property(
    mutatedFrom(corpus.copilotKill),
    (body) => {
      const id = parsedOrInputError(() => parseKillContainerRequest(body));
      if (id !== undefined) expect(id).toMatch(/^container_(e\d+_)?\d+_\d+_\d+_\d+$/);
    },
  )));

  it('killContainersByResource: non-negative integer amounts or an input error', () => check(fc.property(
    mutatedFrom(corpus.copilotKillByResource),
    (body) => {
      const r = parsedOrInputError(() => parseKillByResourceRequest(body));
      if (!r) return;
      for (const v of [r.resources.cpu, r.resources.memory]) if (v !== undefined) expect(Number.isInteger(v) && v >= 0, JSON.stringify(r)).toBe(true);
      expectSaneNumbers(r, new Set(['nodeCpuRatio', 'nodeMemoryRatio']));
    },
  )));
});

describe('configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-fuzz-config-'));
  let n = 0;
  const file = (text: string) => {
    const path = join(dir, `f${n++ % 8}.yaml`);
    writeFileSync(path, text);
    return path;
  };

  it.each(['operator', 'agent', 'status'] as const)('loom %s settings file: validated values or an input error naming the key', (command) => check(fc.property(
    mutatedFrom(corpus.settingsYaml),
    (yaml) => {
      const specs = commandSettingSpecs[command];
      const v = parsedOrInputError(() => settingsFor(specs, { config: file(yaml) }, {}));
      if (!v) return;
      for (const s of specs) {
        const x = v[s.key];
        if (typeof x === 'number') {
          expect(Number.isFinite(x), s.key).toBe(true);
          if (s.min !== undefined) expect(x, s.key).toBeGreaterThanOrEqual(s.min);
          if (s.max !== undefined) expect(x, s.key).toBeLessThanOrEqual(s.max);
        }
      }
    },
  ), Math.ceil(RUNS_CONFIG)));

  it('LOOM_* environment values: validated or an input error naming the variable', () => check(fc.property(
    fc.constantFrom(...commandSettingSpecs.agent), fc.oneof(numberish, fc.string({ maxLength: 20 })),
    (spec, raw) => {
      parsedOrInputError(() => resolveSettings({ specs: commandSettingSpecs.agent, flags: {}, env: { [envOf(spec.key)]: raw } }));
    },
  )));

  it('agent rule settings: a complete config with finite numbers or an input error', () => check(fc.property(
    fc.dictionary(fc.constantFrom('memoryEvictThresholdPercent', 'memoryEvictLowerPercent', 'memoryEmergencyPercent', 'cpuSuppressThresholdPercent',
      'cpuEvictBESatisfactionLowerPercent', 'cpuEvictBESatisfactionUpperPercent', 'cpuEvictTimeWindowSeconds', 'maxEvictionsPerMinute',
      'gracePeriodSeconds', 'victimOrder', 'psiEvictThreshold', 'protectApplicationMasters', 'bogus'), evilJson),
    (input) => {
      const c = parsedOrInputError(() => parseRulesConfig(input));
      if (c) expectSaneNumbers(c, new Set(Object.keys(c)));
    },
  )));

  it('kubeconfig: a server URL or an input error naming the file', () => check(fc.property(
    mutatedFrom(corpus.kubeconfig),
    (yaml) => {
      const k = parsedOrInputError(() => resolveKubeConfigFile(file(yaml)));
      if (k) expect(() => new URL(k.server)).not.toThrow();
    },
  ), Math.ceil(RUNS_CONFIG)));
});

/** File-backed properties write a file per run: keep them a little cheaper. */
const RUNS_CONFIG = Math.max(20, Number(process.env.LOOM_FUZZ_RUNS) || 100);
