/**
 * The image: scripts/build-image.sh builds the Dockerfile with Debian's buildah (chroot
 * isolation), from a local base image — no registry is reachable here — assembled from this
 * machine's own Node binary, npm and the shared libraries they need (ldd), so the build is the
 * real multi-stage build (npm ci, tsc, prune to production dependencies). Then, inside the image
 * (`buildah run --isolation chroot`), as its default non-root user: `loom --version`, and
 * `loom operator --once --dry-run` against a `loom sim` started here; each long-running program
 * gets its V8 flags; no dev dependency is in it; the OCI labels say what it is.
 * buildah is installed when missing; the test prints one reason and skips only if it cannot be.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { installDebianPackage } from '../debian-package.js';
import { RUNTIME_FLAGS } from '../../settings/runtime-flags.js';

const repo = join(import.meta.dirname, '..', '..');
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;

function haveBuildah(): string | undefined {
  if (process.platform !== 'linux') return `buildah runs on Linux only (this is ${process.platform})`;
  if (spawnSync('buildah', ['--version']).status === 0) return undefined;
  return installDebianPackage('buildah');
}
/** overlay when a probe mount works in this directory's filesystem, else vfs. */
function storageDriver(dir: string): 'overlay' | 'vfs' {
  const probe = mkdtempSync(join(dir, 'probe-'));
  for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(probe, d));
  const ok = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${probe}/lower,upperdir=${probe}/upper,workdir=${probe}/work`, join(probe, 'merged')]).status === 0;
  if (ok) spawnSync('umount', [join(probe, 'merged')]);
  rmSync(probe, { recursive: true, force: true });
  return ok ? 'overlay' : 'vfs';
}

const missing = haveBuildah();
if (missing) console.log(`skipped (image): ${missing}`);

describe.skipIf(missing !== undefined)('the image', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-image-'));
  // Storage of its own: overlay where the kernel allows it here, else vfs (any filesystem, slower: full copies).
  const global = ['--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), '--storage-driver', storageDriver(dir)];
  const IMAGE = `localhost/loom:${version}-test`;
  const BASE = 'localhost/loom-test-node:20';
  let container = '';
  let sim: ChildProcess | undefined;
  let buildSeconds = 0;

  const buildah = (args: string[], opts: { input?: string } = {}) => {
    const r = spawnSync('buildah', [...global, ...args], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20, ...(opts.input ? { input: opts.input } : {}) });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  /** Runs a command in the image's working container (as the image's user unless given). */
  const inImage = (cmd: string[], extra: string[] = []) => buildah(['run', '--isolation', 'chroot', ...extra, container, '--', ...cmd]);

  /** A base image from this machine's node, npm, sh and env with their shared libraries. */
  function assembleBase(): void {
    const ctx = join(dir, 'base');
    const rootfs = join(ctx, 'rootfs');
    const put = (from: string, to = from) => {
      mkdirSync(dirname(join(rootfs, to)), { recursive: true });
      copyFileSync(realpathSync(from), join(rootfs, to));
      chmodSync(join(rootfs, to), 0o755);
    };
    const node = realpathSync(process.execPath);
    const binaries: [string, string][] = [[node, '/usr/local/bin/node'], ['/bin/dash', '/bin/sh'], ['/usr/bin/env', '/usr/bin/env']];
    for (const [from, to] of binaries) {
      put(from, to);
      for (const m of execFileSync('ldd', [from], { encoding: 'utf8' }).matchAll(/(\/\S+\.so[.\d]*)/g)) put(m[1]!);
    }
    const npm = join(dirname(node), '..', 'lib', 'node_modules', 'npm');
    cpSync(npm, join(rootfs, 'usr/local/lib/node_modules/npm'), { recursive: true, dereference: true });
    for (const [bin, cli] of [['npm', 'npm-cli.js'], ['npx', 'npx-cli.js']]) {
      writeFileSync(join(rootfs, 'usr/local/bin', bin!), `#!/bin/sh\nexec node /usr/local/lib/node_modules/npm/bin/${cli} "$@"\n`, { mode: 0o755 });
    }
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532:nonroot:/home/nonroot:/bin/sh\n');
    writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nnonroot:x:65532:\n');
    for (const d of ['tmp', 'root', 'home/nonroot']) mkdirSync(join(rootfs, d), { recursive: true });
    chmodSync(join(rootfs, 'tmp'), 0o1777);
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/bin:/usr/bin:/bin HOME=/root\n');
    const r = buildah(['bud', '--isolation', 'chroot', '-t', BASE, ctx]);
    if (r.code !== 0) throw new Error(`base image: ${r.stderr.slice(-2000)}`);
  }

  beforeAll(async () => {
    assembleBase();
    const started = Date.now();
    // The real script, as a user runs it; the npm cache of this machine spares the downloads.
    const cache = join(homedir(), '.npm');
    const r = spawnSync(join(repo, 'scripts', 'build-image.sh'), [IMAGE], {
      cwd: repo, encoding: 'utf8', maxBuffer: 64 * 2 ** 20,
      env: { ...process.env, NODE_IMAGE: BASE, BUILDAH_GLOBAL: global.join(' '), BUILDAH_ARGS: existsSync(cache) ? `--volume ${cache}:/root/.npm` : '' },
    });
    buildSeconds = (Date.now() - started) / 1000;
    if (r.status !== 0) throw new Error(`scripts/build-image.sh failed:\n${(r.stdout + r.stderr).slice(-4000)}`);
    console.log(`image built in ${buildSeconds.toFixed(1)} s (storage driver ${global[global.length - 1]})`);
    const from = buildah(['from', '--pull-never', IMAGE]);
    if (from.code !== 0) throw new Error(from.stderr);
    container = from.stdout.trim();
  }, 600_000);

  afterAll(async () => {
    if (sim && sim.exitCode === null) {
      sim.kill('SIGTERM');
      await new Promise((r) => sim!.once('exit', r));
    }
    if (container) buildah(['rm', container]);
    buildah(['rmi', '--all', '--force']);
    // The overlay driver leaves its own mounts under the storage root: unmount them (deepest first).
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(`${dir}/`));
    for (const m of mounts.sort().reverse()) spawnSync('umount', [m]);
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      console.log(`image test cleanup: could not remove ${dir}: ${(err as Error).message}`);
    }
  }, 120_000);

  test('loom --version inside the image prints the package version, as the non-root user', () => {
    const r = inImage(['loom', '--version']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(version);
    expect(inImage(['node', '-e', 'console.log(process.getuid())']).stdout.trim()).toBe('65532');
  });

  test('loom operator --once --dry-run inside the image against loom sim', async () => {
    const simDir = join(dir, 'sim');
    mkdirSync(simDir);
    sim = spawn(process.execPath, [join(repo, 'dist', 'cli', 'main.js'), 'sim', '--nodes', '2', '--dir', simDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const line = await new Promise<{ kubeconfig: string; hadoopConfDir: string }>((resolve, reject) => {
      createInterface({ input: sim!.stdout! }).once('line', (l) => resolve(JSON.parse(l) as { kubeconfig: string; hadoopConfDir: string }));
      sim!.once('exit', (code) => reject(new Error(`loom sim exited ${code}`)));
    });
    // The image runs as uid 65532: let it read the simulator's kubeconfig and Hadoop configuration.
    execFileSync('chmod', ['-R', 'a+rX', simDir]);
    const r = inImage(['loom', 'operator', '--once', '--dry-run', '--kubeconfig', line.kubeconfig, '--hadoop-conf-dir', line.hadoopConfDir], ['--volume', `${simDir}:${simDir}:ro`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const done = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'one reconcile done');
    expect(done).toMatchObject({ nodes: 2, problems: 0, dryRun: true });
  }, 60_000);

  test('each long-running program gets its V8 flags from the entrypoint (NODE_OPTIONS given later wins)', () => {
    // A probe named `node` first on PATH shows what the entrypoint hands to Node.
    const probe = "require('fs').mkdirSync('/tmp/probe',{recursive:true});require('fs').writeFileSync('/tmp/probe/node','#!/bin/sh\\necho \"$NODE_OPTIONS\"\\n',{mode:0o755})";
    expect(inImage(['node', '-e', probe]).code).toBe(0);
    const optionsFor = (program: string, env: string[] = []) =>
      inImage(['env', 'PATH=/tmp/probe:/usr/local/bin:/usr/bin:/bin', ...env, 'loom', program]).stdout.trim();
    expect(optionsFor('operator')).toBe(RUNTIME_FLAGS.operator.join(' '));
    expect(optionsFor('agent')).toBe(RUNTIME_FLAGS.agent.join(' '));
    expect(optionsFor('status')).toBe('');
    expect(optionsFor('operator', ['NODE_OPTIONS=--max-old-space-size=640'])).toBe(`${RUNTIME_FLAGS.operator.join(' ')} --max-old-space-size=640`);
  });

  test('the runtime stage holds the compiled program and production dependencies only', () => {
    const paths = ['/opt/loom/dist/cli/main.js', '/opt/loom/node_modules/prom-client',
      ...['typescript', 'vitest', 'tsx', '@aws-cdk/lambda-layer-kubectl-v33', 'kubernetes-models'].map((d) => `/opt/loom/node_modules/${d}`),
      '/opt/loom/operator', '/opt/loom/test', '/src', '/tools'];
    const r = inImage(['node', '-e', `console.log(JSON.stringify(${JSON.stringify(paths)}.filter((p) => require('fs').existsSync(p))))`]);
    expect(JSON.parse(r.stdout)).toEqual(['/opt/loom/dist/cli/main.js', '/opt/loom/node_modules/prom-client']);
  });

  test('image config: OCI labels, non-root user, loom as the entrypoint', () => {
    const info = JSON.parse(buildah(['inspect', '--type', 'image', IMAGE]).stdout) as { OCIv1: { config: { User: string; Entrypoint: string[]; Labels: Record<string, string> } } };
    const c = info.OCIv1.config;
    expect(c.User).toBe('65532:65532');
    expect(c.Entrypoint).toEqual(['loom']);
    expect(c.Labels).toMatchObject({ 'org.opencontainers.image.title': 'loom', 'org.opencontainers.image.version': version, 'org.opencontainers.image.licenses': 'Apache-2.0' });
    expect(c.Labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}$|^unknown$/);
  });
});
