/**
 * The dashboard and the alerts the chart ships use only metrics Loom exports: every metric name
 * in the Grafana dashboard's queries and in the PrometheusRule's expressions is one that a live
 * `loom operator` and a live `loom agent` (real processes against `loom sim`) declare on /metrics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeTools } from '../kube-tools.js';
import { chartDir, find, objectsOf, repoRoot, templateText } from './render.js';

const tools = kubeTools();
if (typeof tools === 'string') console.log(`skipped (dashboard and alert metrics): ${tools}`);

const CLI = [join(repoRoot, 'dist', 'cli', 'main.js')];
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/** Metric names a PromQL expression (or a Grafana query) reads. */
export function metricNames(expr: string): string[] {
  const names: string[] = [];
  let e = expr.replace(/label_values\(\s*([a-zA-Z_:][\w:]*)\s*,\s*\w+\s*\)/g, (_, m: string) => { names.push(m); return ' '; });
  e = e
    .replace(/"(?:[^"\\]|\\.)*"/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ');
  for (const m of e.matchAll(/(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) if (!KEYWORDS.has(m[1]!.toLowerCase())) names.push(m[1]!);
  return names;
}

/** Sample names a /metrics text declares (# TYPE), with the series suffixes of histograms and summaries. */
function exported(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    out.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) out.add(name + s);
  }
  return out;
}

function start(args: string[], children: ChildProcess[]): { proc: ChildProcess; lines: AsyncIterator<string> } {
  const proc = spawn(process.execPath, [...CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOOM_LOG_LEVEL: 'info' } });
  children.push(proc);
  return { proc, lines: createInterface({ input: proc.stdout! })[Symbol.asyncIterator]() };
}

/** The first JSON log line with this msg (the programs announce their metrics URL in it). */
async function logLine(lines: AsyncIterator<string>, msg: string): Promise<Record<string, unknown>> {
  for (;;) {
    const { value, done } = await lines.next();
    if (done) throw new Error(`the program ended before logging "${msg}"`);
    try {
      const l = JSON.parse(value) as Record<string, unknown>;
      if (l.msg === msg) return l;
    } catch { /* not a JSON line */ }
  }
}

describe.skipIf(typeof tools === 'string')('dashboard and alerts use exported metrics only', () => {
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'loom-metric-names-'));
  let names: Set<string>;

  beforeAll(async () => {
    const sim = start(['sim', '--nodes', '1'], children);
    const info = JSON.parse((await sim.lines.next()).value as string) as { kubeconfig: string; hadoopConfDir: string; nodes: { name: string; nodeManager: string; cgroupRoot: string; procRoot: string; yarnCgroupPath: string }[] };
    const n = info.nodes[0]!;
    const operator = start(['operator', '--kubeconfig', info.kubeconfig, '--hadoop-conf-dir', info.hadoopConfDir, '--metrics-addr', '127.0.0.1:0', '--lease-namespace', 'loom-system'], children);
    const agent = start(['agent', '--node-name', n.name, '--nm-url', n.nodeManager, '--cgroup-root', n.cgroupRoot, '--proc-root', n.procRoot,
      '--simulated-cgroups', '--yarn-cgroup-path', n.yarnCgroupPath, '--socket', join(dir, 'agent.sock'), '--metrics-addr', '127.0.0.1:0', '--dry-run'], children);
    const urls = [(await logLine(operator.lines, 'operator running')).metrics, (await logLine(agent.lines, 'node agent running')).metrics] as string[];
    names = new Set();
    for (const url of urls) for (const name of exported(await (await fetch(`${url}/metrics`)).text())) names.add(name);
  }, 60_000);

  afterAll(async () => {
    for (const c of children.reverse()) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGTERM');
        await new Promise((r) => c.once('exit', r));
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const rendered = () => objectsOf(templateText((tools as { helm: string }).helm, ['-f', join(chartDir, 'ci', 'all-on-values.yaml')]));

  it('the extraction finds what PromQL reads', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (le, cluster) (rate(loom_rm_request_duration_seconds_bucket{x="a b"}[5m]))) > 0.5 and on (node) up'))
      .toEqual(['loom_rm_request_duration_seconds_bucket', 'up']);
    expect(metricNames('sum(loom_leader) < 1 or absent(loom_leader)')).toEqual(['loom_leader', 'loom_leader']);
    expect(metricNames('label_values(loom_node_batch, node)')).toEqual(['loom_node_batch']);
  });

  it('every alert expression reads only exported metrics', () => {
    const rule = find(rendered(), 'PrometheusRule', 'loom').spec as { groups: { rules: { alert: string; expr: string }[] }[] };
    const alerts = rule.groups.flatMap((g) => g.rules);
    expect(alerts.length).toBeGreaterThanOrEqual(10);
    for (const a of alerts) {
      const used = metricNames(a.expr);
      expect(used.length, a.alert).toBeGreaterThan(0);
      expect(used.filter((m) => !names.has(m)), `${a.alert}: ${a.expr}`).toEqual([]);
    }
  });

  it('every dashboard query reads only exported metrics', () => {
    const cm = find(rendered(), 'ConfigMap', 'loom-dashboard').data as Record<string, string>;
    const dash = JSON.parse(cm['loom.json']!) as { panels: { type: string; title: string; targets?: { expr: string }[] }[]; templating: { list: { name: string; query?: unknown }[] } };
    const panels = dash.panels.filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThanOrEqual(10);
    for (const p of panels) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) {
        const used = metricNames(t.expr);
        expect(used.length, `${p.title}: ${t.expr}`).toBeGreaterThan(0);
        expect(used.filter((m) => !names.has(m)), `${p.title}: ${t.expr}`).toEqual([]);
      }
    }
    for (const v of dash.templating.list.filter((x) => x.query !== undefined && typeof x.query === 'object')) {
      const q = (v.query as { query: string }).query;
      expect(metricNames(q).filter((m) => !names.has(m)), `variable ${v.name}: ${q}`).toEqual([]);
    }
  });
});
