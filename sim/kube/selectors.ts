/**
 * Label and field selectors: parsing (with the apiserver's error cases → 400) and matching.
 * Pure; parsed selectors are plain data so a watcher parses once and matches per event.
 */
import { type ResourceDef } from './resources.js';
import { badRequest } from './status.js';
import { isLabelValue, isQualifiedName } from './validation.js';
import type { KubeObject } from './object.js';

export type LabelRequirement =
  | { op: 'exists' | 'notexists'; key: string }
  | { op: 'in' | 'notin'; key: string; values: ReadonlySet<string> }
  | { op: 'gt' | 'lt'; key: string; value: number };

export type LabelSelector = readonly LabelRequirement[];

type Token = { t: 'id'; v: string } | { t: 'op'; v: string } | { t: '(' | ')' | ',' };

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '(' || c === ')' || c === ',') { out.push({ t: c }); i++; continue; }
    if (c === '=' || c === '!' || c === '<' || c === '>') {
      const two = s.slice(i, i + 2);
      if (two === '==' || two === '!=') { out.push({ t: 'op', v: two }); i += 2; continue; }
      out.push({ t: 'op', v: c }); i++; continue;
    }
    let j = i;
    while (j < s.length && !/[\s(),=!<>]/.test(s[j]!)) j++;
    out.push({ t: 'id', v: s.slice(i, j) });
    i = j;
  }
  return out;
}

function selectorError(selector: string, why: string): Error {
  return badRequest(`unable to parse requirement: ${why} (selector "${selector}")`);
}

/** `labels.Parse`: `a=b,c!=d,e in (f,g),h notin (i),j,!k,l>3`. Throws a 400 ApiError. */
export function parseLabelSelector(selector: string | undefined): LabelSelector {
  if (selector === undefined || selector.trim() === '') return [];
  const toks = tokenize(selector);
  const reqs: LabelRequirement[] = [];
  let i = 0;
  const next = (): Token | undefined => toks[i++];
  const checkKey = (key: string): string => {
    if (!isQualifiedName(key)) throw selectorError(selector, `invalid label key "${key}"`);
    return key;
  };
  const checkValue = (v: string): string => {
    if (!isLabelValue(v)) throw selectorError(selector, `invalid label value "${v}"`);
    return v;
  };
  for (;;) {
    let tok = next();
    if (!tok) throw selectorError(selector, 'found end of string, expected a key');
    if (tok.t === 'op' && tok.v === '!') {
      const k = next();
      if (!k || k.t !== 'id') throw selectorError(selector, 'expected a key after !');
      reqs.push({ op: 'notexists', key: checkKey(k.v) });
    } else if (tok.t === 'id') {
      const key = checkKey(tok.v);
      const after = toks[i];
      if (!after || after.t === ',') {
        reqs.push({ op: 'exists', key });
      } else if (after.t === 'op') {
        i++;
        const v = toks[i];
        // `a=` selects an empty value: the next token is a comma or the end.
        let value = '';
        if (v && v.t === 'id') { value = v.v; i++; }
        else if (v && v.t !== ',') throw selectorError(selector, `expected a value after ${after.v}`);
        if (after.v === '=' || after.v === '==') reqs.push({ op: 'in', key, values: new Set([checkValue(value)]) });
        else if (after.v === '!=') reqs.push({ op: 'notin', key, values: new Set([checkValue(value)]) });
        else if (after.v === '<' || after.v === '>') {
          if (!/^-?\d+$/.test(value)) throw selectorError(selector, `for 'Gt', 'Lt' operators, the value must be an integer`);
          reqs.push({ op: after.v === '>' ? 'gt' : 'lt', key, value: Number(value) });
        } else throw selectorError(selector, `unknown operator ${after.v}`);
      } else if (after.t === 'id' && (after.v === 'in' || after.v === 'notin')) {
        i++;
        if (next()?.t !== '(') throw selectorError(selector, `expected ( after ${after.v}`);
        const values = new Set<string>();
        for (;;) {
          tok = next();
          if (!tok) throw selectorError(selector, 'found end of string, expected )');
          if (tok.t === ')') break;
          if (tok.t === ',') continue;
          if (tok.t !== 'id') throw selectorError(selector, 'expected a value');
          values.add(checkValue(tok.v));
        }
        if (values.size === 0) throw selectorError(selector, `for 'in', 'notin' operators, values set can't be empty`);
        reqs.push({ op: after.v, key, values });
      } else {
        throw selectorError(selector, `unexpected "${after.t === 'id' ? after.v : after.t}" after key ${key}`);
      }
    } else {
      throw selectorError(selector, 'expected a key');
    }
    const sep = next();
    if (!sep) break;
    if (sep.t !== ',') throw selectorError(selector, 'expected ,');
  }
  return reqs;
}

