/**
 * The demo's self-contained HTML report: inline SVG charts (no scripts, no external files), so it
 * opens anywhere and renders the same in every browser.
 */
import type { DemoEvent, RunResult, Sample } from './runner.js';
import { burstText } from './burst-text.js';
import { variationNote } from './variation.js';

/**
 * One line. `band` draws it as a wide translucent stroke under the others, so a line that runs on
 * top of it stays its own colour where the two coincide (no blend the legend does not show).
 */
interface Series { name: string; color: string; points: [number, number][]; dash?: string; band?: boolean }
interface Marker { t: number; color: string; label: string; shape: 'line' | 'triangle' }
interface Band { from: number; to: number; color: string; label: string }

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Pure: round axis ticks from 0 — steps of 1, 2, 2.5 or 5 × 10^k, about `count` of them, the last ≥ `max`. */
export function niceTicks(max: number, count = 4): number[] {
  const m = Math.max(max, 1e-9);
  const raw = m / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((st) => st >= raw - 1e-12) ?? 10 * mag;
  const n = Math.max(1, Math.ceil(m / step - 1e-9));
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9) + (String(step / mag).includes('.') ? 1 : 0));
  return Array.from({ length: n + 1 }, (_, i) => Number((i * step).toFixed(decimals)));
}

const tickLabel = (v: number) => String(Number(v.toFixed(3)));

/** The stroke attributes of a series (also used for its legend swatch). */
function strokeOf(s: Series): string {
  if (s.band) return `stroke="${s.color}" stroke-width="7" stroke-opacity="0.3" stroke-linecap="round" stroke-linejoin="round"`;
  return `stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}`;
}

/** Pure: an SVG line chart, its legend at the top. */
export function lineChart(o: { id: string; title: string; unit: string; series: Series[]; markers?: Marker[]; bands?: Band[]; width?: number; height?: number; tMax: number }): string {
  const W = o.width ?? 560;
  // Legend rows at the top, under the title: as many items per row as fit.
  const itemWidth = (s: Series) => 36 + s.name.length * 6.5;
  const rows: Series[][] = [[]];
  let used = 0;
  for (const s of o.series) {
    if (used + itemWidth(s) > W - 56 && rows[rows.length - 1]!.length > 0) { rows.push([]); used = 0; }
    rows[rows.length - 1]!.push(s);
    used += itemWidth(s);
  }
  const m = { l: 48, r: 12, t: 30 + rows.length * 14, b: 26 };
  const H = (o.height ?? 240) + (rows.length - 1) * 14;
  const yTicks = niceTicks(Math.max(0, ...o.series.flatMap((s) => s.points.map((p) => p[1]))), 4);
  const maxV = yTicks[yTicks.length - 1]!;
  const xTicks = niceTicks(Math.floor(o.tMax), 6).filter((t) => t <= o.tMax + 1e-9);
  const x = (t: number) => m.l + (t / Math.max(o.tMax, 1e-9)) * (W - m.l - m.r);
  const y = (v: number) => H - m.b - (v / maxV) * (H - m.t - m.b);
  const grid = yTicks.map((v) => `<line x1="${m.l}" x2="${W - m.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e7eb"/>`
    + `<text class="ytick" x="${m.l - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="10" fill="#6b7280">${tickLabel(v)}</text>`).join('');
  const xticks = xTicks.map((t) => `<text class="xtick" x="${x(t).toFixed(1)}" y="${H - m.b + 14}" text-anchor="middle" font-size="10" fill="#6b7280">${tickLabel(t)}s</text>`).join('');
  const bands = (o.bands ?? []).map((b) => `<rect x="${x(b.from).toFixed(1)}" y="${m.t}" width="${Math.max(1, x(b.to) - x(b.from)).toFixed(1)}" height="${H - m.t - m.b}" fill="${b.color}" opacity="0.15"><title>${esc(b.label)}</title></rect>`).join('');
  const path = (s: Series) => {
    if (s.points.length === 0) return '';
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join('');
    return `<path class="series" data-series="${esc(s.name)}" d="${d}" fill="none" ${strokeOf(s)}/>`;
  };
  // Bands first, lines over them.
  const lines = [...o.series.filter((s) => s.band), ...o.series.filter((s) => !s.band)].map(path).join('');
  const markers = (o.markers ?? []).map((mk) => mk.shape === 'line'
    ? `<line x1="${x(mk.t).toFixed(1)}" x2="${x(mk.t).toFixed(1)}" y1="${m.t}" y2="${H - m.b}" stroke="${mk.color}" stroke-dasharray="4 3"><title>${esc(mk.label)}</title></line>`
    : `<path class="marker" d="M${x(mk.t).toFixed(1)},${m.t + 2}l-5,-9h10z" fill="${mk.color}"><title>${esc(mk.label)}</title></path>`).join('');
  const legend = rows.map((row, r) => {
    let dx = m.l;
    return row.map((s) => {
      const g = `<g class="legend-item" data-series="${esc(s.name)}" transform="translate(${dx},${24 + r * 14})"><line x1="0" x2="22" y1="-3" y2="-3" ${strokeOf(s)}/><text x="27" font-size="10" fill="#374151">${esc(s.name)}</text></g>`;
      dx += itemWidth(s);
      return g;
    }).join('');
  }).join('');
  return `<svg id="${esc(o.id)}" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}">`
    + `<text x="${m.l}" y="13" font-size="12" font-weight="600" fill="#111827">${esc(o.title)} <tspan fill="#6b7280" font-weight="400">(${esc(o.unit)})</tspan></text>`
    + `<g class="legend">${legend}</g>${grid}${xticks}${bands}${lines}${markers}</svg>`;
}

