/** `loom release`: settings → {@link runRelease}; exit 0 when every node is released, 1 otherwise (naming them). */
import { createLogger } from '../log/logger.js';
import type { SettingsValues } from '../settings/settings.js';
import { runRelease, toReleaseSettings } from './release.js';

export async function runReleaseCommand(values: SettingsValues): Promise<number> {
  const report = await runRelease(toReleaseSettings(values), createLogger('release'));
  if (report.error) process.stderr.write(`loom release: ${report.error}\n`);
  return report.exitCode;
}
