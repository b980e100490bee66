/**
 * What every request must be before anything runs, checked without reading SQL or data: a body
 * of announced, bounded size; variables neither nested too deep nor holding inexact numbers;
 * no NUL character in any text. And on the way out, every error carries a stable code.
 */
import type { IncomingMessage } from 'node:http';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { TallyError } from '../errors.js';

/** Variables nest at most this deep: GraphQL's own limits count the document, not its variables. */
export const MAX_VARIABLE_NESTING = 64;

/**
 * Refuses variables nested deeper than `max` (they would exhaust the stack while being coerced),
 * and numbers that JSON cannot carry exactly: an integer beyond 2^53 has already lost digits
 * when it arrives (9007199254740993 reads as …992) and 1e400 reads as Infinity. Such values must
 * be sent as strings (ID and Decimal accept them).
 */
export function checkVariables(max: number): Plugin {
  return {
    onParams({ params, setResult }) {
      if (nestingOf(params.variables, max) > max) {
        setResult({ errors: [new GraphQLError(`the variables are nested more than ${max} deep; flatten the filter (use in: [...] instead of nested or)`, { extensions: { code: 'REQUEST_TOO_LARGE' } })] });
        return;
      }
      const inexact = inexactNumber(params.variables);
      if (inexact !== undefined) {
        setResult({
          errors: [
            new GraphQLError(`the variable value ${inexact} is not an exact JSON number (integers beyond 2^53 lose digits in JSON); send it as a string, e.g. "12345678901234567890"`, {
              extensions: { code: 'INVALID_REQUEST' },
            }),
          ],
        });
      }
    },
  };
}

/** The first number in a JSON value that is not exact: infinite, or an integer beyond 2^53. */
function inexactNumber(value: unknown): string | undefined {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'number' && (!Number.isFinite(v) || (Number.isInteger(v) && !Number.isSafeInteger(v)))) return String(v);
    if (v && typeof v === 'object') stack.push(...Object.values(v));
  }
  return undefined;
}

/**
 * Refuses a NUL character in any text of a request: SQL engines end a statement's text at it
 * (DuckDB) or refuse it, so it never reaches them.
 */
export function refuseNul(value: unknown, where = 'the request'): void {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string' && v.includes('\0')) {
      throw new TallyError('INVALID_REQUEST', `${where} holds a NUL character (\\u0000), which no text in Tally may contain; remove it`);
    }
    if (v && typeof v === 'object') stack.push(...Object.values(v));
  }
}

/** How deep a JSON value nests, counted without recursion, stopping past `max`. */
export function nestingOf(value: unknown, max: number): number {
  let deepest = 0;
  const stack: { v: unknown; d: number }[] = [{ v: value, d: 0 }];
  while (stack.length) {
    const { v, d } = stack.pop() as { v: unknown; d: number };
    if (d > deepest) deepest = d;
    if (deepest > max) return deepest;
    if (v && typeof v === 'object') for (const child of Object.values(v)) stack.push({ v: child, d: d + 1 });
  }
  return deepest;
}

/** A body that is too large (413), or whose size is not announced (411), is refused unread. */
export function bodyRefusal(req: IncomingMessage, maxBytes: number): { status: number; message: string } | undefined {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return undefined;
  const length = req.headers['content-length'];
  if (length === undefined) {
    return req.headers['transfer-encoding'] ? { status: 411, message: 'send the request with a Content-Length header' } : undefined;
  }
  const bytes = Number(length);
  if (!Number.isSafeInteger(bytes) || bytes < 0) return { status: 400, message: 'the Content-Length header is not a number of bytes' };
  if (bytes > maxBytes) return { status: 413, message: `the request body is ${bytes} bytes, more than the ${maxBytes} this server accepts` };
  return undefined;
}

/**
 * Every error leaves with a stable `extensions.code`: errors of Tally's own carry theirs, and
 * GraphQL's own (a document that does not parse or validate, a malformed HTTP request) get one.
 */
export function errorCodes(): Plugin {
  const tag = (result: unknown): void => {
    const errors = (result as { errors?: readonly GraphQLError[] } | undefined)?.errors;
    for (const error of errors ?? []) {
      const extensions = error.extensions as Record<string, unknown> | undefined;
      if (!extensions || extensions.code !== undefined) continue;
      extensions.code = /^Syntax Error/.test(error.message) ? 'GRAPHQL_PARSE_FAILED' : error.path === undefined ? 'GRAPHQL_VALIDATION_FAILED' : 'BAD_REQUEST';
    }
  };
  return {
    onResultProcess({ result }) {
      if (Array.isArray(result)) result.forEach(tag);
      else tag(result);
    },
  };
}
