import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatQuantity, parseBatchCpu, parseBatchMemory, parseCpu, parseQuantity, QuantityError } from '../../kube/quantity.js';
import {
  parseOriginAnnotation, parseThirdPartyAllocations, sumBatchClaims, withYarnClaim, yarnClaimOf, WireFormatError,
} from '../../kube/wire.js';
import { nodeManagerOf, originOf } from '../../operator/snapshot.js';
import { appIdOf, compareContainerAge, containerAge, isApplicationMaster, isContainerId, parseNodeId } from '../../yarn/ids.js';
import type { Bytes, MilliCores } from '../../kube/quantity.js';

describe('Kubernetes quantities', () => {
  it.each([
    ['60646', 60646], ['10k', 10000], ['10Gi', 10 * 2 ** 30], ['1.5Gi', 1610612736], ['500m', 0.5],
    ['1e3', 1000], ['245976973438', 245976973438], ['0', 0], ['1.1k', 1100], ['2M', 2e6], ['.5', 0.5],
  ])('parses %s', (input, value) => expect(parseQuantity(input)).toBe(value));

  it.each(['', 'abc', '10 Gi', '10gi', '1.2.3', '--1', 'Infinity', '0x10'])('rejects %j', (input) => {
    expect(() => parseQuantity(input)).toThrow(QuantityError);
  });

  it('rounds batch values up like Quantity.Value() and rejects negatives', () => {
    expect(parseBatchCpu('1500m')).toBe(2);
    expect(parseBatchMemory('1.5Ki')).toBe(1536);
    expect(parseCpu('500m')).toBe(500);
    expect(parseCpu('2')).toBe(2000);
    expect(() => parseBatchCpu('-1k')).toThrow(/negative/);
  });

  it('formats like Kubernetes canonical forms and round-trips', () => {
    expect(formatQuantity(10000, 'decimal')).toBe('10k');
    expect(formatQuantity(60646, 'decimal')).toBe('60646');
    expect(formatQuantity(10 * 2 ** 30, 'binary')).toBe('10Gi');
    expect(formatQuantity(1000, 'binary')).toBe('1k');
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 50 }), fc.constantFrom('binary' as const, 'decimal' as const), (n, form) => {
      expect(parseQuantity(formatQuantity(n, form))).toBe(n);
    }));
  });
});

describe('Koordinator annotations', () => {
  it('reads originExtendedAllocatable in its documented shape', () => {
    const o = parseOriginAnnotation('{"resources":{"kubernetes.io/batch-cpu":"60646","kubernetes.io/batch-memory":"245976973438"}}');
    expect(o).toEqual({ cpu: 60646, memory: 245976973438 });
    expect(parseOriginAnnotation('{"resources":{"kubernetes.io/batch-cpu":"4k"}}')).toEqual({ cpu: 4000 });
  });

  it('decodes originExtendedAllocatable exactly as Go json.Unmarshal into OriginAllocatable does', () => {
    // Koordinator: type OriginAllocatable struct { Resources corev1.ResourceList `json:"resources,omitempty"` }.
    // omitempty writes an empty list as {}; Go decodes {}, null and {"resources":null} as empty.
    expect(parseOriginAnnotation('{}')).toEqual({});
    expect(parseOriginAnnotation('null')).toEqual({});
    expect(parseOriginAnnotation(' {"resources":null} ')).toEqual({});
    expect(parseOriginAnnotation('{"resources":{}}')).toEqual({});
    // Unknown keys are ignored; keys match the field case-insensitively (Go's fold, ſ and K included).
    expect(parseOriginAnnotation('{"other":[1,2],"resources":{"kubernetes.io/batch-cpu":"2k"}}')).toEqual({ cpu: 2000 });
    expect(parseOriginAnnotation('{"Resources":{"kubernetes.io/batch-cpu":"2k"}}')).toEqual({ cpu: 2000 });
    expect(parseOriginAnnotation('{"RE\u017fOURCES":{"kubernetes.io/batch-cpu":"3k"}}')).toEqual({ cpu: 3000 });
    // A repeated field decodes into the same map: entries merge, the later one wins.
    expect(parseOriginAnnotation('{"resources":{"kubernetes.io/batch-cpu":"1k","kubernetes.io/batch-memory":"1Gi"},"resources":{"kubernetes.io/batch-cpu":"5k"}}'))
      .toEqual({ cpu: 5000, memory: 2 ** 30 });
    // Quantity.UnmarshalJSON: null is the zero quantity; a bare JSON number is parsed like its string.
    expect(parseOriginAnnotation('{"resources":{"kubernetes.io/batch-cpu":null,"kubernetes.io/batch-memory":1024}}')).toEqual({ cpu: 0, memory: 1024 });
    // What Go refuses, Loom refuses, naming the source.
    for (const bad of ['[]', '"x"', '1', 'true', '{"resources":[]}', '{"resources":"4k"}', '{"resources":{"kubernetes.io/batch-cpu":true}}']) {
      expect(() => parseOriginAnnotation(bad), bad).toThrow(/originExtendedAllocatable/);
    }
  });

  it('rejects malformed annotations with the source named', () => {
    expect(() => parseOriginAnnotation('{oops')).toThrow(/originExtendedAllocatable: not JSON/);
    expect(() => parseOriginAnnotation('{"resources":[]}')).toThrow(WireFormatError);
    expect(() => parseOriginAnnotation('{"resources":{"kubernetes.io/batch-cpu":"lots"}}')).toThrow(/invalid quantity "lots"/);
    expect(() => parseThirdPartyAllocations('{"allocations":[{"priority":"koord-batch"}]}')).toThrow(WireFormatError);
  });

  it('upserts the hadoop-yarn entry and keeps other writers byte-for-byte', () => {
    const raw = '{"allocations":[{"name":"spark-operator","priority":"koord-batch","resources":{"kubernetes.io/batch-cpu":"2k"},"extra":{"x":1}},{"name":"hadoop-yarn","priority":"koord-batch","resources":{"kubernetes.io/batch-cpu":"1k","kubernetes.io/batch-memory":"1Gi"}}]}';
    const entries = parseThirdPartyAllocations(raw);
    expect(yarnClaimOf(entries)).toEqual({ cpu: 1000, memory: 2 ** 30 });
    const next = withYarnClaim(entries, { cpu: 10000 as MilliCores, memory: (10 * 2 ** 30) as Bytes });
    expect(JSON.parse(next)).toEqual({
      allocations: [
        { name: 'spark-operator', priority: 'koord-batch', resources: { 'kubernetes.io/batch-cpu': '2k' }, extra: { x: 1 } },
        { name: 'hadoop-yarn', priority: 'koord-batch', resources: { 'kubernetes.io/batch-cpu': '10k', 'kubernetes.io/batch-memory': '10Gi' } },
      ],
    });
    expect(sumBatchClaims(parseThirdPartyAllocations(next))).toEqual({ cpu: 12000, memory: 10 * 2 ** 30 });
    const cleared = parseThirdPartyAllocations(withYarnClaim(entries, null));
    expect(cleared.map((e) => e.name)).toEqual(['spark-operator']);
    expect(parseThirdPartyAllocations(undefined)).toEqual([]);
    expect(parseThirdPartyAllocations('{"allocations":null}')).toEqual([]);
  });
});

