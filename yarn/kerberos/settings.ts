/** The Kerberos settings the operator and the agent share (flag / LOOM_* env / YAML key, like every setting). */
import type { SettingSpec, SettingsValues } from '../../settings/settings.js';
import type { KerberosSettings } from './login.js';
import { isPrincipal } from './principal.js';

const principalCheck = (v: unknown): string | undefined =>
  (isPrincipal(String(v)) ? undefined : 'expected a Kerberos principal: name[/instance][@REALM] (_HOST is this host)');

export const kerberosSettingSpecs: readonly SettingSpec[] = [
  { key: 'kerberos.principal', kind: 'string', description: 'Kerberos principal for SPNEGO to the ResourceManager and NodeManager (_HOST = this host); turns Kerberos on', check: principalCheck },
  { key: 'kerberos.keytab', kind: 'string', description: 'keytab of kerberos.principal; Loom logs in from it and again before the ticket expires (without it: the ticket cache)' },
  { key: 'kerberos.ticketCache', kind: 'string', description: 'ticket cache to use without a keytab, e.g. FILE:/tmp/krb5cc_1000 (default KRB5CCNAME); turns Kerberos on' },
  {
    key: 'kerberos.servicePrincipal', kind: 'string', description: "the servers' SPNEGO principal when it is not HTTP/<host of the URL> (_HOST = the URL's host), e.g. HTTP/rm.example.com@EXAMPLE.COM",
    check: (v) => (/^[^/@\s]+\/[^/@\s]+(@[^/@\s]+)?$/.test(String(v)) ? undefined : 'expected service/host[@REALM], e.g. HTTP/_HOST@EXAMPLE.COM'),
  },
];

export function toKerberosSettings(v: SettingsValues): KerberosSettings | undefined {
  const s: KerberosSettings = {};
  if (v['kerberos.principal'] !== undefined) s.principal = v['kerberos.principal'] as string;
  if (v['kerberos.keytab'] !== undefined) s.keytab = v['kerberos.keytab'] as string;
  if (v['kerberos.ticketCache'] !== undefined) s.ticketCache = v['kerberos.ticketCache'] as string;
  if (v['kerberos.servicePrincipal'] !== undefined) s.servicePrincipal = v['kerberos.servicePrincipal'] as string;
  return s.principal !== undefined || s.keytab !== undefined || s.ticketCache !== undefined ? s : undefined;
}
