/**
 * A simulated world with a fault proxy per replica in front of the API server and each RM, a
 * kubeconfig and a Hadoop conf dir per replica that point at that replica's proxies, so every
 * request a replica sends can be delayed, dropped or cut — and attributed to it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubeconfigYaml } from '../../sim/kube/kubeconfig.js';
import { SimWorld, yarnSiteXml, type WorldOptions } from '../../sim/world.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

export interface ReplicaWiring {
  name: string;
  api: FaultProxy;
  /** One per RM, in the world's RM order. */
  rms: FaultProxy[];
  kubeconfigPath: string;
  hadoopConfDir: string;
  /** For settingsFor(). */
  world: { kube: { kubeconfigPath: string }; hadoopConfDir: string };
}

export async function wireReplica(world: SimWorld, name: string): Promise<ReplicaWiring> {
  const api = await startFaultProxy(world.kube.url);
  const rms: FaultProxy[] = [];
  for (const rm of world.yarn.resourceManagers) rms.push(await startFaultProxy(rm.url));
  const dir = join(world.dir, `replica-${name}`);
  const hadoopConfDir = join(dir, 'hadoop');
  mkdirSync(hadoopConfDir, { recursive: true });
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigYaml(api.url, world.kube.token), { mode: 0o600 });
  writeFileSync(join(hadoopConfDir, 'yarn-site.xml'), yarnSiteXml(rms.map((p) => p.url)));
  return { name, api, rms, kubeconfigPath, hadoopConfDir, world: { kube: { kubeconfigPath }, hadoopConfDir } };
}

export async function closeReplica(r: ReplicaWiring | undefined): Promise<void> {
  if (!r) return;
  await Promise.all([r.api.close(), ...r.rms.map((p) => p.close())]);
}

export const startWorld = (o: WorldOptions): Promise<SimWorld> => SimWorld.start(o);
