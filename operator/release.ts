/**
 * `loom release`: hand every managed node back, before Loom is uninstalled or paused.
 *
 * For each node, a pure plan from one snapshot (the Node, its pods, the RM's report): shrink the
 * NodeManager to exactly what YARN uses, with overCommitTimeout −1 (no container is killed, none
 * is placed any more), then set Loom's claim to that use — so the RM never offers more than the
 * claim Kubernetes sees; with `removeClaims`, remove Loom's claim entry once YARN holds nothing
 * there (other entries stay byte for byte). Shrinking goes RM first, then the claim, as in the
 * operator. A node whose inputs cannot be trusted (unreadable claim, RM unavailable, unknown or
 * inactive RM node) is left exactly as it is and named.
 *
 * Leader-safe: unless `--dry-run`, it first takes the operator's leader Lease (waiting a little
 * for a stopping operator to hand it over) and holds it while it writes, so no operator writes at
 * the same time; a live holder makes it refuse, naming the holder. The Lease is handed back at the end.
 */
import { systemClock, type Timer } from '../clock/clock.js';
import { hostname } from 'node:os';
import type { Logger } from '../log/logger.js';
import { componentLogger } from '../log/logger.js';
import type { SettingsValues } from '../settings/settings.js';
import { connect } from '../kube/connection.js';
import { KubeApi, KubeApiError, paths, type KubeList, type KubeObject } from '../kube/api.js';
import { LeaderElector } from '../kube/lease.js';
import type { BatchResources } from '../kube/wire.js';
import { connectResourceManagers } from './resource-managers.js';
import type { YarnResource } from '../yarn/resource.js';
import { toOperatorSettings, type OperatorSettings } from './settings.js';
import { projectNode, projectPod, type PodRecord } from './observe.js';
import { claimOf, nodeIdKey, nodeManagerOf, rmObservationOf, type ClaimObservation, type ClusterView } from './snapshot.js';
import type { NodeManagerObservation, RmObservation } from './ledger/index.js';
import { isInactiveRmNodeState } from './ledger/decide.js';
import { yarnToBatch } from './ledger/units.js';
import { ClaimConflict, ClaimWriter } from './claim-writer.js';
import { readBackResize } from './resize-read-back.js';

export interface ReleaseSettings extends OperatorSettings {
  removeClaims: boolean;
  leaseWaitMs: number;
}

export function toReleaseSettings(v: SettingsValues, env: NodeJS.ProcessEnv = process.env): ReleaseSettings {
  return { ...toOperatorSettings(v, env), removeClaims: v.removeClaims === true, leaseWaitMs: Math.round(((v.leaseWaitSeconds as number | undefined) ?? 60) * 1000) };
}

/** Everything the plan needs about one node. */
export interface NodeReleaseInput {
  node: string;
  claim: ClaimObservation;
  nodeManager: NodeManagerObservation;
  rm: RmObservation;
}

export type ReleaseAction =
  | { kind: 'resize'; clusterId: string; nodeId: string; capacity: YarnResource; overCommitTimeoutMs: -1 }
  | { kind: 'set-claim'; claim: BatchResources }
  | { kind: 'clear-claim' };

export interface NodeReleasePlan {
  node: string;
  actions: ReleaseAction[];
  /** released: nothing of Loom's is left to undo; held: YARN still holds containers (claim kept); skipped: left as is. */
  outcome: 'released' | 'held' | 'skipped';
  reason: string;
}

const sameClaim = (a: BatchResources | undefined, b: BatchResources): boolean => a !== undefined && a.cpu === b.cpu && a.memory === b.memory;
const isEmpty = (r: YarnResource): boolean => r.vcores === 0 && r.memoryMiB === 0;
const show = (r: YarnResource): string => `${r.vcores} vcores / ${r.memoryMiB} MiB`;

