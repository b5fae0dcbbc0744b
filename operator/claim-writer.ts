/**
 * Writes the `hadoop-yarn` entry of `node.koordinator.sh/thirdPartyAllocations`.
 *
 * The patch carries the resourceVersion the value was computed from, so a concurrent writer
 * (koord-manager, another tool adding its own entry, a replica that still thinks it leads) makes
 * it fail with 409 instead of being clobbered. A 409 is *not* retried here: the claim was
 * computed from inputs that are now old, so the caller re-runs the whole decision on fresh data.
 * Only the `hadoop-yarn` entry changes; every other byte of the annotation stays as written.
 */
import { KubeApiError, type KubeApi, type KubeObject, paths } from '../kube/api.js';
import { ANNOTATION_THIRD_PARTY, withYarnClaimRaw, type BatchResources } from '../kube/wire.js';

export interface ClaimWriteResult {
  written: boolean;
  /** The node's resourceVersion and annotation after the write. */
  resourceVersion: string;
  thirdParty: string | undefined;
  /** The whole Node as the API server answered the write. */
  object?: KubeObject;
}

/** The node changed since the claim was computed (HTTP 409). */
export class ClaimConflict extends Error {
  constructor(readonly node: string) {
    super(`node ${node} changed under the claim write (409)`);
    this.name = 'ClaimConflict';
  }
}

export interface WriteGuard {
  signal?: AbortSignal;
  /** The fence, checked right before the PATCH leaves. */
  beforeSend?: () => void;
}

export class ClaimWriter {
  constructor(
    private readonly api: KubeApi,
    private readonly onPatch: (outcome: 'ok' | 'conflict' | 'error') => void = () => {},
  ) {}

  /** `claim` null removes the entry. `known` is the annotation and version the claim was computed from. */
  async write(node: string, claim: BatchResources | null, known: { thirdParty?: string; resourceVersion: string }, guard: WriteGuard = {}): Promise<ClaimWriteResult> {
    const raw = known.thirdParty;
    const next = withYarnClaimRaw(raw, claim);
    if ((raw !== undefined && next === raw) || (raw === undefined && claim === null)) {
      return { written: false, resourceVersion: known.resourceVersion, thirdParty: raw };
    }
    try {
      const res = await this.api.patch<KubeObject>(paths.node(node), 'merge', {
        metadata: { resourceVersion: known.resourceVersion, annotations: { [ANNOTATION_THIRD_PARTY]: next } },
      }, guard);
      this.onPatch('ok');
      return { written: true, resourceVersion: res.metadata.resourceVersion ?? known.resourceVersion, thirdParty: next, object: res };
    } catch (err) {
      if (err instanceof KubeApiError && err.conflict) {
        this.onPatch('conflict');
        throw new ClaimConflict(node);
      }
      this.onPatch('error');
      throw err;
    }
  }
}