const pts = (samples: Sample[], node: string, f: (n: Sample['nodes'][string]) => number): [number, number][] =>
  samples.filter((s) => s.nodes[node]).map((s) => [s.t, f(s.nodes[node]!)]);

function nodeCharts(run: RunResult, node: string, tMax: number): string {
  const s = run.samples;
  const ev = run.events.filter((e) => e.node === node);
  const markers: Marker[] = [
    ...ev.filter((e) => e.kind === 'eviction').map((e) => ({ t: e.t, color: '#dc2626', label: e.detail, shape: 'triangle' as const })),
    ...ev.filter((e) => e.kind === 'nm-restart').map((e) => ({ t: e.t, color: '#f59e0b', label: e.detail, shape: 'line' as const })),
    ...ev.filter((e) => e.kind === 'nm-repaired').map((e) => ({ t: e.t, color: '#059669', label: e.detail, shape: 'line' as const })),
  ];
  const spikeStart = ev.find((e) => e.kind === 'memory-spike')?.t;
  const spikeEnd = ev.find((e) => e.kind === 'memory-spike-end')?.t ?? tMax;
  const bands: Band[] = spikeStart !== undefined ? [{ from: spikeStart, to: spikeEnd, color: '#dc2626', label: 'online memory burst' }] : [];
  const series = (div: number, key: 'cpu' | 'memory'): Series[] => [
    { name: 'origin', color: '#111827', points: pts(s, node, (n) => n.origin[key] / div) },
    { name: 'K8s requested', color: '#2563eb', points: pts(s, node, (n) => n.k8s[key] / div) },
    { name: 'YARN capacity', color: '#16a34a', points: pts(s, node, (n) => n.yarnCapacity[key] / div) },
    { name: 'YARN used', color: '#9333ea', points: pts(s, node, (n) => n.yarnUsed[key] / div), dash: '5 3' },
    { name: 'claim', color: '#ea580c', points: pts(s, node, (n) => n.claim[key] / div), band: true },
  ];
  const id = `${run.summary.policy}-${node}`;
  return `<div class="node" data-node="${esc(node)}"><h3>${esc(node)}</h3><div class="pair">`
    + lineChart({ id: `${id}-cpu`, title: `${node} CPU`, unit: 'cores', series: series(1000, 'cpu'), markers, bands, tMax })
    + lineChart({ id: `${id}-mem`, title: `${node} memory`, unit: 'GiB', series: series(2 ** 30, 'memory'), markers, bands, tMax })
    + lineChart({ id: `${id}-used`, title: `${node} node memory used`, unit: '%', series: [{ name: 'memory used', color: '#0f766e', points: pts(s, node, (n) => n.memoryUsedPercent) }, { name: 'evict threshold', color: '#dc2626', points: [[0, run.summary.evictThresholdPercent], [tMax, run.summary.evictThresholdPercent]], dash: '6 4' }], markers, bands, tMax, width: 380 })
    + '</div></div>';
}