/** Pure: what to do on one node. */
export function planRelease(input: NodeReleaseInput, opts: { removeClaims: boolean; vcoresPerCore: number }): NodeReleasePlan {
  const { node, claim, nodeManager, rm } = input;
  const skip = (reason: string): NodeReleasePlan => ({ node, actions: [], outcome: 'skipped', reason });
  // An annotation we cannot read may be another writer's: never overwrite what we cannot read.
  if (!claim.ok) return skip(claim.reason);
  const current = claim.claim;
  if (nodeManager.state === 'malformed') return skip(nodeManager.reason);
  if (nodeManager.state === 'absent') {
    // No NodeManager: YARN holds nothing here; Loom's claim has nothing left to cover.
    return current ? { node, actions: [{ kind: 'clear-claim' }], outcome: 'released', reason: 'no NodeManager on the node: claim removed' }
      : { node, actions: [], outcome: 'released', reason: 'no NodeManager and no claim' };
  }
  if (rm.status === 'rm-unavailable') return skip(`ResourceManager unavailable: ${rm.detail ?? 'no answer'}`);
  if (rm.status === 'rm-pending') return skip('ResourceManager not polled yet');
  if (rm.status === 'unknown-node') return skip(`the RM does not know NodeManager ${nodeManager.nodeId}`);
  const { state, total, used } = rm.node;
  // A LOST or REBOOTED NodeManager may come back with its own configured capacity: leave the claim covering it.
  if (isInactiveRmNodeState(state)) return skip(`RM node ${nodeManager.nodeId} is ${state}; release again once it is back or its NodeManager pod is gone`);
  if (!Number.isSafeInteger(used.vcores) || !Number.isSafeInteger(used.memoryMiB) || used.vcores < 0 || used.memoryMiB < 0) {
    return skip(`RM reports unusable use ${show(used)} for ${nodeManager.nodeId}`);
  }
  const actions: ReleaseAction[] = [];
  if (total.vcores !== used.vcores || total.memoryMiB !== used.memoryMiB) {
    actions.push({ kind: 'resize', clusterId: nodeManager.clusterId, nodeId: nodeManager.nodeId, capacity: { ...used }, overCommitTimeoutMs: -1 });
  }
  const held = yarnToBatch(used, opts.vcoresPerCore);
  if (opts.removeClaims && isEmpty(used)) {
    if (current) actions.push({ kind: 'clear-claim' });
    return { node, actions, outcome: 'released', reason: 'YARN holds nothing: NodeManager at 0, claim removed' };
  }
  if (!sameClaim(current, held)) actions.push({ kind: 'set-claim', claim: held });
  if (opts.removeClaims) return { node, actions, outcome: 'held', reason: `YARN still holds ${show(used)}: NodeManager shrunk to it, claim kept until it holds nothing` };
  return { node, actions, outcome: 'released', reason: `NodeManager shrunk to what YARN holds (${show(used)}), claim matching` };
}

export interface NodeReleaseResult extends NodeReleasePlan {
  /** The action that failed, with the error. */
  failed?: string;
}

export interface ReleaseReport {
  exitCode: number;
  /** One line for the command's stderr when the exit code is not 0. */
  error?: string;
  nodes: NodeReleaseResult[];
}

async function listAll(api: KubeApi, path: string): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  let cont: string | undefined;
  do {
    const page = await api.request<KubeList<KubeObject>>('GET', path, { query: { limit: 500, continue: cont } });
    out.push(...page.items);
    cont = page.metadata.continue || undefined;
  } while (cont);
  return out;
}

