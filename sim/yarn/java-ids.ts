/**
 * Identifier parsing exactly as the Java servers do it, including their quirks, so the
 * simulator rejects what the real RM/NM reject (reference §6; `NodeId.fromString`,
 * `ContainerId.fromString`).
 */

export interface JavaError {
  /** Simple class name, as RemoteException.exception. */
  exception: string;
  javaClassName: string;
  message: string;
}

const ILLEGAL_ARGUMENT = { exception: 'IllegalArgumentException', javaClassName: 'java.lang.IllegalArgumentException' };

/**
 * Java's `String.split(sep)`: no match gives `[s]` (even for ""), otherwise trailing empty
 * strings are dropped (so "a," → ["a"] and "," → []).
 */
export function javaSplit(s: string, sep: string): string[] {
  if (!s.includes(sep)) return [s];
  const parts = s.split(sep);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** `Integer.parseInt`: optional sign, decimal digits, 32-bit range. */
export function javaParseInt(s: string): number | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n >= -2147483648 && n <= 2147483647 ? n : undefined;
}

/** `Long.parseLong` (safe-integer range is enough for the simulator). */
export function javaParseLong(s: string): number | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * `NodeId.fromString`: split on ':' must give exactly two parts, port must parse as int.
 * Returns the canonical id string (`host.trim():port`) the RM keys its maps with.
 */
export function nodeIdFromString(raw: string): { id: string } | { error: JavaError } {
  const parts = javaSplit(raw, ':');
  if (parts.length !== 2) {
    return { error: { ...ILLEGAL_ARGUMENT, message: `Invalid NodeId [${raw}]. Expected host:port` } };
  }
  const port = javaParseInt(parts[1]!);
  if (port === undefined) {
    return { error: { ...ILLEGAL_ARGUMENT, message: `Invalid port: ${parts[1]}` } };
  }
  return { id: `${parts[0]!.trim()}:${port}` };
}

const CONTAINER_ID = /^container_(?:e(\d+)_)?(\d+)_(\d+)_(\d+)_(\d+)$/;

/** `ContainerId.fromString` acceptance (message as thrown by Hadoop 3.x). */
export function containerIdError(raw: string): string | undefined {
  return CONTAINER_ID.test(raw) ? undefined : `Invalid ContainerId: ${raw}`;
}

export function formatApplicationId(clusterTimestamp: number, seq: number): string {
  return `application_${clusterTimestamp}_${String(seq).padStart(4, '0')}`;
}

/** `container_[eNN_]<ts>_<appSeq4>_<attempt2>_<seq6>`; the epoch is printed only when > 0. */
export function formatContainerId(epoch: number, clusterTimestamp: number, appSeq: number, attempt: number, seq: number): string {
  const e = epoch > 0 ? `e${String(epoch).padStart(2, '0')}_` : '';
  return `container_${e}${clusterTimestamp}_${String(appSeq).padStart(4, '0')}_${String(attempt).padStart(2, '0')}_${String(seq).padStart(6, '0')}`;
}
