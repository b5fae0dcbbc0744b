/** `loom status`: the per-node ledger from a live cluster (one node list, one pod list, one RM poll per cluster). */
import { systemClock } from '../clock/clock.js';
import { createLogger } from '../log/logger.js';
import { SettingsError, type SettingsValues } from '../settings/settings.js';
import { describeError } from '../input/input-error.js';
import { connect } from '../kube/connection.js';
import { ForbiddenReporter } from '../kube/forbidden.js';
import { KubeApi, paths, type KubeList, type KubeObject } from '../kube/api.js';
import { connectResourceManagers, type RmAccess } from './resource-managers.js';
import { toKerberosSettings } from '../yarn/kerberos/settings.js';
import { projectNode, projectPod, type PodRecord } from './observe.js';
import { nodeIdKey, snapshotOf, type ClusterView } from './snapshot.js';
import { decideNode, type LedgerConfig } from './ledger/index.js';

export interface StatusRow {
  node: string;
  /** CPU milli-cores / memory bytes; YARN figures converted. */
  origin?: { cpu: number; memory: number };
  k8sRequested?: { cpu: number; memory: number };
  yarnCapacity?: { vcores: number; memoryMiB: number };
  yarnUsed?: { vcores: number; memoryMiB: number };
  claim?: { cpu: number; memory: number };
  lastSync?: string;
  /** RM total minus the capacity the ledger wants now (0 = in sync). */
  drift?: { vcores: number; memoryMiB: number };
  note?: string;
}

/** Pure: rows from observed objects and RM views. */
export function statusRows(
  nodes: KubeObject[], pods: KubeObject[], views: ReadonlyMap<string, ClusterView>, ledger: LedgerConfig,
  lastEvents: ReadonlyMap<string, string>, now: number,
): StatusRow[] {
  const podsByNode = new Map<string, PodRecord[]>();
  for (const p of pods) {
    const rec = projectPod(p);
    if (!rec) continue;
    const list = podsByNode.get(rec.nodeName) ?? [];
    list.push(rec);
    podsByNode.set(rec.nodeName, list);
  }
  const rows: StatusRow[] = [];
  for (const obj of nodes) {
    const node = projectNode(obj)!;
    const snap = snapshotOf(node, podsByNode.get(node.name) ?? [], views, {});
    const row: StatusRow = { node: node.name, ...(lastEvents.get(node.name) ? { lastSync: lastEvents.get(node.name)! } : {}) };
    if (!snap.ok) {
      rows.push({ ...row, note: snap.reason });
      continue;
    }
    const s = snap.snapshot;
    if (s.origin.state === 'ok') row.origin = s.origin.value;
    row.k8sRequested = s.k8sRequested;
    if (s.current.claim) row.claim = s.current.claim;
    if (s.rm.status === 'ok') {
      row.yarnCapacity = s.rm.node.total;
      row.yarnUsed = s.rm.node.used;
    }
    // The ledger decides from a blank memory here: "what would the operator want right now".
    const d = decideNode({ ...s, current: { ...s.current } }, { ...ledger, hysteresis: { cpuMilli: 0, memoryBytes: 0, percent: 0 }, growIntervalMs: 0 }, now);
    if (d.figures && s.rm.status === 'ok') {
      row.drift = { vcores: s.rm.node.total.vcores - d.figures.desired.vcores, memoryMiB: s.rm.node.total.memoryMiB - d.figures.desired.memoryMiB };
    }
    const why = d.report ?? d.skip;
    if (why) row.note = why.detail ?? why.code;
    rows.push(row);
  }
  return rows.sort((a, b) => a.node.localeCompare(b.node));
}

const cores = (m?: number) => (m === undefined ? '-' : (m / 1000).toFixed(1));
const gib = (b?: number) => (b === undefined ? '-' : (b / 2 ** 30).toFixed(1));

