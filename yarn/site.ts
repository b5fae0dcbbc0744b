/**
 * RM discovery from `HADOOP_CONF_DIR` (reference §3; koordinator §2.8): `yarn-site.xml` is the
 * default cluster (`__default_yarn_cluster__`), every `<clusterId>.yarn-site.xml` another one (a
 * standalone file, not an overlay). Web app URLs follow Hadoop's own
 * `RMHAUtils.getRMHAWebappAddresses`. Parsing and resolution are pure; only
 * `discoverYarnClusters` touches the filesystem (synchronously: a few small files read once at
 * startup, before anything else can run).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { DEFAULT_CLUSTER_ID } from '../kube/wire.js';
import type { Logger } from '../log/logger.js';
import { YarnConfigError } from './errors.js';
import { describeXmlProblem } from './xml-problem.js';

export type HttpPolicy = 'HTTP_ONLY' | 'HTTPS_ONLY' | 'HTTP_AND_HTTPS';
const HTTP_POLICIES: readonly HttpPolicy[] = ['HTTP_ONLY', 'HTTPS_ONLY', 'HTTP_AND_HTTPS'];

export interface YarnClusterEndpoints {
  clusterId: string;
  /** RM web app base URLs, in rm-ids order (one when HA is off). */
  rmUrls: string[];
  httpsPolicy: HttpPolicy;
  haEnabled: boolean;
  sourceFile: string;
  /** Things that work but are probably wrong (e.g. a 0.0.0.0 RM address). */
  warnings: string[];
}

export const YARN_SITE = 'yarn-site.xml';
const CLUSTER_SITE_SUFFIX = `.${YARN_SITE}`;

const KEY = {
  haEnabled: 'yarn.resourcemanager.ha.enabled',
  rmIds: 'yarn.resourcemanager.ha.rm-ids',
  hostname: 'yarn.resourcemanager.hostname',
  webapp: 'yarn.resourcemanager.webapp.address',
  webappHttps: 'yarn.resourcemanager.webapp.https.address',
  httpPolicy: 'yarn.http.policy',
} as const;

const DEFAULT_HTTP_PORT = 8088;
const DEFAULT_HTTPS_PORT = 8090;
const DEFAULT_HOSTNAME = '0.0.0.0';
/** yarn-default.xml values a site file may reference with `${…}` without setting them. */
const YARN_DEFAULTS: ReadonlyMap<string, string> = new Map([
  [KEY.hostname, DEFAULT_HOSTNAME],
  [KEY.webapp, `\${${KEY.hostname}}:${DEFAULT_HTTP_PORT}`],
  [KEY.webappHttps, `\${${KEY.hostname}}:${DEFAULT_HTTPS_PORT}`],
  [KEY.httpPolicy, 'HTTP_ONLY'],
]);
/** Hadoop's `Configuration.MAX_SUBST`. */
const MAX_SUBSTITUTIONS = 20;

const confParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  isArray: (tagName, jPath) => tagName === 'property' && String(jPath) === 'configuration.property',
});

/** An element's text; `MARKUP` when it holds other elements where Hadoop expects text. */
const MARKUP = Symbol('markup');

function textOf(v: unknown): string | undefined | typeof MARKUP {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return MARKUP;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (Object.keys(o).some((k) => k !== '#text' && !k.startsWith('@_'))) return MARKUP;
    if ('#text' in o) return textOf(o['#text']);
    if (Object.keys(o).length === 0) return '';
  }
  return undefined;
}

/**
 * `<configuration><property><name/><value/></property>…</configuration>` → raw key/value map
 * (later properties override earlier ones, like Hadoop, unless an earlier one is `final`).
 * Names are trimmed; values keep inner text but lose surrounding whitespace.
 */
export function parseHadoopConfiguration(xml: string, file: string): Map<string, string> {
  if (xml.trim() === '') throw new YarnConfigError(file, undefined, 'empty file');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new YarnConfigError(file, undefined, `not XML: ${describeXmlProblem(valid.err)}`);
  let doc: Record<string, unknown>;
  try {
    // The validator passes a few things the parser still refuses (a processing instruction left open).
    doc = confParser.parse(xml) as Record<string, unknown>;
  } catch (err) {
    throw new YarnConfigError(file, undefined, `not XML: ${(err as Error).message}`);
  }
  if (!('configuration' in doc)) {
    throw new YarnConfigError(file, undefined, `root element must be <configuration>, got <${Object.keys(doc)[0] ?? 'nothing'}>`);
  }
  const root = doc.configuration;
  const rawProps = root && typeof root === 'object' ? (root as Record<string, unknown>).property : undefined;
  // Normally a list (isArray above); odd markup the parser still accepts can leave a single value.
  const props: unknown[] = rawProps === undefined ? [] : Array.isArray(rawProps) ? rawProps : [rawProps];
  const out = new Map<string, string>();
  const finals = new Set<string>();
  props.forEach((p, i) => {
    const prop = (p && typeof p === 'object' ? p : {}) as Record<string, unknown>;
    const text = (field: string, key: string): string | undefined => {
      const t = textOf(prop[field]) ?? textOf(prop[`@_${field}`]);
      if (t === MARKUP) throw new YarnConfigError(file, key, `<${field}> holds markup, not text`);
      return t;
    };
    const name = text('name', `property #${i + 1}`)?.trim();
    if (!name) throw new YarnConfigError(file, `property #${i + 1}`, 'property without <name>');
    const value = text('value', name);
    if (value === undefined) return; // Hadoop ignores a property without a value
    if (finals.has(name)) return;
    out.set(name, value.trim());
    if (text('final', name)?.trim() === 'true') finals.add(name);
  });
  return out;
}

