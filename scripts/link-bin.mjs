// npx resolves commands from node_modules/.bin, which never holds the project's own bin;
// link it there so `npx loom …` works right after `npm ci` in a clone.
import { chmodSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'dist', 'cli', 'main.js');
const link = join(root, 'node_modules', '.bin', 'loom');
chmodSync(target, 0o755);
mkdirSync(dirname(link), { recursive: true });
rmSync(link, { force: true });
symlinkSync(relative(dirname(link), target), link);

// npm 11 (seen on 11.19) runs `npx <own bin>` by "installing" the project into its npx cache and
// then reading <cache>/_npx/<hash>/package.json, which that install never writes: npx fails with
// ENOENT. Seed that file (the directory npm itself would create) so `npx loom` works after npm ci.
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync, realpathSync } from 'node:fs';
const cache = process.env.npm_config_cache;
if (cache) {
  const hash = createHash('sha512').update(realpathSync(root)).digest('hex').slice(0, 16);
  const dir = join(cache, '_npx', hash);
  if (!existsSync(join(dir, 'package.json'))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{}\n');
  }
}