describe('YARN ids', () => {
  it('validates container ids and derives the app id', () => {
    expect(isContainerId('container_e17_1700000000000_0042_01_000003')).toBe(true);
    expect(isContainerId('container_1410901177871_0001_01_000005')).toBe(true);
    for (const bad of ['container_1_2_3', '../container_1_2_3_4', 'container_1_2_3_4/..', 'container_e_1_2_3_4', ' container_1_2_3_4']) {
      expect(isContainerId(bad)).toBe(false);
    }
    expect(appIdOf('container_e17_1700000000000_0042_01_000003')).toBe('application_1700000000000_0042');
    expect(isApplicationMaster('container_1700000000000_0042_01_000001')).toBe(true);
    expect(isApplicationMaster('container_1700000000000_0042_01_000002')).toBe(false);
    expect(compareContainerAge('container_1_0001_01_000010', 'container_1_0001_01_000009')).toBe(1);
    expect(compareContainerAge('container_e02_1_0001_01_000001', 'container_e01_1_0009_01_000009')).toBe(1);
    expect(containerAge('nope')).toBeUndefined();
  });

  it('parses NodeIds including IPv6 and rejects the rest', () => {
    expect(parseNodeId('worker-1.example:45454')).toEqual({ host: 'worker-1.example', port: 45454 });
    expect(parseNodeId('[fd00::1]:8041')).toEqual({ host: 'fd00::1', port: 8041 });
    // NodeId.fromString accepts any host:int: container hostnames with '_' or upper case are real.
    expect(parseNodeId('hadoop_nm_1:8041')).toEqual({ host: 'hadoop_nm_1', port: 8041 });
    expect(parseNodeId('NM_Host.example-1:8041')).toEqual({ host: 'NM_Host.example-1', port: 8041 });
    expect(parseNodeId('_nm:8041')).toEqual({ host: '_nm', port: 8041 });
    expect(parseNodeId('nm-1 :8041')).toEqual({ host: 'nm-1', port: 8041 });
    // Our guards stay: the id goes into RM URLs, Kubernetes objects and logs.
    for (const bad of ['worker-1', 'a:b:c', 'host:0', 'host:70000', ':8041', 'host:80x', 'fd00::1:8041',
      'a/b:8041', '../x:8041', 'a\\b:8041', 'a%2f:8041', 'a?b:8041', 'a#b:8041', 'a b:8041', 'a\nb:8041', 'host: 8041']) {
      expect(parseNodeId(bad)).toBeUndefined();
    }
  });
});

describe('the operator reads what Koordinator and Hadoop write', () => {
  it('runs a NodeManager whose host has an underscore instead of calling it malformed', () => {
    const nm = nodeManagerOf([{ nodeName: 'n1', phase: 'Running', batchCpu: 0, batchMemory: 0, nm: { nodeId: 'hadoop_nm_1:8041', terminating: false } }]);
    expect(nm).toEqual({ state: 'running', clusterId: '__default_yarn_cluster__', nodeId: 'hadoop_nm_1:8041' });
  });

  it('takes an empty originExtendedAllocatable ({}) as an annotation without batch resources, not as invalid', () => {
    expect(originOf({ name: 'n1', resourceVersion: '1', origin: '{}' }).state).toBe('missing');
    expect(originOf({ name: 'n1', resourceVersion: '1', origin: '{}', allocatableCpu: '4k', allocatableMemory: '8Gi' }))
      .toMatchObject({ state: 'ok', value: { cpu: 4000, memory: 8 * 2 ** 30 } });
  });
});

