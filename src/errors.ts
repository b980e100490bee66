/**
 * Every error Tally reports on purpose is a TallyError with a stable code (used by the CLI's exit
 * status and, later, GraphQL's `extensions.code`) and a message that says what to do.
 */
export type ErrorCode =
  | 'INVALID_DEFINITION'
  | 'UNKNOWN_METRIC'
  | 'UNKNOWN_DIMENSION'
  | 'INVALID_REQUEST'
  | 'INVALID_FILTER'
  | 'FAN_OUT_JOIN'
  | 'AMBIGUOUS_JOIN'
  | 'UNSUPPORTED'
  | 'QUERY_TIMEOUT'
  | 'QUERY_CANCELLED'
  | 'ENGINE_ERROR'
  /** The engine cannot be reached (server down, file unreadable); retry later, it recovers by itself. */
  | 'ENGINE_UNAVAILABLE'
  /** No valid credentials (API key or bearer token). */
  | 'UNAUTHENTICATED'
  /** Valid credentials, but the access policy does not allow this. */
  | 'FORBIDDEN'
  /** Too many queries waiting for the engine. */
  | 'BUSY'
  /** The answer would have more rows than the server's limit. */
  | 'TOO_MANY_ROWS'
  /** The work a request asks of the engine (e.g. the periods of a time spine) is beyond the server's limit. */
  | 'TOO_EXPENSIVE'
  /** The request is larger or more complex than the server's limits. */
  | 'REQUEST_TOO_LARGE';

export class TallyError extends Error {
  readonly code: ErrorCode;
  /**
   * Text from outside Tally behind this error, such as an engine's own error message. It can
   * contain data (a value of a row the caller may not see), so it is for the server log only:
   * never part of `message`, never shown to a caller by the API or the CLI.
   */
  readonly detail?: string;
  constructor(code: ErrorCode, message: string, options: { detail?: string } = {}) {
    super(message);
    this.name = 'TallyError';
    this.code = code;
    if (options.detail !== undefined) this.detail = options.detail;
  }
}

/** The message of an ENGINE_ERROR: Tally's own words; the engine's text goes to `detail`. */
export function engineError(engine: string, engineMessage: string): TallyError {
  return new TallyError(
    'ENGINE_ERROR',
    `${engine} could not run the query. Its message may hold data, so it is only in the server's log; check the definitions' SQL (tally validate) or report the request`,
    { detail: `${engine}: ${engineMessage}` },
  );
}

/** A problem in a definitions file, located at file:line:col. */
export interface DefinitionProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

export function formatProblem(p: DefinitionProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}

/** Raised when a project does not validate; carries every problem found, not only the first. */
export class DefinitionError extends TallyError {
  readonly problems: DefinitionProblem[];
  constructor(problems: DefinitionProblem[]) {
    super('INVALID_DEFINITION', problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}

/** Names the closest candidates to a misspelled name (Levenshtein distance). */
export function nearest(name: string, candidates: Iterable<string>, max = 3): string[] {
  const scored: { c: string; d: number }[] = [];
  for (const c of candidates) scored.push({ c, d: editDistance(name.toLowerCase(), c.toLowerCase()) });
  scored.sort((a, b) => a.d - b.d || a.c.localeCompare(b.c));
  const limit = Math.max(2, Math.ceil(name.length / 2));
  return scored.filter((s) => s.d <= limit || s.c.includes(name) || name.includes(s.c)).slice(0, max).map((s) => s.c);
}

export function didYouMean(name: string, candidates: Iterable<string>): string {
  const near = nearest(name, candidates);
  return near.length ? ` Did you mean ${near.map((n) => `'${n}'`).join(' or ')}?` : '';
}

/**
 * The closest dotted references to what was typed: a candidate is as close as its nearest tail
 * (`bookings` is 0 from `listing.bookings`, 1 from the entity `booking`), so a bare name finds the
 * references that end in it; closest first, then shortest.
 */
export function nearestReferences(typed: string, candidates: Iterable<string>, max = 3): string[] {
  const name = typed.toLowerCase();
  const last = name.split('.').pop() ?? name;
  // A third of the last name's letters may be wrong: 'countr' finds 'user.country', not 'metric_time.hour'.
  const limit = Math.max(2, Math.floor(last.length / 3));
  const scored: { c: string; d: number }[] = [];
  for (const c of candidates) {
    const parts = c.toLowerCase().split('.');
    const d = Math.min(...parts.map((_, i) => editDistance(name, parts.slice(i).join('.'))));
    if (d <= limit || (last.length >= 3 && (parts[parts.length - 1] ?? '').startsWith(last))) scored.push({ c, d });
  }
  scored.sort((a, b) => a.d - b.d || a.c.length - b.c.length || a.c.localeCompare(b.c));
  return scored.slice(0, max).map((s) => s.c);
}

function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}
