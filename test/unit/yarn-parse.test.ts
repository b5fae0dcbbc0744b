import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeBody, parseJsonDocument, parseXmlDocument } from '../../yarn/document.js';
import { YarnDocumentError } from '../../yarn/errors.js';
import { isLiveContainerState, LIVE_CONTAINER_STATES, CONTAINER_STATES } from '../../yarn/model.js';
import {
  parseClusterInfo, parseClusterMetrics, parseNmContainer, parseNmContainers, parseNmNodeInfo, parseResourceInfo,
  parseRmNode, parseRmNodes, remoteExceptionOf,
} from '../../yarn/parse.js';
import { dedupeNodesByHost } from '../../yarn/rm-client.js';
import { liveContainersOf } from '../../yarn/nm-client.js';

const URL_ = 'http://rm1:8088/ws/v1/cluster/nodes';
const json = (o: unknown) => decodeBody(JSON.stringify(o), 'application/json; charset=utf-8', URL_);
const xml = (s: string) => decodeBody(s, 'application/xml; charset=utf-8', URL_);

// Reference §2.2 example, verbatim shape.
const NODE = {
  rack: '/default-rack', state: 'RUNNING', id: 'worker-1.example:45454',
  nodeHostName: 'worker-1.example', nodeHTTPAddress: 'worker-1.example:8042',
  lastHealthUpdate: 1700000123456, version: '3.3.6', healthReport: '',
  numContainers: 3, usedMemoryMB: 6144, availMemoryMB: 2048, usedVirtualCores: 3, availableVirtualCores: 5,
  numRunningOpportContainers: 0, usedMemoryOpportGB: 0, usedVirtualCoresOpport: 0, numQueuedContainers: 0,
  resourceUtilization: {
    nodePhysicalMemoryMB: 20480, nodeVirtualMemoryMB: 22000, nodeCPUUsage: 3.2,
    aggregatedContainersPhysicalMemoryMB: 5000, aggregatedContainersVirtualMemoryMB: 9000, containersCPUUsage: 2.1,
  },
  usedResource: { memory: 6144, vCores: 3, resourceInformations: {} },
  availableResource: { memory: 2048, vCores: 5, resourceInformations: {} },
  totalResource: { memory: 8192, vCores: 8, resourceInformations: {} },
};

const NODE_XML = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<nodes>
  <node><rack>/default-rack</rack><state>RUNNING</state><id>worker-1.example:45454</id>
    <nodeHostName>worker-1.example</nodeHostName><nodeHTTPAddress>worker-1.example:8042</nodeHTTPAddress>
    <lastHealthUpdate>1700000123456</lastHealthUpdate><version>3.3.6</version><healthReport/>
    <numContainers>3</numContainers><usedMemoryMB>6144</usedMemoryMB><availMemoryMB>2048</availMemoryMB>
    <usedVirtualCores>3</usedVirtualCores><availableVirtualCores>5</availableVirtualCores>
    <resourceUtilization><nodePhysicalMemoryMB>20480</nodePhysicalMemoryMB><nodeCPUUsage>3.2</nodeCPUUsage></resourceUtilization>
    <usedResource><memory>6144</memory><vCores>3</vCores></usedResource>
    <availableResource><memory>2048</memory><vCores>5</vCores></availableResource>
    <totalResource><memory>8192</memory><vCores>8</vCores></totalResource></node>
  ###
