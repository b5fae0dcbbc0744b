import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CLUSTER_ID } from '../../kube/wire.js';
import { YarnConfigError } from '../../yarn/errors.js';
import {
  clusterIdOfFile, discoverYarnClusters, expandHadoopVariables, parseHadoopConfiguration, yarnClusterFromXml,
} from '../../yarn/site.js';

const site = (props: Record<string, string>) =>
  `<?xml version="1.0"?>\n<?xml-stylesheet type="text/xsl" href="configuration.xsl"?>\n<configuration>\n${Object.entries(props)
    .map(([k, v]) => `  <property>\n    <name>${k}</name>\n    <value>${v}</value>\n    <description>x</description>\n  </property>`)
    .join('\n')}\n</configuration>\n`;

const F = '/etc/hadoop/yarn-site.xml';

describe('Hadoop configuration parsing', () => {
  it('reads name/value pairs; later wins unless final', () => {
    const xml = `<configuration>
      <property><name> a </name><value> 1 </value></property>
      <property><name>a</name><value>2</value></property>
      <property><name>f</name><value>first</value><final>true</final></property>
      <property><name>f</name><value>second</value></property>
      <property><name>novalue</name></property>
      <property><name>empty</name><value/></property>
      <property name="attr" value="v"/>
    </configuration>`;
    const conf = parseHadoopConfiguration(xml, F);
    expect(Object.fromEntries(conf)).toEqual({ a: '2', f: 'first', empty: '', attr: 'v' });
    expect(parseHadoopConfiguration('<configuration/>', F).size).toBe(0);
    expect(parseHadoopConfiguration('<configuration><property><name>x</name><value>y</value></property></configuration>', F).get('x')).toBe('y');
  });

  it('malformed files name the file (and the key)', () => {
    expect(() => parseHadoopConfiguration('', F)).toThrow(/yarn-site.xml: empty file/);
    expect(() => parseHadoopConfiguration('{"not":"xml"}', F)).toThrow(/yarn-site.xml: not XML/);
    expect(() => parseHadoopConfiguration('<configuration><property><name>a</name>', F)).toThrow(/not XML/);
    expect(() => parseHadoopConfiguration('<html><body/></html>', F)).toThrow(/root element must be <configuration>/);
    let err: unknown;
    try {
      parseHadoopConfiguration('<configuration><property><value>1</value></property></configuration>', F);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(YarnConfigError);
    expect((err as YarnConfigError).file).toBe(F);
    expect((err as YarnConfigError).key).toBe('property #1');
  });

  it('${var} expansion: other keys, env., nested, unresolved left alone, cycles rejected', () => {
    const raw = new Map([
      ['host', 'rm.example'], ['addr', '${host}:${port}'], ['port', '${base.port}'], ['base.port', '8088'],
      ['e', '${env.RM_HOST}'], ['e2', '${env.MISSING:-fallback}'], ['u', '${nope}'],
    ]);
    const out = expandHadoopVariables(raw, F, { RM_HOST: 'from-env' });
    expect(out.get('addr')).toBe('rm.example:8088');
    expect(out.get('e')).toBe('from-env');
    expect(out.get('e2')).toBe('fallback');
    expect(out.get('u')).toBe('${nope}');
    expect(() => expandHadoopVariables(new Map([['a', '${b}x'], ['b', '${a}y']]), F)).toThrow(/\[a\].*substitution depth/);
    expect(() => expandHadoopVariables(new Map([['self', '${self}']]), F)).toThrow(/\[self\]/);
  });
});

describe('RM endpoints from yarn-site.xml', () => {
  it('non-HA with webapp.address', () => {
    const c = yarnClusterFromXml(site({ 'yarn.resourcemanager.webapp.address': 'rm.example:18088' }), DEFAULT_CLUSTER_ID, F);
    expect(c).toEqual({ clusterId: DEFAULT_CLUSTER_ID, rmUrls: ['http://rm.example:18088'], httpsPolicy: 'HTTP_ONLY', haEnabled: false, sourceFile: F, warnings: [] });
  });

  it('non-HA with hostname only → :8088; nothing → 0.0.0.0 with a warning', () => {
    expect(yarnClusterFromXml(site({ 'yarn.resourcemanager.hostname': 'rm.example' }), 'c', F).rmUrls).toEqual(['http://rm.example:8088']);
    const none = yarnClusterFromXml(site({}), 'c', F);
    expect(none.rmUrls).toEqual(['http://0.0.0.0:8088']);
    expect(none.warnings.join()).toMatch(/wildcard/);
  });

  it('the default webapp address expands ${yarn.resourcemanager.hostname}', () => {
    const c = yarnClusterFromXml(site({ 'yarn.resourcemanager.hostname': 'rm.example', 'yarn.resourcemanager.webapp.address': '${yarn.resourcemanager.hostname}:9000' }), 'c', F);
    expect(c.rmUrls).toEqual(['http://rm.example:9000']);
  });

  it('HA with webapp.address.<id>', () => {
    const c = yarnClusterFromXml(site({
      'yarn.resourcemanager.ha.enabled': 'true', 'yarn.resourcemanager.ha.rm-ids': 'rm1, rm2',
      'yarn.resourcemanager.webapp.address.rm1': 'master1:8088', 'yarn.resourcemanager.webapp.address.rm2': 'master2:8088',
      'yarn.resourcemanager.webapp.address': 'ignored:1',
    }), 'c', F);
    expect(c.rmUrls).toEqual(['http://master1:8088', 'http://master2:8088']);
    expect(c.haEnabled).toBe(true);
  });

  it('HA with hostname.<id> only → default port; mixed', () => {
    const c = yarnClusterFromXml(site({
      'yarn.resourcemanager.ha.enabled': 'true', 'yarn.resourcemanager.ha.rm-ids': 'rm1,rm2,rm3',
      'yarn.resourcemanager.hostname.rm1': 'm1', 'yarn.resourcemanager.hostname.rm2': 'm2',
      'yarn.resourcemanager.webapp.address.rm3': '${yarn.resourcemanager.hostname.rm1}:18088',
    }), 'c', F);
    expect(c.rmUrls).toEqual(['http://m1:8088', 'http://m2:8088', 'http://m1:18088']);
  });

  it('HTTPS_ONLY uses webapp.https.address(.<id>) and 8090', () => {
    const ha = yarnClusterFromXml(site({
      'yarn.http.policy': 'HTTPS_ONLY', 'yarn.resourcemanager.ha.enabled': 'true', 'yarn.resourcemanager.ha.rm-ids': 'a,b',
      'yarn.resourcemanager.webapp.address.a': 'm1:8088', 'yarn.resourcemanager.webapp.https.address.a': 'm1:8443',
      'yarn.resourcemanager.hostname.b': 'm2',
    }), 'c', F);
    expect(ha).toMatchObject({ httpsPolicy: 'HTTPS_ONLY', rmUrls: ['https://m1:8443', 'https://m2:8090'] });
    expect(yarnClusterFromXml(site({ 'yarn.http.policy': 'HTTPS_ONLY', 'yarn.resourcemanager.hostname': 'rm' }), 'c', F).rmUrls).toEqual(['https://rm:8090']);
  });

  it('errors name the file and the key', () => {
    const ha = { 'yarn.resourcemanager.ha.enabled': 'true', 'yarn.resourcemanager.ha.rm-ids': 'rm1,rm2', 'yarn.resourcemanager.hostname.rm1': 'm1' };
    expect(() => yarnClusterFromXml(site(ha), 'c', F)).toThrow(`${F} [yarn.resourcemanager.webapp.address.rm2]: HA rm-id rm2 has no address`);
    expect(() => yarnClusterFromXml(site({ 'yarn.resourcemanager.ha.enabled': 'true' }), 'c', F)).toThrow(/\[yarn.resourcemanager.ha.rm-ids\]/);
    expect(() => yarnClusterFromXml(site({ 'yarn.http.policy': 'SOMETIMES' }), 'c', F)).toThrow(/\[yarn.http.policy\]/);
    expect(() => yarnClusterFromXml(site({ 'yarn.resourcemanager.ha.enabled': 'yes' }), 'c', F)).toThrow(/\[yarn.resourcemanager.ha.enabled\]/);
    expect(() => yarnClusterFromXml(site({ 'yarn.resourcemanager.webapp.address': '${undefined.key}:8088' }), 'c', F)).toThrow(/\[yarn.resourcemanager.webapp.address\]: unresolved variable/);
  });

  it('cluster id of a file name', () => {
    expect(clusterIdOfFile('yarn-site.xml')).toBe(DEFAULT_CLUSTER_ID);
    expect(clusterIdOfFile('prod-a.yarn-site.xml')).toBe('prod-a');
    expect(clusterIdOfFile('core-site.xml')).toBeUndefined();
    expect(clusterIdOfFile('.yarn-site.xml')).toBeUndefined();
  });
});

describe('discoverYarnClusters (HADOOP_CONF_DIR)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'loom-yarn-site-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('default cluster first, one more per <clusterId>.yarn-site.xml, other files ignored', async () => {
    await writeFile(join(dir, 'yarn-site.xml'), site({ 'yarn.resourcemanager.hostname': 'default-rm' }));
    await writeFile(join(dir, 'zeta.yarn-site.xml'), site({ 'yarn.resourcemanager.webapp.address': 'z:1' }));
    await writeFile(join(dir, 'alpha.yarn-site.xml'), site({
      'yarn.resourcemanager.ha.enabled': 'true', 'yarn.resourcemanager.ha.rm-ids': 'r1,r2',
      'yarn.resourcemanager.hostname.r1': 'a1', 'yarn.resourcemanager.hostname.r2': 'a2',
    }));
    await writeFile(join(dir, 'core-site.xml'), '<configuration/>');
    await mkdir(join(dir, '..data'));
    const clusters = discoverYarnClusters(dir, { env: {} });
    expect(clusters.map((c) => [c.clusterId, c.rmUrls, c.sourceFile])).toEqual([
      [DEFAULT_CLUSTER_ID, ['http://default-rm:8088'], join(dir, 'yarn-site.xml')],
      ['alpha', ['http://a1:8088', 'http://a2:8088'], join(dir, 'alpha.yarn-site.xml')],
      ['zeta', ['http://z:1'], join(dir, 'zeta.yarn-site.xml')],
    ]);
  });

  it('a broken file fails discovery naming it; an empty dir is an error', async () => {
    expect(() => discoverYarnClusters(dir)).toThrow(/no yarn-site.xml/);
    await writeFile(join(dir, 'yarn-site.xml'), site({ 'yarn.resourcemanager.hostname': 'ok' }));
    await writeFile(join(dir, 'bad.yarn-site.xml'), '<html>');
    expect(() => discoverYarnClusters(dir)).toThrow(`${join(dir, 'bad.yarn-site.xml')}: not XML`);
    expect(() => discoverYarnClusters(join(dir, 'missing'))).toThrow(/cannot read Hadoop conf dir/);
  });
});
