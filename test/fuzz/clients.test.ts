/**
 * The real YARN clients over real loopback HTTP against a server that answers with mutated real
 * bodies (and wrong content types, odd statuses): every call resolves with typed data or rejects
 * with a typed error — the input error for a body, a YarnError for an exchange — never anything else.
 */
import fc from 'fast-check';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNS, check, expectSaneNumbers, mutatedFrom } from './fuzz.js';
import { realCorpus, type Body, type Corpus } from './corpus.js';
import { isInputError } from '../../input/input-error.js';
import { YarnError } from '../../yarn/errors.js';
import { NodeManagerClient } from '../../yarn/nm-client.js';
import { ResourceManagerClient } from '../../yarn/rm-client.js';

let corpus: Corpus;
let server: Server;
let base: string;
/** What the server answers next: every path gets it. */
let next: { status: number; contentType: string; body: string } = { status: 200, contentType: 'application/json', body: '{}' };

beforeAll(async () => {
  corpus = await realCorpus();
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(next.status, { 'content-type': next.contentType }).end(next.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

function typed(err: unknown): void {
  if (isInputError(err) || err instanceof YarnError) {
    expect((err as Error).message).not.toMatch(/\n/);
    return;
  }
  throw new Error(`untyped rejection: ${(err as Error)?.stack ?? String(err)}`);
}

const answer = (bodies: () => Body[]) => fc.constantFrom(...bodies()).chain((b) => fc.record({
  status: fc.oneof({ arbitrary: fc.constant(200), weight: 8 }, fc.constantFrom(201, 204, 302, 307, 400, 404, 500, 503)),
  contentType: fc.oneof({ arbitrary: fc.constant(b.contentType), weight: 8 }, fc.constantFrom('text/plain', 'text/html', 'application/json', 'application/xml', '')),
  body: mutatedFrom([b.body]),
}));

describe('YARN clients against hostile answers', () => {
  it('ResourceManagerClient: cluster info and node list are typed data or typed errors', () => check(fc.asyncProperty(
    answer(() => corpus.rm.info), answer(() => corpus.rm.nodes),
    async (info, nodes) => {
      const rm = new ResourceManagerClient({ rmUrls: [base], cluster: 'c', retries: 0, timeoutMs: 2000 });
      try {
        next = info;
        await rm.clusterInfo().then(expectSaneNumbers, typed);
        next = nodes;
        await rm.listNodes().then((l) => expectSaneNumbers(l.nodes), typed);
      } finally {
        await rm.close();
      }
    },
  ), Math.max(20, Math.round(RUNS / 3))));

  it('NodeManagerClient: node info and containers are typed data or typed errors', () => check(fc.asyncProperty(
    answer(() => corpus.nm.info), answer(() => corpus.nm.containers),
    async (info, containers) => {
      const nm = new NodeManagerClient({ url: base, retries: 0, timeoutMs: 2000 });
      try {
        next = info;
        await nm.nodeInfo().then(expectSaneNumbers, typed);
        next = containers;
        await nm.listContainers().then((l) => {
          expectSaneNumbers(l.containers);
          for (const c of l.containers) expect(c.id).toMatch(/^container_(e\d+_)?\d+_\d+_\d+_\d+$/);
        }, typed);
      } finally {
        await nm.close();
      }
    },
  ), Math.max(20, Math.round(RUNS / 3))));
});