function summaryTable(runs: RunResult[]): string {
  const cs = (c: number, g: number) => `${c.toFixed(1)} / ${g.toFixed(1)}`;
  const rows: [string, (r: RunResult) => string][] = [
    ['First convergence: every RM node runs with the capacity Loom set (simulated s)', (r) => (r.summary.convergenceSec === null ? 'not reached' : r.summary.convergenceSec.toFixed(1))],
    ['Double-booked since t = 0 (core·s / GiB·s)', (r) => cs(r.summary.doubleBookedCoreSeconds, r.summary.doubleBookedGiBSeconds)],
    ['… while the RM ran with the capacity Loom set', (r) => cs(r.summary.inForceCoreSeconds, r.summary.inForceGiBSeconds)],
    ['… before the first convergence (each NM offered the size it registered with)', (r) => cs(r.summary.beforeConvergenceCoreSeconds, r.summary.beforeConvergenceGiBSeconds)],
    ['… while the RM had forgotten Loom\'s capacity (NM restart, until repaired)', (r) => cs(r.summary.driftExposureCoreSeconds, r.summary.driftExposureGiBSeconds)],
    ['… while the operator was still reacting to a change (samples it had not caught up with; a loaded machine)', (r) => `${cs(r.summary.reactingCoreSeconds, r.summary.reactingGiBSeconds)} (${r.summary.unsettledSamples} samples)`],
    ['Evictions (reasons)', (r) => `${r.summary.evictions} (${Object.entries(r.summary.evictionReasons).map(([k, v]) => `${k} ${v}`).join(', ') || '—'})`],
    ['Online memory burst', (r) => (r.summary.burst ? burstText(r.summary.burst) : 'none')],
    ['ApplicationMaster evicted', (r) => (r.summary.amEvicted ? 'yes' : 'no')],
    ['NM restart repaired after (s)', (r) => (r.summary.nmRestartRepairedSec === null ? 'no' : r.summary.nmRestartRepairedSec.toFixed(1))],
    ['RM resize calls', (r) => String(r.summary.rmResizeCalls)],
    ['RM node lists', (r) => String(r.summary.rmNodeListCalls)],
    ['Node writes', (r) => String(r.summary.nodeWrites)],
  ];
  return `<table class="summary"><thead><tr><th></th>${runs.map((r) => `<th>${esc(r.summary.policy)}</th>`).join('')}</tr></thead><tbody>`
    + rows.map(([label, f]) => `<tr><td>${esc(label)}</td>${runs.map((r) => `<td>${esc(f(r))}</td>`).join('')}</tr>`).join('')
    + '</tbody></table>';
}

function eventTable(events: DemoEvent[]): string {
  return `<table class="events"><thead><tr><th>t (s)</th><th>node</th><th>event</th></tr></thead><tbody>`
    + events.map((e) => `<tr class="${e.kind}"><td>${e.t.toFixed(1)}</td><td>${esc(e.node)}</td><td>${esc(e.detail)}</td></tr>`).join('')
    + '</tbody></table>';
}

