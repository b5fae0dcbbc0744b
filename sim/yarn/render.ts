/**
 * How the Hadoop web services put DAOs on the wire (reference §1.2–1.4): JSON (Jersey "natural":
 * root-wrapped, lists as arrays even with one element, empty lists as `null` or `{}`) or XML
 * (root element, repeated singular siblings, empty list = empty root), chosen by `Accept`.
 * Pure string building so a 5,000-node list costs one pass.
 */

export type Format = 'json' | 'xml';

/** Jersey 1 renders an empty list wrapper as `null`; MOXy (trunk) as `{}`. */
export type EmptyListStyle = 'null' | 'empty-object';

export const JSON_TYPE = 'application/json;charset=utf-8';
export const XML_TYPE = 'application/xml;charset=utf-8';
export const TEXT_TYPE = 'text/plain;charset=utf-8';
const XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>';

/**
 * `Accept` negotiation over what the resources produce (JSON first, then XML). No header or a
 * wildcard gives JSON; a header naming neither gives `undefined` (Jersey answers 406).
 */
export function negotiate(accept: string | undefined): Format | undefined {
  if (accept === undefined || accept.trim() === '') return 'json';
  const ranges = accept.split(',').map((raw, order) => {
    const [type = '', ...params] = raw.split(';').map((s) => s.trim().toLowerCase());
    let q = 1;
    for (const p of params) {
      const m = /^q=([0-9.]+)$/.exec(p);
      if (m) q = Number(m[1]);
    }
    return { type, q: Number.isFinite(q) ? q : 0, order };
  });
  ranges.sort((a, b) => b.q - a.q || a.order - b.order);
  for (const r of ranges) {
    if (r.q <= 0) continue;
    if (r.type === 'application/json') return 'json';
    if (r.type === 'application/xml') return 'xml';
    if (r.type === '*/*' || r.type === 'application/*') return 'json';
  }
  return undefined;
}

export function contentTypeOf(format: Format): string {
  return format === 'json' ? JSON_TYPE : XML_TYPE;
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (ch) => (ch === '<' ? '&lt;' : ch === '>' ? '&gt;' : ch === '&' ? '&amp;' : ch === '"' ? '&quot;' : '&apos;'));
}

/** A DAO value: objects keep their key order; arrays become repeated elements; undefined is omitted. */
export type Dao = string | number | boolean | undefined | readonly Dao[] | { readonly [k: string]: Dao };

/** The XML body of one element named `name` (no declaration). */
export function xmlElement(name: string, value: Dao): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((v) => xmlElement(name, v)).join('');
  if (typeof value === 'object') {
    let inner = '';
    for (const [k, v] of Object.entries(value as { [k: string]: Dao })) inner += xmlElement(k, v);
    return inner === '' ? `<${name}/>` : `<${name}>${inner}</${name}>`;
  }
  const text = escapeXml(value === 9223372036854775807 ? '9223372036854775807' : String(value));
  return text === '' ? `<${name}/>` : `<${name}>${text}</${name}>`;
}

/** A whole wrapped document: `{"root":{…}}` or `<?xml…?><root>…</root>`. */
export function renderDoc(format: Format, root: string, body: { readonly [k: string]: Dao }): string {
  return format === 'json' ? javaLongs(JSON.stringify({ [root]: body })) : XML_DECL + xmlElement(root, body);
}

/** A double cannot hold Long.MAX_VALUE: write it as Java does. */
const javaLongs = (text: string): string => text.replaceAll('9223372036854776000', '9223372036854775807');

/** One list item, pre-rendered so callers can cache it. */
export function renderItem(format: Format, itemName: string, item: { readonly [k: string]: Dao }): string {
  return format === 'json' ? javaLongs(JSON.stringify(item)) : xmlElement(itemName, item);
}

/**
 * A list document from pre-rendered items: `{"nodes":{"node":[…]}}` (array even for one item),
 * empty → `{"nodes":null}` / `{"nodes":{}}`; XML `<nodes>…</nodes>` / `<nodes/>`.
 */
export function renderList(format: Format, root: string, itemName: string, items: readonly string[], empty: EmptyListStyle): string {
  if (format === 'xml') {
    return items.length === 0 ? `${XML_DECL}<${root}/>` : `${XML_DECL}<${root}>${items.join('')}</${root}>`;
  }
  if (items.length === 0) return `{${JSON.stringify(root)}:${empty === 'null' ? 'null' : '{}'}}`;
  return `{${JSON.stringify(root)}:{${JSON.stringify(itemName)}:[${items.join(',')}]}}`;
}

/** {@link renderList} from items already in bytes, as pieces of the document (nothing joined). */
export function renderListPieces(format: Format, root: string, itemName: string, items: readonly Buffer[], empty: EmptyListStyle): Buffer[] {
  if (items.length === 0) return [Buffer.from(renderList(format, root, itemName, [], empty))];
  const open = Buffer.from(format === 'xml' ? `${XML_DECL}<${root}>` : `{${JSON.stringify(root)}:{${JSON.stringify(itemName)}:[`);
  const close = Buffer.from(format === 'xml' ? `</${root}>` : ']}}');
  const comma = Buffer.from(',');
  const pieces: Buffer[] = [open];
  items.forEach((item, k) => {
    if (k > 0 && format === 'json') pieces.push(comma);
    pieces.push(item);
  });
  pieces.push(close);
  return pieces;
}

export interface RemoteExceptionData {
  exception: string;
  message: string;
  javaClassName: string;
}

/** `{"RemoteException":{exception,message,javaClassName}}` / `<RemoteException>…`. */
export function renderRemoteException(format: Format, e: RemoteExceptionData): string {
  return renderDoc(format, 'RemoteException', { exception: e.exception, message: e.message, javaClassName: e.javaClassName });
}

/** Exceptions the simulated servers throw, with the classes GenericExceptionHandler maps. */
export const EXCEPTIONS = {
  notFound: (message: string): RemoteExceptionData => ({
    exception: 'NotFoundException', message, javaClassName: 'org.apache.hadoop.yarn.webapp.NotFoundException',
  }),
  badRequest: (message: string): RemoteExceptionData => ({
    exception: 'BadRequestException', message, javaClassName: 'org.apache.hadoop.yarn.webapp.BadRequestException',
  }),
  illegalArgument: (message: string): RemoteExceptionData => ({
    exception: 'IllegalArgumentException', message, javaClassName: 'java.lang.IllegalArgumentException',
  }),
  authorization: (message: string): RemoteExceptionData => ({
    exception: 'AuthorizationException', message, javaClassName: 'org.apache.hadoop.security.authorize.AuthorizationException',
  }),
  yarnRuntime: (message: string): RemoteExceptionData => ({
    exception: 'YarnRuntimeException', message, javaClassName: 'org.apache.hadoop.yarn.exceptions.YarnRuntimeException',
  }),
  unmarshal: (message: string): RemoteExceptionData => ({
    exception: 'WebApplicationException', message, javaClassName: 'javax.ws.rs.WebApplicationException',
  }),
} as const;