/**
 * Hadoop's `${var}` expansion: `${env.NAME}` from the environment, else another key of the same
 * configuration, repeated up to 20 levels; an unresolvable reference is left as written.
 */
export function expandHadoopVariables(raw: ReadonlyMap<string, string>, file: string, env: NodeJS.ProcessEnv = {}): Map<string, string> {
  const pattern = /\$\{([^}$\s]+)\}/g;
  const expandOne = (key: string, value: string): string => {
    let current = value;
    for (let depth = 0; depth < MAX_SUBSTITUTIONS; depth++) {
      let changed = false;
      const next = current.replace(pattern, (whole, name: string) => {
        let sub: string | undefined;
        if (name.startsWith('env.')) {
          const envName = name.slice(4);
          const [bare, fallback] = envName.includes(':-') ? envName.split(':-', 2) as [string, string] : [envName, undefined];
          sub = env[bare] || fallback;
        } else {
          sub = raw.get(name) ?? YARN_DEFAULTS.get(name);
        }
        if (sub === undefined) return whole;
        changed = true;
        return sub;
      });
      if (!changed) return next;
      current = next;
    }
    if (/\$\{[^}$\s]+\}/.test(current)) {
      throw new YarnConfigError(file, key, `variable substitution depth too large (> ${MAX_SUBSTITUTIONS}) in ${JSON.stringify(value)}`);
    }
    return current;
  };
  const out = new Map<string, string>();
  for (const [k, v] of raw) out.set(k, expandOne(k, v));
  return out;
}

/** Value of `key` with Hadoop's defaults for the keys we resolve. */
function getConf(conf: ReadonlyMap<string, string>, key: string): string | undefined {
  const v = conf.get(key);
  return v === undefined || v === '' ? undefined : v;
}

function splitAddress(address: string): { host: string; port?: number } {
  let a = address.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(a);
  if (scheme) a = a.slice(scheme[0].length).replace(/\/.*$/, '');
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(a);
  if (v6) return v6[2] ? { host: `[${v6[1]}]`, port: Number(v6[2]) } : { host: `[${v6[1]}]` };
  const idx = a.lastIndexOf(':');
  if (idx > 0 && /^\d+$/.test(a.slice(idx + 1))) return { host: a.slice(0, idx), port: Number(a.slice(idx + 1)) };
  return { host: a };
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '[::]' || host === '::';
}

