/**
 * What the fuzz suite (test/fuzz) found, each kept as the exact counterexample it shrank to, so the
 * fix stays fixed whatever the random runs draw next time.
 */
import { describe, expect, it } from 'vitest';
import { InputError, isInputError } from '../../input/input-error.js';
import { parseCpu, parseBatchCpu, parseBatchMemory, parseQuantity } from '../../kube/quantity.js';
import { parseJsonDocument } from '../../yarn/document.js';
import { DUPLICATE_CONTAINER, parseNmContainers } from '../../yarn/parse.js';
import { summarizeNmContainers } from '../../yarn/nm-containers.js';
import { parseHadoopConfiguration, yarnClusterFromXml } from '../../yarn/site.js';
import { YarnConfigError } from '../../yarn/errors.js';
import { parseKillByResourceRequest, parseKillContainerRequest } from '../../agent/copilot-wire.js';
import { projectNode } from '../../operator/observe.js';
import { originOf } from '../../operator/snapshot.js';
import type { KubeObject } from '../../kube/api.js';
import { ANNOTATION_ORIGIN, BATCH_CPU } from '../../kube/wire.js';

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

describe('fuzz findings', () => {
  it('an error that echoes the input stays one line (a body of "\\n\\u0000")', () => {
    for (const f of [
      () => parseJsonDocument('\n\u0000', 'http://rm/ws/v1/cluster/metrics'),
      () => parseKillContainerRequest('\n\u0000'),
      () => parseKillByResourceRequest('\n\u0000'),
    ]) {
      const err = thrown(f);
      expect(isInputError(err)).toBe(true);
      expect(err.message).not.toMatch(/[\n\u0000]/);
      expect(err.message).toContain('\\n\\u0000');
    }
  });

  it('"0" milli-cores is 0, not -0', () => {
    expect(Object.is(parseCpu('0'), 0)).toBe(true);
  });

  it('a quantity beyond what Kubernetes keeps in an int64 is refused, not Infinity', () => {
    expect(() => parseCpu('1.797693134862316e+305')).toThrow(/out of range/);
    expect(() => parseBatchCpu('1e19')).toThrow(/out of range/);
    expect(() => parseBatchMemory(2 ** 64)).toThrow(/out of range/);
    expect(parseQuantity('7Ei')).toBe(7 * 2 ** 60);
    expect(thrown(() => parseCpu('1.797693134862316e+305'))).toBeInstanceOf(InputError);
  });

  it('an RM address no URL can carry is refused at startup, naming the key', () => {
    const xml = '<configuration><property><name>yarn.resourcemanager.webapp.address</name><value>-1.0.1:41693</value></property></configuration>';
    const err = thrown(() => yarnClusterFromXml(xml, 'c1', '/etc/hadoop/yarn-site.xml'));
    expect(err).toBeInstanceOf(YarnConfigError);
    expect(err.message).toBe('/etc/hadoop/yarn-site.xml [yarn.resourcemanager.webapp.address]: "-1.0.1:41693" is not a usable host:port');
  });

  it('XML the validator passes but the parser refuses is an input error, not a raw parser Error', () => {
    const xml = '<?xml version=\u00001.0"?>\n<configuration>\n  <property><name>a</name><value>b</value></property>\n</configuration>\n';
    const err = thrown(() => parseHadoopConfiguration(xml, '/etc/hadoop/yarn-site.xml'));
    expect(err).toBeInstanceOf(YarnConfigError);
    expect(err.message).toMatch(/^\/etc\/hadoop\/yarn-site\.xml: not XML: /);
  });

  it('markup where yarn-site.xml wants text (which the XML parser lets through) is an input error, not a TypeError', () => {
    const xml = '<?xml version=""?>\n<configuration>\n  <property><name>yarn.resourcemanager.webapp.address</name><value><!-0.0.1:39549</value></property>\n</configuration>\n';
    const err = thrown(() => yarnClusterFromXml(xml, 'c1', '/etc/hadoop/yarn-site.xml'));
    expect(err).toBeInstanceOf(YarnConfigError);
    expect(err.message).toBe('/etc/hadoop/yarn-site.xml [yarn.resourcemanager.webapp.address]: <value> holds markup, not text');
  });

  it('a container the NodeManager lists twice is one container: the repeat is refused, never chosen twice', () => {
    const entry = { id: 'container_1796126930139_0001_01_000004', state: 'RUNNING', totalMemoryNeededMB: 2048, totalVCoresNeeded: 1, nodeId: 'node-1:8041' };
    const doc = { containers: { container: [{ ...entry, exitCode: -1 }, entry, { ...entry, id: 'container_1796126930139_0001_01_000005' }] } };
    const list = parseNmContainers(doc, 'http://nm/ws/v1/node/containers');
    expect(list.items.map((c) => c.id)).toEqual(['container_1796126930139_0001_01_000004', 'container_1796126930139_0001_01_000005']);
    expect(list.rejected).toEqual([{ index: 1, id: 'container_1796126930139_0001_01_000004', reason: DUPLICATE_CONTAINER }]);
    const summary = summarizeNmContainers(doc, 'http://nm/ws/v1/node/containers', { nodeId: 'node-1:8041', max: 10 });
    expect(summary.containers.map((c) => c.id)).toEqual(['container_1796126930139_0001_01_000004', 'container_1796126930139_0001_01_000005']);
    expect(summary.rejected).toEqual({ count: 1, samples: [{ index: 1, id: 'container_1796126930139_0001_01_000004', reason: DUPLICATE_CONTAINER }] });
  });

  it('a NodeManager allocation past 2^53 MiB stays unknown: released memory never becomes Infinity', () => {
    const list = parseNmContainers({ containers: { container: [
      { id: 'container_1_0001_01_000002', state: 'RUNNING', totalMemoryNeededMB: 1e308, totalVCoresNeeded: 1 },
    ] } }, 'http://nm/ws/v1/node/containers');
    expect(list.items[0]!.totalMemoryNeededMB).toBeUndefined();
    expect(list.items[0]!.unknownFields).toEqual(['totalMemoryNeededMB']);
  });

  it('a NodeManager container with a negative allocation keeps that allocation unknown, never negative', () => {
    const doc = { containers: { container: [
      { id: 'container_1_0001_01_000002', state: 'RUNNING', totalMemoryNeededMB: -5e-324, totalVCoresNeeded: 1 },
      { id: 'container_1_0001_01_000003', state: 'RUNNING', totalMemoryNeededMB: 1024, totalVCoresNeeded: -1 },
      { id: 'container_1_0001_01_000004', state: 'RUNNING', totalMemoryNeededMB: 1024, totalVCoresNeeded: 1 },
    ] } };
    const list = parseNmContainers(doc, 'http://nm/ws/v1/node/containers');
    expect(list.items.map((c) => [c.id, c.totalMemoryNeededMB, c.totalVCoresNeeded, c.unknownFields])).toEqual([
      ['container_1_0001_01_000002', undefined, 1, ['totalMemoryNeededMB']],
      ['container_1_0001_01_000003', 1024, undefined, ['totalVCoresNeeded']],
      ['container_1_0001_01_000004', 1024, 1, undefined],
    ]);
  });

  it('a Node whose batch allocatable or annotation is not text (`[{"toString":null}]`) is an invalid origin named by node, not a throw', () => {
    const node = (allocatable: unknown, annotations: Record<string, unknown> = {}): KubeObject => ({
      apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', resourceVersion: '1', annotations }, status: { allocatable: { [BATCH_CPU]: allocatable } },
    } as unknown as KubeObject);
    const fromAllocatable = projectNode(node([{ toString: null }]))!;
    expect(originOf(fromAllocatable)).toMatchObject({ state: 'invalid', reason: expect.stringMatching(/^node node-1: status\.allocatable: invalid quantity .*toString.*: not a Kubernetes quantity$/) });
    const fromAnnotation = projectNode(node(undefined, { [ANNOTATION_ORIGIN]: { toString: null } }))!;
    expect(originOf(fromAnnotation)).toMatchObject({ state: 'invalid', reason: expect.stringMatching(/^node node-1: annotation \S*originExtendedAllocatable: not JSON \(.*not text/) });
  });
});
