/// <reference lib="dom" />
/**
 * The embedded demo end to end: a short seeded run of both policies against the simulators with
 * the real operator and agents, its summary checked against the scenario, and its HTML report
 * rendered in headless Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runDemo, type DemoResult } from '../../demo/command.js';
import { liveContainerProcessCount } from '../../sim/node/index.js';
import { chromiumPath } from './chromium.js';
import { TABLE_LEGEND } from '../../demo/live-table.js';
import { burstText } from '../../demo/burst-text.js';
import { buildScenario } from '../../demo/scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-demo-test-'));
let result: DemoResult;
let printed = '';

beforeAll(async () => {
  const out = new Writable({ write(chunk, _enc, cb) { printed += String(chunk); cb(); } }) as unknown as NodeJS.WriteStream;
  result = await runDemo({ durationSec: 30, nodes: 4, seed: 7, speed: 2, reportPath: join(dir, 'loom-report.html'), policies: ['partitioned', 'shared'], out });
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loom demo', () => {
  it('counts double booking from t = 0: under partitioned only the NMs\' registered size before the first convergence, never with Loom\'s capacity', () => {
    const [partitioned, shared] = result.runs.map((r) => r.summary);
    expect(partitioned!.policy).toBe('partitioned');
    for (const r of result.runs) {
      const s = r.summary;
      // From t = 0: the first sample is taken at once, and it shows each NM at its registered size.
      expect(r.samples[0]!.t).toBeLessThan(0.5);
      for (const n of Object.values(r.samples[0]!.nodes)) {
        expect(n.yarnCapacity).toEqual({ cpu: s.nmRegistered.vcores * 1000, memory: s.nmRegistered.memoryMiB * 2 ** 20 });
      }
      // The total is the three parts, each shown.
      expect(s.doubleBookedCoreSeconds).toBeCloseTo(s.inForceCoreSeconds + s.beforeConvergenceCoreSeconds + s.driftExposureCoreSeconds + s.reactingCoreSeconds, 0);
      expect(s.doubleBookedGiBSeconds).toBeCloseTo(s.inForceGiBSeconds + s.beforeConvergenceGiBSeconds + s.driftExposureGiBSeconds + s.reactingGiBSeconds, 0);
    }
    // partitioned: nothing with Loom's capacity, nothing while the RM forgot (the NM returns to a size the claim covers),
    // and before the first convergence at most each NM's registered size for that long (plus one sample interval).
    expect(partitioned!.inForceCoreSeconds).toBe(0);
    expect(partitioned!.inForceGiBSeconds).toBe(0);
    expect(partitioned!.driftExposureCoreSeconds).toBe(0);
    expect(partitioned!.driftExposureGiBSeconds).toBe(0);
    const window = (partitioned!.convergenceSec ?? Infinity) + 0.6;
    expect(partitioned!.beforeConvergenceCoreSeconds).toBeLessThanOrEqual(4 * partitioned!.nmRegistered.vcores * window);
    expect(partitioned!.beforeConvergenceGiBSeconds).toBeLessThanOrEqual(4 * (partitioned!.nmRegistered.memoryMiB / 1024) * window);
    expect(shared!.inForceCoreSeconds + shared!.inForceGiBSeconds).toBeGreaterThan(0);
    expect(printed).toMatch(/converged after\s+[\d.]+ s/);
    expect(printed).toMatch(/double-booked since t = 0\s+[\d.]+ core·s, [\d.]+ GiB·s, of which/);
  });

  it('evicts on the burst node until it is back under the threshold, and says so', () => {
    for (const r of result.runs) {
      const b = r.summary.burst!;
      expect(b, r.summary.policy).not.toBeNull();
      const why = `${r.summary.policy}: ${JSON.stringify(b)}`;
      // The burst is sized from what YARN holds on the node when it begins; when apps were placed
      // late (a loaded machine) YARN may hold too little to take the node over: the summary says so.
      if (b.peakPercent < b.thresholdPercent) {
        expect(burstText(b), why).toContain('YARN held too little there');
        continue;
      }
      expect(b.evictions, why).toBeGreaterThanOrEqual(1);
      expect(b.evictions, why).toBeLessThanOrEqual(b.yarnContainersAtStart);
      if (r.summary.unsettledSamples === 0) {
        expect(b.nonYarnPeakPercent, why).toBeLessThan(b.thresholdPercent);
        expect(b.backUnderAfterSec, why).not.toBeNull();
        expect(b.highestAfterPercent, why).not.toBeNull();
      } else {
        console.log(`${why}: ${r.summary.unsettledSamples} samples the operator had not caught up with; back under the threshold not asserted`);
      }
    }
    if (result.runs.every((r) => r.summary.unsettledSamples === 0 && r.summary.burst!.peakPercent >= r.summary.burst!.thresholdPercent)) expect(printed).toMatch(/under the 70 % threshold again [\d.]+ s after the burst began/);
    expect(printed).toContain('Evictions differ between policies because YARN holds different containers');
  });

  it('plays the same scripted scenario under both policies', () => {
    const scripted = (r: DemoResult['runs'][number]) => r.events.filter((e) => e.kind !== 'eviction' && e.kind !== 'nm-repaired').map((e) => `${e.kind} ${e.node}`);
    expect(scripted(result.runs[0]!)).toEqual(scripted(result.runs[1]!));
    expect(scripted(result.runs[0]!).length).toBe(buildScenario({ durationSec: 30, nodes: 4, seed: 7 }).steps.length);
  });

  it('converges, repairs the NM restart and evicts on the spiked node without touching an AM', () => {
    for (const r of result.runs) {
      expect(r.summary.convergenceSec, r.summary.policy).not.toBeNull();
      expect(r.summary.nmRestartRepairedSec, r.summary.policy).not.toBeNull();
      expect(r.summary.spikeNodeEvictions, r.summary.policy).toBeGreaterThanOrEqual(1);
      expect(r.summary.amEvicted, r.summary.policy).toBe(false);
      expect(r.summary.evictionReasons.memory ?? 0).toBeGreaterThanOrEqual(1);
      expect(r.summary.rmResizeCalls).toBeGreaterThan(0);
      expect(r.summary.nodeWrites).toBeGreaterThan(0);
    }
  });

  it('prints the live table, the summary and the report path, and leaves nothing behind', () => {
    expect(printed).toMatch(/NODE\s+ORIGIN\s+K8S-REQ\s+YARN-CAP/);
    // Every column is explained, once per run.
    for (const line of TABLE_LEGEND) expect(printed.split(line).length - 1).toBe(2);
    for (const col of ['ORIGIN', 'K8S-REQ', 'YARN-CAP', 'YARN-USED', 'CLAIM', 'DOUBLE-BOOKED', 'MEM%', 'EVICT']) expect(TABLE_LEGEND.join(' ')).toContain(`${col} `);
    expect(printed).toContain('Summary');
    expect(printed).toContain(`Report: ${result.reportPath}`);
    expect(existsSync(result.reportPath)).toBe(true);
    expect(liveContainerProcessCount()).toBe(0);
    for (const r of result.runs) expect(existsSync(r.workDir), r.workDir).toBe(false);
  });

  const chromium = chromiumPath();
  if (!chromium.path) console.log(`skipped: report rendering test — ${chromium.reason}`);
  it.runIf(chromium.path !== undefined)('renders its report in headless Chromium: a drawn chart per node, no console errors', async () => {
    const { chromium: pw } = await import('playwright-core');
    const browser = await pw.launch({ executablePath: chromium.path!, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`file://${result.reportPath}`);
      const drawn = await page.evaluate(() => {
        const section = document.querySelector('section.run[data-policy="partitioned"]')!;
        return Array.from(section.querySelectorAll("div.node")).map((n) => ({
          node: n.getAttribute('data-node'),
          charts: n.querySelectorAll('svg.chart').length,
          paths: Array.from(n.querySelectorAll("svg.chart path.series")).filter((p) => (p.getAttribute('d') ?? '').split('L').length > 5).length,
          width: (n.querySelector('svg.chart') as SVGSVGElement).getBoundingClientRect().width,
        }));
      });
      expect(drawn.map((d) => d.node)).toEqual(['node-1', 'node-2', 'node-3', 'node-4']);
      for (const d of drawn) {
        expect(d.charts).toBe(3);
        expect(d.paths).toBeGreaterThanOrEqual(8);
        expect(d.width).toBeGreaterThan(100);
      }
      expect(await page.locator('svg#double-cpu path.series').count()).toBe(2);
      const charts = await page.evaluate(() => Array.from(document.querySelectorAll('svg.chart')).map((svg) => {
        const stroke = (el: Element) => ['stroke', 'stroke-width', 'stroke-dasharray', 'stroke-opacity'].map((a) => el.getAttribute(a) ?? '').join('|');
        const legend = Array.from(svg.querySelectorAll('g.legend-item')).map((g) => ({ name: g.getAttribute('data-series'), stroke: stroke(g.querySelector('line')!), bottom: g.getBoundingClientRect().bottom }));
        const series = Array.from(svg.querySelectorAll('path.series')).map((p) => ({ name: p.getAttribute('data-series'), stroke: stroke(p) }));
        const gridTop = Math.min(...Array.from(svg.querySelectorAll('text.ytick')).map((t) => t.getBoundingClientRect().top));
        return { id: svg.id, legend, series, gridTop, yticks: Array.from(svg.querySelectorAll('text.ytick')).map((t) => Number(t.textContent)), xticks: Array.from(svg.querySelectorAll('text.xtick')).map((t) => Number(t.textContent!.replace('s', ''))) };
      }));
      expect(charts.length).toBeGreaterThan(20);
      for (const c of charts) {
        // Every line drawn has a legend entry drawn the same way, and the legend sits above the plot.
        for (const sr of c.series) expect(c.legend.find((l) => l.name === sr.name)?.stroke, `${c.id} ${sr.name}`).toBe(sr.stroke);
        for (const l of c.legend) expect(l.bottom, `${c.id} legend ${l.name}`).toBeLessThan(c.gridTop);
        // Round ticks: 0, then one step of 1, 2, 2.5 or 5 × 10^k.
        for (const ticks of [c.yticks, c.xticks]) {
          expect(ticks[0]).toBe(0);
          const step = ticks[1]! - ticks[0]!;
          const mant = step / 10 ** Math.floor(Math.log10(step));
          expect([1, 2, 2.5, 5].some((m) => Math.abs(m - mant) < 1e-6), `${c.id} step ${step}`).toBe(true);
          ticks.forEach((t, i) => expect(t).toBeCloseTo(i * step, 6));
        }
      }
      // The claim is a band under the lines, so where YARN capacity runs on it the line keeps its own colour.
      const order = await page.evaluate(() => Array.from(document.querySelectorAll('svg#partitioned-node-1-cpu path.series')).map((p) => p.getAttribute('data-series')));
      expect(order[0]).toBe('claim');
      expect(await page.evaluate(() => document.body.innerText)).toContain('The same seed gives the same scenario');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
