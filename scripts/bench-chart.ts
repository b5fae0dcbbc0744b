/**
 * Draws docs/operator-curve.svg from bench/results.json after `BENCH_SCALE=full npm run bench`:
 * the operator's cost curve (cold converge, its CPU per node, change→RM p99, peak RSS) against
 * the cluster size, with the targets dashed — in the demo report's chart style. Run by hand
 * (`node --import tsx scripts/bench-chart.ts`) when the figures in docs/benchmarks.md change.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Point { nodes: number; coldConvergeSeconds: number; coldConvergeCpuSeconds: number; changeToRmP99Ms: number; rssMB: number }
const results = JSON.parse(readFileSync(join(process.cwd(), 'bench/results.json'), 'utf8')) as { operator?: { curve?: Record<string, Point>; growth?: number } };
const curve = Object.values(results.operator?.curve ?? {}).sort((a, b) => a.nodes - b.nodes);
if (curve.length < 2) throw new Error('bench/results.json has no operator curve: run BENCH_SCALE=full npm run bench first');

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const nice = (v: number): number => {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((k) => k * p).find((c) => c >= v) ?? 10 * p;
};
const label = (v: number): string => (v >= 1000 ? `${v / 1000}k` : String(Math.round(v * 100) / 100));

interface Panel { title: string; unit: string; value: (p: Point) => number; target?: number; color: string }
const panels: Panel[] = [
  { title: 'Cold converge', unit: 's', value: (p) => p.coldConvergeSeconds, target: 60, color: '#2563eb' },
  { title: 'Operator CPU per node, cold converge', unit: 'ms', value: (p) => (1000 * p.coldConvergeCpuSeconds) / p.nodes, color: '#9333ea' },
  { title: 'Change → RM p99', unit: 'ms', value: (p) => p.changeToRmP99Ms, target: 100, color: '#ea580c' },
  { title: 'Peak RSS', unit: 'MB', value: (p) => p.rssMB, target: 1200, color: '#16a34a' },
];

const W = 380;
const H = 220;
const m = { l: 46, r: 14, t: 26, b: 30 };
const xMax = nice(curve[curve.length - 1]!.nodes);
const x = (n: number): number => m.l + (n / xMax) * (W - m.l - m.r);

function panel(p: Panel): string {
  const values = curve.map(p.value);
  const yMax = nice(Math.max(...values, p.target ?? 0) * 1.1);
  const y = (v: number): number => H - m.b - (v / yMax) * (H - m.t - m.b);
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((k) => k * yMax);
  const grid = yTicks.map((v) => `<line x1="${m.l}" x2="${W - m.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e7eb"/>`
    + `<text x="${m.l - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="10" fill="#6b7280">${label(v)}</text>`).join('');
  const xticks = curve.map((c) => `<text x="${x(c.nodes).toFixed(1)}" y="${H - m.b + 14}" text-anchor="middle" font-size="10" fill="#6b7280">${label(c.nodes)}</text>`).join('')
    + `<text x="${W - m.r}" y="${H - 4}" text-anchor="end" font-size="10" fill="#6b7280">nodes (30 pods each)</text>`;
  const target = p.target === undefined ? ''
    : `<line x1="${m.l}" x2="${W - m.r}" y1="${y(p.target).toFixed(1)}" y2="${y(p.target).toFixed(1)}" stroke="#dc2626" stroke-dasharray="6 4"/>`
      + `<text x="${m.l + 4}" y="${(y(p.target) - 4).toFixed(1)}" font-size="10" fill="#dc2626">target ${label(p.target)}</text>`;
  const path = curve.map((c, i) => `${i ? 'L' : 'M'}${x(c.nodes).toFixed(1)},${y(p.value(c)).toFixed(1)}`).join('');
  // The last point's value sits left of it, inside the panel.
  const dots = curve.map((c, i) => `<circle cx="${x(c.nodes).toFixed(1)}" cy="${y(p.value(c)).toFixed(1)}" r="3" fill="${p.color}"/>`
    + `<text x="${(x(c.nodes) + (i === curve.length - 1 ? -5 : 5)).toFixed(1)}" y="${(y(p.value(c)) - 6).toFixed(1)}"${i === curve.length - 1 ? ' text-anchor="end"' : ''} font-size="10" fill="#374151">${label(p.value(c))}</text>`).join('');
  return `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(p.title)}">`
    + `<rect width="${W}" height="${H}" fill="#fff"/>`
    + `<text x="${m.l}" y="13" font-size="12" font-weight="600" fill="#111827">${esc(p.title)} <tspan fill="#6b7280" font-weight="400">(${esc(p.unit)})</tspan></text>`
    + `${grid}${xticks}${target}<path d="${path}" fill="none" stroke="${p.color}" stroke-width="2"/>${dots}</svg>`;
}

// Two by two, in one SVG (GitHub shows an SVG file as an image).
const cells = panels.map((p, i) => `<g transform="translate(${(i % 2) * (W + 12)},${Math.floor(i / 2) * (H + 12) + 24})">${panel(p)}</g>`).join('');
const growth = results.operator?.growth;
const title = `Loom operator cost curve${growth !== undefined ? ` — growth ${growth} (per-node cold-converge CPU, 20k ÷ 1k; 1 = linear)` : ''}`;
const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${2 * W + 12} ${2 * (H + 12) + 24}" width="${2 * W + 12}" height="${2 * (H + 12) + 24}" font-family="system-ui,-apple-system,Segoe UI,Roboto,sans-serif">`
  + `<rect width="100%" height="100%" fill="#fff"/><text x="4" y="16" font-size="13" font-weight="600" fill="#111827">${esc(title)}</text>${cells}</svg>\n`;
writeFileSync(join(process.cwd(), 'docs/operator-curve.svg'), svg);
process.stdout.write('wrote docs/operator-curve.svg\n');
