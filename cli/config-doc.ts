/** Renders docs/configuration.md from the setting declarations, so the reference cannot drift from the code. */
import { envOf, flagOf, type SettingSpec } from '../settings/settings.js';
import { operatorSettingSpecs } from '../operator/settings.js';
import { agentSettingSpecs } from '../agent/settings.js';
import { demoSettingSpecs, simSettingSpecs, statusSettingSpecs } from './command-settings.js';

function table(specs: readonly SettingSpec[]): string {
  const rows = specs.map((s) => {
    const dflt = s.key === 'identity' ? 'the host name' : s.default === undefined ? '—' : `\`${String(s.default)}\``;
    const kind = s.kind === 'enum' ? s.choices!.map((c) => `\`${c}\``).join(' \\| ') : s.kind;
    const range = s.min !== undefined || s.max !== undefined ? ` (${s.min ?? '…'}–${s.max ?? '…'})` : '';
    return `| \`${s.key}\` | \`${flagOf(s.key)}\` | \`${envOf(s.key)}\` | ${kind}${range} | ${dflt} | ${s.description.replace(/\|/g, '\\|')} |`;
  });
  return ['| YAML key | flag | environment | type | default | meaning |', '| --- | --- | --- | --- | --- | --- |', ...rows].join('\n');
}

export function renderConfigurationDoc(): string {
  return `# Configuration reference

Every \`loom\` command reads its settings from four layers: **flags > \`LOOM_*\` environment >
YAML file (\`--config FILE\` or \`LOOM_CONFIG\`) > defaults**. Keys with a dot are nested in the
YAML file (\`hysteresis.cpuMilli\` is \`hysteresis: {cpuMilli: …}\`). An unknown key in the file, a
value of the wrong type or out of range stops the command with exit code 2 and one line naming the
flag, variable or file key, e.g.

\`\`\`
loom operator: --config loom.yaml: key "headroomShare": must be ≤ 1, got 1.5
\`\`\`

Boolean flags also have a \`--no-…\` form. This page is generated from the code
(\`npm run docs\`); a test fails when it is out of date.

## \`loom operator\`

${table(operatorSettingSpecs)}

Notes:
- \`--once\` reconciles every node once with the exact ledger (no hysteresis or grow interval:
  the run must converge), without leader election, and exits 0, or 1 when a node could not be
  reconciled or a ResourceManager was unreachable.
- \`overCommitTimeoutMs\` is always sent with every resize; YARN treats an omitted value as 0
  (kill over-committed containers at once).

## \`loom agent\`

${table(agentSettingSpecs)}

## \`loom sim\`

${table(simSettingSpecs)}

## \`loom status\`

${table(statusSettingSpecs)}

## \`loom demo\`

${table(demoSettingSpecs)}
`;
}
