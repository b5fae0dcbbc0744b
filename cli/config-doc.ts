/** Renders docs/configuration.md from the setting declarations, so the reference cannot drift from the code. */
import { envOf, flagOf, type SettingSpec } from '../settings/settings.js';
import { commandSettingSpecs } from './command-settings.js';

function table(specs: readonly SettingSpec[]): string {
  const rows = specs.map((s) => {
    const dflt = s.key === 'identity' ? 'the host name' : s.default === undefined ? '—' : `\`${String(s.default)}\``;
    const kind = s.kind === 'enum' ? s.choices!.map((c) => `\`${c}\``).join(' \\| ') : s.kind === 'listen-address' ? '`host:port`' : s.kind;
    const range = s.min !== undefined || s.max !== undefined ? ` (${s.min ?? '…'}–${s.max ?? '…'})` : '';
    return `| \`${s.key}\` | \`${flagOf(s.key)}\` | \`${envOf(s.key)}\` | ${kind}${range} | ${dflt} | ${s.description.replace(/\|/g, '\\|')} |`;
  });
  return ['| YAML key | flag | environment | type | default | meaning |', '| --- | --- | --- | --- | --- | --- |', ...rows].join('\n');
}

export function renderConfigurationDoc(): string {
  return `# Configuration reference

Every \`loom\` command reads its settings from four layers: **flags > \`LOOM_*\` environment >
YAML file (\`--config FILE\` or \`LOOM_CONFIG\`) > defaults**. A key with a dot may be written
nested or dotted in the YAML file — \`hysteresis: {cpuMilli: 500}\` or \`hysteresis.cpuMilli: 500\`
— but not both. An unknown key, a group of settings given a plain value (\`hysteresis: 5\`), a key
without a value, a value of the wrong type or out of range stops the command with exit code 2 and
one line naming the flag, variable or file and key, e.g.

\`\`\`
loom operator: loom.yaml [headroomShare]: must be ≤ 1, got 1.5
loom operator: loom.yaml [hysteresis]: is a group of settings: expected a mapping of cpuMilli, memoryBytes, percent, got 5
loom operator: LOOM_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"
\`\`\`

Every bad input Loom meets at run time — a kubeconfig, a yarn-site.xml, an annotation, a
ResourceManager or NodeManager answer, a cgroup file, a yarn-copilot request — is reported in the
same form, \`source [key]: problem\`.

Boolean flags also have a \`--no-…\` form. This page is generated from the code
(\`npm run docs\`); a test fails when it is out of date.

## \`loom operator\`

${table(commandSettingSpecs.operator)}

Notes:
- \`--once\` reconciles every node once with the exact ledger (no hysteresis or grow interval:
  the run must converge), without leader election, and exits 0, or 1 when a node could not be
  reconciled or a ResourceManager was unreachable.
- \`overCommitTimeoutMs\` is always sent with every resize; YARN treats an omitted value as 0
  (kill over-committed containers at once).

## \`loom agent\`

${table(commandSettingSpecs.agent)}

## \`loom sim\`

${table(commandSettingSpecs.sim)}

## \`loom status\`

Its settings file may be the operator's own (the chart gives it to the operator's pod as
\`LOOM_CONFIG\`, so \`loom status\` run there reads it): the operator's other keys are accepted
and ignored. It reads:

${table(commandSettingSpecs.status)}

## \`loom release\`

Every operator setting (so the operator's settings file and environment work unchanged), plus its own:

${table(commandSettingSpecs.release.filter((s) => !commandSettingSpecs.operator.some((o) => o.key === s.key)))}

## \`loom demo\`

${table(commandSettingSpecs.demo)}
`;
}
