/** The pure parts of Kerberos support: names, the credential cache, cookies, the re-login schedule. */
import { describe, expect, test } from 'vitest';
import { CredentialCacheError, parseCredentialCache, tgtLifetime } from '../../yarn/kerberos/ccache.js';
import { KerberosError } from '../../yarn/kerberos/errors.js';
import { KerberosLogin, explainLoginFailure } from '../../yarn/kerberos/login.js';
import { loadKerberos } from '../../yarn/kerberos/module.js';
import { expandHost, serviceNameFor, shortName } from '../../yarn/kerberos/principal.js';
import { authCookieOf, negotiateToken } from '../../yarn/spnego.js';

/** An MIT FILE credential cache, version 4, as `kinit` writes it. */
function ccache(principal: [string, string[]], creds: { server: [string, string[]]; start: number; end: number }[]): Buffer {
  const parts: Buffer[] = [];
  const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); parts.push(b); };
  const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); parts.push(b); };
  const counted = (s: string | Buffer) => { const b = Buffer.from(s); u32(b.length); parts.push(b); };
  const princ = ([realm, comps]: [string, string[]]) => { u32(1); u32(comps.length); counted(realm); for (const c of comps) counted(c); };
  u16(0x0504);
  u16(12); u16(1); u16(8); u32(0); u32(0); // header: KDC time offset tag
  princ(principal);
  for (const c of creds) {
    princ(principal);
    princ(c.server);
    u16(18); counted(Buffer.alloc(32));
    u32(c.start); u32(c.start); u32(c.end); u32(0);
    parts.push(Buffer.from([0]));
    u32(0x40e10000);
    u32(0); u32(0);
    counted(Buffer.alloc(300, 7));
    counted('');
  }
  return Buffer.concat(parts);
}

describe('credential cache', () => {
  const me: [string, string[]] = ['LOOM.TEST', ['loom', 'operator']];
  test('finds the TGT of the default principal among config entries and service tickets', () => {
    const buf = ccache(me, [
      { server: ['X-CACHECONF:', ['krb5_ccache_conf_data', 'fast_avail']], start: 0, end: 0 },
      { server: ['LOOM.TEST', ['krbtgt', 'LOOM.TEST']], start: 1_000, end: 1_060 },
      { server: ['', ['HTTP', 'localhost']], start: 1_000, end: 1_060 },
    ]);
    const cache = parseCredentialCache(buf, 'cc');
    expect(cache.credentials).toHaveLength(3);
    expect(tgtLifetime(cache)).toEqual({ principal: 'loom/operator@LOOM.TEST', startMs: 1_000_000, endMs: 1_060_000 });
  });

  test('a cache with service tickets only has no TGT', () => {
    const cache = parseCredentialCache(ccache(me, [{ server: ['LOOM.TEST', ['HTTP', 'rm1']], start: 5, end: 9 }]));
    expect(tgtLifetime(cache)).toBeUndefined();
  });

  test('bad bytes give one error naming the file', () => {
    expect(() => parseCredentialCache(Buffer.from('not a cache'), '/tmp/x')).toThrow(CredentialCacheError);
    expect(() => parseCredentialCache(Buffer.from('not a cache'), '/tmp/x')).toThrow(/credential cache \/tmp\/x: not an MIT FILE credential cache/);
    const good = ccache(me, [{ server: ['LOOM.TEST', ['krbtgt', 'LOOM.TEST']], start: 1, end: 2 }]);
    expect(() => parseCredentialCache(good.subarray(0, good.length - 7), 'cc')).toThrow(/truncated/);
    expect(() => parseCredentialCache(Buffer.alloc(2 << 20), 'big')).toThrow(/larger than/);
  });
});

