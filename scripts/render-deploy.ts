/**
 * deploy/: the chart rendered with default values, for `kubectl apply` (a Namespace first, since
 * helm creates it with --create-namespace instead), and the release Job alone (release.enabled).
 * `npm run docs` writes them with the real helm; a test fails when they drift from the chart.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const NAMESPACE = 'loom-system';

const header = (what: string): string =>
  `# ${what}\n# Generated from charts/loom by \`npm run docs\` (helm template loom charts/loom --namespace ${NAMESPACE}); do not edit.\n`;

export function renderDeployManifests(helm: string): Record<string, string> {
  const template = (args: string[]): string => execFileSync(helm, ['template', 'loom', join(root, 'charts', 'loom'), '--namespace', NAMESPACE, ...args], {
    encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: '/tmp/loom-helm-cache', HELM_CONFIG_HOME: '/tmp/loom-helm-config', HELM_DATA_HOME: '/tmp/loom-helm-data' },
  });
  const namespace = `---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${NAMESPACE}\n`;
  return {
    'loom.yaml': `${header('Loom with default values: kubectl apply -f deploy/loom.yaml (edit the ConfigMaps for your settings).')}${namespace}${template([])}`,
    'loom-release.yaml': `${header('`loom release --remove-claims` as a Job (docs/operations.md, "Uninstall"): kubectl apply -f deploy/loom-release.yaml')}${template(['--set', 'release.enabled=true', '--set', 'release.removeClaims=true', '--show-only', 'templates/release-job.yaml'])}`,
  };
}
