/**
 * What held the event loop in a V8 CPU profile (`--cpu-prof`): every stretch of consecutive
 * non-idle samples at least MIN ms long (default 300), with its heaviest leaf frames and stacks.
 *
 *   node scripts/profile-stalls.mjs CPU.….cpuprofile [MIN]
 *
 * Sampled on wall time: on a loaded machine a stretch also holds the time the thread waited for a CPU.
 */
import { readFileSync } from 'node:fs';

const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const minMs = Number(process.argv[3] ?? 300);
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const frame = (n) => `${n.callFrame.functionName || '(anon)'}@${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
let t = p.startTime;
const times = p.timeDeltas.map((d) => (t += d));
const idle = (id) => byId.get(id).callFrame.functionName === '(idle)';
const runs = [];
let start = -1;
for (let i = 0; i < p.samples.length; i++) {
  if (!idle(p.samples[i])) { if (start < 0) start = i; } else if (start >= 0) { runs.push([start, i]); start = -1; }
}
const long = runs.filter(([a, b]) => (times[b] - times[a]) / 1000 >= minMs);
console.log(`profile ${((times.at(-1) - p.startTime) / 1e6).toFixed(1)} s, ${long.length} busy stretches ≥ ${minMs} ms`);
for (const [a, b] of long) {
  const stacks = new Map();
  for (let i = a; i < b; i++) {
    const dt = (times[i + 1] - times[i]) / 1000;
    const chain = [];
    for (let id = p.samples[i]; id !== undefined; id = parent.get(id)) chain.push(frame(byId.get(id)));
    const key = chain.slice(0, 8).join(' < ');
    stacks.set(key, (stacks.get(key) ?? 0) + dt);
  }
  console.log(`\n== +${((times[a] - p.startTime) / 1e6).toFixed(2)} s: ${((times[b] - times[a]) / 1000).toFixed(0)} ms`);
  for (const [k, v] of [...stacks].sort((x, y) => y[1] - x[1]).slice(0, 6)) console.log(`  ${v.toFixed(0).padStart(5)} ms  ${k}`);
}
