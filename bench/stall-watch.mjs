/**
 * Preload for a benchmark's child (`--import ./bench/stall-watch.mjs` in BENCH_OPERATOR_NODE_ARGS,
 * or on the bench's own command line): one JSON line on stderr (the child's log) for every event-loop
 * stall over 80 ms (a 10 ms timer that fired late) and every garbage collection over 30 ms, with
 * the wall time, the process and the thread (0: main; the preload also runs in worker threads), so stalls can be lined up with the log and with the other process's stalls.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';

const out = (o) => process.stderr.write(`${JSON.stringify({ stallWatch: true, thread: threadId, pid: process.pid, t: Math.round(performance.now()), wall: Date.now(), ...o })}\n`);
let last = performance.now();
const tick = setInterval(() => {
  const now = performance.now();
  const lag = now - last - 10;
  if (lag > 80) out({ kind: 'stall', ms: Math.round(lag), heapMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20) });
  last = now;
}, 10);
tick.unref();
const GC_KINDS = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.duration > 30) out({ kind: 'gc', gc: GC_KINDS[e.detail?.kind] ?? e.detail?.kind, ms: Math.round(e.duration), start: Math.round(e.startTime) });
  }
}).observe({ entryTypes: ['gc'] });
