/**
 * Kubernetes resource quantities (`resource.Quantity`) and the units Loom keeps them in.
 *
 * Koordinator's batch resources are integer quantities whose *value* is the unit count:
 * `kubernetes.io/batch-cpu: "60646"` is 60 646 milli-cores, `"10k"` is 10 000 milli-cores;
 * `kubernetes.io/batch-memory: "10Gi"` is 10 × 2^30 bytes.
 */
import { InputError } from '../input/input-error.js';

/** CPU in milli-cores (1 core = 1000). */
export type MilliCores = number & { readonly __unit: 'milli-cores' };
/** Memory in bytes. */
export type Bytes = number & { readonly __unit: 'bytes' };

export const milliCores = (n: number): MilliCores => n as MilliCores;
export const bytes = (n: number): Bytes => n as Bytes;

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$/;

/** A quantity string alone does not know where it came from: callers re-home it (`err.within(source, key)`). */
export class QuantityError extends InputError {
  constructor(readonly input: unknown, reason: string) {
    super('', `invalid quantity ${JSON.stringify(typeof input === 'string' && input.length > 64 ? `${input.slice(0, 64)}…` : input)}: ${reason}`);
    this.name = 'QuantityError';
  }
}

/** Kubernetes keeps a quantity's value in an int64 (`Value()`); anything larger is no real resource. */
const MAX_QUANTITY = 2 ** 63;
const OUT_OF_RANGE = 'out of range (beyond 2^63, what Kubernetes keeps in an int64)';

/**
 * The exact numeric value of a quantity string (`"1.5Gi"` → 1610612736, `"500m"` → 0.5).
 * Throws {@link QuantityError} for anything Kubernetes would reject. Numbers are accepted too,
 * because JSON written by hand sometimes carries them.
 */
export function parseQuantity(input: unknown): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new QuantityError(input, 'not a finite number');
    if (Math.abs(input) > MAX_QUANTITY) throw new QuantityError(input, OUT_OF_RANGE);
    return input;
  }
  if (typeof input !== 'string') throw new QuantityError(input, 'not a string');
  const s = input.trim();
  if (s === '') throw new QuantityError(input, 'empty');
  const m = QUANTITY.exec(s);
  if (!m) throw new QuantityError(input, 'not a Kubernetes quantity');
  const sign = m[1] === '-' ? -1 : 1;
  const mantissa = Number(m[2]);
  let factor = 1;
  if (m[3] !== undefined) factor = BINARY[m[3]] ?? DECIMAL[m[3]] ?? NaN;
  else if (m[4] !== undefined) factor = 10 ** Number(m[4]);
  const value = sign * mantissa * factor;
  if (!Number.isFinite(value) || Math.abs(value) > MAX_QUANTITY) throw new QuantityError(input, OUT_OF_RANGE);
  // Decimal suffixes like "1.1k" produce float noise (1100.0000000000002); snap to the nearest
  // thousandth, the finest precision Kubernetes keeps for most resources.
  if (Number.isInteger(value)) return value;
  const snapped = Math.round(value * 1000) / 1000;
  return Math.abs(snapped - value) < 1e-9 * Math.max(1, Math.abs(value)) ? snapped : value;
}

/** `Quantity.Value()`: the value rounded up to an integer, as Kubernetes does. */
export function quantityValue(input: unknown): number {
  // `+ 0` turns the -0 that ceil(0 − ε) gives into 0.
  return Math.ceil(parseQuantity(input) - 1e-9) + 0;
}

/** Parse a `kubernetes.io/batch-cpu` quantity into milli-cores (rounded up, like `Value()`). */
export function parseBatchCpu(input: unknown): MilliCores {
  const v = quantityValue(input);
  if (v < 0) throw new QuantityError(input, 'negative');
  return milliCores(v);
}

/** Parse a `kubernetes.io/batch-memory` quantity into bytes (rounded up, like `Value()`). */
export function parseBatchMemory(input: unknown): Bytes {
  const v = quantityValue(input);
  if (v < 0) throw new QuantityError(input, 'negative');
  return bytes(v);
}

/** Parse a core `cpu` quantity (`"500m"`, `"2"`) into milli-cores, rounding up. */
export function parseCpu(input: unknown): MilliCores {
  const v = Math.ceil(parseQuantity(input) * 1000 - 1e-6) + 0; // + 0: no -0 for "0"
  if (v < 0) throw new QuantityError(input, 'negative');
  if (v > MAX_QUANTITY) throw new QuantityError(input, OUT_OF_RANGE);
  return milliCores(v);
}

/** Parse a core `memory` quantity into bytes, rounding up. */
export function parseMemory(input: unknown): Bytes {
  return parseBatchMemory(input);
}

/**
 * Format an integer count the way Kubernetes canonicalises it: the largest exact binary suffix
 * for byte counts (`"10Gi"`), otherwise the largest exact decimal suffix (`"10k"`, `"60646"`).
 */
export function formatQuantity(value: number, form: 'binary' | 'decimal'): string {
  if (!Number.isInteger(value)) throw new QuantityError(value, 'only integer counts are formatted');
  if (value === 0) return '0';
  const neg = value < 0 ? '-' : '';
  let v = Math.abs(value);
  if (form === 'binary') {
    const suffixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
    let i = 0;
    while (i < suffixes.length - 1 && v % 1024 === 0) { v /= 1024; i++; }
    if (i > 0) return `${neg}${v}${suffixes[i]}`;
    v = Math.abs(value);
  }
  const dec = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
  let j = 0;
  while (j < dec.length - 1 && v % 1000 === 0) { v /= 1000; j++; }
  return `${neg}${v}${dec[j]}`;
}

export const formatBatchCpu = (m: MilliCores): string => formatQuantity(m, 'decimal');
export const formatBatchMemory = (b: Bytes): string => formatQuantity(b, 'binary');
