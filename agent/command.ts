/**
 * `loom agent`: the node agent as a process. Runs until SIGTERM / SIGINT, then stops its loops,
 * lets evictions in flight finish, and removes its socket. A bad setting or an unusable node
 * (no cgroup hierarchy, bad --yarn-cgroup-path) exits non-zero with one clear line.
 */
import { SettingsError, type SettingsValues } from '../settings/settings.js';
import { createLogger } from '../log/logger.js';
import { describeError, isInputError } from '../input/input-error.js';
import { startAgent } from './agent.js';
import { toAgentSettings } from './settings.js';

export async function runAgentCommand(values: SettingsValues): Promise<number> {
  let settings;
  try {
    settings = toAgentSettings(values);
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    process.stderr.write(`loom agent: ${err.message}\n`);
    return 2;
  }
  const logger = createLogger('agent');
  let agent;
  try {
    agent = await startAgent(settings, { logger });
  } catch (err) {
    // A bad setting (rule values, a busy --metrics-addr …) exits 2 like any other bad input.
    const input = isInputError(err);
    const msg = input ? err.message : `cannot start: ${describeError(err)}`;
    logger.error({ err }, msg);
    process.stderr.write(`loom agent: ${msg}\n`);
    return input ? 2 : 1;
  }
  const started = agent;
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'stopping the node agent');
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await started.stop();
  return 0;
}
