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
