/** RFC 6902 JSON Patch (with RFC 6901 pointers, `~1` = `/`, `~0` = `~`). Pure: returns a new document. */
import { isPlainObject, jsonEqual, setOwn } from '../object.js';
import { PatchError } from './patch-error.js';

interface Op { op: string; path: string; from?: string; value?: unknown; hasValue: boolean }

function parseOps(patch: unknown): Op[] {
  if (!Array.isArray(patch)) throw new PatchError('malformed', 'json patch must be an array of operations');
  return patch.map((raw, i) => {
    if (!isPlainObject(raw)) throw new PatchError('malformed', `operation ${i} is not an object`);
    const { op, path, from } = raw;
    if (typeof op !== 'string') throw new PatchError('malformed', `operation ${i} has no "op"`);
    if (!['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(op)) throw new PatchError('malformed', `Unexpected kind: ${op}`);
    if (typeof path !== 'string') throw new PatchError('malformed', `operation ${i} (${op}) has no "path"`);
    const hasValue = Object.prototype.hasOwnProperty.call(raw, 'value');
    if ((op === 'add' || op === 'replace' || op === 'test') && !hasValue) throw new PatchError('malformed', `operation ${i} (${op}) has no "value"`);
    if ((op === 'move' || op === 'copy') && typeof from !== 'string') throw new PatchError('malformed', `operation ${i} (${op}) has no "from"`);
    const o: Op = { op, path, value: raw.value, hasValue };
    if (typeof from === 'string') o.from = from;
    return o;
  });
}

export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError('malformed', `invalid JSON pointer "${pointer}"`);
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = Record<string, unknown> | unknown[];

function arrayIndex(arr: unknown[], token: string, forInsert: boolean, path: string): number {
  if (forInsert && token === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new PatchError('failed', `invalid array index "${token}" in path ${path}`);
  const idx = Number(token);
  const max = forInsert ? arr.length : arr.length - 1;
  if (idx > max) throw new PatchError('failed', `array index ${idx} out of bounds in path ${path}`);
  return idx;
}

/** The container holding the last token of `tokens`, walking from `doc`. */
function parentOf(doc: unknown, tokens: string[], path: string): Container {
  let cur: unknown = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false, path)];
    else if (isPlainObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t];
    else throw new PatchError('failed', `doc is missing path: "${path}"`);
  }
  if (!Array.isArray(cur) && !isPlainObject(cur)) throw new PatchError('failed', `doc is missing path: "${path}"`);
  return cur;
}

function getAt(doc: unknown, path: string): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, false, path)];
  if (!Object.prototype.hasOwnProperty.call(parent, last)) throw new PatchError('failed', `doc is missing key: "${path}"`);
  return parent[last];
}

/** Mutates `doc` (a private copy); returns the (possibly replaced) root. */
function add(doc: unknown, path: string, value: unknown): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true, path), 0, value);
  else setOwn(parent, last, value);
  return doc;
}

function remove(doc: unknown, path: string): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) throw new PatchError('failed', 'cannot remove the whole document');
  const parent = parentOf(doc, tokens, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false, path), 1);
  else {
    if (!Object.prototype.hasOwnProperty.call(parent, last)) throw new PatchError('failed', `Unable to remove nonexistent key: ${last}: missing value`);
    delete parent[last];
  }
  return doc;
}

function replace(doc: unknown, path: string, value: unknown): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent[arrayIndex(parent, last, false, path)] = value;
  else {
    if (!Object.prototype.hasOwnProperty.call(parent, last)) throw new PatchError('failed', `replace operation does not apply: doc is missing key: ${path}: missing value`);
    setOwn(parent, last, value);
  }
  return doc;
}

/** Applies `patch` (a parsed JSON array) to a copy of `target`. Throws {@link PatchError}. */
export function applyJsonPatch<T>(target: T, patch: unknown): T {
  const ops = parseOps(patch);
  let doc: unknown = structuredClone(target);
  for (const o of ops) {
    switch (o.op) {
      case 'add': doc = add(doc, o.path, structuredClone(o.value)); break;
      case 'remove': doc = remove(doc, o.path); break;
      case 'replace': doc = replace(doc, o.path, structuredClone(o.value)); break;
      case 'move': {
        if (o.path.startsWith(`${o.from}/`)) throw new PatchError('failed', `cannot move ${o.from} into its own child ${o.path}`);
        const v = getAt(doc, o.from!);
        doc = add(remove(doc, o.from!), o.path, v);
        break;
      }
      case 'copy': doc = add(doc, o.path, structuredClone(getAt(doc, o.from!))); break;
      case 'test': {
        let actual: unknown;
        try { actual = getAt(doc, o.path); } catch { actual = undefined; }
        if (!jsonEqual(actual, o.value)) throw new PatchError('failed', `testing value ${o.path} failed: test failed`);
        break;
      }
    }
  }
  return doc as T;
}
