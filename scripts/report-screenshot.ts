/**
 * Refreshes docs/report.png: runs `loom demo` with its defaults (seed 42, 60 s, 4 nodes), opens
 * the report in headless Chromium (1600×1300) and saves a screenshot of its top. Run by hand
 * (`node --import tsx scripts/report-screenshot.ts`) when the report changes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { chromium } from 'playwright-core';
import { runDemo } from '../demo/command.js';
import { chromiumPath } from '../test/e2e/chromium.js';

const browserPath = chromiumPath();
if (!browserPath.path) throw new Error(`no Chromium: ${browserPath.reason}`);
const dir = mkdtempSync(join(tmpdir(), 'loom-report-shot-'));
try {
  const sink = new Writable({ write(_c, _e, cb) { cb(); } }) as unknown as NodeJS.WriteStream;
  const { reportPath } = await runDemo({ durationSec: 60, nodes: 4, seed: 42, speed: 4, reportPath: join(dir, 'loom-report.html'), policies: ['partitioned', 'shared'], out: sink });
  const browser = await chromium.launch({ executablePath: browserPath.path, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1300 } });
    await page.goto(`file://${reportPath}`);
    await page.screenshot({ path: join(process.cwd(), 'docs', 'report.png') });
  } finally {
    await browser.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
