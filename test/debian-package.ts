/**
 * Installs a Debian package for a test that needs a real tool (kubectl, Chromium) when it is
 * missing and the tests run as root. Several test files may do this at once in parallel workers,
 * so apt's locks are waited for and a failed attempt is retried. Returns undefined on success,
 * else the reason (the test prints it and skips).
 */
import { execFileSync } from 'node:child_process';

const LOCK_WAIT = ['-o', 'DPkg::Lock::Timeout=300'];

export function installDebianPackage(pkgs: string | readonly string[]): string | undefined {
  const list = typeof pkgs === 'string' ? [pkgs] : [...pkgs];
  const pkg = list.join(' ');
  if (process.getuid?.() !== 0) return `${pkg} is not installed and installing it needs root`;
  let last = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      execFileSync('apt-get', [...LOCK_WAIT, 'update', '-qq'], { stdio: 'ignore', timeout: 300_000 });
      execFileSync('apt-get', [...LOCK_WAIT, 'install', '-y', '-qq', ...list], {
        stdio: 'ignore', timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
      return undefined;
    } catch (err) {
      last = (err as Error).message.split('\n')[0] ?? String(err);
      execFileSync('sleep', [String(5 * attempt)]);
    }
  }
  return `apt-get install ${pkg} failed (${last})`;
}
