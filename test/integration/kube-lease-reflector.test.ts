/**
 * kube/lease.ts and kube/reflector.ts against the simulated API server, time from a manual clock:
 * terms, the renew deadline, fencing after a pause, takeover only after a full lease duration
 * observed locally; the reflector's 410 → relist, bookmarks and reconnect backoff.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../clock/clock.js';
import { KubeApi } from '../../kube/api.js';
import { connect, type KubeConnection } from '../../kube/connection.js';
import { electionTiming, FencedError, LeaderElector } from '../../kube/lease.js';
import { Reflector, versionAtLeast } from '../../kube/reflector.js';
import { KubeApiServer } from '../../sim/kube/server.js';

import { captureLogs, waitFor } from './operator-helpers.js';
import { startFaultProxy, type FaultProxy } from '../faults/fault-proxy.js';
import { kubeconfigYaml } from '../../sim/kube/kubeconfig.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('leader election with a fence', () => {
  let kube: KubeApiServer;
  let proxy: FaultProxy;
  const conns: KubeConnection[] = [];
  const api = async (through?: FaultProxy) => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-lease-'));
    const file = join(dir, 'kubeconfig');
    writeFileSync(file, kubeconfigYaml(through?.url ?? kube.url, kube.token));
    const c = await connect(file);
    conns.push(c);
    return new KubeApi(c);
  };

  beforeAll(async () => {
    kube = await KubeApiServer.start({ bookmarkIntervalMs: 20 });
    proxy = await startFaultProxy(kube.url);
  });
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await proxy.close();
    await kube.stop();
  });

  it('validates the timing: renew deadline shorter than the lease, retry shorter than the deadline', () => {
    expect(electionTiming(15)).toEqual({ leaseMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 3000 });
    expect(() => electionTiming(2, 2000)).toThrow(/shorter than the lease/);
    expect(() => electionTiming(2, 1000, 1000)).toThrow(/shorter than the renew deadline/);
  });

  it('terms, fencing at the renew deadline, and takeover only after a full lease seen unchanged', async () => {
    const clock = new ManualClock();
    const events: string[] = [];
    const mk = async (identity: string, through?: FaultProxy) => new LeaderElector({
      api: await api(through), namespace: 'loom-system', name: 'fence-test', identity, leaseDurationSeconds: 3,
      renewDeadlineMs: 2000, retryPeriodMs: 500, clock, logger: captureLogs().logger,
      onStartedLeading: (t) => events.push(`${identity} +${t}`), onStoppedLeading: (t) => events.push(`${identity} -${t}`),
    });
    const a = await mk('a', proxy);
    const b = await mk('b');
    a.start();
    await clock.runDue();
    await waitFor(() => a.isLeader, 3000, 'a leads');
    expect(a.term).toBe(1);
    expect(() => a.check(1)).not.toThrow();
    expect(() => a.check(2)).toThrow(FencedError);
    b.start();
    await clock.runDue();
    await waitFor(() => b.stats.failedRounds + b.stats.renewals === 0 && events.length === 1, 3000, 'b looked');

    // a's renewals hang from now on. Time moves in retry periods; the deadline is 2 s after a's
    // last confirmed renewal, the earliest takeover 3 s after b first saw that record.
    proxy.rules.push({ match: (r) => r.path.includes('/leases'), kind: 'blackhole' });
    let validUntil = clock.now() + a.validForMs;
    for (let i = 0; i < 12 && a.isLeader; i++) {
      await clock.advance(250);
      if (a.isLeader) validUntil = clock.now() + a.validForMs;
      await new Promise((r) => setTimeout(r, 5)); // let b's real HTTP round answer
    }
    expect(a.isLeader).toBe(false);
    expect(clock.now()).toBeLessThanOrEqual(validUntil + 250);
    expect(() => a.check(1)).toThrow(FencedError);
    expect(b.isLeader).toBe(false); // the lease is not expired for b yet
    for (let i = 0; i < 40 && !b.isLeader; i++) {
      await clock.advance(100);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(b.isLeader).toBe(true);
    // b took over no sooner than one lease duration after a's deadline minus the margin.
    expect(clock.now() - validUntil).toBeGreaterThanOrEqual(3000 - 2000);
    expect(events.slice(0, 3)).toEqual(['a +1', 'a -1', 'b +1']);
    proxy.rules.length = 0;
    proxy.releaseHung();
    await a.stop(false);
    await b.stop(true);
  });

  it('a process resumed after a pause writes nothing until it has confirmed the lease again', async () => {
    const clock = new ManualClock();
    const e = new LeaderElector({
      api: await api(), namespace: 'loom-system', name: 'pause-test', identity: 'p', leaseDurationSeconds: 3,
      renewDeadlineMs: 2000, retryPeriodMs: 500, clock, logger: captureLogs().logger,
      onStartedLeading: () => {}, onStoppedLeading: () => {},
    });
    e.start();
    await clock.runDue();
    await waitFor(() => e.isLeader, 3000, 'leads');
    const term = e.term;
    // A pause: the monotonic clock jumps; no timer has run yet when the first write is tried.
    (clock as unknown as { current: number }).current += 5000;
    expect(() => e.check(term)).toThrow(/not confirmed/);
    expect(e.isLeader).toBe(false);
    await clock.runDue();
    await waitFor(() => e.isLeader, 3000, 'leads again after confirming');
    expect(e.term).toBe(term + 1);
    await e.stop(true);
  });
});

describe('Reflector', () => {
  let kube: KubeApiServer;
  let conn: KubeConnection;
  let cut: FaultProxy;
  beforeAll(async () => {
    kube = await KubeApiServer.start({ bookmarkIntervalMs: 20, watchHistory: 5 });
    cut = await startFaultProxy(kube.url);
    const dir = mkdtempSync(join(tmpdir(), 'loom-refl-'));
    writeFileSync(join(dir, 'kubeconfig'), kubeconfigYaml(cut.url, kube.token));
    conn = await connect(join(dir, 'kubeconfig'));
  });
  afterAll(async () => {
    await conn.close();
    await cut.close();
    await kube.stop();
  });

  it('compares resourceVersions numerically', () => {
    expect(versionAtLeast('10', '9')).toBe(true);
    expect(versionAtLeast('9', '10')).toBe(false);
    expect(versionAtLeast('abc', 'abc')).toBe(true);
  });

  it('lists, watches, advances on bookmarks, relists after 410 Gone without losing a change, and reconnects with backoff', async () => {
    const api = new KubeApi(conn);
    const clock = new ManualClock();
    const seen = new Map<string, string>();
    const removed: string[] = [];
    const mk = (name: string) => kube.store.create('nodes', { metadata: { name, annotations: { v: '0' } } });
    mk('cm-0');
    const r = new Reflector<string>({
      api, path: '/api/v1/nodes', logger: captureLogs().logger, clock, backoff: { baseMs: 1000, capMs: 4000 },
      project: (o) => String(o.metadata.annotations?.v),
      handlers: { upsert: (k, v) => seen.set(k, v), remove: (k) => { seen.delete(k); removed.push(k); } },
    });
    r.start();
    await r.synced;
    expect(seen.get('cm-0')).toBe('0');
    // Bookmarks carry the global version: an unrelated change is "seen" without an event for us.
    const other = kube.store.create('namespaces', { metadata: { name: 'elsewhere' } });
    await r.whenSeen(other.metadata.resourceVersion!);
    expect(r.stats.bookmarks).toBeGreaterThan(0);
    mk('cm-1');
    await waitFor(() => seen.has('cm-1'), 3000, 'watch event');

    // The watch is cut and re-watches fail; history expires meanwhile: the re-watch gets 410 and
    // the relist restores the truth, the delete included.
    cut.rules.push({ match: (q) => q.path.includes('watch=true'), kind: 'reset' });
    const lists0 = r.stats.lists;
    const watches0 = r.stats.watches;
    cut.cutStreams();
    await waitFor(() => r.stats.errors > 0 && !r.watching, 3000, 'watch broke');
    for (let i = 0; i < 10; i++) kube.store.patch('nodes', undefined, 'cm-0', 'merge', { metadata: { annotations: { v: String(i + 1) } } });
    kube.store.delete('nodes', undefined, 'cm-1');
    // Reconnect attempts wait on the manual clock: one attempt per backoff step, doubling.
    await clock.advance(1000);
    await waitFor(() => r.stats.watches === watches0 + 1 && r.stats.errors >= 2, 3000, 'second attempt');
    await clock.advance(1999);
    expect(r.stats.watches).toBe(watches0 + 1);
    cut.rules.length = 0;
    await clock.advance(1);
    await waitFor(() => seen.get('cm-0') === '10' && removed.includes('cm-1'), 3000, 'relisted');
    expect(r.stats.relistsAfterGone).toBe(1);
    expect(r.stats.lists).toBe(lists0 + 1);
    await r.stop();
  });
});