/** Take the operator's Lease, or say who holds it. */
async function takeLease(api: KubeApi, s: ReleaseSettings, identity: string, log: Logger): Promise<{ elector: LeaderElector; lost: () => boolean } | { holder: string }> {
  let leading = false;
  let lost = false;
  let started!: () => void;
  const ready = new Promise<void>((r) => { started = r; });
  const elector = new LeaderElector({
    api, namespace: s.leaseNamespace, name: s.leaseName, identity, leaseDurationSeconds: s.leaseDurationSeconds,
    logger: componentLogger(log, 'release.lease'),
    onStartedLeading: () => { leading = true; started(); },
    onStoppedLeading: () => { if (leading) lost = true; leading = false; },
  });
  elector.start();
  let waited: Timer | undefined;
  await Promise.race([ready, new Promise<void>((r) => { waited = systemClock.setTimer(s.leaseWaitMs, r); })]);
  waited?.cancel();
  if (leading) return { elector, lost: () => lost };
  await elector.stop(false);
  let holder = 'another candidate';
  try {
    const lease = await api.get<KubeObject & { spec?: { holderIdentity?: string; renewTime?: string } }>(paths.lease(s.leaseNamespace, s.leaseName));
    if (lease.spec?.holderIdentity) holder = `${lease.spec.holderIdentity} (renewed ${lease.spec.renewTime ?? 'at an unknown time'})`;
  } catch (err) {
    if (!(err instanceof KubeApiError)) throw err;
  }
  return { holder };
}

