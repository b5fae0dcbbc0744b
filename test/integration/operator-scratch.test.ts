import { test } from 'vitest';
import { SimWorld } from '../../sim/world.js';
import { settingsFor, runOperator, setOrigin, waitFor, worldRmNode, claimOf, sleep, GIB, nodeWrites } from './operator-helpers.js';

test('scratch', async () => {
  const world = await SimWorld.start({ nodes: 1, standIns: false, seed: false });
  const op = await runOperator(settingsFor(world, { pollSeconds: 60 }));
  try {
    setOrigin(world, 'node-1', 10000, 20 * GIB);
    await waitFor(async () => (await worldRmNode(world, 'node-1')).total.vcores === 4, 5000, 'rm');
    await sleep(1000);
    console.log(JSON.stringify(op.controller.writes), world.yarn.cluster.counters.snapshot(), nodeWrites(world), claimOf(world, 'node-1'));
    const p = world.addBatchPod({ cpuMilli: 2000, memoryBytes: 2 * GIB, node: 'node-1' });
    await sleep(1000);
    console.log(JSON.stringify(op.controller.writes.slice(-4)), world.yarn.cluster.counters.snapshot(), nodeWrites(world), claimOf(world, 'node-1'), await worldRmNode(world, 'node-1'));
    world.deleteBatchPod(p);
    await sleep(1000);
    console.log(JSON.stringify(op.controller.writes.slice(-4)), world.yarn.cluster.counters.snapshot(), nodeWrites(world), claimOf(world, 'node-1'), await worldRmNode(world, 'node-1'));
    console.log(op.logs.lines().filter(l => l.level >= 30).map(l => `${l.component} ${l.msg} ${JSON.stringify(l.reasons ?? '')}`).join('\n'));
  } finally { await op.stop(); await world.stop(); }
});
