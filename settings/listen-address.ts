/** `host:port`, `:port` or `[v6]:port` — the form of every listen-address setting (`--metrics-addr`). */

export interface ListenAddress {
  host: string;
  port: number;
}

/** Pure: the address, or a problem description (`undefined` host means every interface). */
export function parseListenAddress(addr: string): ListenAddress | { problem: string } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(addr.trim());
  if (!m) return { problem: `${JSON.stringify(addr)} is not host:port (e.g. 0.0.0.0:9464, :9464, [::1]:9464)` };
  const port = Number(m[3]);
  if (port > 65535) return { problem: `${JSON.stringify(addr)}: port ${port} is out of range (0–65535)` };
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
