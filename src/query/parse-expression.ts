/**
 * Turns filter / formula text into the `Expression` AST.
 *
 * The language has its own grammar, `filter.peggy` (one readable file), compiled by Peggy into
 * `filter-parser.generated.ts` (committed; a test checks it is what the grammar generates, so
 * `npm test` and `npm start` need no generation step; `npm run build:filter-parser` regenerates). Peggy was chosen over Chevrotain and Ohm:
 * a PEG grammar file reads like the language's documentation, precedence is the nesting of its
 * rules (so SQL precedence holds by construction), every failure carries the exact offset, and it
 * generates a small dependency-free parser at build time (a dev dependency only).
 *
 * This module adds what a grammar does not say: which functions exist and how many arguments
 * they take, how deep an expression may nest, and the message for each kind of syntax error:
 * `Invalid expression [in <context>] at column N (near "..."): what is wrong. How to fix it.`
 *
 * Notes:
 * - Bare words that are keywords of the language (AND, END, ...) cannot be references; dotted
 *   ones can (`order.end`). Other SQL words (`select`, `from`) are read as references, and named
 *   in the message when the text does not parse around them (`IN (SELECT ...`, `INTERVAL '1 day'`).
 * - `-5` is `negate(number '5')`, not a negative number literal.
 * - Columns count UTF-16 code units (JavaScript string indices) plus one.
 */
import { didYouMean, TallyError } from '../errors.js';
import { ALLOWED_FUNCTIONS, type AllowedFunction, type Expression } from './expression.js';
import { FILTER_PARSER_SOURCE } from './filter-parser.generated.js';

/**
 * The generated parser is kept as source text and instantiated here, once, rather than imported
 * as a module: loaders that keep function names (tsx, which runs the CLI and the server) would
 * otherwise wrap each of its ~150 rule functions, created afresh on every parse, which made
 * parsing ten times slower. The text is Peggy's output for our grammar, checked by a test.
 */
const generated = new Function(`return (${FILTER_PARSER_SOURCE}\n);`)() as { parse: unknown; SyntaxError: new () => Error };
const generatedParse = generated.parse;
const GeneratedSyntaxError = generated.SyntaxError;

export interface ParseExpressionOptions {
  /** What is being parsed, used in error messages, e.g. `filter of metric 'revenue'`. */
  context?: string;
}