</nodes>`;

describe('RM node list shapes', () => {
  it('parses the reference example (array of one)', () => {
    const { items, rejected } = parseRmNodes(json({ nodes: { node: [NODE] } }), URL_);
    expect(rejected).toEqual([]);
    expect(items).toHaveLength(1);
    const n = items[0]!;
    expect(n.id).toBe('worker-1.example:45454');
    expect(n.state).toBe('RUNNING');
    expect(n.totalResource).toEqual({ memoryMiB: 8192, vcores: 8 });
    expect(n.usedResource).toEqual({ memoryMiB: 6144, vcores: 3 });
    expect(n.availableResource).toEqual({ memoryMiB: 2048, vcores: 5 });
    expect(n.resourceUtilization?.nodeCPUUsage).toBe(3.2);
    expect(n.lastHealthUpdate).toBe(1700000123456);
    expect(n.nodeLabels).toEqual([]);
  });

  it('accepts a bare object instead of an array', () => {
    expect(parseRmNodes(json({ nodes: { node: NODE } }), URL_).items.map((n) => n.id)).toEqual(['worker-1.example:45454']);
  });

  it.each([
    ['null wrapper (Jersey 1)', { nodes: null }],
    ['{} wrapper (MOXy)', { nodes: {} }],
    ['empty document', {}],
    ['empty array', { nodes: { node: [] } }],
    ['null item key', { nodes: { node: null } }],
  ])('empty list: %s', (_name, doc) => {
    expect(parseRmNodes(json(doc), URL_)).toEqual({ items: [], rejected: [] });
  });

  it('accepts numeric strings and falls back to usedMemoryMB/usedVirtualCores', () => {
    const { items } = parseRmNodes(json({ nodes: { node: [{ id: 'h:1', state: 'running', usedMemoryMB: '1024', usedVirtualCores: '2', availMemoryMB: '10', availableVirtualCores: 1, numContainers: '4', totalResource: { memory: '4096', vCores: '4' } }] } }), URL_);
    expect(items[0]).toMatchObject({
      id: 'h:1', state: 'RUNNING', numContainers: 4,
      usedResource: { memoryMiB: 1024, vcores: 2 }, availableResource: { memoryMiB: 10, vcores: 1 },
      totalResource: { memoryMiB: 4096, vcores: 4 },
    });
  });

  it('skips and reports an item without id, keeps the rest', () => {
    const { items, rejected } = parseRmNodes(json({ nodes: { node: [{ state: 'RUNNING' }, NODE, { id: 'x:2', numContainers: 'many' }] } }), URL_);
    expect(items.map((n) => n.id)).toEqual(['worker-1.example:45454']);
    expect(rejected).toHaveLength(2);
    expect(rejected[0]).toMatchObject({ index: 0 });
    expect(rejected[0]!.reason).toMatch(/id/);
    expect(rejected[1]).toMatchObject({ index: 2, id: 'x:2' });
    expect(rejected[1]!.reason).toMatch(/numContainers/);
  });

  it('XML: many, one, empty — the same model as JSON', () => {
    const one = parseRmNodes(xml(NODE_XML.replace('###', '')), URL_);
    const fromJson = parseRmNodes(json({ nodes: { node: [NODE] } }), URL_).items[0]!;
    expect(one.items).toHaveLength(1);
    const x = one.items[0]!;
    expect(x).toMatchObject({
      id: fromJson.id, state: fromJson.state, healthReport: '', lastHealthUpdate: 1700000123456, version: '3.3.6',
      totalResource: fromJson.totalResource, usedResource: fromJson.usedResource, availableResource: fromJson.availableResource,
    });
    const two = parseRmNodes(xml(NODE_XML.replace('###', '<node><id>worker-2:45454</id><state>LOST</state><nodeHTTPAddress></nodeHTTPAddress></node>')), URL_);
    expect(two.items.map((n) => [n.id, n.state, n.nodeHTTPAddress])).toEqual([
      ['worker-1.example:45454', 'RUNNING', 'worker-1.example:8042'], ['worker-2:45454', 'LOST', ''],
    ]);
    expect(parseRmNodes(xml('<?xml version="1.0"?><nodes/>'), URL_)).toEqual({ items: [], rejected: [] });
    expect(parseRmNodes(xml('<nodes></nodes>'), URL_)).toEqual({ items: [], rejected: [] });
  });

  it('XML nodeLabels one and many become arrays', () => {
    const doc = xml('<nodes><node><id>a:1</id><nodeLabels>gpu</nodeLabels></node><node><id>b:1</id><nodeLabels>x</nodeLabels><nodeLabels>y</nodeLabels></node></nodes>');
    expect(parseRmNodes(doc, URL_).items.map((n) => n.nodeLabels)).toEqual([['gpu'], ['x', 'y']]);
  });

  it('single node document (GET /nodes/{id}) JSON and XML', () => {
    expect(parseRmNode(json({ node: NODE }), URL_).totalResource).toEqual({ memoryMiB: 8192, vcores: 8 });
    const n = parseRmNode(xml('<node><id>a:1</id><totalResource><memory>10</memory><vCores>1</vCores></totalResource></node>'), URL_);
    expect(n).toMatchObject({ id: 'a:1', totalResource: { memoryMiB: 10, vcores: 1 } });
    expect(() => parseRmNode(json({ node: { state: 'RUNNING' } }), URL_)).toThrow(YarnDocumentError);
  });

  it('another root is an error, never an empty list', () => {
    expect(() => parseRmNodes(json({ clusterInfo: { id: 1 } }), URL_)).toThrow(/expected a "nodes" list document/);
    expect(() => parseRmNodes(json({ nodes: { app: [] } }), URL_)).toThrow(/instead of "node"/);
    expect(() => parseRmNodes(json([1, 2]), URL_)).toThrow(YarnDocumentError);
    expect(() => parseRmNodes(xml('<html><body>login</body></html>'), URL_)).toThrow(/expected a "nodes"/);
  });
});

describe('hostile bodies are errors naming the URL', () => {
  it.each([
    ['HTML with text/html', '<html><body>Proxy login</body></html>', 'text/html'],
    ['200 text/plain (standby notice)', 'There is no active RM right now.', 'text/plain'],
    ['no content type', '{"nodes":null}', undefined],
    ['empty JSON body', '', 'application/json'],
    ['truncated JSON', '{"nodes":{"node":[{"id":"a:1"', 'application/json'],
    ['empty XML body', '  ', 'application/xml'],
    ['truncated XML', '<nodes><node><id>a:1</id>', 'application/xml'],
    ['HTML served as XML', '<html><body><br></body></html>', 'text/xml'],
  ])('%s', (_name, body, ct) => {
    let caught: unknown;
    try {
      parseRmNodes(decodeBody(body, ct, URL_), URL_);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(YarnDocumentError);
    expect((caught as YarnDocumentError).url).toBe(URL_);
    expect((caught as Error).message).toContain(URL_);
  });

  it('parseJsonDocument / parseXmlDocument directly', () => {
    expect(() => parseJsonDocument('nope', 'u')).toThrow(/u: invalid JSON/);
    expect(() => parseXmlDocument('<a>1</a><b>2</b>', 'u')).toThrow(/invalid XML/);
  });
});

describe('cluster info, metrics, resourceInfo, RemoteException', () => {
  it('cluster info JSON and XML', () => {
    const j = parseClusterInfo(json({ clusterInfo: { id: 1700000000000, startedOn: 1700000000000, state: 'STARTED', haState: 'ACTIVE', hadoopVersion: '3.3.6', rmStateStoreName: 'x.ZKRMStateStore' } }), URL_);
    expect(j).toMatchObject({ id: 1700000000000, startedOn: 1700000000000, haState: 'ACTIVE', hadoopVersion: '3.3.6' });
    const x = parseClusterInfo(xml('<clusterInfo><id>1700000000001</id><startedOn>1700000000002</startedOn><haState>STANDBY</haState><hadoopVersion>3.10</hadoopVersion><haZooKeeperConnectionState/></clusterInfo>'), URL_);
    // a version string must not become a number (3.10 → 3.1)
    expect(x).toEqual({ id: 1700000000001, startedOn: 1700000000002, haState: 'STANDBY', hadoopVersion: '3.10', haZooKeeperConnectionState: '' });
    expect(() => parseClusterInfo(json({ nodes: null }), URL_)).toThrow(/clusterInfo/);
  });

  it('cluster metrics', () => {
    expect(parseClusterMetrics(json({ clusterMetrics: { totalMB: 8192, activeNodes: '2', lostNodes: 0 } }), URL_)).toEqual({ totalMB: 8192, activeNodes: 2, lostNodes: 0 });
  });

  it('resize response', () => {
    expect(parseResourceInfo(json({ resourceInfo: { memory: 12288, vCores: 10, resourceInformations: {} } }), URL_)).toEqual({ memoryMiB: 12288, vcores: 10 });
    expect(parseResourceInfo(xml('<resourceInfo><memory>1</memory><vCores>2</vCores></resourceInfo>'), URL_)).toEqual({ memoryMiB: 1, vcores: 2 });
    expect(() => parseResourceInfo(json({ resourceInfo: { memory: 1 } }), URL_)).toThrow(YarnDocumentError);
  });

  it('RemoteException JSON and XML (reference §1.4)', () => {
    expect(remoteExceptionOf(json({ RemoteException: { exception: 'NotFoundException', message: 'java.lang.Exception: nodeId, node_invalid:99, is not found', javaClassName: 'org.apache.hadoop.yarn.webapp.NotFoundException' } }))).toEqual({
      exception: 'NotFoundException', message: 'java.lang.Exception: nodeId, node_invalid:99, is not found', javaClassName: 'org.apache.hadoop.yarn.webapp.NotFoundException',
    });
    expect(remoteExceptionOf(xml('<RemoteException><exception>IllegalArgumentException</exception><message>Invalid NodeId [node_invalid_foo]. Expected host:port</message><javaClassName>java.lang.IllegalArgumentException</javaClassName></RemoteException>'))?.exception).toBe('IllegalArgumentException');
    expect(remoteExceptionOf(json({ nodes: null }))).toBeUndefined();
  });
});

const CONTAINER = {
  id: 'container_e17_1700000000000_0042_01_000003', state: 'RUNNING', exitCode: -1000, diagnostics: '', user: 'etl',
  totalMemoryNeededMB: 4096, totalVCoresNeeded: 2, executionType: 'GUARANTEED',
  containerLogsLink: 'http://worker-1.example:8042/node/containerlogs/container_e17_1700000000000_0042_01_000003/etl',
  nodeId: 'worker-1.example:45454', containerLogFiles: ['stderr', 'stdout', 'syslog'],
};

describe('NM documents', () => {
  it('containers: reference example, derived appId and isAM', () => {
    const { items } = parseNmContainers(json({ containers: { container: [CONTAINER, { ...CONTAINER, id: 'container_1700000000000_0042_01_000001', executionType: 'opportunistic' }] } }), URL_);
    expect(items[0]).toMatchObject({ id: CONTAINER.id, appId: 'application_1700000000000_0042', isAM: false, exitCode: -1000, totalMemoryNeededMB: 4096, containerLogFiles: ['stderr', 'stdout', 'syslog'] });
    expect(items[1]).toMatchObject({ isAM: true, executionType: 'OPPORTUNISTIC' });
  });

  it.each([
    ['null', { containers: null }], ['{}', { containers: {} }], ['absent', {}],
  ])('containers empty: %s', (_n, doc) => {
    expect(parseNmContainers(json(doc), URL_).items).toEqual([]);
  });

  it('containers: single object, XML one/many/empty, numeric strings', () => {
    expect(parseNmContainers(json({ containers: { container: { ...CONTAINER, exitCode: '-1000' } } }), URL_).items[0]?.exitCode).toBe(-1000);
    const one = parseNmContainers(xml(`<containers><container><id>${CONTAINER.id}</id><state>RUNNING</state><exitCode>-1000</exitCode><diagnostics/><totalMemoryNeededMB>4096</totalMemoryNeededMB><containerLogFiles>stderr</containerLogFiles></container></containers>`), URL_);
    expect(one.items[0]).toMatchObject({ id: CONTAINER.id, exitCode: -1000, diagnostics: '', totalMemoryNeededMB: 4096, containerLogFiles: ['stderr'] });
    const many = parseNmContainers(xml(`<containers><container><id>${CONTAINER.id}</id></container><container><id>container_1_0001_01_000002</id></container></containers>`), URL_);
    expect(many.items.map((c) => c.appId)).toEqual(['application_1700000000000_0042', 'application_1_0001']);
    expect(parseNmContainers(xml('<containers/>'), URL_).items).toEqual([]);
  });

  it('malformed container ids are rejected individually (they would name cgroup paths)', () => {
    const { items, rejected } = parseNmContainers(json({ containers: { container: [CONTAINER, { id: '../../etc' }, { state: 'RUNNING' }] } }), URL_);
    expect(items).toHaveLength(1);
    expect(rejected.map((r) => r.index)).toEqual([1, 2]);
    expect(rejected[0]!.reason).toMatch(/malformed container id/);
    expect(() => parseNmContainer(json({ container: { id: 'container_x' } }), URL_)).toThrow(YarnDocumentError);
  });

  it('node info with nmStartupTime; booleans from XML', () => {
    expect(parseNmNodeInfo(json({ nodeInfo: { id: 'h:45454', nmStartupTime: 1700000000000, nodeHealthy: true } }), URL_)).toEqual({ id: 'h:45454', nmStartupTime: 1700000000000, nodeHealthy: true });
    expect(parseNmNodeInfo(xml('<nodeInfo><nmStartupTime>5</nmStartupTime><nodeHealthy>false</nodeHealthy><pmemCheckEnabled>true</pmemCheckEnabled></nodeInfo>'), URL_)).toEqual({ nmStartupTime: 5, nodeHealthy: false, pmemCheckEnabled: true });
  });

  it('live container states', () => {
    const live = CONTAINER_STATES.filter((s) => isLiveContainerState(s));
    expect(live).toEqual([...LIVE_CONTAINER_STATES].sort((a, b) => CONTAINER_STATES.indexOf(a) - CONTAINER_STATES.indexOf(b)));
    for (const s of ['NEW', 'LOCALIZING', 'SCHEDULED', 'DONE', 'EXITED_WITH_SUCCESS', 'EXITED_WITH_FAILURE', 'KILLING', 'CONTAINER_CLEANEDUP_AFTER_KILL', 'CONTAINER_RESOURCES_CLEANINGUP', 'LOCALIZATION_FAILED']) {
      expect(isLiveContainerState(s), s).toBe(false);
    }
    const list = parseNmContainers(json({ containers: { container: [CONTAINER, { ...CONTAINER, id: 'container_1_0001_01_000002', state: 'DONE' }, { ...CONTAINER, id: 'container_1_0001_01_000003', state: 'paused' }] } }), URL_).items;
    expect(liveContainersOf(list).map((c) => c.state)).toEqual(['RUNNING', 'PAUSED']);
  });
});

describe('dedupe by host', () => {
  it('prefers the active entry of a restarted NM and reports the superseded one', () => {
    const { items } = parseRmNodes(json({ nodes: { node: [
      { id: 'w1:40001', nodeHostName: 'w1', state: 'LOST', lastHealthUpdate: 200 },
      { id: 'w1:40002', nodeHostName: 'w1', state: 'RUNNING', lastHealthUpdate: 100 },
      { id: 'w2:1', nodeHostName: 'w2', state: 'UNHEALTHY', lastHealthUpdate: 1 },
      { id: 'w2:2', nodeHostName: 'w2', state: 'UNHEALTHY', lastHealthUpdate: 5 },
    ] } }), URL_);
    const { nodes, superseded } = dedupeNodesByHost(items);
    expect(nodes.map((n) => n.id).sort()).toEqual(['w1:40002', 'w2:2']);
    expect(superseded.map((n) => n.id).sort()).toEqual(['w1:40001', 'w2:1']);
  });
});

describe('RM node list: the plain-entry fast path', () => {
  // Mostly the field's own JSON type (the fast path), sometimes anything a serializer (or a liar) might send.
  const odd = fc.constantFrom(null, '', ' 12 ', '1e3', 'x', true, false, [], {}, ['a'], [1], { memory: 1 }, 7, 2.5, 'RUNNING');
  const anyValue = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 6 }), odd);
  const typed = <T,>(own: fc.Arbitrary<T>) => fc.oneof({ weight: 15, arbitrary: own }, { weight: 1, arbitrary: anyValue });
  const str = typed(fc.string({ maxLength: 6 }));
  const num = typed(fc.oneof(fc.integer({ min: -5, max: 1 << 20 }), fc.double({ noNaN: true, noDefaultInfinity: true })));
  const resource = typed(fc.record({ memory: num, vCores: num, resourceInformations: fc.constant({ resourceInformation: [] }) }, { requiredKeys: [] }));
  const utilization = typed(fc.dictionary(fc.constantFrom('nodePhysicalMemoryMB', 'nodeCPUUsage', 'containersCPUUsage', 'other'), num));
  const entry = fc.record({
    id: typed(fc.constantFrom('w1:45454', ' w2:1 ', '', '  ', 'w3:8041')),
    state: typed(fc.constantFrom('RUNNING', 'running', 'LOST', 'Unhealthy')),
    rack: str, nodeHostName: str, nodeHTTPAddress: str, lastHealthUpdate: num, version: str, healthReport: str,
    numContainers: num, usedMemoryMB: num, availMemoryMB: num, usedVirtualCores: num, availableVirtualCores: num,
    numRunningOpportContainers: num, usedMemoryOpportGB: num, usedVirtualCoresOpport: num, numQueuedContainers: num,
    nodeLabels: typed(fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 })),
    resourceUtilization: utilization, totalResource: resource, usedResource: resource, availableResource: resource,
    unknownField: anyValue,
  }, { requiredKeys: [] });

  it('builds exactly what the schema builds (same fields, same values, same rejections) on any entry', () => {
    fc.assert(fc.property(fc.array(fc.oneof({ weight: 9, arbitrary: entry }, { weight: 1, arbitrary: anyValue }), { maxLength: 6 }), (nodes) => {
      const doc = JSON.parse(JSON.stringify({ nodes: { node: nodes } })) as unknown;
      const fast = parseRmNodes(doc, URL_);
      const schema = parseRmNodes(doc, URL_, { schemaOnly: true });
      expect(fast).toStrictEqual(schema);
      // GET /nodes/{id} (the read-back after a resize) takes the same path.
      for (const e of nodes) {
        const one = parseRmNodes({ nodes: { node: [e] } }, URL_, { schemaOnly: true }).items[0];
        if (one && e !== null && typeof e === 'object' && !Array.isArray(e)) expect(parseRmNode({ node: e }, URL_)).toStrictEqual(one);
        else if (!one) expect(() => parseRmNode({ node: e }, URL_)).toThrow(YarnDocumentError);
      }
    }), { numRuns: 1000 });
  });
});
