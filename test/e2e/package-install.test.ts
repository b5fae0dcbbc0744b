/**
 * The production install a platform team (and the image) does: `npm pack` the repository, then
 * `npm install --omit=dev <tarball>` in an empty directory — no TypeScript, no dev dependencies —
 * and the installed `loom` runs: `--version` prints the package version, and the installed
 * `loom sim` and `loom operator --once --dry-run` work together.
 *
 * The tarball is packed with `--ignore-scripts`: `npm pack` would otherwise run `prepare` (a full
 * `tsc` build) and rewrite dist/ under the other test files that run it; `npm ci` built it already.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const repo = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, env: { ...process.env, LOOM_LOG_LEVEL: 'info' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm pack → npm install --omit=dev → loom runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-pack-'));
  const app = join(dir, 'app');
  let tarball: string;
  let loom: string;
  let sim: ChildProcess | undefined;

  beforeAll(() => {
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: repo, encoding: 'utf8' });
    const packed = (JSON.parse(out) as { filename: string; files: { path: string }[] }[])[0]!;
    tarball = join(dir, packed.filename);
    writeFileSync(join(dir, 'files.json'), JSON.stringify(packed.files.map((f) => f.path)));
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), '{"name":"loom-install-check","private":true}\n');
    // An empty directory with no .npmrc: nothing of the repository's set-up helps this install.
    execFileSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: app, stdio: 'pipe', timeout: 170_000 });
    loom = join(app, 'node_modules', '.bin', 'loom');
  }, 180_000);

  afterAll(async () => {
    if (sim && sim.exitCode === null) {
      sim.kill('SIGTERM');
      await new Promise((r) => sim!.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('the tarball ships the compiled program and no sources, tests or dev tooling', () => {
    const files = JSON.parse(readFileSync(join(dir, 'files.json'), 'utf8')) as string[];
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('package.json');
    expect(files.filter((f) => /^(test|bench|scripts)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);
  });

  test('only production dependencies are installed', () => {
    for (const dep of Object.keys(pkg.dependencies)) expect(existsSync(join(app, 'node_modules', dep, 'package.json')), dep).toBe(true);
    // A dev dependency may be there only when a production dependency needs it too (@types/node is one of @kubernetes/client-node's).
    const prodTree = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: repo, encoding: 'utf8' });
    const neededByProd = (dep: string) => prodTree.includes(`/node_modules/${dep}\n`);
    for (const dep of Object.keys(pkg.devDependencies).filter((d) => !neededByProd(d))) expect(existsSync(join(app, 'node_modules', dep)), dep).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'typescript'))).toBe(false);
  });

  test('npm ci --omit=dev over a built tree (the image\'s runtime step) keeps the prebuilt dist/ instead of calling tsc', () => {
    const tree = join(dir, 'tree');
    execFileSync('mkdir', ['-p', join(tree, 'scripts')]);
    for (const f of ['package.json', 'package-lock.json', '.npmrc', 'scripts/prepare.mjs', 'scripts/link-bin.mjs']) execFileSync('cp', [join(repo, f), join(tree, f)]);
    execFileSync('cp', ['-r', join(repo, 'dist'), join(tree, 'dist')]);
    const out = execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'], { cwd: tree, encoding: 'utf8', timeout: 170_000 });
    expect(out).toMatch(/TypeScript is not installed \(production install\); using the prebuilt dist\//);
    expect(execFileSync(process.execPath, [join(tree, 'dist', 'cli', 'main.js'), '--version'], { encoding: 'utf8' }).trim()).toBe(pkg.version);
  }, 180_000);

  test('loom --version prints the package version', async () => {
    const r = await run(loom, ['--version'], app);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  test('the installed loom sim and loom operator --once --dry-run work together', async () => {
    sim = spawn(loom, ['sim', '--nodes', '2'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    const line = await new Promise<{ kubeconfig: string; hadoopConfDir: string }>((resolve, reject) => {
      createInterface({ input: sim!.stdout! }).once('line', (l) => resolve(JSON.parse(l) as { kubeconfig: string; hadoopConfDir: string }));
      sim!.once('exit', (code) => reject(new Error(`loom sim exited ${code}`)));
    });
    const r = await run(loom, ['operator', '--once', '--dry-run', '--kubeconfig', line.kubeconfig, '--hadoop-conf-dir', line.hadoopConfDir], app);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const done = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'one reconcile done');
    expect(done).toMatchObject({ nodes: 2, problems: 0, dryRun: true });
    sim.kill('SIGTERM');
    expect(await new Promise((r) => sim!.once('exit', (code) => r(code)))).toBe(0);
  }, 60_000);
});
