/** Finds Debian's Chromium, installing it when running as root with apt; otherwise says why not. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function chromiumPath(): { path?: string; reason?: string } {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (found) return { path: found };
  if (process.getuid?.() !== 0) return { reason: 'Chromium is not installed and installing it needs root' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', timeout: 180_000 });
    execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'ignore', timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (err) {
    return { reason: `apt-get install chromium failed (${(err as Error).message.split('\n')[0]})` };
  }
  const after = CANDIDATES.find((p) => existsSync(p));
  return after ? { path: after } : { reason: 'apt-get reported success but no chromium binary was found' };
}
