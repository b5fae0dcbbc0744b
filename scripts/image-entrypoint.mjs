// Writes the image's `loom` entrypoint (to the file given, mode 0755): a shell script that gives each long-running program the
// V8 flags of settings/runtime-flags.ts (built into dist/), then runs the program. Generated at
// image build time from the compiled flags, so the image cannot drift from the code.
import { writeFileSync } from 'node:fs';
import { RUNTIME_ENV, RUNTIME_FLAGS } from '../dist/settings/runtime-flags.js';

// Each program's environment defaults (RUNTIME_ENV): a value the container sets wins.
const envOf = (program) => Object.entries(RUNTIME_ENV[program] ?? {})
  .flatMap(([name, value]) => [`${name}="\${${name}:-${value}}"`, `export ${name}`]);
const cases = Object.entries(RUNTIME_FLAGS)
  .map(([program, flags]) => `  ${program}) ${[`NODE_OPTIONS="${flags.join(' ')}\${NODE_OPTIONS:+ $NODE_OPTIONS}"`, 'export NODE_OPTIONS', ...envOf(program)].join('; ')} ;;`)
  .join('\n');
writeFileSync(process.argv[2], `#!/bin/sh
# loom: the V8 flags and environment of each long-running program (settings/runtime-flags.ts), then the program.
# Flags given in NODE_OPTIONS come after these, so they win.
case "$1" in
${cases}
esac
exec node /opt/loom/dist/cli/main.js "$@"
`, { mode: 0o755 });