export function formatStatusTable(rows: StatusRow[]): string {
  const header = ['NODE', 'ORIGIN cpu/GiB', 'K8S-REQ cpu/GiB', 'YARN-CAP vc/GiB', 'YARN-USED vc/GiB', 'CLAIM cpu/GiB', 'LAST SYNC', 'DRIFT vc/MiB', 'NOTE'];
  const lines = rows.map((r) => [
    r.node,
    `${cores(r.origin?.cpu)}/${gib(r.origin?.memory)}`,
    `${cores(r.k8sRequested?.cpu)}/${gib(r.k8sRequested?.memory)}`,
    r.yarnCapacity ? `${r.yarnCapacity.vcores}/${(r.yarnCapacity.memoryMiB / 1024).toFixed(1)}` : '-',
    r.yarnUsed ? `${r.yarnUsed.vcores}/${(r.yarnUsed.memoryMiB / 1024).toFixed(1)}` : '-',
    `${cores(r.claim?.cpu)}/${gib(r.claim?.memory)}`,
    r.lastSync ?? '-',
    r.drift ? `${r.drift.vcores}/${r.drift.memoryMiB}` : '-',
    r.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [header, ...lines].map((l) => l.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

/** The ledger `loom status` recomputes: the operator's policy, no hysteresis or grow interval ("what it wants now"). */
export function statusLedgerConfig(values: SettingsValues): LedgerConfig {
  return {
    policy: values.policy as LedgerConfig['policy'],
    headroomShare: values.headroomShare as number,
    safetyMarginPercent: values.safetyMarginPercent as number,
    vcoresPerCore: values.vcoresPerCore as number,
    hysteresis: { cpuMilli: 0, memoryBytes: 0, percent: 0 },
    growIntervalMs: 0,
    overCommitTimeoutMs: -1,
  };
}

/**
 * Prints the table (or JSON) and exits 0 when every configured ResourceManager answered, 1 when
 * one did not (the table still shows what could be read; stderr names each cluster that was down),
 * and 1 with one line naming the API server when Kubernetes cannot be reached.
 */
export async function runStatusCommand(values: SettingsValues): Promise<number> {
  const hadoopConfDir = (values.hadoopConfDir as string | undefined) ?? (process.env.HADOOP_CONF_DIR || undefined);
  if (!hadoopConfDir) throw new SettingsError('--hadoop-conf-dir', 'not set: pass --hadoop-conf-dir or set HADOOP_CONF_DIR');
  // Logs go to stderr: stdout is the table (or JSON) and must stay parseable.
  const log = createLogger('status', {}, process.stderr as never);
  const kerberos = toKerberosSettings(values);
  const access: RmAccess = {
    hadoopConfDir, rmTimeoutMs: values.rmTimeoutMs as number,
    ...(values.rmUser ? { rmUser: values.rmUser as string } : {}), ...(values.rmCaFile ? { rmCaFile: values.rmCaFile as string } : {}),
    ...(values.rmDelegationTokenFile ? { rmDelegationTokenFile: values.rmDelegationTokenFile as string } : {}),
    ...(kerberos ? { kerberos } : {}),
  };
  // The operator's own RM clients (same Kerberos login, delegation token, CA and user), built
  // first: a broken Hadoop configuration or credential is named before Kubernetes is asked.
  const rms = await connectResourceManagers(access, { logger: log });
  let conn: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    conn = await connect(values.kubeconfig as string | undefined);
    const forbidden = new ForbiddenReporter({ logger: log });
    const api = new KubeApi(conn, undefined, (err) => forbidden.note(err));
    const eventNamespace = values.eventNamespace as string;
    const [nodes, pods, events] = await Promise.all([
      api.request<KubeList<KubeObject>>('GET', paths.nodes()),
      api.request<KubeList<KubeObject>>('GET', paths.pods()),
      api.request<KubeList<KubeObject>>('GET', paths.events(eventNamespace)).catch(() => ({ metadata: {}, items: [] as KubeObject[] })),
    ]);
    const views = new Map<string, ClusterView>();
    const down: string[] = [];
    for (const [clusterId, client] of rms.clients) {
      try {
        const list = await client.listNodes();
        views.set(clusterId, { status: 'ok', nodes: new Map(list.nodes.map((n) => [nodeIdKey(n.id), n])), at: systemClock.now() });
      } catch (err) {
        const detail = describeError(err);
        views.set(clusterId, { status: 'unavailable', detail, at: systemClock.now() });
        const own = `cluster ${clusterId}: `;
        down.push(`YARN cluster ${clusterId}: ResourceManager unavailable: ${detail.startsWith(own) ? detail.slice(own.length) : detail}`);
      }
    }
    const lastEvents = new Map<string, string>();
    for (const e of events.items) {
      const involved = (e as { involvedObject?: { kind?: string; name?: string } }).involvedObject;
      const when = (e as { lastTimestamp?: string }).lastTimestamp;
      const source = (e as { reportingComponent?: string }).reportingComponent;
      if (involved?.kind !== 'Node' || !involved.name || !when || source !== 'loom-operator') continue;
      if ((lastEvents.get(involved.name) ?? '') < when) lastEvents.set(involved.name, when);
    }
    const rows = statusRows(nodes.items, pods.items, views, statusLedgerConfig(values), lastEvents, systemClock.now());
    const output = (values.output as string | undefined) ?? 'table';
    process.stdout.write(output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : formatStatusTable(rows));
    for (const line of down) process.stderr.write(`loom status: ${line}\n`);
    return down.length === 0 ? 0 : 1;
  } finally {
    await rms.close();
    await conn?.close();
  }
}
