/**
 * Unmarshalling of the update-node-resource body (`ResourceOptionInfo`, reference §2.4) the way
 * JAXB does it, dangers included: the DAO is *unwrapped* in JSON, unknown keys are ignored and
 * missing fields keep their defaults (memory 0, vCores 0, overCommitTimeout 0). So a wrongly
 * wrapped `{"resourceOption":{…}}` means "shrink to 0/0 and kill now" — exactly what a real RM
 * would do with it.
 */
import { XMLParser } from 'fast-xml-parser';
import { javaParseInt, javaParseLong } from './java-ids.js';

export interface ResourceOption {
  memoryMiB: number;
  vcores: number;
  overCommitTimeout: number;
}

export type ParseResult = { ok: true; value: ResourceOption } | { ok: false; message: string };

type Kind = 'long' | 'int';

/** A JSON/XML scalar as JAXB would coerce it into a Java long/int; undefined/null keep the default. */
function scalar(v: unknown, kind: Kind, field: string): number | Error {
  if (v === undefined || v === null) return 0;
  const parse = kind === 'long' ? javaParseLong : javaParseInt;
  if (typeof v === 'number') {
    const n = Number.isInteger(v) ? parse(String(v)) : undefined;
    return n ?? new Error(`cannot convert ${v} to ${kind} for ${field}`);
  }
  if (typeof v === 'string') {
    const n = parse(v.trim());
    return n ?? new Error(`cannot convert "${v}" to ${kind} for ${field}`);
  }
  return new Error(`unexpected ${Array.isArray(v) ? 'array' : typeof v} for ${field}`);
}

function fromTree(root: Record<string, unknown>): ParseResult {
  const rawRes = root.resource;
  let memory: number | Error = 0;
  let vcores: number | Error = 0;
  if (rawRes !== undefined && rawRes !== null && rawRes !== '') {
    if (typeof rawRes !== 'object' || Array.isArray(rawRes)) return { ok: false, message: 'resource must be an object' };
    const r = rawRes as Record<string, unknown>;
    memory = scalar(r.memory, 'long', 'memory');
    vcores = scalar(r.vCores, 'int', 'vCores');
  }
  const timeout = scalar(root.overCommitTimeout, 'int', 'overCommitTimeout');
  for (const v of [memory, vcores, timeout]) if (v instanceof Error) return { ok: false, message: v.message };
  return { ok: true, value: { memoryMiB: memory as number, vcores: vcores as number, overCommitTimeout: timeout as number } };
}

export function parseResourceOptionJson(text: string): ParseResult {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `Unable to unmarshal JSON: ${(err as Error).message}` };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return { ok: false, message: 'Unable to unmarshal JSON: expected an object' };
  }
  return fromTree(doc as Record<string, unknown>);
}

const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, processEntities: true });

export function parseResourceOptionXml(text: string): ParseResult {
  let doc: Record<string, unknown>;
  try {
    doc = xml.parse(text, true) as Record<string, unknown>;
  } catch (err) {
    return { ok: false, message: `Unable to unmarshal XML: ${(err as Error).message}` };
  }
  const roots = Object.keys(doc).filter((k) => k !== '?xml');
  if (roots.length !== 1) return { ok: false, message: 'Unable to unmarshal XML: expected one root element' };
  // JAXB checks the root element name of an @XmlRootElement class.
  if (roots[0] !== 'resourceOption') {
    return { ok: false, message: `unexpected element (uri:"", local:"${roots[0]}"). Expected elements are <{}resourceOption>` };
  }
  const body = doc.resourceOption;
  if (body === '' || body === undefined) return fromTree({});
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, message: 'Unable to unmarshal XML' };
  return fromTree(body as Record<string, unknown>);
}
