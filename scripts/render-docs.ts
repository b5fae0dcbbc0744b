import { writeFileSync } from 'node:fs';
import { renderConfigurationDoc } from '../cli/config-doc.js';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), renderConfigurationDoc());
