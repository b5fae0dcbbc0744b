/**
 * The text log format (`--log-format text`): each pino JSON line rewritten as one line a person
 * reads at a terminal —
 *
 *     10:44:48.299 INFO  operator.controller  ledger decision  node=node-1 origin=8cpu/16GiB
 *
 * time (UTC, from the entry), level, component, message, then every other field as `key=value`
 * in the order it was logged; nested objects in braces, lists in brackets, strings quoted only
 * when they hold spaces or punctuation that would make the line ambiguous, and Loom's resource
 * pairs in readable units (`origin=8cpu/16GiB`, `capacity=6vcores/12288MiB`).
 */

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Strings that need no quotes: no spaces, quotes, braces, brackets or `=`. */
const BARE = /^[^\s"'{}[\]=]+$/;

/** Up to `digits` decimals, trailing zeros dropped. */
const num = (n: number, digits: number): string => String(Number(n.toFixed(digits)));

/**
 * Loom's two resource pairs, in the units people read: a Kubernetes-side `{cpu, memory}`
 * (milli-cores, bytes) as `7cpu/15.34GiB`, a YARN-side `{vcores, memoryMiB}` as `3vcores/15708MiB`.
 */
function resourcePair(o: Record<string, unknown>): string | undefined {
  const keys = Object.keys(o).sort().join(',');
  if (keys === 'cpu,memory' && typeof o.cpu === 'number' && typeof o.memory === 'number') {
    return `${num(o.cpu / 1000, 3)}cpu/${num(o.memory / 2 ** 30, 2)}GiB`;
  }
  if (keys === 'memoryMiB,vcores' && typeof o.vcores === 'number' && typeof o.memoryMiB === 'number') {
    return `${num(o.vcores, 3)}vcores/${num(o.memoryMiB, 0)}MiB`;
  }
  return undefined;
}

function value(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return BARE.test(v) ? v : JSON.stringify(v);
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return `[${v.map(value).join(' ')}]`;
  const pair = resourcePair(v as Record<string, unknown>);
  if (pair) return pair;
  const err = v as { type?: unknown; message?: unknown; source?: unknown; problem?: unknown };
  // An error object (see the `err` serializer): its one-line message is the whole story.
  if (typeof err.type === 'string' && typeof err.message === 'string') return JSON.stringify(err.message);
  return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}=${value(x)}`).join(' ')}}`;
}

/** One pino JSON line → one text line (a line that is not JSON passes through unchanged). */
export function textLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const { time, level, component, msg, ...rest } = entry;
  const clock = typeof time === 'string' ? time.slice(11, 23) : typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
  const lvl = (LEVEL_NAMES[level as number] ?? String(level)).padEnd(5);
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${value(v)}`).join(' ');
  const head = [clock, lvl, typeof component === 'string' ? component : undefined].filter(Boolean).join(' ');
  return `${head}  ${typeof msg === 'string' ? msg : ''}${fields ? `  ${fields}` : ''}\n`;
}
