/**
 * Reads what Loom needs from an MIT `FILE:` credential cache (format versions 3 and 4, the ones
 * MIT writes): the default principal and the lifetime of its ticket-granting ticket. The native
 * GSS binding does not expose credential lifetimes, and the re-login schedule needs the TGT's
 * end time, so the file is read directly. Bounded and validated: a cache that is not one gives
 * one error naming the file.
 */

export interface KerberosPrincipalName {
  realm: string;
  components: string[];
}

export interface CachedCredential {
  client: KerberosPrincipalName;
  server: KerberosPrincipalName;
  /** Seconds since the epoch, as the KDC wrote them. */
  authTime: number;
  startTime: number;
  endTime: number;
  renewTill: number;
}

export interface CredentialCache {
  version: number;
  principal: KerberosPrincipalName;
  credentials: CachedCredential[];
}

/** The ticket-granting ticket of the cache's principal, in milliseconds since the epoch. */
export interface TgtLifetime {
  principal: string;
  startMs: number;
  endMs: number;
}

export class CredentialCacheError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`credential cache ${file}: ${reason}`);
    this.name = 'CredentialCacheError';
  }
}

/** Larger caches are refused: one principal's cache holds a TGT and a few service tickets. */
export const MAX_CCACHE_BYTES = 1 << 20;
const MAX_COMPONENTS = 16;
const MAX_CREDENTIALS = 4096;

export function principalToString(p: KerberosPrincipalName): string {
  return `${p.components.join('/')}@${p.realm}`;
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer, private readonly file: string) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new CredentialCacheError(this.file, `truncated at byte ${this.pos}`);
  }

  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.pos++);
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A 32-bit length and that many bytes. */
  counted(): Buffer {
    return this.bytes(this.u32());
  }

  skip(n: number): void {
    this.bytes(n);
  }
}

function readPrincipal(r: Reader, file: string): KerberosPrincipalName {
  r.u32(); // name type
  const count = r.u32();
  if (count > MAX_COMPONENTS) throw new CredentialCacheError(file, `a principal with ${count} components`);
  const realm = r.counted().toString('utf8');
  const components: string[] = [];
  for (let i = 0; i < count; i++) components.push(r.counted().toString('utf8'));
  return { realm, components };
}

/** Pure: parse the bytes of a `FILE:` credential cache. */
export function parseCredentialCache(buf: Buffer, file = '(buffer)'): CredentialCache {
  if (buf.length > MAX_CCACHE_BYTES) throw new CredentialCacheError(file, `larger than ${MAX_CCACHE_BYTES} bytes`);
  const r = new Reader(buf, file);
  const version = r.u16();
  if (version !== 0x0503 && version !== 0x0504) {
    throw new CredentialCacheError(file, `not an MIT FILE credential cache of version 3 or 4 (starts with 0x${version.toString(16).padStart(4, '0')})`);
  }
  if (version === 0x0504) r.skip(r.u16()); // header tags (KDC time offset)
  const principal = readPrincipal(r, file);
  const credentials: CachedCredential[] = [];
  while (!r.done) {
    if (credentials.length >= MAX_CREDENTIALS) throw new CredentialCacheError(file, `more than ${MAX_CREDENTIALS} credentials`);
    const client = readPrincipal(r, file);
    const server = readPrincipal(r, file);
    r.u16(); // key enctype
    r.counted(); // key
    const authTime = r.u32();
    const startTime = r.u32();
    const endTime = r.u32();
    const renewTill = r.u32();
    r.u8(); // is_skey
    r.u32(); // ticket flags
    const addresses = r.u32();
    for (let i = 0; i < addresses; i++) { r.u16(); r.counted(); }
    const authData = r.u32();
    for (let i = 0; i < authData; i++) { r.u16(); r.counted(); }
    r.counted(); // ticket
    r.counted(); // second ticket
    credentials.push({ client, server, authTime, startTime, endTime, renewTill });
  }
  return { version, principal, credentials };
}

/**
 * The TGT (`krbtgt/REALM@REALM` for the principal's realm) of a parsed cache, or undefined when
 * the cache holds none. Configuration entries (`X-CACHECONF:`) are not tickets and are skipped.
 */
export function tgtLifetime(cache: CredentialCache): TgtLifetime | undefined {
  const realm = cache.principal.realm;
  let best: CachedCredential | undefined;
  for (const c of cache.credentials) {
    const s = c.server;
    if (s.realm !== realm || s.components.length !== 2 || s.components[0] !== 'krbtgt' || s.components[1] !== realm) continue;
    if (principalToString(c.client) !== principalToString(cache.principal)) continue;
    if (!best || c.endTime > best.endTime) best = c;
  }
  if (!best) return undefined;
  const start = best.startTime || best.authTime;
  return { principal: principalToString(cache.principal), startMs: start * 1000, endMs: best.endTime * 1000 };
}
