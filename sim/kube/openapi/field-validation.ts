/**
 * Server-side field validation (`fieldValidation=Ignore|Warn|Strict`): the fields of a request
 * body its kind's schema does not know, named by path as the apiserver names them
 * (`spec.containers[0].imagePullPolcy`). Opaque objects (`x-kubernetes-preserve-unknown-fields`)
 * are not looked into; in patches, `$`-directives are not fields. Duplicate JSON keys (which the
 * real apiserver also reports) are not detected: JSON.parse keeps the last one.
 */
import { DEFINITIONS } from './definitions.js';
import type { Schema } from './schema.js';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

/** The query parameter's value; undefined = not one of the three (a 400). Absent means Warn, as on the apiserver. */
export function fieldValidationOf(raw: string | null): FieldValidation | undefined {
  if (raw === null || raw === '') return 'Warn';
  return raw === 'Ignore' || raw === 'Warn' || raw === 'Strict' ? raw : undefined;
}

function resolve(s: Schema): Schema {
  let cur = s;
  for (let i = 0; i < 16 && cur.$ref; i++) cur = DEFINITIONS[cur.$ref.replace('#/definitions/', '')] ?? {};
  return cur;
}

function walk(value: unknown, schema: Schema, path: string, out: string[], patch: boolean): void {
  const s = resolve(schema);
  if (s['x-kubernetes-preserve-unknown-fields'] === true) return;
  if (Array.isArray(value)) {
    if (s.type === 'array' && s.items) value.forEach((v, i) => walk(v, s.items!, `${path}[${i}]`, out, patch));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const entries = Object.entries(value as Record<string, unknown>);
  if (s.properties) {
    for (const [k, v] of entries) {
      if (patch && k.startsWith('$')) continue;
      const sub = s.properties[k];
      const p = path === '' ? k : `${path}.${k}`;
      if (!sub) out.push(p);
      else walk(v, sub, p, out, patch);
    }
  } else if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    for (const [k, v] of entries) walk(v, s.additionalProperties, path === '' ? k : `${path}.${k}`, out, patch);
  }
}

/** Paths of the fields of `body` that the definition `definition` does not have. */
export function unknownFields(definition: string, body: unknown, o: { patch?: boolean } = {}): string[] {
  const out: string[] = [];
  walk(body, { $ref: `#/definitions/${definition}` }, '', out, o.patch ?? false);
  return out;
}

function prune(value: unknown, schema: Schema, patch: boolean): unknown {
  const s = resolve(schema);
  if (s['x-kubernetes-preserve-unknown-fields'] === true) return value;
  if (Array.isArray(value)) return s.type === 'array' && s.items ? value.map((v) => prune(v, s.items!, patch)) : value;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (patch && k.startsWith('$')) { Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true }); continue; }
    let sub: Schema | undefined;
    if (s.properties) sub = s.properties[k];
    else if (s.additionalProperties && typeof s.additionalProperties === 'object') sub = s.additionalProperties;
    else sub = {};
    if (sub === undefined) continue;
    Object.defineProperty(out, k, { value: prune(v, sub, patch), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** `body` without the fields its definition does not have: what the apiserver keeps when it decodes it. */
export function withoutUnknownFields<T>(definition: string, body: T, o: { patch?: boolean } = {}): T {
  return prune(body, { $ref: `#/definitions/${definition}` }, o.patch ?? false) as T;
}
