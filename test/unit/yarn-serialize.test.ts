import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { YarnArgumentError } from '../../yarn/errors.js';
import { mib, vcores } from '../../yarn/resource.js';
import { serializeResourceOption } from '../../yarn/serialize.js';

const res = (m: number, c: number) => ({ memoryMiB: mib(m), vcores: vcores(c) });

describe('resize body (ResourceOptionInfo, unwrapped)', () => {
  it('exact bytes, timeout always present', () => {
    expect(serializeResourceOption(res(12288, 10), -1)).toBe('{"resource":{"memory":12288,"vCores":10},"overCommitTimeout":-1}');
    expect(serializeResourceOption(res(1024, 0), 0)).toBe('{"resource":{"memory":1024,"vCores":0},"overCommitTimeout":0}');
    expect(serializeResourceOption(res(0, 2), 30000)).toBe('{"resource":{"memory":0,"vCores":2},"overCommitTimeout":30000}');
  });

  it('refuses 0/0, negative, fractional, NaN resources and bad timeouts', () => {
    expect(() => serializeResourceOption(res(0, 0), -1)).toThrow(/0 MiB \/ 0 vcores/);
    expect(() => serializeResourceOption(res(-1, 2), -1)).toThrow(YarnArgumentError);
    expect(() => serializeResourceOption(res(1024, 1.5), -1)).toThrow(YarnArgumentError);
    expect(() => serializeResourceOption(res(Number.NaN, 1), -1)).toThrow(YarnArgumentError);
    expect(() => serializeResourceOption(res(1024, 1), 1.5)).toThrow(/overCommitTimeout/);
    expect(() => serializeResourceOption(res(1024, 1), -7)).toThrow(/overCommitTimeout/);
    expect(() => serializeResourceOption(res(1024, 1), 2 ** 31)).toThrow(/overCommitTimeout/);
  });

  it('round-trips through JSON.parse for every valid input', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: -1, max: 2 ** 31 - 1 }),
      (m, c, t) => {
        fc.pre(m + c > 0);
        const body = serializeResourceOption(res(m, c), t);
        expect(JSON.parse(body)).toEqual({ resource: { memory: m, vCores: c }, overCommitTimeout: t });
        expect(Object.keys(JSON.parse(body))).toEqual(['resource', 'overCommitTimeout']);
      },
    ));
  });
});
