/**
 * A real RM applies a resize asynchronously (AdminService queues the update): the POST's answer
 * and a GET right after it may still show the old total. Look again a few times, briefly, before
 * concluding — and when the RM still does not show it, the resize is *unconfirmed*, not failed:
 * it may land at any moment, so whoever lowers a claim must keep covering it.
 */
import type { Clock } from '../clock/clock.js';
import type { ResourceManagerClient } from '../yarn/rm-client.js';
import type { YarnResource } from '../yarn/resource.js';

export interface ReadBackOptions {
  /** Reads in all, the POST's own read-back included (default 6). */
  attempts: number;
  /** The n-th look again waits n × delayMs (default 25: 25, 50, 75 … ms). */
  delayMs: number;
}

export const DEFAULT_READ_BACK: Readonly<ReadBackOptions> = Object.freeze({ attempts: 6, delayMs: 25 });

export interface ReadBack {
  total: YarnResource;
  used?: YarnResource;
  /** The RM shows the requested total. */
  confirmed: boolean;
}

const same = (a: YarnResource, b: YarnResource): boolean => a.vcores === b.vcores && a.memoryMiB === b.memoryMiB;

/**
 * Reads the node back until its total is `capacity` or the attempts are spent. `first` is what the
 * resize call itself read back.
 */
export async function readBackResize(
  client: Pick<ResourceManagerClient, 'getNode'>, nodeId: string, capacity: YarnResource, first: { total: YarnResource; used?: YarnResource },
  o: { clock: Clock; readBack?: ReadBackOptions; signal?: AbortSignal },
): Promise<ReadBack> {
  const rb = o.readBack ?? DEFAULT_READ_BACK;
  let total = first.total;
  let used = first.used;
  for (let i = 1; i < rb.attempts && !same(total, capacity); i++) {
    await o.clock.sleep(rb.delayMs * i, o.signal);
    const n = await client.getNode(nodeId, o.signal ? { signal: o.signal } : {});
    if (n.totalResource) total = n.totalResource;
    if (n.usedResource) used = n.usedResource;
  }
  return { total, ...(used ? { used } : {}), confirmed: same(total, capacity) };
}