export function renderReport(runs: RunResult[], meta: { seed: number; nodes: number; durationSec: number; generatedAt: string }): string {
  const tMax = Math.max(...runs.map((r) => r.samples[r.samples.length - 1]?.t ?? 0), 1);
  const palette: Record<string, string> = { partitioned: '#16a34a', shared: '#dc2626' };
  const doubleSeries = (key: 'cpu' | 'memory', div: number): Series[] => runs.map((r) => ({
    name: r.summary.policy, color: palette[r.summary.policy] ?? '#6b7280',
    points: r.samples.map((s) => [s.t, Object.values(s.nodes).reduce((a, n) => a + n.doubleBooked[key], 0) / div] as [number, number]),
  }));
  const nodes = Object.keys(runs[0]?.samples[0]?.nodes ?? {});
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Loom demo report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#111827;margin:24px auto;max-width:1560px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px} h3{font-size:14px;margin:12px 0 4px}
.lede{color:#374151;max-width:900px} .pair{display:flex;flex-wrap:wrap;gap:12px}
table{border-collapse:collapse;margin:8px 0} table.summary td{max-width:460px} td,th{border:1px solid #e5e7eb;padding:4px 10px;text-align:left} th{background:#f9fafb}
table.events{font-size:12px} tr.eviction td{color:#b91c1c} tr.nm-restart td,tr.nm-repaired td{color:#92400e}
svg.chart{background:#fff;border:1px solid #f3f4f6;border-radius:6px}
details summary{cursor:pointer;font-weight:600;margin:12px 0}
</style></head><body>
<h1>Loom demo: YARN on Kubernetes batch capacity</h1>
<p class="lede">A simulated mixed cluster of ${meta.nodes} nodes, ${meta.durationSec} simulated seconds, seed ${meta.seed}. The real Loom operator keeps each node's ledger
between Kubernetes (origin batch capacity from koord-manager, batch pods) and the YARN ResourceManager; a real Loom agent on each node watches
YARN containers in cgroups. The same scenario runs under both policies: <b>partitioned</b> (Loom's default) gives YARN a share of the free headroom
and tells Kubernetes, so nothing is booked twice once the operator has set each node's capacity; <b>shared</b> (Koordinator's design) offers the whole headroom to both schedulers.
Double booking is counted from t = 0: before the operator's first pass each NodeManager offers YARN the size it registered with, and the summary shows those seconds apart.</p>
<p class="lede">${esc(variationNote(meta))}</p>
<h2>Summary</h2>
${summaryTable(runs)}
<h2>Double booking over time (all nodes)</h2>
<div class="pair">
${lineChart({ id: 'double-cpu', title: 'Batch CPU promised to both schedulers', unit: 'cores', series: doubleSeries('cpu', 1000), tMax })}
${lineChart({ id: 'double-mem', title: 'Batch memory promised to both schedulers', unit: 'GiB', series: doubleSeries('memory', 2 ** 30), tMax })}
</div>
<p class="reading">How to read the per-node charts: each chart's legend is above it. <b>claim</b> is drawn as a wide orange band under the lines:
where YARN capacity (partitioned) or YARN used (shared) equals it, that line runs inside the band. Red triangles: evictions (hover for the container);
orange dashed line: NodeManager restart; green dashed line: capacity restored; red shading: the online memory burst; red dashed line: the agent's eviction threshold.</p>
${runs.map((r, i) => {
    const body = `<h2>Per-node ledger — ${esc(r.summary.policy)} policy</h2>${nodes.map((n) => nodeCharts(r, n, tMax)).join('')}<h3>Events</h3>${eventTable(r.events)}`;
    return i === 0 ? `<section class="run" data-policy="${esc(r.summary.policy)}">${body}</section>` : `<details><summary>${esc(r.summary.policy)} policy: per-node ledger and events</summary><section class="run" data-policy="${esc(r.summary.policy)}">${body}</section></details>`;
  }).join('\n')}
<p style="color:#6b7280;font-size:12px">Generated ${esc(meta.generatedAt)} by <code>loom demo</code>. Lines: origin (koord-manager), K8s requested (batch pods incl. the NodeManager pod),
YARN capacity (RM totalResource), YARN used (RM usedResource), claim (thirdPartyAllocations).</p>
</body></html>
`;
}
