/**
 * Writes the `hadoop-yarn` entry of `node.koordinator.sh/thirdPartyAllocations`.
 *
 * The patch carries the resourceVersion the new value was computed from, so a concurrent writer
 * (koord-manager, another tool adding its own entry) makes it fail with 409 instead of being
 * clobbered; on 409 the node is read again and the entry re-applied to the fresh list.
 */
import type { Logger } from '../log/logger.js';
import { KubeApiError, type KubeApi, type KubeObject, paths } from '../kube/api.js';
import { ANNOTATION_THIRD_PARTY, parseThirdPartyAllocations, withYarnClaim, type BatchResources } from '../kube/wire.js';

export interface ClaimWriteResult {
  written: boolean;
  attempts: number;
  /** The node's resourceVersion after the write. */
  resourceVersion?: string;
}

export class ClaimWriter {
  constructor(
    private readonly api: KubeApi,
    private readonly logger: Logger,
    private readonly onPatch: (outcome: 'ok' | 'conflict' | 'error') => void = () => {},
    private readonly maxAttempts = 10,
  ) {}

  /** `claim` null removes the entry. `known` is the annotation and version the caller saw. */
  async write(node: string, claim: BatchResources | null, known: { thirdParty?: string; resourceVersion: string }): Promise<ClaimWriteResult> {
    let raw = known.thirdParty;
    let rv = known.resourceVersion;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const entries = parseThirdPartyAllocations(raw);
      const hasEntry = entries.some((e) => e.name === 'hadoop-yarn');
      if (claim === null && !hasEntry) return { written: false, attempts: attempt - 1, resourceVersion: rv };
      const next = withYarnClaim(entries, claim);
      if (raw !== undefined && next === raw) return { written: false, attempts: attempt - 1, resourceVersion: rv };
      try {
        const res = await this.api.patch<KubeObject>(paths.node(node), 'merge', {
          metadata: { resourceVersion: rv, annotations: { [ANNOTATION_THIRD_PARTY]: next } },
        });
        this.onPatch('ok');
        return { written: true, attempts: attempt, ...(res.metadata.resourceVersion ? { resourceVersion: res.metadata.resourceVersion } : {}) };
      } catch (err) {
        if (!(err instanceof KubeApiError && err.conflict)) {
          this.onPatch('error');
          throw err;
        }
        this.onPatch('conflict');
        this.logger.info({ node, attempt }, 'node changed under our claim write (409); retrying on fresh data');
        // A busy co-writer would win every immediate retry; back off a little, with jitter.
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 5 * 2 ** attempt)));
        const fresh = await this.api.get<KubeObject>(paths.node(node));
        raw = fresh.metadata.annotations?.[ANNOTATION_THIRD_PARTY];
        rv = fresh.metadata.resourceVersion ?? '';
      }
    }
    throw new Error(`node ${node}: claim write still conflicting after ${this.maxAttempts} attempts`);
  }
}