/** The shape of a reference: identifiers joined by dots. */
export const REF_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
/** The shape of a number literal's text. */
export const NUMBER_PATTERN = /^(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** What the generated parser is called with (see the `options.*` calls in filter.peggy). */
interface GrammarOptions {
  fail(column: number, what: string, fix: string): never;
  badCharacter(column: number): never;
  checkFunction(name: string, column: number): void;
  call(name: string, args: Expression[], column: number): Expression;
}
const parseWithGrammar = generatedParse as (text: string, options: GrammarOptions) => Expression;

/** SQL words that are not part of the language; named in syntax-error hints. */
const SQL_ONLY_WORDS = new Set([
  'SELECT', 'FROM', 'WHERE', 'WITH', 'UNION', 'INTERSECT', 'EXCEPT', 'EXISTS', 'ANY', 'ALL', 'SOME',
  'INTERVAL', 'CAST', 'ARRAY', 'ROW', 'AS', 'DISTINCT', 'ESCAPE', 'SIMILAR', 'COLLATE', 'ORDER',
  'GROUP', 'BY', 'HAVING', 'LIMIT', 'OFFSET', 'JOIN', 'ON', 'INSERT', 'UPDATE', 'DELETE', 'DROP',
  'CREATE', 'ALTER', 'TRUNCATE', 'GRANT', 'EXEC', 'EXECUTE', 'CALL', 'SET', 'DATE', 'TIMESTAMP',
  'TIME', 'SYMMETRIC', 'ISNULL', 'NOTNULL', 'XOR', 'DIV', 'MOD', 'REGEXP', 'RLIKE', 'GLOB', 'MATCH',
  'OVER', 'FILTER', 'PARTITION',
]);
const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'IS', 'NULL', 'LIKE', 'ILIKE', 'BETWEEN', 'TRUE', 'FALSE', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END']);

const ALLOWED = new Set<string>(ALLOWED_FUNCTIONS);

/** How many arguments each function takes: [min, max]. */
export const ARITY: Record<AllowedFunction, [number, number]> = {
  lower: [1, 1],
  upper: [1, 1],
  trim: [1, 1],
  length: [1, 1],
  abs: [1, 1],
  round: [1, 2],
  floor: [1, 1],
  ceil: [1, 1],
  coalesce: [1, Infinity],
  nullif: [2, 2],
  greatest: [1, Infinity],
  least: [1, Infinity],
};

const MAX_PAREN_DEPTH = 100;
const MAX_EXPRESSION_DEPTH = 200;
const EXAMPLE = "user.country = 'KR' AND order.amount > 10";

/** How deep an expression tree goes (flat AND/OR lists count once). */
function depthOf(e: Expression, limit = MAX_EXPRESSION_DEPTH + 1): number {
  if (limit <= 0) return 1;
  let deepest = 0;
  for (const c of children(e)) deepest = Math.max(deepest, depthOf(c, limit - 1));
  return 1 + deepest;
}

function children(e: Expression): Expression[] {
  switch (e.kind) {
    case 'ref':
    case 'literal':
      return [];
    case 'comparison':
    case 'arithmetic':
      return [e.left, e.right];
    case 'negate':
    case 'not':
    case 'isNull':
    case 'textMatch':
    case 'cast':
      return [e.arg];
    case 'and':
    case 'or':
    case 'call':
      return e.args;
    case 'in':
      return [e.arg, ...e.list];
    case 'between':
      return [e.arg, e.low, e.high];
    case 'like':
      return [e.arg, e.pattern];
    case 'case':
      return [...e.branches.flatMap((b) => [b.when, b.then]), ...(e.otherwise ? [e.otherwise] : [])];
  }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

class Reporter {
  constructor(
    private readonly text: string,
    private readonly context: string | undefined,
  ) {}

  /** Throws INVALID_FILTER: `what` is wrong at `column` (1-based, optional); `fix` says what to do. */
  fail(column: number | undefined, what: string, fix: string): never {
    const subject = `Invalid expression${this.context ? ` in ${this.context}` : ''}`;
    const where = column === undefined ? '' : ` at column ${column}${this.near(column)}`;
    throw new TallyError('INVALID_FILTER', `${subject}${where}: ${what}. ${fix}`);
  }

  private near(column: number): string {
    const rest = this.text.slice(column - 1);
    if (rest.length === 0) return ' (end of text)';
    const snippet = rest.length > 24 ? `${rest.slice(0, 24)}...` : rest;
    return ` (near ${JSON.stringify(snippet)})`;
  }
}

function grammarOptions(text: string, r: Reporter): GrammarOptions {
  return {
    fail: (column, what, fix) => r.fail(column, what, fix),
    badCharacter: (column) => {
      const cp = text.codePointAt(column - 1) ?? 0;
      const ch = String.fromCodePoint(cp);
      const shown = /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(ch) ? `'${ch}'` : `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
      return r.fail(column, `the character ${shown} is not allowed here`, `Names use only letters, digits, _ and dots, and other text belongs in single quotes, as in ${EXAMPLE}`);
    },
    checkFunction: (name, column) => {
      const lower = name.toLowerCase();
      if (!name.includes('.') && ALLOWED.has(lower)) return;
      const hint = name.includes('.') ? '' : didYouMean(lower, ALLOWED_FUNCTIONS);
      r.fail(column, `'${name}(...)' calls a function that is not allowed`, `Only these functions may be called: ${ALLOWED_FUNCTIONS.join(', ')}.${hint}`);
    },
    call: (name, args, column) => {
      const fn = name.toLowerCase() as AllowedFunction;
      const [min, max] = ARITY[fn];
      const n = args.length;
      if (n < min || n > max) {
        const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
        r.fail(column, `${fn}() takes ${expected} argument${min === 1 && max === 1 ? '' : 's'} but was given ${n}`, `Call it as ${fn}(${fnExample(fn)})`);
      }
      return { kind: 'call', fn, args };
    },
  };
}

function fnExample(fn: AllowedFunction): string {
  switch (fn) {
    case 'round':
      return 'x) or round(x, 2';
    case 'nullif':
      return 'x, 0';
    case 'coalesce':
    case 'greatest':
    case 'least':
      return 'a, b';
    default:
      return 'x';
  }
}

/**
 * Parentheses outside strings: refuses nesting deeper than MAX_PAREN_DEPTH (before parsing, so
 * the parser's recursion stays bounded), and after a syntax error explains unbalanced ones.
 */
function scanParentheses(text: string): { tooDeep?: number; unmatched?: number; unclosed?: number } {
  const open: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) break;
      i = close; // '' inside a string is two adjacent strings here, which balances the same
    } else if (c === '(') {
      open.push(i + 1);
      if (open.length > MAX_PAREN_DEPTH) return { tooDeep: i + 1 };
    } else if (c === ')') {
      if (open.pop() === undefined) return { unmatched: i + 1 };
    }
  }
  return { unclosed: open[open.length - 1] };
}

const WORD = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/y;

/** The token at `offset`, for "unexpected …" messages. */
function describeAt(text: string, offset: number): string {
  const c = text[offset];
  if (c === "'") return 'string literal';
  const number = /(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?/y;
  number.lastIndex = offset;
  const n = number.exec(text);
  if (n) return `number ${n[0]}`;
  WORD.lastIndex = offset;
  const w = WORD.exec(text);
  if (w) {
    const upper = w[0].toUpperCase();
    if (KEYWORDS.has(upper)) return `keyword ${upper}`;
    return /^\s*\(/.test(text.slice(offset + w[0].length)) ? `function call ${w[0].toLowerCase()}(...)` : `name '${w[0]}'`;
  }
  const op = /<=|>=|<>|!=/y;
  op.lastIndex = offset;
  const o = op.exec(text);
  return `'${o ? (o[0] === '!=' ? '<>' : o[0]) : c}'`;
}

/** Words (with their 1-based columns) just before and at `offset`. */
function wordsAround(text: string, offset: number): { word: string; column: number }[] {
  const out: { word: string; column: number }[] = [];
  WORD.lastIndex = offset;
  const at = WORD.exec(text);
  if (at && at.index === offset) out.push({ word: at[0], column: offset + 1 });
  let end = offset;
  while (end > 0 && /\s/.test(text[end - 1])) end--;
  let start = end;
  while (start > 0 && /[A-Za-z0-9_.]/.test(text[start - 1])) start--;
  if (start < end && /^[A-Za-z_]/.test(text.slice(start, end))) out.push({ word: text.slice(start, end), column: start + 1 });
  return out;
}

/** Explains a syntax error at `offset` (where the grammar could not go on). */
function syntaxError(text: string, offset: number, r: Reporter): never {
  const parens = scanParentheses(text);
  if (parens.unmatched !== undefined) r.fail(parens.unmatched, "this ')' has no matching '('", "Remove it or add the missing '('");
  for (const { word, column } of wordsAround(text, offset)) {
    if (SQL_ONLY_WORDS.has(word.toUpperCase())) {
      r.fail(column, `'${word}' is SQL that expressions do not support (subqueries, casts, INTERVAL, ESCAPE, DISTINCT and the like are not allowed)`, `Write a plain condition such as ${EXAMPLE}`);
    }
  }
  if (parens.unclosed !== undefined) r.fail(parens.unclosed, "this '(' is never closed", "Add the missing ')'");
  if (offset >= text.length || text.slice(offset).trim() === '') {
    r.fail(text.length + 1, 'the expression ends too early', 'Check for a missing value after an operator, a missing THEN/END in CASE, or a missing AND in BETWEEN');
  }
  const c = text[offset];
  if (c === '*') r.fail(offset + 1, "'*' is not allowed", `Name what to compare, as in ${EXAMPLE}`);
  if (c === ',' && !/[,(]\s*$/.test(text.slice(0, offset))) {
    r.fail(offset + 1, 'a list of values is only allowed after IN or as function arguments', "Write x IN ('a', 'b') to test membership in a list");
  }
  r.fail(offset + 1, `unexpected ${describeAt(text, offset)}`, `Check the operators, parentheses and quotes around it; an expression looks like ${EXAMPLE}`);
}

// ---------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------

/**
 * Parses a filter or derived-metric formula into an `Expression`.
 * Throws `TallyError('INVALID_FILTER')` with the column and a fix for anything outside the language.
 */
export function parseExpression(text: string, options: ParseExpressionOptions = {}): Expression {
  const r = new Reporter(typeof text === 'string' ? text : '', options.context);
  if (typeof text !== 'string') r.fail(undefined, 'it is not text', `Write an expression such as ${EXAMPLE}`);
  if (text.trim() === '') r.fail(undefined, 'it is empty', `Write an expression such as ${EXAMPLE}`);
  const deep = scanParentheses(text).tooDeep;
  if (deep !== undefined) r.fail(deep, `parentheses are nested more than ${MAX_PAREN_DEPTH} deep`, 'Simplify the expression');
  let expr: Expression;
  try {
    expr = parseWithGrammar(text, grammarOptions(text, r));
  } catch (err) {
    if (err instanceof TallyError) throw err;
    if (err instanceof GeneratedSyntaxError) {
      const location = (err as { location?: { start?: { offset?: number } } }).location;
      syntaxError(text, location?.start?.offset ?? text.length, r);
    }
    if (err instanceof RangeError) return r.fail(undefined, 'the expression is too long or too deeply nested', 'Simplify it');
    // Anything else is a bug in this module or the parser; still report it as a refused expression.
    return r.fail(undefined, `it could not be parsed (${err instanceof Error ? err.message : String(err)})`, `Write an expression such as ${EXAMPLE}`);
  }
  // Unparenthesized chains (NOT NOT …, 1 + 1 + …) nest too: bounded like parentheses, so that
  // no accepted filter is deeper than renderers and engines handle.
  if (depthOf(expr) > MAX_EXPRESSION_DEPTH) r.fail(undefined, `the expression is nested more than ${MAX_EXPRESSION_DEPTH} deep`, 'Simplify it, for example with IN (…) instead of a chain of ORs');
  return expr;
}
