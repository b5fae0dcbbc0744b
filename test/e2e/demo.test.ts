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

const dir = mkdtempSync(join(tmpdir(), 'loom-demo-test-'));
let result: DemoResult;
let printed = '';

beforeAll(async () => {
  const out = new Writable({ write(chunk, _enc, cb) { printed += String(chunk); cb(); } }) as unknown as NodeJS.WriteStream;
  result = await runDemo({ durationSec: 24, nodes: 4, seed: 7, speed: 3, reportPath: join(dir, 'loom-report.html'), policies: ['partitioned', 'shared'], out });
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loom demo', () => {
  it('never books a unit twice under partitioned, and does under shared', () => {
    const [partitioned, shared] = result.runs.map((r) => r.summary);
    expect(partitioned!.policy).toBe('partitioned');
    expect(partitioned!.doubleBookedCoreSeconds).toBe(0);
    expect(partitioned!.doubleBookedGiBSeconds).toBe(0);
    expect(shared!.doubleBookedCoreSeconds + shared!.doubleBookedGiBSeconds).toBeGreaterThan(0);
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
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
