/**
 * The optional native `kerberos` module (MIT GSS-API through N-API), loaded only when Kerberos is
 * asked for. It is an optionalDependency: `npm ci` succeeds where libkrb5's headers are absent and
 * the module is then missing; asking for Kerberos there fails with one line saying what to install.
 * The types are Loom's own (the package may be absent when Loom is type-checked).
 */
import { createRequire } from 'node:module';
import { KerberosError } from './errors.js';

export interface GssClientContext {
  /** Base64 token for the server; `challenge` is the server's token ('' on the first step). */
  step(challenge: string): Promise<string>;
  contextComplete: boolean;
  username: string;
}

export interface GssServerContext {
  step(clientToken: string): Promise<string>;
  contextComplete: boolean;
  /** The authenticated client principal. */
  username: string;
  /** Base64 token for the client (mutual authentication), or '' / null. */
  response: string | null;
}

export interface KerberosBinding {
  initializeClient(service: string, options?: { principal?: string; gssFlag?: number; mechOID?: number }): Promise<GssClientContext>;
  initializeServer(service: string): Promise<GssServerContext>;
  GSS_C_MUTUAL_FLAG: number;
  GSS_C_SEQUENCE_FLAG: number;
  GSS_MECH_OID_SPNEGO: number;
  version: string;
}

export const KERBEROS_MODULE = 'kerberos';

export const MISSING_MODULE_HINT =
  'install the MIT Kerberos development files and a C++ toolchain (Debian/Ubuntu: apt-get install libkrb5-dev g++ make; RHEL: krb5-devel gcc-c++ make), then run `npm install` in Loom\'s directory';

const cache = new Map<string, KerberosBinding>();

/** Loads the binding or throws one KerberosError line naming what to install. */
export function loadKerberos(moduleId: string = KERBEROS_MODULE): KerberosBinding {
  const hit = cache.get(moduleId);
  if (hit) return hit;
  let binding: KerberosBinding;
  try {
    binding = createRequire(import.meta.url)(moduleId) as KerberosBinding;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const missing = e.code === 'MODULE_NOT_FOUND' && e.message.includes(`'${moduleId}'`);
    const why = missing
      ? `the optional native module "${moduleId}" is not installed`
      : `the native module "${moduleId}" does not load (${e.message.split('\n')[0]})`;
    throw new KerberosError(moduleId, 'module', `${why}: ${MISSING_MODULE_HINT}`, { cause: err });
  }
  if (typeof binding.initializeClient !== 'function' || typeof binding.initializeServer !== 'function') {
    throw new KerberosError(moduleId, 'module', `the module "${moduleId}" is not the kerberos package: ${MISSING_MODULE_HINT}`);
  }
  cache.set(moduleId, binding);
  return binding;
}
