/**
 * `/openapi/v2` as protobuf: the gnostic `openapi.v2.Document` message kubectl asks for
 * (`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`). Only the fields the
 * simulator's Swagger document uses are encoded; field numbers are those of gnostic's
 * OpenAPIv2.proto. Vendor extensions are `NamedAny{name, Any{yaml}}`, the value written as JSON
 * (valid YAML), as kube-openapi reads them.
 */
type Json = Record<string, unknown>;

/** A protobuf message being written: fields appended in order. */
class Writer {
  private readonly parts: Buffer[] = [];

  private varint(n: number): void {
    const bytes: number[] = [];
    let v = n;
    while (v > 127) { bytes.push((v & 127) | 128); v = Math.floor(v / 128); }
    bytes.push(v);
    this.parts.push(Buffer.from(bytes));
  }

  private key(field: number, wire: number): void { this.varint(field * 8 + wire); }

  string(field: number, s: string | undefined): this {
    if (s === undefined || s === '') return this;
    const b = Buffer.from(s, 'utf8');
    this.key(field, 2); this.varint(b.length); this.parts.push(b);
    return this;
  }

  strings(field: number, list: readonly string[] | undefined): this {
    for (const s of list ?? []) {
      const b = Buffer.from(s, 'utf8');
      this.key(field, 2); this.varint(b.length); this.parts.push(b);
    }
    return this;
  }

  bool(field: number, v: boolean | undefined): this {
    if (!v) return this;
    this.key(field, 0); this.varint(1);
    return this;
  }

  message(field: number, m: Writer | undefined): this {
    if (!m) return this;
    const b = m.bytes();
    this.key(field, 2); this.varint(b.length); this.parts.push(b);
    return this;
  }

  bytes(): Buffer { return Buffer.concat(this.parts); }
}

const w = () => new Writer();

function vendorExtensions(field: number, o: Json, into: Writer): void {
  for (const [k, v] of Object.entries(o)) {
    if (!k.startsWith('x-')) continue;
    into.message(field, w().string(1, k).message(2, w().string(2, `${JSON.stringify(v)}\n`)));
  }
}

function schema(s: Json): Writer {
  const m = w();
  m.string(1, s.$ref as string | undefined).string(2, s.format as string | undefined).string(4, s.description as string | undefined);
  m.strings(19, s.required as string[] | undefined);
  for (const e of (s.enum as string[] | undefined) ?? []) m.message(20, w().string(2, `${JSON.stringify(e)}\n`));
  if (s.additionalProperties !== undefined) {
    const ap = s.additionalProperties;
    m.message(21, typeof ap === 'boolean' ? w().bool(2, ap) : w().message(1, schema(ap as Json)));
  }
  if (typeof s.type === 'string') m.message(22, w().strings(1, [s.type]));
  if (s.items) m.message(23, w().message(1, schema(s.items as Json)));
  if (s.properties) {
    const props = w();
    for (const [name, p] of Object.entries(s.properties as Record<string, Json>)) props.message(1, w().string(1, name).message(2, schema(p)));
    m.message(25, props);
  }
  vendorExtensions(31, s, m);
  return m;
}

function parameter(p: Json): Writer {
  if (p.in === 'body') {
    return w().message(1, w().message(1, w().string(1, p.description as string).string(2, p.name as string).string(3, 'body').bool(4, p.required as boolean).message(5, schema(p.schema as Json))));
  }
  // Query (3) and path (4) sub-schemas share the first fields: required, in, description, name; type is 6 / 5.
  const sub = w().bool(1, p.required as boolean).string(2, p.in as string).string(3, p.description as string).string(4, p.name as string);
  if (p.in === 'query') sub.string(6, p.type as string).bool(20, p.uniqueItems as boolean);
  else sub.string(5, p.type as string).bool(19, p.uniqueItems as boolean);
  return w().message(1, w().message(2, w().message(p.in === 'query' ? 3 : 4, sub)));
}

function operation(op: Json): Writer {
  const m = w();
  m.strings(1, op.tags as string[]).string(3, op.description as string).string(5, op.operationId as string);
  m.strings(6, op.produces as string[]).strings(7, op.consumes as string[]);
  for (const p of op.parameters as Json[]) m.message(8, parameter(p));
  const responses = w();
  for (const [code, r] of Object.entries(op.responses as Record<string, Json>)) {
    const resp = w().string(1, r.description as string);
    if (r.schema) resp.message(2, w().message(1, schema(r.schema as Json)));
    responses.message(1, w().string(1, code).message(2, w().message(1, resp)));
  }
  m.message(9, responses).strings(10, op.schemes as string[]);
  vendorExtensions(13, op, m);
  return m;
}

const PATH_OPS: Record<string, number> = { get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8 };

/** Encodes the Swagger 2.0 document as gnostic's `openapi.v2.Document`. */
export function encodeOpenApiV2(doc: Json): Buffer {
  const d = w().string(1, doc.swagger as string);
  const info = doc.info as Json;
  d.message(2, w().string(1, info.title as string).string(2, info.version as string));
  const paths = w();
  for (const [p, item] of Object.entries(doc.paths as Record<string, Json>)) {
    const pi = w();
    for (const [k, v] of Object.entries(item)) {
      if (k === 'parameters') for (const prm of v as Json[]) pi.message(9, parameter(prm));
      else if (PATH_OPS[k] !== undefined) pi.message(PATH_OPS[k]!, operation(v as Json));
    }
    paths.message(2, w().string(1, p).message(2, pi));
  }
  d.message(8, paths);
  const defs = w();
  for (const [name, s] of Object.entries(doc.definitions as Record<string, Json>)) defs.message(1, w().string(1, name).message(2, schema(s)));
  d.message(9, defs);
  const sec = w();
  for (const [name, s] of Object.entries((doc.securityDefinitions ?? {}) as Record<string, Json>)) {
    // SecurityDefinitionsItem.api_key_security (2): type, name, in, description.
    sec.message(1, w().string(1, name).message(2, w().message(2, w().string(1, s.type as string).string(2, s.name as string).string(3, s.in as string).string(4, s.description as string))));
  }
  d.message(13, sec);
  for (const req of (doc.security ?? []) as Json[]) {
    const r = w();
    for (const [name, scopes] of Object.entries(req)) r.message(1, w().string(1, name).message(2, w().strings(1, scopes as string[])));
    d.message(12, r);
  }
  return d.bytes();
}
