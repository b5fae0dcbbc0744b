/**
 * Response body → one plain "raw" object, the same for JSON and XML: `{<root>: {...}}`.
 *
 * XML is parsed without value conversion (every leaf is a string; `<x/>` is `""`): converting
 * "3.10" to 3.1 would corrupt version strings, so numbers are coerced by the schemas instead,
 * which they must do anyway because JSON may carry numeric strings (reference §1.2).
 */
import { createRequire } from 'node:module';
import type { XMLParser as XMLParserType } from 'fast-xml-parser';
import { YarnDocumentError, bodyExcerpt } from './errors.js';
import { describeXmlProblem } from './xml-problem.js';

// Loaded on the first XML body only: JSON is the default everywhere, and the node agent's
// resident size counts every module it holds.
const requireLazy = createRequire(import.meta.url);
let xml: { parser: XMLParserType; validate: (body: string) => true | { err: { code?: string; msg: string; line?: number; col?: number } } } | undefined;
function xmlTools(): NonNullable<typeof xml> {
  if (!xml) {
    const { XMLParser, XMLValidator } = requireLazy('fast-xml-parser') as typeof import('fast-xml-parser');
    xml = { parser: new XMLParser(XML_OPTIONS), validate: (body) => XMLValidator.validate(body) as never };
  }
  return xml;
}

export type BodyFormat = 'json' | 'xml';

/**
 * Tags that are lists in Hadoop's DAOs. Only treated as arrays below the root, so a single
 * `<node>` document (GET /nodes/{id}) stays an object.
 */
const LIST_TAGS = new Set([
  'node', 'container', 'containerLogFiles', 'nodeLabels', 'allocationTagInfo', 'nodeAttributeInfo',
  'resourceInformation', 'app', 'property',
]);

const XML_OPTIONS = {
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  isArray: (tagName: string, jPath: unknown) => LIST_TAGS.has(tagName) && String(jPath).includes('.'),
};

/** JSON / XML / neither, from a Content-Type header value. */
export function formatOfContentType(contentType: string | undefined): BodyFormat | undefined {
  if (!contentType) return undefined;
  const mime = contentType.split(';')[0]!.trim().toLowerCase();
  if (mime === 'application/json' || mime.endsWith('+json')) return 'json';
  if (mime === 'application/xml' || mime === 'text/xml' || mime.endsWith('+xml')) return 'xml';
  return undefined;
}

/** Parse a JSON body; truncated or empty bodies are errors naming the URL. */
export function parseJsonDocument(body: string, url: string): unknown {
  if (body.trim() === '') throw new YarnDocumentError(url, 'empty JSON body', '');
  try {
    return JSON.parse(body);
  } catch (err) {
    throw new YarnDocumentError(url, `invalid JSON (${(err as Error).message})`, bodyExcerpt(body));
  }
}

/** Parse an XML body into `{<root>: …}`; malformed or empty XML is an error naming the URL. */
export function parseXmlDocument(body: string, url: string): Record<string, unknown> {
  if (body.trim() === '') throw new YarnDocumentError(url, 'empty XML body', '');
  const valid = xmlTools().validate(body);
  if (valid !== true) {
    throw new YarnDocumentError(url, `invalid XML: ${describeXmlProblem(valid.err)}`, bodyExcerpt(body));
  }
  let parsed: unknown;
  try {
    parsed = xmlTools().parser.parse(body);
  } catch (err) {
    throw new YarnDocumentError(url, `invalid XML (${(err as Error).message})`, bodyExcerpt(body));
  }
  if (typeof parsed !== 'object' || parsed === null) throw new YarnDocumentError(url, 'XML without a root element', bodyExcerpt(body));
  return parsed as Record<string, unknown>;
}

/**
 * Check the Content-Type, then parse. A 200 with text/html or text/plain (a standby's notice, a
 * proxy's login page) is an error, never an empty document.
 */
export function decodeBody(body: string, contentType: string | undefined, url: string): unknown {
  const format = formatOfContentType(contentType);
  if (format === 'json') return parseJsonDocument(body, url);
  if (format === 'xml') return parseXmlDocument(body, url);
  throw new YarnDocumentError(url, `expected a JSON or XML response, got Content-Type ${contentType ?? '(none)'}`, bodyExcerpt(body), contentType);
}
