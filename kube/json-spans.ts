/**
 * Where the members of a JSON object and the elements of a JSON array sit in the text, so one
 * part of an annotation can be replaced while every other byte stays as its writer wrote it.
 * The text must already be valid JSON (callers parse it first); this only measures it.
 */

export interface Span { start: number; end: number }
export interface MemberSpan { key: string; keySpan: Span; value: Span }

const WS = new Set([' ', '\t', '\n', '\r']);

export function skipWs(text: string, i: number): number {
  while (i < text.length && WS.has(text[i]!)) i++;
  return i;
}

function stringEnd(text: string, i: number): number {
  // text[i] === '"'
  for (let j = i + 1; j < text.length; j++) {
    const c = text[j];
    if (c === '\\') j++;
    else if (c === '"') return j + 1;
  }
  throw new SyntaxError('unterminated string');
}

/** End (exclusive) of the JSON value starting at `i` (no leading whitespace). */
export function valueEnd(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return stringEnd(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') { j = stringEnd(text, j) - 1; continue; }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw new SyntaxError('unterminated container');
  }
  let j = i;
  while (j < text.length && /[^\s,\]}]/.test(text[j]!)) j++;
  return j;
}

/** The members of the object whose `{` is at `open`, and the index of its `}`. */
export function objectMembers(text: string, open: number): { members: MemberSpan[]; close: number } {
  const members: MemberSpan[] = [];
  let i = skipWs(text, open + 1);
  if (text[i] === '}') return { members, close: i };
  for (;;) {
    const kStart = i;
    const kEnd = stringEnd(text, i);
    const key = JSON.parse(text.slice(i, kEnd)) as string;
    i = skipWs(text, kEnd);
    i = skipWs(text, i + 1); // ':'
    const vEnd = valueEnd(text, i);
    members.push({ key, keySpan: { start: kStart, end: kEnd }, value: { start: i, end: vEnd } });
    i = skipWs(text, vEnd);
    if (text[i] === ',') { i = skipWs(text, i + 1); continue; }
    return { members, close: i };
  }
}

/** The elements of the array whose `[` is at `open`, and the index of its `]`. */
export function arrayElements(text: string, open: number): { elements: Span[]; close: number } {
  const elements: Span[] = [];
  let i = skipWs(text, open + 1);
  if (text[i] === ']') return { elements, close: i };
  for (;;) {
    const end = valueEnd(text, i);
    elements.push({ start: i, end });
    i = skipWs(text, end);
    if (text[i] === ',') { i = skipWs(text, i + 1); continue; }
    return { elements, close: i };
  }
}
