/** The package version, read from the package.json beside the program (`cli/` in a checkout, `dist/cli/` when installed). */
import { existsSync, readFileSync } from 'node:fs';

export function packageVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    const file = new URL(rel, import.meta.url);
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'loom' && typeof pkg.version === 'string') return pkg.version;
  }
  return 'unknown';
}
