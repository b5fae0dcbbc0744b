/**
 * Why a patch could not be applied. `malformed`: the patch document itself is unusable (the
 * apiserver answers 400); `failed`: a well-formed patch does not apply to this object, e.g. a
 * JSON-patch `test` mismatch or a missing path (the apiserver answers 422).
 */
export class PatchError extends Error {
  constructor(readonly kind: 'malformed' | 'failed', message: string) {
    super(message);
    this.name = 'PatchError';
  }
}
