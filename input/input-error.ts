/**
 * One typed error for every external input Loom reads — flags, environment, the YAML settings
 * file, kubeconfig, yarn-site.xml, annotations and quantities, RM/NM bodies, cgroup and proc
 * files, yarn-copilot requests — and one way to print it:
 *
 *     <source> [<key>]: <problem>
 *
 * `source` says where the input came from (a flag, a file path, a URL, an annotation), `key` the
 * place inside it when there is one (a YAML key, an XML property, a JSON path, a line), `problem`
 * what is wrong with it. Each parser's own error class extends this one, so a log line or a CLI
 * message reads the same whichever parser refused the input, and a wrapper that adds context
 * re-homes the error ({@link InputError.within}) instead of pasting one message into another.
 */

export interface InputErrorFields {
  source: string;
  key?: string;
  problem: string;
}

/**
 * The one printed form: `source [key]: problem`. A bare value whose origin its parser does not
 * know (a quantity string) has no source yet; it prints as its problem until a caller re-homes it.
 */
export function formatInputError({ source, key, problem }: InputErrorFields): string {
  if (!source) return key ? `${key}: ${problem}` : problem;
  return `${source}${key ? ` [${key}]` : ''}: ${problem}`;
}

/** Longest source, key or problem kept: a hostile body quoted in a parser's message stays a line, not a page. */
const MAX_PART = 600;

/**
 * One line, bounded: control characters (a newline or NUL from the input echoed by a parser)
 * written as escapes, and an over-long part cut with an ellipsis.
 */
export function oneLine(text: string, max = MAX_PART): string {
  const flat = text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

export class InputError extends Error implements InputErrorFields {
  readonly source: string;
  readonly key?: string;
  readonly problem: string;

  constructor(source: string, problem: string, options: { key?: string; cause?: unknown } = {}) {
    const fields = { source: oneLine(source), problem: oneLine(problem), ...(options.key ? { key: oneLine(options.key) } : {}) };
    super(formatInputError(fields), options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'InputError';
    this.source = fields.source;
    if (fields.key) this.key = fields.key;
    this.problem = fields.problem;
  }

  /** The fields, for a structured log line (`log.warn({ input: err.fields }, …)`). */
  get fields(): InputErrorFields {
    return { source: this.source, ...(this.key ? { key: this.key } : {}), problem: this.problem };
  }

  /**
   * This problem seen from an enclosing input: an invalid quantity found inside an annotation is
   * reported as the annotation's problem at `key`, the quantity's own words kept once.
   */
  within(source: string, key?: string): InputError {
    return new InputError(source, problemWithin(this), { ...(key ? { key } : {}), cause: this });
  }
}

/** What an inner input error says when an enclosing input reports it as its own problem. */
export function problemWithin(inner: InputErrorFields): string {
  return inner.source ? formatInputError(inner) : inner.key ? `${inner.key}: ${inner.problem}` : inner.problem;
}

/** Type guard that also works across module copies (tests that import dist/ and src/ side by side). */
export function isInputError(err: unknown): err is InputError {
  return err instanceof InputError
    || (err instanceof Error && typeof (err as Partial<InputError>).source === 'string' && typeof (err as Partial<InputError>).problem === 'string');
}

/**
 * Any thrown thing as one line: an input error in its one form, another error by its message
 * (never `[object Object]`, never a stack).
 */
export function describeError(err: unknown): string {
  if (isInputError(err)) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
