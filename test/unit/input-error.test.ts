/**
 * One typed input error for every external input, printed one way (`source [key]: problem`):
 * each parser's own error class is an InputError carrying its source, the key inside it and the
 * problem, and a wrapper re-homes an inner error instead of pasting one message into another.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError, describeError, formatInputError, isInputError } from '../../input/input-error.js';
import { SettingsError, settingsFor } from '../../settings/settings.js';
import { operatorSettingSpecs } from '../../operator/settings.js';
import { ANNOTATION_ORIGIN, ANNOTATION_THIRD_PARTY, WireFormatError, allocationBatch, parseOriginAnnotation, parseThirdPartyAllocations } from '../../kube/wire.js';
import { QuantityError, parseBatchCpu } from '../../kube/quantity.js';
import { YarnConfigError, YarnDocumentError } from '../../yarn/errors.js';
import { parseJsonDocument, parseXmlDocument } from '../../yarn/document.js';
import { parseHadoopConfiguration } from '../../yarn/site.js';
import { parseRmNodes } from '../../yarn/parse.js';
import { CgroupParseError } from '../../cgroup/errors.js';
import { parseFlatKeyed, parseSingleUint } from '../../cgroup/parse.js';
import { CopilotRequestError, parseKillByResourceRequest, parseKillContainerRequest } from '../../agent/copilot-wire.js';
import { RulesConfigError, parseRulesConfig } from '../../agent/rules/index.js';
import { KubeConfigError, resolveKubeConfigFile } from '../../kube/kubeconfig.js';
import { createLogger } from '../../log/logger.js';

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

const tmp = () => mkdtempSync(join(tmpdir(), 'loom-input-'));

describe('InputError', () => {
  it('prints source [key]: problem, and the key only when there is one', () => {
    expect(new InputError('loom.yaml', 'must be ≤ 1, got 1.5', { key: 'headroomShare' }).message).toBe('loom.yaml [headroomShare]: must be ≤ 1, got 1.5');
    expect(new InputError('/proc/meminfo', 'empty file').message).toBe('/proc/meminfo: empty file');
    expect(formatInputError({ source: 'a', problem: 'b' })).toBe('a: b');
  });

  it('re-homes an inner error under an enclosing source without repeating it', () => {
    const inner = thrown(() => parseBatchCpu('lots')) as QuantityError;
    const outer = inner.within('annotation x', 'resources.cpu');
    expect(outer.message).toBe('annotation x [resources.cpu]: invalid quantity "lots": not a Kubernetes quantity');
    expect(outer.cause).toBe(inner);
  });

  it('is one bounded line whatever the input echoed into it', () => {
    const e = new InputError('http://rm/x', `invalid JSON (Unexpected token '\u0000', "\n\u0000" is not valid JSON)`, { key: 'a\rb' });
    expect(e.message).toBe('http://rm/x [a\\rb]: invalid JSON (Unexpected token \'\\u0000\', "\\n\\u0000" is not valid JSON)');
    expect(new InputError('s', 'x'.repeat(5000)).message.length).toBeLessThan(700);
  });

  it('describeError gives one line for anything thrown', () => {
    expect(describeError(new InputError('s', 'p', { key: 'k' }))).toBe('s [k]: p');
    expect(describeError(new Error('plain'))).toBe('plain');
    expect(describeError('a string')).toBe('a string');
  });
});

describe('every parser throws the one input error', () => {
  const cases: [string, () => unknown, new (...a: never[]) => Error, { source: RegExp | string; key?: string; problem: RegExp }][] = [
    ['settings file', () => {
      const dir = tmp();
      writeFileSync(join(dir, 'loom.yaml'), 'headroomShare: 1.5\n');
      return settingsFor(operatorSettingSpecs, { config: join(dir, 'loom.yaml') }, {});
    }, SettingsError, { source: /loom\.yaml$/, key: 'headroomShare', problem: /^must be ≤ 1, got 1.5$/ }],
    ['settings environment', () => settingsFor(operatorSettingSpecs, {}, { LOOM_POLICY: 'greedy' }), SettingsError, { source: 'LOOM_POLICY', problem: /expected one of partitioned, shared/ }],
    ['quantity', () => parseBatchCpu('12x'), QuantityError, { source: '', problem: /^invalid quantity "12x": not a Kubernetes quantity$/ }],
    ['origin annotation', () => parseOriginAnnotation('{"resources":{"kubernetes.io/batch-cpu":"lots"}}'), WireFormatError,
      { source: `annotation ${ANNOTATION_ORIGIN}`, key: 'resources.kubernetes.io/batch-cpu', problem: /^invalid quantity "lots"/ }],
    ['third-party annotation', () => parseThirdPartyAllocations('{"allocations":5}'), WireFormatError, { source: `annotation ${ANNOTATION_THIRD_PARTY}`, problem: /unexpected shape/ }],
    ['third-party entry', () => allocationBatch({ name: 'spark', resources: { 'kubernetes.io/batch-memory': '-1Gi' } }), WireFormatError,
      { source: `annotation ${ANNOTATION_THIRD_PARTY} entry spark`, key: 'resources.kubernetes.io/batch-memory', problem: /negative/ }],
    ['RM JSON body', () => parseJsonDocument('{"nodes":', 'http://rm:8088/ws/v1/cluster/nodes'), YarnDocumentError, { source: 'http://rm:8088/ws/v1/cluster/nodes', problem: /^invalid JSON/ }],
    ['RM XML body', () => parseXmlDocument('<nodes><node>', 'http://rm/x'), YarnDocumentError, { source: 'http://rm/x', problem: /^invalid XML: the file ends before <nodes>, <node> are closed/ }],
    ['RM document kind', () => parseRmNodes({ clusterInfo: {} }, 'http://rm/nodes'), YarnDocumentError, { source: 'http://rm/nodes', problem: /expected a "nodes" list document/ }],
    ['yarn-site.xml', () => parseHadoopConfiguration('<configuration><property><name>x</name>', '/etc/hadoop/yarn-site.xml'), YarnConfigError,
      { source: '/etc/hadoop/yarn-site.xml', problem: /^not XML: the file ends before <configuration>, <property> are closed \(line 1, column 1\)$/ }],
    ['cgroup file', () => parseSingleUint('-5\n', '/sys/fs/cgroup/x/memory.current'), CgroupParseError, { source: '/sys/fs/cgroup/x/memory.current', problem: /not a non-negative integer/ }],
    ['cgroup flat-keyed file', () => parseFlatKeyed('a 1\na 2\n', 'memory.stat'), CgroupParseError, { source: 'memory.stat', problem: /duplicate key a/ }],
    ['copilot kill request', () => parseKillContainerRequest('{"containerID":"../../etc"}'), CopilotRequestError,
      { source: 'POST /v1/killContainer', key: 'containerID', problem: /is not a YARN container id/ }],
    ['copilot kill-by-resource request', () => parseKillByResourceRequest('{"resources":{"kubernetes.io/batch-cpu":"many"}}'), CopilotRequestError,
      { source: 'POST /v1/killContainersByResource', key: 'resources.kubernetes.io/batch-cpu', problem: /^invalid quantity "many"/ }],
    ['copilot request shape', () => parseKillContainerRequest('{"containerID":5}'), CopilotRequestError, { source: 'POST /v1/killContainer', key: 'containerID', problem: /invalid request/ }],
    ['agent rules', () => parseRulesConfig({ memoryEvictThresholdPercent: 70, memoryEvictLowerPercent: 80 }), RulesConfigError,
      { source: 'agent rule settings', key: 'memoryEvictLowerPercent', problem: /must be below memoryEvictThresholdPercent/ }],
    ['kubeconfig', () => {
      const dir = tmp();
      writeFileSync(join(dir, 'k.yaml'), 'current-context: nope\ncontexts: []\n');
      return resolveKubeConfigFile(join(dir, 'k.yaml'));
    }, KubeConfigError, { source: /^kubeconfig .*k\.yaml$/, problem: /current-context "nope" is not among its contexts/ }],
  ];

  it.each(cases)('%s', (_name, parse, Class, want) => {
    const err = thrown(parse);
    expect(err).toBeInstanceOf(Class);
    expect(err).toBeInstanceOf(InputError);
    expect(isInputError(err)).toBe(true);
    const e = err as InputError;
    if (typeof want.source === 'string') expect(e.source).toBe(want.source);
    else expect(e.source).toMatch(want.source);
    expect(e.key).toBe(want.key);
    expect(e.problem).toMatch(want.problem);
    expect(e.message).toBe(formatInputError(e));
    // One line, and no word of the source said twice.
    expect(e.message).not.toContain('\n');
    if (e.source) expect(e.message.split(e.source).length - 1).toBe(1);
  });
});

describe('logs print an input error by its fields', () => {
  it('err carries source, key and problem in a JSON line', () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger('test', { level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>); } });
    log.warn({ err: new InputError('http://nm/ws/v1/node/containers', 'invalid JSON', { key: 'containers' }) }, 'NodeManager answer refused');
    log.warn({ err: new Error('plain') }, 'other');
    expect(lines[0]!.err).toEqual({
      type: 'InputError', source: 'http://nm/ws/v1/node/containers', key: 'containers', problem: 'invalid JSON',
      message: 'http://nm/ws/v1/node/containers [containers]: invalid JSON',
    });
    expect(lines[1]!.err).toEqual({ type: 'Error', message: 'plain' });
  });
});
