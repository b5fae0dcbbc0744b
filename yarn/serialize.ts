/**
 * Request bodies Loom sends to the RM. Pure and typed, because a wrongly shaped resize body is
 * not rejected by the RM: it unmarshals to memory 0, vCores 0, timeout 0 — i.e. shrinks the node
 * to nothing and kills its containers at once (reference §2.4).
 */
import { YarnArgumentError } from './errors.js';
import type { YarnResource } from './resource.js';

/**
 * Refuse a resource the RM must never be told: negative, fractional or non-finite; and 0/0 unless
 * the caller says an empty node is what it means (the ledger can legitimately leave YARN nothing).
 */
export function assertSendableResource(resource: YarnResource, source: string, allowEmpty = false): void {
  const { memoryMiB, vcores } = resource;
  for (const [name, v] of [['memoryMiB', memoryMiB], ['vcores', vcores]] as const) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new YarnArgumentError(source, `${name} must be a non-negative integer, got ${String(v)}`);
    }
  }
  if (memoryMiB === 0 && vcores === 0 && !allowEmpty) {
    throw new YarnArgumentError(source, 'refusing to set a node to 0 MiB / 0 vcores');
  }
}

/**
 * `ResourceOptionInfo`, unwrapped: exactly
 * `{"resource":{"memory":<MiB>,"vCores":<n>},"overCommitTimeout":<ms>}`. The timeout is always
 * written (omitted means 0 = kill overcommitted containers immediately); negative means none.
 */
export function serializeResourceOption(resource: YarnResource, overCommitTimeoutMs: number, source = 'resourceOption', allowEmpty = false): string {
  assertSendableResource(resource, source, allowEmpty);
  if (!Number.isSafeInteger(overCommitTimeoutMs) || overCommitTimeoutMs < -1 || overCommitTimeoutMs > 2_147_483_647) {
    // Java int field; every negative means "no timeout", so -1 is the only one we send.
    throw new YarnArgumentError(source, `overCommitTimeout must be an integer ms in [-1, 2^31-1], got ${String(overCommitTimeoutMs)}`);
  }
  return `{"resource":{"memory":${resource.memoryMiB},"vCores":${resource.vcores}},"overCommitTimeout":${overCommitTimeoutMs}}`;
}
