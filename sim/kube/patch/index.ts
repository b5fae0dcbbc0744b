/** The three patch types the apiserver accepts, by Content-Type. */
import { applyJsonPatch } from './json-patch.js';
import { applyMergePatch } from './merge-patch.js';
import { applyStrategicMergePatch } from './strategic-merge-patch.js';
import { PatchError } from './patch-error.js';

export { PatchError } from './patch-error.js';
export { applyJsonPatch, applyMergePatch, applyStrategicMergePatch };

export type PatchType = 'json' | 'merge' | 'strategic';

export const PATCH_CONTENT_TYPES: Readonly<Record<string, PatchType>> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
};

export function patchTypeOf(contentType: string): PatchType | undefined {
  const base = contentType.split(';')[0]!.trim().toLowerCase();
  return PATCH_CONTENT_TYPES[base];
}

/** Applies a parsed patch body to `target`; throws {@link PatchError}. */
export function applyPatch(type: PatchType, target: unknown, patch: unknown): unknown {
  switch (type) {
    case 'json': return applyJsonPatch(target, patch);
    case 'merge': return applyMergePatch(target, patch);
    case 'strategic': return applyStrategicMergePatch(target, patch);
    default: throw new PatchError('malformed', `unknown patch type ${String(type)}`);
  }
}
