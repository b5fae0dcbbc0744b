/**
 * fast-xml-parser's validation error in words a person reads: its "unclosed tags" message is a
 * JSON array flattened into a sentence (`Invalid '[    "configuration",    "property"]' found.`).
 */

export interface XmlValidationError {
  code?: string;
  msg: string;
  line?: number;
  col?: number;
}

export function describeXmlProblem(err: XmlValidationError): string {
  let what = err.msg.replace(/\.$/, '');
  const unclosed = /^Invalid '\[(.*)\]' found$/s.exec(what);
  if (unclosed) {
    const tags = [...unclosed[1]!.matchAll(/"([^"]*)"/g)].map((m) => `<${m[1]}>`);
    what = `the file ends before ${tags.length ? tags.join(', ') : 'every element'} ${tags.length === 1 ? 'is' : 'are'} closed`;
  }
  const at = err.line !== undefined ? ` (line ${err.line}${err.col !== undefined ? `, column ${err.col}` : ''})` : '';
  return `${what}${at}`;
}
