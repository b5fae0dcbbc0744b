/**
 * The image: scripts/build-image.sh builds the Dockerfile with Debian's buildah (chroot
 * isolation), from a local base image — no registry is reachable here — that stands in for the
 * official node:20-bookworm-slim: Debian bookworm bootstrapped from Debian's mirror (mmdebstrap,
 * with apt and dpkg, so the Dockerfile's own apt-get steps run for real) plus this machine's own
 * Node 20 binary, npm and Node's headers where the official image has them (/usr/local). So the
 * build is the real multi-stage build: apt-get of the compiler and libkrb5-dev, npm ci, the
 * optional `kerberos` module compiled against MIT Kerberos, tsc; the runtime stage apt-gets the
 * GSS-API runtime library only. Then, inside the image (`buildah run --isolation chroot`), as its
 * default non-root user: `loom --version`; the kerberos module loads; `loom operator --once
 * --dry-run` against a `loom sim` started here, and again with a keytab against a kerberized
 * simulated YARN and a real MIT KDC on loopback (SPNEGO from inside the image); each long-running
 * program gets its V8 flags; no dev dependency and no compiler is in it; the OCI labels say what it is.
 * buildah and mmdebstrap are installed when missing; the test prints one reason and skips only if
 * they cannot be, or Debian's mirror cannot be reached.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { installDebianPackage } from '../debian-package.js';
import { RUNTIME_ENV, RUNTIME_FLAGS } from '../../settings/runtime-flags.js';
import { SimWorld } from '../../sim/world.js';
import { SpnegoFilter } from '../../sim/yarn/index.js';
import { REALM, TestKdc, kerberosAvailable, kerberosBinding } from '../kdc.js';

const repo = join(import.meta.dirname, '..', '..');
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;

/** Debian's mirror and the release the local base is bootstrapped from (that of node:20-bookworm-slim). */
const DEBIAN_MIRROR = 'http://deb.debian.org/debian';
const DEBIAN_SUITE = 'bookworm';

