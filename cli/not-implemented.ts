import type { SettingsValues } from './settings.js';

/** Exit code for a subcommand that exists in the design but has not been built yet. */
export const EXIT_NOT_IMPLEMENTED = 2;

export function notImplemented(name: string): (settings: SettingsValues) => Promise<number> {
  return async () => {
    process.stderr.write(`loom ${name}: not implemented yet\n`);
    return EXIT_NOT_IMPLEMENTED;
  };
}
