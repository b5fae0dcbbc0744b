import { describe, expect, it } from 'vitest';
import { type CollectedContainer, reusesContainers } from '../../agent/collector.js';
import type { NmContainerSummary } from '../../yarn/nm-containers.js';

const answer = { containers: [], total: 2 } as unknown as NmContainerSummary;
const proven = { nm: { id: 'container_1_0001_01_000002' } } as unknown as CollectedContainer;
const unproven = { nm: { id: 'container_1_0001_01_000003' }, problem: 'cgroup refused: symlink' } as unknown as CollectedContainer;
/** A collection between two passes (collection 7 of 20) with everything as at the pass. */
const quiet = () => ({
  last: { nmUp: true, containers: [proven] },
  nmRestarted: false,
  readEvery: 20,
  collection: 7,
  now: { summary: answer, dirs: 2, forgets: 3 },
  pass: { summary: answer, dirs: 2, forgets: 3 },
});

describe('reusesContainers (pure)', () => {
  it('reuses between two passes when nothing the pass saw changed', () => {
    expect(reusesContainers(quiet())).toBe(true);
  });

  it('does not when any of it changed', () => {
    const q = quiet();
    expect(reusesContainers({ ...q, now: { ...q.now, summary: { ...answer } } })).toBe(false); // another answer (a decoded body)
    expect(reusesContainers({ ...q, now: { ...q.now, summary: undefined } })).toBe(false); // the NodeManager down
    expect(reusesContainers({ ...q, last: { ...q.last, nmUp: false } })).toBe(false); // down at the last collection
    expect(reusesContainers({ ...q, nmRestarted: true })).toBe(false);
    expect(reusesContainers({ ...q, now: { ...q.now, dirs: 3 } })).toBe(false); // a container directory appeared
    expect(reusesContainers({ ...q, now: { ...q.now, dirs: undefined } })).toBe(false); // the YARN parent unreadable
    expect(reusesContainers({ ...q, now: { ...q.now, forgets: 4 } })).toBe(false); // a proof dropped since the pass began
    expect(reusesContainers({ ...q, last: { ...q.last, containers: [proven, unproven] } })).toBe(false); // tried again every tick
  });

  it('does not near the threshold, nor on a pass', () => {
    expect(reusesContainers({ ...quiet(), readEvery: 1 })).toBe(false);
    expect(reusesContainers({ ...quiet(), collection: 40 })).toBe(false);
  });
});