export function matchesLabels(sel: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  for (const r of sel) {
    const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = has ? labels![r.key]! : undefined;
    switch (r.op) {
      case 'exists': if (!has) return false; break;
      case 'notexists': if (has) return false; break;
      case 'in': if (v === undefined || !r.values.has(v)) return false; break;
      // `!=` and `notin` match objects without the label, as in Kubernetes.
      case 'notin': if (v !== undefined && r.values.has(v)) return false; break;
      case 'gt': case 'lt': {
        if (v === undefined || !/^-?\d+$/.test(v)) return false;
        const n = Number(v);
        if (r.op === 'gt' ? !(n > r.value) : !(n < r.value)) return false;
        break;
      }
    }
  }
  return true;
}

export interface FieldRequirement { field: string; op: '=' | '!='; value: string }
export type FieldSelector = readonly FieldRequirement[];

/** Splits on unescaped `sep`; `\,` `\=` `\!` `\\` are escapes as in fields.ParseSelector. */
function splitEscaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) { cur += c + s[i + 1]; i++; continue; }
    if (c === sep) { parts.push(cur); cur = ''; continue; }
    cur += c;
  }
  parts.push(cur);
  return parts;
}

const unescape = (s: string): string => s.replace(/\\(.)/g, '$1');

/** `fields.ParseSelector` + the per-type field-label check. Throws a 400 ApiError. */
export function parseFieldSelector(selector: string | undefined, def: ResourceDef): FieldSelector {
  if (selector === undefined || selector.trim() === '') return [];
  const out: FieldRequirement[] = [];
  for (const term of splitEscaped(selector, ',')) {
    if (term === '') continue;
    const m = /^((?:\\.|[^!=\\])*)(!=|==|=)(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const field = unescape(m[1]!).trim();
    const value = unescape(m[3]!);
    if (!isSupportedField(def, field)) throw badRequest(`field label not supported: ${field}`);
    out.push({ field, op: m[2] === '!=' ? '!=' : '=', value });
  }
  return out;
}

function isSupportedField(def: ResourceDef, field: string): boolean {
  if (field === 'metadata.name') return true;
  if (field === 'metadata.namespace') return def.namespaced;
  return def.fieldLabels.includes(field);
}

/** The string the apiserver compares a field label against (booleans as "true"/"false"). */
export function fieldValue(obj: KubeObject, field: string): string {
  if (field === 'metadata.namespace') return obj.metadata.namespace ?? '';
  if (field === 'source') return String(dig(obj, ['source', 'component']) ?? '');
  const v = dig(obj, field.split('.'));
  if (field === 'spec.unschedulable' || field === 'spec.hostNetwork') return v === true ? 'true' : 'false';
  return v === undefined || v === null ? '' : String(v);
}

function dig(obj: unknown, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

export function matchesFields(sel: FieldSelector, obj: KubeObject): boolean {
  for (const r of sel) {
    const v = fieldValue(obj, r.field);
    if (r.op === '=' ? v !== r.value : v === r.value) return false;
  }
  return true;
}

/** The value a selector pins `field` to with `=`, if it does (to use an index). */
export function pinnedField(sel: FieldSelector, field: string): string | undefined {
  return sel.find((r) => r.field === field && r.op === '=')?.value;
}
