/**
 * One node per host from an RM node list (a restarted NM leaves its old NodeId behind, LOST).
 * Its own file so that the decoder worker (decode-worker.ts) loads it without the HTTP client.
 */
import { parseNodeId } from './ids.js';
import { isActiveNodeState, type RmNode } from './model.js';

const STATE_RANK = (s: string | undefined): number => {
  if (s === 'RUNNING') return 3;
  if (isActiveNodeState(s)) return 2;
  return s ? 1 : 0;
};

/** Pure: one node per host, preferring active states, then the freshest health update. */
export function dedupeNodesByHost(nodes: readonly RmNode[]): { nodes: RmNode[]; superseded: RmNode[] } {
  const best = new Map<string, RmNode>();
  const superseded: RmNode[] = [];
  const hostOf = (n: RmNode) => (n.nodeHostName || parseNodeId(n.id)?.host || n.id).toLowerCase();
  for (const n of nodes) {
    const host = hostOf(n);
    const cur = best.get(host);
    if (!cur) {
      best.set(host, n);
      continue;
    }
    const better = STATE_RANK(n.state) !== STATE_RANK(cur.state)
      ? STATE_RANK(n.state) > STATE_RANK(cur.state)
      : (n.lastHealthUpdate ?? 0) > (cur.lastHealthUpdate ?? 0);
    if (better) {
      superseded.push(cur);
      best.set(host, n);
    } else {
      superseded.push(n);
    }
  }
  return { nodes: [...best.values()], superseded };
}

/**
 * Pure: whether two reports of a node differ in what the operator's ledger reads — state, total,
 * used (compared field by field: at 20,000 nodes a string per node per poll showed in profiles).
 */
export const rmNodeDiffers = (a: RmNode, b: RmNode): boolean =>
  a.state !== b.state || a.totalResource?.vcores !== b.totalResource?.vcores || a.totalResource?.memoryMiB !== b.totalResource?.memoryMiB
  || a.usedResource?.vcores !== b.usedResource?.vcores || a.usedResource?.memoryMiB !== b.usedResource?.memoryMiB;

/** The key of a NodeId in a node list: NodeIds compare case-insensitively (host names do). */
export const rmNodeKey = (nodeId: string): string => nodeId.toLowerCase();

/**
 * What one node list says against the one before it (both deduplicated by host): the nodes
 * whose state, total or used differ or that are new, and the keys ({@link rmNodeKey}) of those
 * gone. Pure; `before` is not modified.
 */
export function nodeListDelta(before: ReadonlyMap<string, RmNode>, after: ReadonlyMap<string, RmNode>): { changed: RmNode[]; removed: string[] } {
  const changed: RmNode[] = [];
  const removed: string[] = [];
  for (const [key, n] of after) {
    const p = before.get(key);
    if (!p || rmNodeDiffers(p, n)) changed.push(n);
  }
  for (const key of before.keys()) if (!after.has(key)) removed.push(key);
  return { changed, removed };
}
