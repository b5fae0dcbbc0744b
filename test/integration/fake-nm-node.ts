/**
 * The rig the NodeManager-facing agent suites share: a simulated node (cgroup v2, 4 cores, 16 GiB,
 * light system and online load) beside a FakeNm that lists whatever the test says, made fresh
 * before each test and torn down after it, the agent first (it holds the node's files open).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { AgentHandle } from '../../agent/agent.js';
import { SimulatedNode } from '../../sim/node/index.js';
import { GiB, LogCapture, MiB } from './agent-harness.js';
import { FakeNm } from './fake-nm.js';

export const YARN_PARENT = 'kubepods/besteffort/hadoop-yarn';

export interface FakeNmNode {
  tmp: string;
  node: SimulatedNode;
  nm: FakeNm;
  log: LogCapture;
  /** The agent under test, stopped before anything else is torn down. */
  agent: AgentHandle | undefined;
  /** Registered once; runs after each test once the agent has stopped, before the node goes. */
  onTeardown(fn: () => void): void;
}

export function useFakeNmNode(tmpPrefix: string): FakeNmNode {
  const teardowns: (() => void)[] = [];
  const rig = { agent: undefined, onTeardown: (fn: () => void) => teardowns.push(fn) } as unknown as FakeNmNode;
  beforeEach(async () => {
    rig.tmp = fs.mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
    rig.node = SimulatedNode.create({
      name: 'node-a', dir: rig.tmp, layout: 'v2', driver: 'cgroupfs', cpuCores: 4, memoryBytes: 16 * GiB,
      systemLoad: { cpuMilli: 100, memoryBytes: 512 * MiB, cacheBytes: 0 },
      onlineLoad: { cpuMilli: 500, memoryBytes: GiB, cacheBytes: 0 },
    });
    rig.nm = new FakeNm();
    await rig.nm.start();
    rig.log = new LogCapture();
  });
  afterEach(async () => {
    await rig.agent?.stop();
    rig.agent = undefined;
    for (const fn of teardowns) fn();
    await rig.nm.stop();
    await rig.node.stop();
    fs.rmSync(rig.tmp, { recursive: true, force: true });
  });
  return rig;
}
