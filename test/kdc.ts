/**
 * A real MIT Kerberos KDC for tests, on loopback, in a temp dir of its own: its own krb5.conf and
 * kdc.conf, realm LOOM.TEST, principals and keytabs made with `kadmin.local`, `krb5kdc` on a free
 * port, stopped (and the dir removed) after. MIT's packages are installed with Debian's apt when
 * missing; the optional native `kerberos` module is built when `npm ci` had to skip it (no
 * libkrb5-dev then). Anything that cannot be had gives one reason for the test to print and skip.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installDebianPackage } from './debian-package.js';

export const REALM = 'LOOM.TEST';
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const SBIN = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function which(tool: string): string | undefined {
  for (const d of [...(process.env.PATH ?? '').split(':'), ...SBIN]) {
    if (d && existsSync(join(d, tool))) return join(d, tool);
  }
  return undefined;
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: Buffer | string; message?: string };
  const text = (e.stderr ? e.stderr.toString() : '') || e.message || String(err);
  return text.split('\n').map((l) => l.trim()).filter(Boolean).slice(-1)[0] ?? 'failed';
}

/** MIT's KDC, kadmin.local and kinit, installed when missing. */
export function ensureKerberosTools(): string | undefined {
  if (which('krb5kdc') && which('kadmin.local') && which('kdb5_util') && which('kinit')) return undefined;
  const why = installDebianPackage(['krb5-kdc', 'krb5-admin-server', 'krb5-user']);
  if (why) return why;
  return which('krb5kdc') && which('kinit') ? undefined : 'krb5kdc/kinit still missing after installing krb5-kdc krb5-admin-server krb5-user';
}

