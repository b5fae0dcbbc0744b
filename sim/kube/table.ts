/**
 * `meta.k8s.io/v1` Table rendering for `kubectl get` (which asks `Accept: …;as=Table`), with the
 * columns the real server prints for nodes and pods and Name/Age for the rest. Pure given `now`.
 */
import { type KubeObject, isPlainObject } from './object.js';
import type { ResourceDef } from './resources.js';

interface Column { name: string; type: string; format: string; description: string; priority: number }

const col = (name: string, type = 'string', format = '', priority = 0): Column =>
  ({ name, type, format, description: name, priority });

/** duration.HumanDuration, as `AGE` columns print it. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) { const s = seconds % 60; return s === 0 ? `${minutes}m` : `${minutes}m${s}s`; }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) { const m = minutes % 60; return m === 0 ? `${hours}h` : `${hours}h${m}m`; }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) { const h = hours % 24; const d = Math.floor(hours / 24); return h === 0 ? `${d}d` : `${d}d${h}h`; }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  if (years < 8) { const d = Math.floor(hours / 24) % 365; return d === 0 ? `${years}y` : `${years}y${d}d`; }
  return `${years}y`;
}

function age(o: KubeObject, now: number): string {
  const ts = o.metadata.creationTimestamp;
  return ts ? humanDuration(now - Date.parse(ts)) : '<unknown>';
}

const obj = (v: unknown): Record<string, unknown> => (isPlainObject(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function nodeRow(o: KubeObject, now: number): unknown[] {
  const status = obj(o.status);
  const ready = arr(status.conditions).map(obj).find((c) => c.type === 'Ready');
  let state = ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown';
  if (obj(o.spec).unschedulable === true) state += ',SchedulingDisabled';
  const roles = Object.keys(o.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter((r) => r !== '');
  const info = obj(status.nodeInfo);
  const addr = (type: string): string => String(arr(status.addresses).map(obj).find((a) => a.type === type)?.address ?? '<none>');
  return [
    o.metadata.name, state, roles.length ? roles.sort().join(',') : '<none>', age(o, now), String(info.kubeletVersion ?? ''),
    addr('InternalIP'), addr('ExternalIP'), String(info.osImage ?? '<unknown>'), String(info.kernelVersion ?? '<unknown>'),
    String(info.containerRuntimeVersion ?? '<unknown>'),
  ];
}

function podRow(o: KubeObject, now: number): unknown[] {
  const spec = obj(o.spec);
  const status = obj(o.status);
  const statuses = arr(status.containerStatuses).map(obj);
  const ready = statuses.filter((c) => c.ready === true).length;
  const restarts = statuses.reduce((n, c) => n + (typeof c.restartCount === 'number' ? c.restartCount : 0), 0);
  let reason = String(status.reason ?? status.phase ?? 'Unknown');
  for (const c of statuses) {
    const waiting = obj(obj(c.state).waiting);
    if (typeof waiting.reason === 'string' && waiting.reason !== '') reason = waiting.reason;
  }
  if (o.metadata.deletionTimestamp) reason = 'Terminating';
  return [
    o.metadata.name, `${ready}/${arr(spec.containers).length}`, reason, restarts, age(o, now),
    String(status.podIP ?? '<none>'), String(spec.nodeName || '<none>'), String(status.nominatedNodeName || '<none>'), '<none>',
  ];
}

function leaseRow(o: KubeObject, now: number): unknown[] {
  return [o.metadata.name, String(obj(o.spec).holderIdentity ?? ''), age(o, now)];
}

function eventRow(o: KubeObject, now: number): unknown[] {
  const io = obj(o.involvedObject);
  const last = (o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp) as string | undefined;
  return [
    last ? humanDuration(now - Date.parse(last)) : '<unknown>', String(o.type ?? ''), String(o.reason ?? ''),
    `${String(io.kind ?? '').toLowerCase()}/${String(io.name ?? '')}`, String(o.message ?? ''),
  ];
}

interface Layout { columns: Column[]; row: (o: KubeObject, now: number) => unknown[] }

const LAYOUTS: Record<string, Layout> = {
  nodes: {
    columns: [
      col('Name', 'string', 'name'), col('Status'), col('Roles'), col('Age'), col('Version'),
      col('Internal-IP', 'string', '', 1), col('External-IP', 'string', '', 1), col('OS-Image', 'string', '', 1),
      col('Kernel-Version', 'string', '', 1), col('Container-Runtime', 'string', '', 1),
    ],
    row: nodeRow,
  },
  pods: {
    columns: [
      col('Name', 'string', 'name'), col('Ready'), col('Status'), col('Restarts', 'string'), col('Age'),
      col('IP', 'string', '', 1), col('Node', 'string', '', 1), col('Nominated Node', 'string', '', 1), col('Readiness Gates', 'string', '', 1),
    ],
    row: podRow,
  },
  leases: { columns: [col('Name', 'string', 'name'), col('Holder'), col('Age')], row: leaseRow },
  events: { columns: [col('Last Seen'), col('Type'), col('Reason'), col('Object'), col('Message')], row: eventRow },
};

const DEFAULT_LAYOUT: Layout = {
  columns: [col('Name', 'string', 'name'), col('Age')],
  row: (o, now) => [o.metadata.name, age(o, now)],
};

export interface TableOptions {
  now: number;
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
  /** `includeObject` query: None | Metadata (default) | Object. */
  includeObject?: string;
}

export function toTable(def: ResourceDef, items: readonly KubeObject[], opts: TableOptions): Record<string, unknown> {
  const layout = LAYOUTS[def.name] ?? DEFAULT_LAYOUT;
  const metadata: Record<string, unknown> = {};
  if (opts.resourceVersion) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continue) metadata.continue = opts.continue;
  if (opts.remainingItemCount !== undefined) metadata.remainingItemCount = opts.remainingItemCount;
  const include = opts.includeObject ?? 'Metadata';
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: layout.columns,
    rows: items.map((o) => {
      const row: Record<string, unknown> = { cells: layout.row(o, opts.now) };
      if (include === 'Object') row.object = o;
      else if (include !== 'None') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
      return row;
    }),
  };
}
