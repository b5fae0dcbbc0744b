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

export class InputError extends Error implements InputErrorFields {
  readonly source: string;
  readonly key?: string;
  readonly problem: string;

  constructor(source: string, problem: string, options: { key?: string; cause?: unknown } = {}) {
    super(formatInputError({ source, problem, ...(options.key ? { key: options.key } : {}) }), options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'InputError';
    this.source = source;
    if (options.key) this.key = options.key;
    this.problem = problem;
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
