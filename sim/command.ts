/** `loom sim`: the simulators alone, in a fixed initial state; one JSON line; runs until SIGTERM. */
import type { SettingsValues } from '../settings/settings.js';
import { createLogger } from '../log/logger.js';
import { SimWorld } from './world.js';
import { startWorkload } from './workload.js';

export async function runSimCommand(v: SettingsValues): Promise<number> {
  // Level and format come from --log-level / --log-format (default warn): stdout is the JSON line.
  const log = createLogger('sim', {}, process.stderr as never);
  const world = await SimWorld.start({
    nodes: v.nodes as number,
    ha: v.ha as boolean,
    kubePort: v.port as number,
    ...((v.rmPort as number) > 0 ? { rmPorts: (v.ha as boolean) ? [v.rmPort as number, (v.rmPort as number) + 1] : [v.rmPort as number] } : {}),
    layout: v.layout as 'v1' | 'v2' | 'hybrid',
    driver: v.driver as 'cgroupfs' | 'systemd',
    ...(v.dir ? { dir: v.dir as string } : {}),
    ...(v.rbac ? { rbac: v.rbac as string } : {}),
    logger: log,
  });
  const stopWorkload = (v.workload as boolean) ? startWorkload(world) : () => {};
  process.stdout.write(`${JSON.stringify(world.describe())}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  stopWorkload();
  await world.stop();
  return 0;
}
