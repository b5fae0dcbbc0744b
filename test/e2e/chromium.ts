/** Finds Debian's Chromium, installing it when running as root with apt; otherwise says why not. */
import { installDebianPackage } from '../debian-package.js';
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function chromiumPath(): { path?: string; reason?: string } {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (found) return { path: found };
  const failed = installDebianPackage('chromium');
  if (failed) return { reason: failed };
  const after = CANDIDATES.find((p) => existsSync(p));
  return after ? { path: after } : { reason: 'apt-get reported success but no chromium binary was found' };
}