export async function runRelease(s: ReleaseSettings, logger: Logger): Promise<ReleaseReport> {
  const log = componentLogger(logger, 'release');
  // The operator's own RM clients (Kerberos, delegation token, CA, user); refused credentials stop it here, before any write.
  const rms = await connectResourceManagers(s, { logger: log });
  const clients = rms.clients;
  let conn: Awaited<ReturnType<typeof connect>>;
  try {
    await rms.checkAuthentication();
    conn = await connect(s.kubeconfig);
  } catch (err) {
    await rms.close();
    throw err;
  }
  const api = new KubeApi(conn);
  const identity = `loom-release-${s.identity || hostname()}`;
  let lease: { elector: LeaderElector; lost: () => boolean } | undefined;
  try {
    if (!s.dryRun) {
      const got = await takeLease(api, s, identity, log);
      if ('holder' in got) {
        const error = `the leader Lease ${s.leaseNamespace}/${s.leaseName} is held by ${got.holder}: stop the operator first (scale its Deployment to 0), then run loom release again`;
        log.error({ lease: `${s.leaseNamespace}/${s.leaseName}` }, error);
        return { exitCode: 1, error, nodes: [] };
      }
      lease = got;
      log.info({ identity, lease: `${s.leaseNamespace}/${s.leaseName}` }, 'holding the leader Lease: no operator writes while release runs');
    }

    // One snapshot: Nodes, pods, and each cluster's RM node list.
    const [nodeObjs, podObjs] = await Promise.all([listAll(api, paths.nodes()), listAll(api, paths.pods())]);
    const podsByNode = new Map<string, PodRecord[]>();
    for (const o of podObjs) {
      const p = projectPod(o);
      if (p) podsByNode.set(p.nodeName, [...(podsByNode.get(p.nodeName) ?? []), p]);
    }
    const views = new Map<string, ClusterView>();
    for (const [id, client] of clients) {
      try {
        const list = await client.listNodes();
        views.set(id, { status: 'ok', nodes: new Map(list.nodes.map((n) => [nodeIdKey(n.id), n])), at: systemClock.now() });
      } catch (err) {
        views.set(id, { status: 'unavailable', detail: `cluster ${id}: ${(err as Error).message}`, at: systemClock.now() });
      }
    }

    const claims = new ClaimWriter(api);
    const results: NodeReleaseResult[] = [];
    for (const obj of nodeObjs) {
      const node = projectNode(obj);
      if (!node) continue;
      const pods = podsByNode.get(node.name) ?? [];
      const nm = nodeManagerOf(pods);
      const claim = claimOf(node);
      const rm: RmObservation = nm.state === 'running' ? rmObservationOf(views.get(nm.clusterId), nm.clusterId, nm.nodeId) : { status: 'rm-unavailable', detail: 'no NodeManager' };
      // A node Loom never claimed and whose NodeManager Loom never sized is not Loom's to release.
      if (claim.ok && !claim.claim && nm.state !== 'running') continue;
      const plan = planRelease({ node: node.name, claim, nodeManager: nm, rm }, { removeClaims: s.removeClaims, vcoresPerCore: s.vcoresPerCore });
      const result: NodeReleaseResult = { ...plan };
      results.push(result);
      if (s.dryRun) {
        log.info({ node: node.name, actions: plan.actions, outcome: plan.outcome, reason: plan.reason, dryRun: true }, 'would release the node (dry run: nothing written)');
        continue;
      }
      log.info({ node: node.name, actions: plan.actions, outcome: plan.outcome, reason: plan.reason }, plan.actions.length ? 'releasing the node' : 'node needs no write');
      let known = { ...(node.thirdParty !== undefined ? { thirdParty: node.thirdParty } : {}), resourceVersion: node.resourceVersion };
      let usedAfter: YarnResource | undefined;
      for (const action of plan.actions) {
        if (lease?.lost()) {
          result.failed = `${action.kind}: lost the leader Lease; stopped writing`;
          break;
        }
        try {
          if (action.kind === 'resize') {
            const client = clients.get(action.clusterId)!;
            const res = await client.updateNodeResource(action.nodeId, action.capacity, action.overCommitTimeoutMs, { allowEmpty: true });
            // The RM applies a resize asynchronously: until it shows the shrink, the old capacity
            // may still be in force, and the claim must keep covering it.
            const rb = await readBackResize(client, action.nodeId, action.capacity, res, { clock: systemClock });
            if (!rb.confirmed) {
              throw new Error(`the RM has not shown the shrink of ${action.nodeId} to ${show(action.capacity)} yet (it shows ${show(rb.total)}); the claim is left covering it — run release again`);
            }
            usedAfter = rb.used;
            log.info({ node: node.name, nodeId: action.nodeId, capacity: action.capacity, readBack: rb.total, used: rb.used, overCommitTimeoutMs: -1 }, 'NodeManager shrunk to what YARN holds');
          } else {
            let claim = action.kind === 'set-claim' ? action.claim : null;
            // YARN may have placed more between the list and the resize (up to the old capacity): the claim covers what it holds now.
            if (usedAfter && !isEmpty(usedAfter)) {
              const now = yarnToBatch(usedAfter, s.vcoresPerCore);
              claim = { cpu: Math.max(claim?.cpu ?? 0, now.cpu), memory: Math.max(claim?.memory ?? 0, now.memory) } as BatchResources;
              if (plan.outcome === 'released' && s.removeClaims) result.outcome = 'held';
            }
            // The writer does not retry a 409 (the operator decides again instead); release keeps its
            // own target, so it re-reads the node and writes it on the fresh annotation.
            let w: Awaited<ReturnType<ClaimWriter['write']>> | undefined;
            for (let attempt = 1; !w; attempt++) {
              try {
                w = await claims.write(node.name, claim, known);
              } catch (err) {
                if (!(err instanceof ClaimConflict) || attempt >= 5) throw err;
                const fresh = projectNode(await api.get<KubeObject>(paths.node(node.name)));
                known = { ...(fresh?.thirdParty !== undefined ? { thirdParty: fresh.thirdParty } : {}), resourceVersion: fresh?.resourceVersion ?? '' };
              }
            }
            if (w.resourceVersion) known = { ...known, resourceVersion: w.resourceVersion };
            log.info({ node: node.name, claim, written: w.written }, claim ? 'claim set to what YARN holds' : 'claim removed');
          }
        } catch (err) {
          result.failed = `${action.kind}: ${(err as Error).message}`;
          log.error({ node: node.name, action, err: (err as Error).message }, 'release write failed; the node is left as it is now');
          break;
        }
      }
    }
    const notDone = results.filter((r) => r.outcome !== 'released' || r.failed);
    const summary = { released: results.length - notDone.length, notReleased: notDone.length, removeClaims: s.removeClaims, dryRun: s.dryRun };
    log.info(summary, 'release done');
    if (notDone.length === 0) return { exitCode: 0, nodes: results };
    const error = `${notDone.length} node(s) not released: ${notDone.map((r) => `${r.node} (${r.failed ?? r.reason})`).join('; ')}`;
    return { exitCode: 1, error, nodes: results };
  } finally {
    await lease?.elector.stop(true);
    await rms.close();
    await conn.close();
  }
}