function moduleLoads(): boolean {
  try {
    execFileSync(process.execPath, ['-e', "require('kerberos')"], { cwd: repoRoot, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The optional `kerberos` module, built here when `npm ci` skipped it: libkrb5-dev installed,
 * then the package fetched from the lockfile (`npm install --no-save`, scripts off so Loom's own
 * `prepare` does not run) and compiled (`npm rebuild kerberos`). Several test files may ask at
 * once: `flock` serialises the build.
 */
export function ensureKerberosModule(): string | undefined {
  if (moduleLoads()) return undefined;
  if (!existsSync('/usr/include/gssapi/gssapi.h')) {
    const why = installDebianPackage('libkrb5-dev');
    if (why) return why;
  }
  const lock = join(repoRoot, 'node_modules', '.cache', 'loom-kerberos-build.lock');
  mkdirSync(dirname(lock), { recursive: true });
  const script = [
    "node -e \"require('kerberos')\" 2>/dev/null && exit 0",
    'npm install --no-save --ignore-scripts --no-audit --no-fund >/dev/null',
    'npm rebuild kerberos --foreground-scripts',
  ].join('; ');
  try {
    execFileSync('flock', [lock, 'sh', '-c', script], {
      cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000,
      env: { ...process.env, npm_config_nodedir: process.env.npm_config_nodedir ?? dirname(dirname(process.execPath)) },
    });
  } catch (err) {
    return `the optional native module kerberos could not be built: ${firstLine(err)}`;
  }
  return moduleLoads() ? undefined : 'the optional native module kerberos still does not load after npm rebuild kerberos';
}

/** Tools and module, or the reason they cannot be had. */
export function kerberosAvailable(): string | undefined {
  return ensureKerberosTools() ?? ensureKerberosModule();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface KdcOptions {
  /** Longest ticket lifetime (kdc.conf `max_life`, and the TGS principal's), e.g. `1m`. */
  maxLife?: string;
  /** krb5.conf `clockskew` in seconds (MIT's default 300 hides expiry in short runs). */
  clockSkewSeconds?: number;
}

export class TestKdc {
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly krb5Conf: string,
    private readonly kdcConf: string,
    private readonly proc: ChildProcess,
  ) {}

  static async start(o: KdcOptions = {}): Promise<TestKdc> {
    const dir = mkdtempSync(join(tmpdir(), 'loom-kdc-'));
    let lastError = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const krb5Conf = join(dir, 'krb5.conf');
      const kdcConf = join(dir, 'kdc.conf');
      writeFileSync(krb5Conf, [
        '[libdefaults]', `  default_realm = ${REALM}`, '  dns_lookup_kdc = false', '  dns_lookup_realm = false',
        '  udp_preference_limit = 1', `  clockskew = ${o.clockSkewSeconds ?? 300}`,
        '[realms]', `  ${REALM} = {`, `    kdc = 127.0.0.1:${port}`, '  }', '',
      ].join('\n'));
      writeFileSync(kdcConf, [
        '[kdcdefaults]', `  kdc_listen = 127.0.0.1:${port}`, `  kdc_tcp_listen = 127.0.0.1:${port}`,
        '[realms]', `  ${REALM} = {`,
        `    database_name = ${join(dir, 'principal')}`, `    key_stash_file = ${join(dir, 'stash')}`,
        `    acl_file = ${join(dir, 'kadm5.acl')}`, `    max_life = ${o.maxLife ?? '10h'}`, '    max_renewable_life = 0',
        '  }',
        '[logging]', `  kdc = FILE:${join(dir, 'kdc.log')}`, '',
      ].join('\n'));
      writeFileSync(join(dir, 'kadm5.acl'), '');
      const env = { ...process.env, KRB5_CONFIG: krb5Conf, KRB5_KDC_PROFILE: kdcConf };
      if (!existsSync(join(dir, 'principal'))) {
        execFileSync(which('kdb5_util')!, ['create', '-s', '-r', REALM, '-P', 'loom-test-master'], { env, stdio: 'pipe' });
        if (o.maxLife) {
          execFileSync(which('kadmin.local')!, ['-q', `modprinc -maxlife "${o.maxLife}" krbtgt/${REALM}@${REALM}`], { env, stdio: 'pipe' });
        }
      }
      const logFile = join(dir, 'kdc.log');
      rmSync(logFile, { force: true });
      const proc = spawn(which('krb5kdc')!, ['-n'], { env, stdio: 'ignore' });
      const up = await new Promise<string | undefined>((resolve) => {
        const started = Date.now();
        const check = (): void => {
          const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
          if (log.includes('commencing operation')) return resolve(undefined);
          if (proc.exitCode !== null || /Address already in use|Cannot bind/i.test(log)) return resolve(log.split('\n').filter(Boolean).slice(-1)[0] ?? `exit ${proc.exitCode}`);
          if (Date.now() - started > 20_000) return resolve('krb5kdc did not start in 20 s');
          setTimeout(check, 20);
        };
        check();
      });
      if (up === undefined) return new TestKdc(dir, port, krb5Conf, kdcConf, proc);
      lastError = up;
      proc.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot start krb5kdc: ${lastError}`);
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, KRB5_CONFIG: this.krb5Conf, KRB5_KDC_PROFILE: this.kdcConf };
  }

  /** Runs one kadmin.local query. */
  kadmin(query: string): string {
    return execFileSync(which('kadmin.local')!, ['-q', query], { env: this.env, stdio: 'pipe' }).toString();
  }

  /** `name@REALM` with a random key, optionally with a ticket lifetime. */
  addPrincipal(name: string, maxLife?: string): string {
    this.kadmin(`addprinc -randkey ${maxLife ? `-maxlife "${maxLife}" ` : ''}${name}`);
    return `${name}@${REALM}`;
  }

  /** Exports the principal's keys to `file` (new keys: earlier keytabs of it become stale). */
  keytab(name: string, file = join(this.dir, `${name.replace(/[/@]/g, '_')}.keytab`)): string {
    this.kadmin(`ktadd -k ${file} ${name}`);
    return file;
  }

  /** `kinit -k -t keytab principal` into `ccache` (ticket-cache mode). */
  kinit(principal: string, keytab: string, ccache: string): void {
    execFileSync(which('kinit')!, ['-k', '-t', keytab, '-c', ccache, principal], { env: this.env, stdio: 'pipe' });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Loads the native module in this (test) process. */
export function kerberosBinding(): import('../yarn/kerberos/module.js').KerberosBinding {
  return createRequire(join(repoRoot, 'package.json'))('kerberos') as never;
}
