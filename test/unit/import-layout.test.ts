/** Imports point down: no cycles among the operator's, kube's and the YARN simulator's files, and none of them imports cli/. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;

function graph(dirs: string[]): Map<string, string[]> {
  const g = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) {
        const text = readFileSync(join(root, p), 'utf8');
        const deps = [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/g)].map((m) => relative(root, resolve(root, dirname(p), m[1]!.replace(/\.js$/, '.ts'))));
        g.set(p, deps);
      }
    }
  };
  for (const d of dirs) walk(d);
  return g;
}

function cycles(g: Map<string, string[]>): string[][] {
  const out: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string) => {
    state.set(n, 'open');
    stack.push(n);
    for (const d of g.get(n) ?? []) {
      if (!g.has(d)) continue;
      if (state.get(d) === 'open') out.push([...stack.slice(stack.indexOf(d)), d]);
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of g.keys()) if (!state.has(n)) visit(n);
  return out;
}

describe('import layout', () => {
  const g = graph(['operator', 'kube', 'sim/yarn', 'clock', 'settings', 'log', 'metrics']);

  it('has no import cycle (type-only imports included)', () => {
    expect(cycles(g)).toEqual([]);
  });

  it('no program part imports cli/', () => {
    const up = [...g].flatMap(([file, deps]) => deps.filter((d) => d.startsWith('cli/')).map((d) => `${file} → ${d}`));
    expect(up).toEqual([]);
  });
});