function haveTools(): string | undefined {
  if (process.platform !== 'linux') return `buildah runs on Linux only (this is ${process.platform})`;
  const want = ['buildah', 'mmdebstrap'].filter((t) => spawnSync(t, ['--version']).status !== 0);
  return want.length ? installDebianPackage(want) : undefined;
}
/** The base is bootstrapped from Debian's mirror, and the Dockerfile's apt-get steps need it too. */
async function mirrorReachable(): Promise<string | undefined> {
  try {
    const r = await fetch(`${DEBIAN_MIRROR}/dists/${DEBIAN_SUITE}/Release`, { method: 'HEAD', signal: AbortSignal.timeout(15_000) });
    return r.ok ? undefined : `Debian's mirror ${DEBIAN_MIRROR} answered ${r.status}`;
  } catch (err) {
    return `Debian's mirror ${DEBIAN_MIRROR} is unreachable (${(err as Error).message})`;
  }
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

const missing = haveTools() ?? (process.platform === 'linux' ? await mirrorReachable() : undefined);
if (missing) console.log(`skipped (image): ${missing}`);
// The Kerberos end-to-end inside the image needs a real KDC here (and the module in this process, for the simulated RM's acceptor).
const noKdc = missing ? missing : kerberosAvailable();
if (!missing && noKdc) console.log(`skipped (image, Kerberos end to end): ${noKdc}`);

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
  /** The same without blocking this process (for servers that run in it: the simulators, the KDC's acceptor). */
  const inImageAsync = (cmd: string[], extra: string[] = []) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn('buildah', [...global, 'run', '--isolation', 'chroot', ...extra, container, '--', ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += String(c); });
    child.stderr.on('data', (c) => { stderr += String(c); });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });

  /**
   * A stand-in for node:20-bookworm-slim: Debian bookworm from Debian's mirror (apt and dpkg
   * included, documentation left out as the slim images do), and this machine's Node 20 — its
   * binary, npm and headers — at the official image's paths under /usr/local.
   */
  function assembleBase(): void {
    const ctx = join(dir, 'base');
    const node = realpathSync(process.execPath);
    const prefix = join(ctx, 'node', 'usr', 'local');
    mkdirSync(join(prefix, 'bin'), { recursive: true });
    copyFileSync(node, join(prefix, 'bin', 'node'));
    chmodSync(join(prefix, 'bin', 'node'), 0o755);
    const nodeRoot = join(dirname(node), '..');
    cpSync(join(nodeRoot, 'lib', 'node_modules', 'npm'), join(prefix, 'lib', 'node_modules', 'npm'), { recursive: true, dereference: true });
    // node-gyp compiles native modules against these (the official image ships them too).
    cpSync(join(nodeRoot, 'include', 'node'), join(prefix, 'include', 'node'), { recursive: true, dereference: true });
    for (const [bin, cli] of [['npm', 'npm-cli.js'], ['npx', 'npx-cli.js']] as const) symlinkSync(`../lib/node_modules/npm/bin/${cli}`, join(prefix, 'bin', bin));
    // The bootstrap (a few minutes) is kept for a week in the user's cache, as a package download would be.
    const cached = join(homedir(), '.cache', 'loom-test', `debian-${DEBIAN_SUITE}-apt.tar`);
    if (!existsSync(cached) || Date.now() - statSync(cached).mtimeMs > 7 * 86_400_000) {
      mkdirSync(dirname(cached), { recursive: true });
      const slim = ['/usr/share/doc/*', '/usr/share/man/*', '/usr/share/info/*', '/usr/share/locale/*'].flatMap((p) => ['--dpkgopt', `path-exclude=${p}`]);
      const boot = spawnSync('mmdebstrap', ['--variant=apt', '--mode=root', '--format=tar', '--quiet', ...slim, DEBIAN_SUITE, `${cached}.part`, DEBIAN_MIRROR], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
      if (boot.status !== 0) throw new Error(`mmdebstrap ${DEBIAN_SUITE} failed: ${(boot.stderr || boot.stdout).slice(-2000)}`);
      renameSync(`${cached}.part`, cached);
    }
    copyFileSync(cached, join(ctx, 'debian.tar'));
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nADD debian.tar /\nCOPY node/ /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD ["node"]\n');
    const r = buildah(['bud', '--isolation', 'chroot', '-t', BASE, ctx]);
    if (r.code !== 0) throw new Error(`base image: ${r.stderr.slice(-2000)}`);
    rmSync(ctx, { recursive: true, force: true });
  }

  beforeAll(async () => {
    let started = Date.now();
    assembleBase();
    console.log(`base image assembled in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    started = Date.now();
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

  test('the optional kerberos module is built in and loads inside the image, as the non-root user', () => {
    const r = inImage(['node', '-e', "const k = require('/opt/loom/node_modules/kerberos'); console.log(typeof k.initializeClient, typeof k.initializeServer)"]);
    expect(r, JSON.stringify(r)).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.trim()).toBe('function function');
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

  test.skipIf(noKdc !== undefined)('loom operator --once with a keytab inside the image: SPNEGO to a kerberized YARN through a real KDC', async () => {
    const kdc = await TestKdc.start();
    const shared = join(dir, 'kerberos');
    let world: SimWorld | undefined;
    const envBefore = { ...process.env };
    try {
      kdc.addPrincipal('HTTP/localhost');
      const httpKeytab = kdc.keytab('HTTP/localhost');
      kdc.addPrincipal('loom/operator');
      // What the chart mounts: krb5.conf and Loom's keytab, readable by the image's user.
      mkdirSync(shared);
      copyFileSync(kdc.krb5Conf, join(shared, 'krb5.conf'));
      kdc.keytab('loom/operator', join(shared, 'loom.keytab'));
      process.env.KRB5_CONFIG = kdc.krb5Conf;
      process.env.KRB5RCACHEDIR = kdc.dir;
      const filter = new SpnegoFilter({ keytab: httpKeytab, clock: { now: () => Date.now() }, binding: kerberosBinding() });
      world = await SimWorld.start({ nodes: 2, spnego: filter, dir: join(shared, 'world') });
      execFileSync('chmod', ['-R', 'a+rX', shared]);
      const d = world.describe();
      const r = await inImageAsync(
        ['loom', 'operator', '--once', '--dry-run', '--kubeconfig', d.kubeconfig, '--hadoop-conf-dir', d.hadoopConfDir!,
          '--kerberos-principal', `loom/operator@${REALM}`, '--kerberos-keytab', join(shared, 'loom.keytab')],
        ['--volume', `${shared}:${shared}:ro`, '--env', `KRB5_CONFIG=${join(shared, 'krb5.conf')}`],
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.find((l) => l.msg === 'one reconcile done')).toMatchObject({ nodes: 2, problems: 0, dryRun: true });
      // The RM's filter accepted SPNEGO tokens made inside the image (then its cookie).
      expect(filter.counts.negotiated).toBeGreaterThan(0);
      expect(filter.counts.refused).toBe(0);
    } finally {
      await world?.stop();
      await kdc.stop();
      for (const k of Object.keys(process.env)) if (!(k in envBefore)) delete process.env[k];
      Object.assign(process.env, envBefore);
    }
  }, 120_000);

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

  test('the agent gets its process environment from the entrypoint (a value given on the container wins)', () => {
    const probe = "require('fs').mkdirSync('/tmp/probe-env',{recursive:true});require('fs').writeFileSync('/tmp/probe-env/node','#!/bin/sh\\necho \"${MALLOC_ARENA_MAX:-unset}\"\\n',{mode:0o755})";
    expect(inImage(['node', '-e', probe]).code).toBe(0);
    const arenasFor = (program: string, env: string[] = []) =>
      inImage(['env', 'PATH=/tmp/probe-env:/usr/local/bin:/usr/bin:/bin', ...env, 'loom', program]).stdout.trim();
    expect(arenasFor('agent')).toBe(RUNTIME_ENV.agent?.MALLOC_ARENA_MAX);
    expect(RUNTIME_ENV.agent?.MALLOC_ARENA_MAX).toBe('2');
    expect(arenasFor('operator')).toBe('unset');
    expect(arenasFor('agent', ['MALLOC_ARENA_MAX=8'])).toBe('8');
  });

  test('the runtime stage holds the compiled program and production dependencies only', () => {
    const paths = ['/opt/loom/dist/cli/main.js', '/opt/loom/node_modules/prom-client',
      ...['typescript', 'vitest', 'tsx', '@aws-cdk/lambda-layer-kubectl-v33', 'kubernetes-models'].map((d) => `/opt/loom/node_modules/${d}`),
      '/opt/loom/operator', '/opt/loom/test', '/src', '/tools',
      // The compiled kerberos module and its runtime library; no compiler, headers or build leftovers.
      '/opt/loom/node_modules/kerberos/build/Release/kerberos.node', '/usr/lib/x86_64-linux-gnu/libgssapi_krb5.so.2',
      '/usr/bin/g++', '/usr/bin/make', '/usr/include/gssapi/gssapi.h', '/opt/loom/node_modules/kerberos/build/Release/obj.target'];
    const r = inImage(['node', '-e', `console.log(JSON.stringify(${JSON.stringify(paths)}.filter((p) => require('fs').existsSync(p))))`]);
    expect(JSON.parse(r.stdout)).toEqual(['/opt/loom/dist/cli/main.js', '/opt/loom/node_modules/prom-client',
      '/opt/loom/node_modules/kerberos/build/Release/kerberos.node', '/usr/lib/x86_64-linux-gnu/libgssapi_krb5.so.2']);
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
