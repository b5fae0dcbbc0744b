/** YARN identifiers (reference/yarn-rest.md §6). */

/** The only container id shape Loom lets near a filesystem path. */
export const CONTAINER_ID = /^container_(e\d+_)?\d+_\d+_\d+_\d+$/;
const CONTAINER_PARTS = /^container_(?:e(\d+)_)?(\d+)_(\d+)_(\d+)_(\d+)$/;

export interface ContainerIdParts {
  epoch: number;
  clusterTimestamp: string;
  appSeq: string;
  attempt: string;
  containerSeq: string;
}

export function isContainerId(id: unknown): id is string {
  return typeof id === 'string' && CONTAINER_ID.test(id);
}

export function parseContainerId(id: string): ContainerIdParts | undefined {
  const m = CONTAINER_PARTS.exec(id);
  if (!m) return undefined;
  return { epoch: m[1] ? Number(m[1]) : 0, clusterTimestamp: m[2]!, appSeq: m[3]!, attempt: m[4]!, containerSeq: m[5]! };
}

/** `application_<ts>_<seq>` with the zero padding as printed in the container id. */
export function appIdOf(containerId: string): string | undefined {
  const p = parseContainerId(containerId);
  return p ? `application_${p.clusterTimestamp}_${p.appSeq}` : undefined;
}

/** The AM is always container 1 of its attempt. */
export function isApplicationMaster(containerId: string): boolean {
  const p = parseContainerId(containerId);
  return p !== undefined && Number(p.containerSeq) === 1;
}

/**
 * Container ids sort by (epoch, cluster timestamp, app seq, attempt, container seq): later means
 * newer. Returns a comparable tuple; undefined for an invalid id.
 */
export function containerAge(containerId: string): bigint[] | undefined {
  const p = parseContainerId(containerId);
  if (!p) return undefined;
  return [BigInt(p.epoch), BigInt(p.clusterTimestamp), BigInt(p.appSeq), BigInt(p.attempt), BigInt(p.containerSeq)];
}

/** Orders container ids oldest first (negative when `a` is older than `b`); invalid ids sort first. */
export function compareContainerAge(a: string, b: string): number {
  const x = containerAge(a);
  const y = containerAge(b);
  if (!x || !y) return x ? 1 : y ? -1 : 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i]! !== y[i]!) return x[i]! < y[i]! ? -1 : 1;
  }
  return 0;
}

export interface NodeId {
  host: string;
  port: number;
}

/**
 * Hosts Loom accepts: RFC 3986 unreserved characters (letters, digits, `.`, `_`, `~`, `-`), which
 * need no escaping in a URL path segment, an annotation or a log line. `NodeId.fromString` itself
 * takes any text before the single `:`; this guard only drops what no hostname contains ('/',
 * '%', '?', '#', whitespace, control characters…).
 */
const NODE_HOST = /^[A-Za-z0-9._~-]+$/;

/**
 * `host:port` as Hadoop's `NodeId.fromString` reads it — split on ':' into exactly two parts,
 * the host trimmed, the port a plain int (no spaces) — within our host guard and the TCP port
 * range. `[v6]:port` is accepted as well.
 */
export function parseNodeId(raw: string): NodeId | undefined {
  const s = raw.trim();
  let host: string;
  let portStr: string;
  const v6 = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(s);
  if (v6) {
    host = v6[1]!;
    portStr = v6[2]!;
  } else {
    const parts = s.split(':');
    if (parts.length !== 2) return undefined;
    host = parts[0]!.trim();
    portStr = parts[1]!;
    if (!NODE_HOST.test(host)) return undefined;
  }
  if (!/^\+?\d{1,5}$/.test(portStr)) return undefined;
  const port = Number(portStr);
  if (port < 1 || port > 65535) return undefined;
  return { host, port };
}

export function formatNodeId(id: NodeId): string {
  return id.host.includes(':') ? `[${id.host}]:${id.port}` : `${id.host}:${id.port}`;
}