describe('principals as Hadoop names them', () => {
  test('_HOST is this host, lower-cased, only as the instance', () => {
    expect(expandHost('loom/_HOST@EXAMPLE.COM', 'Worker-7.Example.COM')).toBe('loom/worker-7.example.com@EXAMPLE.COM');
    expect(expandHost('loom/_HOST', 'h')).toBe('loom/h');
    expect(expandHost('loom@EXAMPLE.COM', 'h')).toBe('loom@EXAMPLE.COM');
    expect(expandHost('_HOST/x@R', 'h')).toBe('_HOST/x@R');
  });

  test('the service is HTTP/<host of the URL, lower-cased>, with no DNS in between', () => {
    expect(serviceNameFor('http://RM1.Example.com:8088/ws/v1/cluster')).toMatchObject({ principal: 'HTTP/rm1.example.com', hostBased: 'HTTP@rm1.example.com' });
    expect(serviceNameFor('http://127.0.0.1:8088')).toMatchObject({ principal: 'HTTP/127.0.0.1', hostBased: 'HTTP@127.0.0.1' });
    expect(serviceNameFor('http://[::1]:8042')).toMatchObject({ principal: 'HTTP/::1', host: '::1' });
  });

  test('an override may name another host and realm; _HOST there is the URL host', () => {
    expect(serviceNameFor('http://10.0.0.5:8088', 'HTTP/rm-vip.example.com@CORP.EXAMPLE')).toEqual({
      principal: 'HTTP/rm-vip.example.com@CORP.EXAMPLE', hostBased: 'HTTP@rm-vip.example.com', service: 'HTTP', host: 'rm-vip.example.com', realm: 'CORP.EXAMPLE',
    });
    expect(serviceNameFor('http://Rm2:8088', 'HTTP/_HOST@R')).toMatchObject({ principal: 'HTTP/rm2@R', hostBased: 'HTTP@rm2' });
    expect(() => serviceNameFor('http://h', 'nonsense')).toThrow(/HTTP\/host/);
  });

  test('short names', () => {
    expect(shortName('loom/node-1@EXAMPLE.COM')).toBe('loom');
    expect(shortName('etl@EXAMPLE.COM')).toBe('etl');
  });
});

describe('hadoop.auth cookie and Negotiate headers', () => {
  test('reads the cookie, its e= expiry and a cleared cookie', () => {
    const c = authCookieOf(['hadoop.auth="u=loom&p=loom/op@LOOM.TEST&t=kerberos&e=1700000600000&s=abc="; Path=/; HttpOnly'], 0);
    expect(c).toEqual({ value: '"u=loom&p=loom/op@LOOM.TEST&t=kerberos&e=1700000600000&s=abc="', expiresAt: 1_700_000_600_000 });
    expect(authCookieOf(['hadoop.auth=; Path=/; HttpOnly'], 0)).toBe('');
    expect(authCookieOf(['JSESSIONID=x; Path=/'], 0)).toBeUndefined();
    expect(authCookieOf(['hadoop.auth="opaque"; Path=/; Max-Age=60'], 1_000)).toEqual({ value: '"opaque"', expiresAt: 61_000 });
  });

  test('Negotiate challenge and token', () => {
    expect(negotiateToken('Negotiate')).toBe('');
    expect(negotiateToken('Negotiate oYG2MIGz')).toBe('oYG2MIGz');
    expect(negotiateToken('Basic realm="x", Negotiate abc=')).toBe('abc=');
    expect(negotiateToken('PseudoAuth')).toBeUndefined();
    expect(negotiateToken(undefined)).toBeUndefined();
  });
});

describe('login', () => {
  test('re-login at 80 % of the ticket lifetime, never sooner than a second from now', () => {
    const life = { principal: 'p', startMs: 1_000_000, endMs: 1_060_000 };
    expect(KerberosLogin.reloginDelay(life, 1_000_000)).toBe(48_000);
    expect(KerberosLogin.reloginDelay(life, 1_030_000)).toBe(18_000);
    expect(KerberosLogin.reloginDelay(life, 1_059_000)).toBe(1_000);
  });

  test('MIT messages become what to fix', () => {
    expect(explainLoginFailure('Client not found in Kerberos database', 'ghost@R', '/k')).toMatchObject({ failure: 'kdc', text: expect.stringMatching(/does not know the principal ghost@R/) });
    expect(explainLoginFailure('Preauthentication failed', 'loom@R', '/k').text).toMatch(/keys in \/k do not match.*stale/);
    expect(explainLoginFailure("Can't find client principal x@R in cache collection", 'x@R', '/k')).toMatchObject({ failure: 'credentials', text: expect.stringMatching(/keytab \/k has no key for x@R/) });
    expect(explainLoginFailure('No Kerberos credentials available', '', undefined).text).toMatch(/run kinit/);
  });

  test('a keytab without a principal is refused at once', () => {
    expect(() => new KerberosLogin({ keytab: '/k' })).toThrow(/needs the principal to log in as: set --kerberos-principal/);
  });

  test('without the native module, asking for Kerberos is one line saying what to install', () => {
    let err: unknown;
    try {
      loadKerberos('loom-no-such-kerberos-module');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KerberosError);
    const message = (err as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(/^Kerberos: the optional native module "loom-no-such-kerberos-module" is not installed: install .*libkrb5-dev.*npm install/);
  });
});
