// npm's `prepare`: in a checkout (`npm ci`) build dist/ with TypeScript and link the `loom` bin;
// where TypeScript is absent (`npm ci --omit=dev` over a tree whose dist/ was built beforehand,
// as the image does) keep the prebuilt dist/ instead of failing with `tsc: not found`.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let tsc;
try {
  tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
} catch {
  if (existsSync(join(root, 'dist', 'cli', 'main.js'))) {
    console.log('loom: TypeScript is not installed (production install); using the prebuilt dist/');
    process.exit(0);
  }
  console.error('loom: cannot build dist/: TypeScript is not installed (run npm ci without --omit=dev)');
  process.exit(1);
}
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
await import('./link-bin.mjs');