/** Pure: the RM endpoints of one cluster from its (expanded) configuration. */
export function resolveRmEndpoints(conf: ReadonlyMap<string, string>, clusterId: string, file: string): YarnClusterEndpoints {
  const warnings: string[] = [];
  const policyRaw = (getConf(conf, KEY.httpPolicy) ?? 'HTTP_ONLY').trim().toUpperCase();
  if (!(HTTP_POLICIES as readonly string[]).includes(policyRaw)) {
    throw new YarnConfigError(file, KEY.httpPolicy, `unknown policy ${JSON.stringify(policyRaw)} (expected ${HTTP_POLICIES.join(', ')})`);
  }
  const httpsPolicy = policyRaw as HttpPolicy;
  const https = httpsPolicy === 'HTTPS_ONLY';
  const scheme = https ? 'https' : 'http';
  const defaultPort = https ? DEFAULT_HTTPS_PORT : DEFAULT_HTTP_PORT;
  const webappKey = https ? KEY.webappHttps : KEY.webapp;

  const haRaw = (getConf(conf, KEY.haEnabled) ?? 'false').trim().toLowerCase();
  if (haRaw !== 'true' && haRaw !== 'false') throw new YarnConfigError(file, KEY.haEnabled, `expected true or false, got ${JSON.stringify(haRaw)}`);
  const haEnabled = haRaw === 'true';

  const urlFor = (address: string, key: string): string => {
    if (/\$\{/.test(address)) throw new YarnConfigError(file, key, `unresolved variable in ${JSON.stringify(address)}`);
    const { host, port } = splitAddress(address);
    if (!host) throw new YarnConfigError(file, key, `no host in ${JSON.stringify(address)}`);
    if (port !== undefined && (port < 1 || port > 65535)) throw new YarnConfigError(file, key, `bad port in ${JSON.stringify(address)}`);
    if (isWildcard(host)) warnings.push(`${key} resolves to ${address}: a wildcard address is not reachable from another host`);
    const url = `${scheme}://${host}:${port ?? defaultPort}`;
    // A host no URL can carry ("-1.0.1", "a b", "x/y") fails here, not on the first request.
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new YarnConfigError(file, key, `${JSON.stringify(address)} is not a usable host:port`);
    }
    if (parsed.pathname !== '/' || parsed.search || parsed.hash || parsed.username) {
      throw new YarnConfigError(file, key, `${JSON.stringify(address)} is not a usable host:port`);
    }
    return url;
  };

  let rmUrls: string[];
  if (haEnabled) {
    const ids = (getConf(conf, KEY.rmIds) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (ids.length === 0) throw new YarnConfigError(file, KEY.rmIds, `${KEY.haEnabled}=true but no rm-ids are listed`);
    rmUrls = ids.map((id) => {
      const addrKey = `${webappKey}.${id}`;
      const address = getConf(conf, addrKey);
      if (address) return urlFor(address, addrKey);
      const hostKey = `${KEY.hostname}.${id}`;
      const host = getConf(conf, hostKey);
      if (host) return urlFor(`${host.trim()}:${defaultPort}`, hostKey);
      throw new YarnConfigError(file, addrKey, `HA rm-id ${id} has no address: set ${addrKey} or ${hostKey}`);
    });
  } else {
    const address = getConf(conf, webappKey);
    if (address) {
      rmUrls = [urlFor(address, webappKey)];
    } else {
      const host = getConf(conf, KEY.hostname) ?? DEFAULT_HOSTNAME;
      rmUrls = [urlFor(`${host.trim()}:${defaultPort}`, KEY.hostname)];
    }
  }
  return { clusterId, rmUrls: [...new Set(rmUrls)], httpsPolicy, haEnabled, sourceFile: file, warnings };
}

/** Parse, expand and resolve one yarn-site file's contents. */
export function yarnClusterFromXml(xml: string, clusterId: string, file: string, env: NodeJS.ProcessEnv = {}): YarnClusterEndpoints {
  return resolveRmEndpoints(expandHadoopVariables(parseHadoopConfiguration(xml, file), file, env), clusterId, file);
}

/** Pure: cluster id of a file name in the conf dir, or undefined when it is not a yarn-site. */
export function clusterIdOfFile(name: string): string | undefined {
  if (name === YARN_SITE) return DEFAULT_CLUSTER_ID;
  if (name.endsWith(CLUSTER_SITE_SUFFIX) && name.length > CLUSTER_SITE_SUFFIX.length) {
    return name.slice(0, -CLUSTER_SITE_SUFFIX.length);
  }
  return undefined;
}

export interface DiscoverOptions {
  /** For `${env.X}`. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

/**
 * Every YARN cluster configured in `confDir` (top level only; hidden names such as Kubernetes'
 * `..data` are skipped). Default cluster first, then by id. No yarn-site at all is an error.
 */
export function discoverYarnClusters(confDir: string, options: DiscoverOptions = {}): YarnClusterEndpoints[] {
  let names: string[];
  try {
    names = readdirSync(confDir);
  } catch (err) {
    throw new YarnConfigError(confDir, undefined, `cannot read Hadoop conf dir: ${(err as Error).message}`);
  }
  const files = names
    .filter((n) => !n.startsWith('.'))
    .map((n) => ({ name: n, clusterId: clusterIdOfFile(n) }))
    .filter((f): f is { name: string; clusterId: string } => f.clusterId !== undefined)
    .sort((a, b) => (a.clusterId === DEFAULT_CLUSTER_ID ? -1 : b.clusterId === DEFAULT_CLUSTER_ID ? 1 : a.clusterId.localeCompare(b.clusterId)));
  if (files.length === 0) throw new YarnConfigError(confDir, undefined, `no ${YARN_SITE} or <clusterId>.${YARN_SITE} found`);
  const out: YarnClusterEndpoints[] = [];
  for (const f of files) {
    const path = join(confDir, f.name);
    let xml: string;
    try {
      xml = readFileSync(path, 'utf8');
    } catch (err) {
      throw new YarnConfigError(path, undefined, `cannot read: ${(err as Error).message}`);
    }
    const cluster = yarnClusterFromXml(xml, f.clusterId, path, options.env ?? process.env);
    for (const w of cluster.warnings) options.logger?.warn({ file: path, clusterId: f.clusterId }, w);
    out.push(cluster);
  }
  return out;
}
