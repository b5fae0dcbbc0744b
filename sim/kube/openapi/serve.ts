/**
 * Answers `/openapi/v2` and `/openapi/v3[/<group-version>]` as the apiserver does: v2 as protobuf
 * when the client asks for it (kubectl does) and JSON otherwise; v3 as JSON, the per-group
 * documents immutable under their `?hash=` (so clients may cache them). Pure: returns the answer.
 */
import { encodeOpenApiV2 } from './proto.js';
import { openApiV2, openApiV3 } from './documents.js';

export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
const OPENAPI_V2_PROTOBUF_ALT = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

export interface OpenApiAnswer { status: number; headers: Record<string, string>; body: Buffer | string }

let cache: { v2json: string; v2proto: Buffer; v3: ReturnType<typeof openApiV3> } | undefined;
function documents() {
  if (!cache) {
    const v2 = openApiV2();
    cache = { v2json: JSON.stringify(v2), v2proto: encodeOpenApiV2(v2), v3: openApiV3() };
  }
  return cache;
}

const accepted = (accept: string | undefined): string[] => (accept ?? '').split(',').map((p) => p.split(';')[0]!.trim().toLowerCase()).filter(Boolean);
const takesJson = (types: string[]) => types.length === 0 || types.some((t) => t === 'application/json' || t === '*/*' || t === 'application/*');
const json = (body: string, extra: Record<string, string> = {}): OpenApiAnswer => ({ status: 200, headers: { 'Content-Type': 'application/json', ...extra }, body });
const notAcceptable = (): OpenApiAnswer => ({ status: 406, headers: { 'Content-Type': 'text/plain' }, body: 'only application/json is served here' });

/** The answer for an OpenAPI path, or undefined when `pathname` is not one. */
export function serveOpenApi(method: string, pathname: string, query: URLSearchParams, accept: string | undefined): OpenApiAnswer | undefined {
  if (pathname !== '/openapi/v2' && pathname !== '/openapi/v3' && !pathname.startsWith('/openapi/v3/')) return undefined;
  if (method !== 'GET' && method !== 'HEAD') return { status: 405, headers: { 'Content-Type': 'text/plain' }, body: 'method not allowed' };
  const docs = documents();
  const types = accepted(accept);
  if (pathname === '/openapi/v2') {
    if (types.includes(OPENAPI_V2_PROTOBUF) || types.includes(OPENAPI_V2_PROTOBUF_ALT)) {
      // Go's mime parser refuses '@' in a subtype: the apiserver answers with the dotted form.
      return { status: 200, headers: { 'Content-Type': OPENAPI_V2_PROTOBUF_ALT }, body: docs.v2proto };
    }
    return takesJson(types) ? json(docs.v2json) : notAcceptable();
  }
  if (!takesJson(types)) return notAcceptable();
  if (pathname === '/openapi/v3') return json(JSON.stringify(docs.v3.index));
  const doc = docs.v3.documents.get(pathname.slice('/openapi/v3/'.length));
  if (!doc) return { status: 404, headers: { 'Content-Type': 'text/plain' }, body: '404 page not found' };
  const hash = query.get('hash');
  // The apiserver answers a stale hash with a redirect to the current one; a matching hash may be cached for good.
  if (hash !== null && hash !== doc.hash) {
    return { status: 301, headers: { Location: `${pathname}?hash=${doc.hash}`, 'Content-Type': 'text/plain' }, body: '' };
  }
  return json(doc.text, { ETag: `"${doc.hash}"`, 'Cache-Control': hash === null ? 'no-cache, private' : 'public, immutable' });
}
