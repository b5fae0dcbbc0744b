/**
 * docs/operations.md is true to the code, as docs/configuration.md is: every metric in the live
 * registries, every Event reason Loom can post and every environment variable the code reads is
 * documented there, and nothing is documented that the code does not have. The docs and README
 * stand alone: no design document, issue or session is cited.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OperatorMetrics } from '../../operator/metrics.js';
import { AgentMetrics } from '../../agent/metrics.js';
import { EVENT_REASONS } from '../../kube/events.js';
import { commandSettingSpecs } from '../../cli/command-settings.js';
import { envOf, flagOf } from '../../settings/settings.js';

const root = new URL('../..', import.meta.url).pathname;
const doc = readFileSync(join(root, 'docs/operations.md'), 'utf8');

/** A documentation section: from its heading to the next heading of the same or a higher level. */
function section(text: string, heading: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^#+ /.test(l) && l.replace(/^#+ /, '') === heading);
  expect(start, `docs/operations.md has a "${heading}" section`).toBeGreaterThanOrEqual(0);
  const level = lines[start]!.match(/^#+/)![0].length;
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && l.match(/^#+/)![0].length <= level);
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** Names in backticks at the start of table rows: `| \`name{labels}\` | … |`, several per cell allowed. */
function tableNames(text: string, pattern: RegExp): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| ---')) continue;
    const first = line.split('|')[1] ?? '';
    for (const m of first.matchAll(/`([^`]+)`/g)) if (pattern.test(m[1]!)) out.push(m[1]!.replace(/\{.*$/, ''));
  }
  return out;
}

async function registryNames(): Promise<string[]> {
  const op = new OperatorMetrics(true);
  const agent = new AgentMetrics('node-1');
  const all = [...(await op.registry.getMetricsAsJSON()), ...(await agent.registry.getMetricsAsJSON())];
  return all.map((m) => m.name);
}

/** Program folders: everything Loom ships, not its tests or benchmarks. */
const PROGRAM_DIRS = ['agent', 'cgroup', 'cli', 'clock', 'demo', 'input', 'kube', 'log', 'metrics', 'operator', 'settings', 'sim', 'yarn'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/**
 * Variables the program reads by name: `process.env.X`, `env.X`, `env['X']` — not an assignment,
 * not a comment. Settings' LOOM_* come from their declarations.
 */
function envReads(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of PROGRAM_DIRS.flatMap((d) => sources(join(root, d)))) {
    // Comments quote Hadoop's `${env.X}` syntax; they read nothing.
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/[^\n]*/g, '$1');
    for (const m of text.matchAll(/(?<![$\w])env(?:\.([A-Z][A-Z0-9_]*)\b|\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\])(?!\s*=[^=])/g)) {
      const name = m[1] ?? m[2]!;
      found.set(name, [...(found.get(name) ?? []), relative(root, file)]);
    }
  }
  return found;
}

/** Read by the test runner's plumbing, not something a user sets. */
const NOT_FOR_USERS = new Set(['VITEST']);

describe('docs/operations.md', () => {
  it('documents every metric of the live registries, and only those', async () => {
    const names = await registryNames();
    const text = section(doc, 'Metrics');
    const documented = tableNames(text, /^loom_/);
    const prefixes = documented.filter((n) => n.endsWith('_*')).map((n) => n.slice(0, -1));
    const exact = new Set(documented.filter((n) => !n.endsWith('_*')));
    const missing = names.filter((n) => !exact.has(n) && !prefixes.some((p) => n.startsWith(p)));
    expect(missing, 'metrics the code registers but docs/operations.md does not list').toEqual([]);
    const stale = [...exact].filter((n) => !names.includes(n));
    expect(stale, 'metrics docs/operations.md lists but no registry has').toEqual([]);
    for (const p of prefixes) expect(names.some((n) => n.startsWith(p)), `${p}* matches a metric`).toBe(true);
  });

  it('documents every Event reason Loom can post, with its type, and only those', () => {
    const text = section(doc, 'Events');
    const documented = tableNames(text, /^[A-Z][A-Za-z]+$/);
    expect([...documented].sort()).toEqual(Object.keys(EVENT_REASONS).sort());
    for (const [reason, { type }] of Object.entries(EVENT_REASONS)) {
      const row = text.split('\n').find((l) => l.startsWith(`| \`${reason}\``))!;
      expect(row, reason).toContain(type);
    }
  });

  it('documents every environment variable the code reads, and only those', () => {
    const reads = envReads();
    const text = section(doc, 'Environment');
    const documented = new Set(tableNames(text, /^[A-Z][A-Z0-9_]+$/));
    const settingVars = new Set(Object.values(commandSettingSpecs).flatMap((specs) => specs.map((s) => envOf(s.key))));
    const missing = [...reads.keys()].filter((n) => !NOT_FOR_USERS.has(n) && !documented.has(n) && !settingVars.has(n));
    expect(missing.map((n) => `${n} (read in ${reads.get(n)!.join(', ')})`), 'variables read but not documented').toEqual([]);
    // Setting variables the code also reads directly (before the settings exist) are listed too.
    for (const n of reads.keys()) if (settingVars.has(n)) expect(documented.has(n), `${n} is read directly: list it`).toBe(true);
    const stale = [...documented].filter((n) => !reads.has(n) && !settingVars.has(n));
    expect(stale, 'variables documented that nothing reads').toEqual([]);
  });

  it('explains how to run the agent against the simulator, where the README sends readers', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const pointer = /\[([^\]]+)\]\(docs\/operations\.md#([a-z0-9-]+)\)/.exec(readme.slice(readme.indexOf('loom agent')));
    expect(pointer, 'the README links the agent-against-the-simulator section by anchor').not.toBeNull();
    const anchors = doc.split('\n').filter((l) => /^#+ /.test(l)).map((l) => l.replace(/^#+ /, '').toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-'));
    expect(anchors).toContain(pointer![2]);
    const heading = doc.split('\n').find((l) => /^#+ /.test(l) && l.replace(/^#+ /, '').toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-') === pointer![2])!;
    const howTo = section(doc, heading.replace(/^#+ /, ''));
    // Real instructions: start the simulator, then an agent with every flag it needs for one node.
    expect(howTo).toMatch(/loom sim/);
    for (const flag of ['--node-name', '--nm-url', '--cgroup-root', '--proc-root', '--yarn-cgroup-path', '--simulated-cgroups', '--socket', '--metrics-addr']) {
      expect(howTo, flag).toContain(flag);
    }
    // Every flag the instructions give `loom agent` is one it has.
    const command = /loom agent((?:[^\n]*\\\n)*[^\n]*)/.exec(howTo)![1]!;
    const known = new Set(['--config', ...commandSettingSpecs.agent.flatMap((s) => [flagOf(s.key), `--no-${flagOf(s.key).slice(2)}`])]);
    const used = [...command.matchAll(/(?<=\s)--[a-z][a-z-]*/g)].map((m) => m[0]);
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((f) => !known.has(f))).toEqual([]);
  });
});

describe('the docs stand alone', () => {
  const files = ['README.md', ...readdirSync(join(root, 'docs')).filter((n) => n.endsWith('.md')).map((n) => `docs/${n}`)];
  it.each(files)('%s cites no design document, issue, session or shared reference', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const citations = [
      /design document/i, /\bissue[s]? #?\d+/i, /\bsession\b/i, /\.\.\/shared\b/, /shared\/(reference|design)/, /reference\/[a-z-]+\.md/,
    ].flatMap((re) => text.split('\n').filter((l) => re.test(l)).map((l) => `${re}: ${l.trim()}`));
    expect(citations).toEqual([]);
  });
});
