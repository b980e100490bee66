/**
 * Turns filter / formula text into the `Expression` AST.
 *
 * The text is parsed with node-sql-parser (project rule: no hand-written grammar). Because that
 * parser's grammar is SQL, not ours, the text goes through three stages:
 *
 * 1. A small lexer walks the original text. It decodes single-quoted strings ('' escapes a quote),
 *    keeps number text exactly, recognises dotted references (`order.status`, `user.country`,
 *    `revenue`) even when a part is a reserved word, and replaces each of them with a placeholder
 *    identifier (`__tally_ref_0`, `__tally_str_1`, `__tally_num_2`) that remembers the original
 *    text and its 1-based column. Only our keywords, the allowed function names and a fixed set of
 *    operators pass through; anything else (double quotes, backticks, comments, `::`, `;`, `$1`,
 *    `?`, `[`, `|`, non-ASCII outside strings, ...) is refused right there with its column.
 *    Because every name the SQL parser sees is a placeholder, a keyword of ours or an allowed
 *    function, no other SQL construct (subquery, INTERVAL, CAST, ...) can be formed.
 * 2. `SELECT 1 FROM t WHERE <rewritten>` is parsed with the 'postgresql' dialect (the only one
 *    with ILIKE that parses the whole language), and exactly one plain SELECT is required.
 * 3. The `where` AST is walked, converting only the node shapes we expect and refusing every
 *    other one with INVALID_FILTER.
 *
 * node-sql-parser (5.4.0, every dialect) gives AND and OR the same precedence, so `a OR b AND c`
 * comes back as `(a OR b) AND c`. The walker therefore never trusts how it associated AND/OR (or
 * the arithmetic operators): it reads each unparenthesized chain back in source order and
 * rebuilds it with SQL precedence (NOT > AND > OR; * / % > + -). Any other place where the
 * parser's precedence would be questionable (an unparenthesized AND/OR/NOT/comparison used as
 * the operand of a comparison, arithmetic or unary minus, such as `NOT (a) = b` or `a = b = c`)
 * is refused with a hint to add parentheses, so an accepted expression always means what SQL
 * precedence says it means.
 *
 * Known limitations, all refused with INVALID_FILTER (never misread):
 * - AND/OR inside an ELSE result, an IN list item, or a function argument next to other
 *   arguments needs parentheses: `coalesce((a AND b), c)`, `ELSE (a OR b)`.
 * - `NOT (x)` followed by a comparison or arithmetic (`NOT (a) = b`) is refused as ambiguous;
 *   write `NOT (a = b)` or `(NOT a) = b`.
 * - A LIKE pattern that starts with TRUE/FALSE/NULL followed by arithmetic needs parentheses.
 * - Bare words that are keywords of the language (AND, END, ...) cannot be references; dotted
 *   ones can (`order.end`). Other SQL words (`select`, `from`) are read as references.
 * - `-5` is `negate(number '5')`, not a negative number literal.
 * - Columns count UTF-16 code units (JavaScript string indices) plus one.
 */
// Only the PostgreSQL grammar (the one used below): a seventh of the full build, which took
// most of the CLI's start-up to load.
import sqlParser from 'node-sql-parser/build/postgresql.js';
import { didYouMean, TallyError } from '../errors.js';
import {
  ALLOWED_FUNCTIONS,
  type AllowedFunction,
  type ArithmeticOperator,
  type ComparisonOperator,
  type Expression,
} from './expression.js';

const { Parser } = sqlParser;
const parser = new Parser();

export interface ParseExpressionOptions {
  /** What is being parsed, used in error messages, e.g. `filter of metric 'revenue'`. */
  context?: string;
}

/** The shape of a reference: identifiers joined by dots. */
export const REF_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
/** The shape of a number literal's text. */
export const NUMBER_PATTERN = /^(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Words of the expression language; every other bare name is a reference. */
const KEYWORDS = new Set([
  'AND',
  'OR',
  'NOT',
  'IN',
  'IS',
  'NULL',
  'LIKE',
  'ILIKE',
  'BETWEEN',
  'TRUE',
  'FALSE',
  'CASE',
  'WHEN',
  'THEN',
  'ELSE',
  'END',
]);

/** SQL words that are not part of the language; named in syntax-error hints. */
const SQL_ONLY_WORDS = new Set([
  'SELECT', 'FROM', 'WHERE', 'WITH', 'UNION', 'INTERSECT', 'EXCEPT', 'EXISTS', 'ANY', 'ALL', 'SOME',
  'INTERVAL', 'CAST', 'ARRAY', 'ROW', 'AS', 'DISTINCT', 'ESCAPE', 'SIMILAR', 'COLLATE', 'ORDER',
  'GROUP', 'BY', 'HAVING', 'LIMIT', 'OFFSET', 'JOIN', 'ON', 'INSERT', 'UPDATE', 'DELETE', 'DROP',
  'CREATE', 'ALTER', 'TRUNCATE', 'GRANT', 'EXEC', 'EXECUTE', 'CALL', 'SET', 'DATE', 'TIMESTAMP',
  'TIME', 'SYMMETRIC', 'ISNULL', 'NOTNULL', 'XOR', 'DIV', 'MOD', 'REGEXP', 'RLIKE', 'GLOB', 'MATCH',
  'OVER', 'FILTER', 'PARTITION',
]);

const ALLOWED = new Set<string>(ALLOWED_FUNCTIONS);

/** How many arguments each function takes: [min, max]. */
const ARITY: Record<AllowedFunction, [number, number]> = {
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

/** How deep an expression tree goes (flat AND/OR lists count once). */
function depthOf(e: Expression, limit = MAX_EXPRESSION_DEPTH + 1): number {
  if (limit <= 0) return 1;
  const children = ((): Expression[] => {
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
  })();
  let deepest = 0;
  for (const c of children) deepest = Math.max(deepest, depthOf(c, limit - 1));
  return 1 + deepest;
}
const EXAMPLE = "user.country = 'KR' AND order.amount > 10";
const SELECT_PREFIX = 'SELECT 1 FROM t WHERE ';

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

// ---------------------------------------------------------------------------------------------
// Stage 1: lexer
// ---------------------------------------------------------------------------------------------

type Token =
  | { t: 'ref'; text: string; start: number; end: number }
  | { t: 'string'; value: string; start: number; end: number }
  | { t: 'number'; text: string; start: number; end: number }
  | { t: 'keyword'; word: string; start: number; end: number }
  | { t: 'function'; name: AllowedFunction; start: number; end: number }
  | { t: 'op'; op: string; start: number; end: number };

/** A token the SQL parser sees as a placeholder identifier. */
type Slot = Extract<Token, { t: 'ref' | 'string' | 'number' }>;

const IDENT_CHAIN = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/y;
const NUMBER = /(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const WORD_CHAR = /[A-Za-z0-9_.]/;

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function lex(text: string, r: Reporter): Token[] {
  const tokens: Token[] = [];
  const openParens: number[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    const col = i + 1;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === "'") {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf("'", j);
        if (q < 0) {
          r.fail(col, 'this string literal is never closed', "End it with a single quote ('); write two single quotes ('') for a quote inside a string, as in 'O''Brien'");
        }
        value += text.slice(j, q);
        if (text[q + 1] === "'") {
          value += "'";
          j = q + 2;
          continue;
        }
        j = q + 1;
        break;
      }
      tokens.push({ t: 'string', value, start: i, end: j });
      i = j;
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(next))) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      const numText = m ? m[0] : c;
      let end = i + numText.length;
      if (end < text.length && WORD_CHAR.test(text[end])) {
        while (end < text.length && WORD_CHAR.test(text[end])) end++;
        r.fail(col, `'${text.slice(i, end)}' is not a valid number`, 'Write numbers like 42, 3.14, .5 or 1e6, and separate them from names with a space or an operator');
      }
      tokens.push({ t: 'number', text: numText, start: i, end });
      i = end;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      IDENT_CHAIN.lastIndex = i;
      const m = IDENT_CHAIN.exec(text);
      const word = m ? m[0] : c;
      const end = i + word.length;
      if (text[end] === '.') {
        r.fail(col, `the reference '${text.slice(i, end + 1)}' is incomplete`, 'Each part of a dotted reference is a name made of letters, digits and _, such as user.country or metric_time.month');
      }
      const upper = word.toUpperCase();
      if (!word.includes('.') && KEYWORDS.has(upper)) {
        tokens.push({ t: 'keyword', word: upper, start: i, end });
        i = end;
        continue;
      }
      let k = end;
      while (text[k] === ' ' || text[k] === '\t' || text[k] === '\n' || text[k] === '\r') k++;
      if (text[k] === '(') {
        const lower = word.toLowerCase();
        if (!word.includes('.') && ALLOWED.has(lower)) {
          tokens.push({ t: 'function', name: lower as AllowedFunction, start: i, end });
          i = end;
          continue;
        }
        const hint = word.includes('.') ? '' : didYouMean(lower, ALLOWED_FUNCTIONS);
        r.fail(
          col,
          `'${word}(...)' calls a function that is not allowed`,
          `Only these functions may be called: ${ALLOWED_FUNCTIONS.join(', ')}.${hint}`,
        );
      }
      tokens.push({ t: 'ref', text: word, start: i, end });
      i = end;
      continue;
    }
    // Operators and punctuation.
    const op = operatorAt(c, next);
    if (op === undefined) refuseCharacter(text, i, r);
    if (op === '(') {
      openParens.push(i);
      if (openParens.length > MAX_PAREN_DEPTH) {
        r.fail(col, `parentheses are nested more than ${MAX_PAREN_DEPTH} deep`, 'Simplify the expression');
      }
    } else if (op === ')' && openParens.pop() === undefined) {
      r.fail(col, "this ')' has no matching '('", "Remove it or add the missing '('");
    }
    // Every operator is as long in the text as it is rewritten ('!=' becomes '<>').
    tokens.push({ t: 'op', op, start: i, end: i + op.length });
    i += op.length;
  }
  const unclosed = openParens.pop();
  if (unclosed !== undefined) {
    r.fail(unclosed + 1, "this '(' is never closed", "Add the missing ')'");
  }
  return tokens;
}

/** The operator starting with `c` (followed by `next`), or undefined if `c` starts none. */
function operatorAt(c: string, next: string | undefined): string | undefined {
  switch (c) {
    case '(':
    case ')':
    case ',':
    case '+':
    case '*':
    case '%':
      return c;
    case '-':
      return next === '-' ? undefined : '-';
    case '/':
      return next === '*' ? undefined : '/';
    case '=':
      return next === '=' ? undefined : '=';
    case '!':
      return next === '=' ? '<>' : undefined;
    case '<':
      return next === '=' ? '<=' : next === '>' ? '<>' : '<';
    case '>':
      return next === '=' ? '>=' : '>';
    default:
      return undefined;
  }
}

/** Refuses the character at `i`, saying why it is not part of the language. */
function refuseCharacter(text: string, i: number, r: Reporter): never {
  const c = text[i];
  const next = text[i + 1];
  const col = i + 1;
  const noQuotes = "Write references without quotes (user.country) and put string values in single quotes ('KR')";
  const literal = "Write the value itself, e.g. 'KR' or 42";
  switch (c) {
    case '-':
      return r.fail(col, "comments ('--') are not allowed", 'Remove the comment; to subtract a negative number write a - (-1)');
    case '/':
      return r.fail(col, "comments ('/* */') are not allowed", 'Remove the comment');
    case '=':
      return r.fail(col, "'==' is not an operator", "Use a single '=' to compare");
    case '!':
      return r.fail(col, "'!' is not an operator", "Use NOT to negate a condition, and '<>' or '!=' for 'not equal'");
    case '"':
      return r.fail(col, 'double-quoted identifiers are not allowed', noQuotes);
    case '`':
      return r.fail(col, 'backtick-quoted identifiers are not allowed', noQuotes);
    case ':':
      if (next === ':') return r.fail(col, "type casts ('::') are not allowed", 'Remove the cast; compare the value as it is, or use one of the allowed functions');
      return r.fail(col, "':' is not allowed (named parameters are not supported)", literal);
    case ';':
      return r.fail(col, "';' is not allowed: an expression is a single condition, not SQL statements", "Remove the ';' and everything after it");
    case '$':
    case '?':
    case '@':
      return r.fail(col, `'${c}' is not allowed (query parameters and variables are not supported)`, literal);
    case '[':
    case ']':
    case '{':
    case '}':
      return r.fail(col, `'${c}' is not allowed (arrays are not supported)`, "To test membership in a list write x IN ('a', 'b')");
    case '|':
    case '&':
    case '^':
    case '~':
      return r.fail(col, `'${c}' is not allowed (string concatenation, bitwise and regular-expression operators are not supported)`, 'Compare the parts separately, or use LIKE with % wildcards');
    case '#':
      return r.fail(col, "'#' is not allowed (comments are not supported)", 'Remove it');
    default: {
      const cp = text.codePointAt(i) ?? 0;
      const ch = String.fromCodePoint(cp);
      const shown = /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(ch) ? `'${ch}'` : `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
      return r.fail(col, `the character ${shown} is not allowed here`, `Names use only letters, digits, _ and dots, and other text belongs in single quotes, as in ${EXAMPLE}`);
    }
  }
}

function describeToken(tok: Token): string {
  switch (tok.t) {
    case 'ref':
      return `name '${tok.text}'`;
    case 'string':
      return 'string literal';
    case 'number':
      return `number ${tok.text}`;
    case 'keyword':
      return `keyword ${tok.word}`;
    case 'function':
      return `function call ${tok.name}(...)`;
    case 'op':
      return `'${tok.op}'`;
  }
}

// ---------------------------------------------------------------------------------------------
// Stage 2: rewrite and parse with node-sql-parser
// ---------------------------------------------------------------------------------------------

interface Rewritten {
  sql: string;
  /** Offset in `sql` just past each token's rewritten text. */
  ends: number[];
  /** Placeholder name → the token it stands for. */
  slots: Map<string, Slot>;
}

function rewrite(tokens: Token[]): Rewritten {
  const parts: string[] = [];
  const ends: number[] = [];
  const slots = new Map<string, Slot>();
  let offset = SELECT_PREFIX.length;
  tokens.forEach((tok, n) => {
    let piece: string;
    switch (tok.t) {
      case 'ref':
      case 'string':
      case 'number': {
        const kind = tok.t === 'ref' ? 'ref' : tok.t === 'string' ? 'str' : 'num';
        piece = `__tally_${kind}_${n}`;
        slots.set(piece, tok);
        break;
      }
      case 'keyword':
        piece = tok.word;
        break;
      case 'function':
        piece = tok.name;
        break;
      case 'op':
        piece = tok.op;
        break;
    }
    parts.push(piece);
    ends.push(offset + piece.length);
    offset += piece.length + 1;
  });
  return { sql: SELECT_PREFIX + parts.join(' '), ends, slots };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseSql(text: string, tokens: Token[], rw: Rewritten, r: Reporter): Record<string, unknown> {
  let ast: unknown;
  try {
    ast = parser.astify(rw.sql, { database: 'postgresql' });
  } catch (err) {
    if (err instanceof RangeError) r.fail(undefined, 'the expression is too deeply nested to parse', 'Simplify it');
    syntaxError(text, tokens, rw, err, r);
  }
  const statements = Array.isArray(ast) ? ast : [ast];
  const [stmt] = statements;
  if (statements.length !== 1 || !isRecord(stmt) || stmt.type !== 'select') {
    r.fail(undefined, 'it is not a single expression', `Write one condition such as ${EXAMPLE}`);
  }
  for (const key of ['with', 'groupby', 'having', 'orderby', 'window', '_next', 'union', 'into']) {
    const v = stmt[key];
    if (v === null || v === undefined || (key === 'into' && isRecord(v) && v.position === null)) continue;
    r.fail(undefined, 'it is not a single expression', `Write one condition such as ${EXAMPLE}`);
  }
  const limit = stmt.limit;
  if (isRecord(limit) && Array.isArray(limit.value) && limit.value.length > 0) {
    r.fail(undefined, 'it is not a single expression', `Write one condition such as ${EXAMPLE}`);
  }
  if (!isRecord(stmt.where)) {
    r.fail(undefined, 'it is not a single expression', `Write one condition such as ${EXAMPLE}`);
  }
  return stmt.where;
}

function syntaxError(text: string, tokens: Token[], rw: Rewritten, err: unknown, r: Reporter): never {
  let offset: number | undefined;
  const loc: unknown = typeof err === 'object' && err !== null && 'location' in err ? err.location : undefined;
  if (isRecord(loc) && isRecord(loc.start) && typeof loc.start.offset === 'number') offset = loc.start.offset;
  if (offset === undefined) {
    r.fail(undefined, `it could not be parsed (${err instanceof Error ? err.message : String(err)})`, `Write an expression such as ${EXAMPLE}`);
  }
  const at = offset;
  const index = rw.ends.findIndex((end) => end > at);
  // A SQL word that is not part of the language (read as a name by the lexer) where the parser
  // stopped, or just before, is the likeliest cause: `IN (SELECT x ...`, `INTERVAL '1 day'`.
  const stop = index < 0 ? tokens.length : index;
  for (const tok of [tokens[stop], tokens[stop - 1]]) {
    if (tok !== undefined && tok.t === 'ref' && SQL_ONLY_WORDS.has(tok.text.toUpperCase())) {
      r.fail(
        tok.start + 1,
        `'${tok.text}' is SQL that expressions do not support (subqueries, casts, INTERVAL, ESCAPE, DISTINCT and the like are not allowed)`,
        `Write a plain condition such as ${EXAMPLE}`,
      );
    }
  }
  if (index < 0) {
    r.fail(
      text.length + 1,
      'the expression ends too early',
      'Check for a missing value after an operator, a missing THEN/END in CASE, or a missing AND in BETWEEN',
    );
  }
  const tok = tokens[index];
  const andOr = tok.t === 'keyword' && (tok.word === 'AND' || tok.word === 'OR')
    ? ' An AND/OR inside an ELSE result or an IN list must be wrapped in parentheses.'
    : '';
  r.fail(
    tok.start + 1,
    `unexpected ${describeToken(tok)}`,
    `Check the operators, parentheses and quotes around it; an expression looks like ${EXAMPLE}.${andOr}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Stage 3: walk the parser's AST
// ---------------------------------------------------------------------------------------------

const COMPARISON: Record<string, ComparisonOperator> = {
  '=': '=',
  '<>': '<>',
  '!=': '<>',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
};
const ARITHMETIC = new Set<string>(['+', '-', '*', '/', '%']);
const MULTIPLICATIVE = new Set<string>(['*', '/', '%']);
const LIKE_OPS: Record<string, { negated: boolean; caseInsensitive: boolean }> = {
  LIKE: { negated: false, caseInsensitive: false },
  'NOT LIKE': { negated: true, caseInsensitive: false },
  ILIKE: { negated: false, caseInsensitive: true },
  'NOT ILIKE': { negated: true, caseInsensitive: true },
};

/** Binding strength of an unparenthesized node, as SQL defines it (higher binds tighter). */
const Level = {
  Or: 1,
  And: 2,
  Not: 3,
  Predicate: 4,
  Additive: 5,
  Multiplicative: 6,
  Unary: 7,
  Primary: 8,
} as const;
type Level = (typeof Level)[keyof typeof Level];

/** The parser mangles AND/OR next to commas (function arguments, IN lists) instead of failing. */
const COMMA_AND_OR: [string, string] = [
  'an AND/OR condition next to other comma-separated values must be in parentheses',
  'Wrap it in parentheses, e.g. coalesce((a AND b), c)',
];

/** Keys every node may carry without meaning anything we need to refuse. */
const COMMON_KEYS = new Set(['type', 'parentheses']);

function upperOp(node: Record<string, unknown>): string {
  return typeof node.operator === 'string' ? node.operator.toUpperCase() : '';
}

function isNotFunction(node: Record<string, unknown>): boolean {
  return node.type === 'function' && functionName(node)?.toUpperCase() === 'NOT';
}

function functionName(node: Record<string, unknown>): string | undefined {
  const name = node.name;
  if (!isRecord(name) || !Array.isArray(name.name) || name.name.length !== 1) return undefined;
  const part: unknown = name.name[0];
  return isRecord(part) && typeof part.value === 'string' ? part.value : undefined;
}

function levelOf(node: unknown): Level {
  if (!isRecord(node) || node.parentheses === true) return Level.Primary;
  if (node.type === 'binary_expr') {
    const op = upperOp(node);
    if (op === 'OR') return Level.Or;
    if (op === 'AND') return Level.And;
    if (ARITHMETIC.has(op)) return MULTIPLICATIVE.has(op) ? Level.Multiplicative : Level.Additive;
    return Level.Predicate;
  }
  if (node.type === 'unary_expr') return upperOp(node) === 'NOT' ? Level.Not : Level.Unary;
  if (isNotFunction(node)) return Level.Not;
  return Level.Primary;
}

class Walker {
  constructor(
    private readonly slots: Map<string, Slot>,
    private readonly r: Reporter,
  ) {}

  /** The column of the first placeholder inside a node, to point error messages somewhere. */
  private locate(node: unknown): number | undefined {
    const stack: unknown[] = [node];
    let best: number | undefined;
    let budget = 10_000;
    while (stack.length > 0 && budget-- > 0) {
      const n = stack.pop();
      if (typeof n === 'string') {
        const slot = this.slots.get(n);
        if (slot && (best === undefined || slot.start + 1 < best)) best = slot.start + 1;
      } else if (Array.isArray(n)) {
        stack.push(...n);
      } else if (isRecord(n)) {
        stack.push(...Object.values(n));
      }
    }
    return best;
  }

  private fail(node: unknown, what: string, fix: string): never {
    return this.r.fail(this.locate(node), what, fix);
  }

  private checkKeys(node: Record<string, unknown>, allowed: string[]): void {
    for (const [key, value] of Object.entries(node)) {
      if (COMMON_KEYS.has(key) || allowed.includes(key)) continue;
      if (value === null || value === undefined) continue;
      this.fail(node, `unsupported SQL syntax (${key})`, `Write a plain expression such as ${EXAMPLE}`);
    }
  }

  /** Converts `node` where it is the operand of an operator that binds at `min` or tighter. */
  private operand(node: unknown, min: Level, parent: string): Expression {
    const level = levelOf(node);
    if (level < min) {
      if (level === Level.Not) {
        this.fail(
          node,
          `NOT is used as the operand of ${parent} without parentheses, which is ambiguous`,
          'Put the whole negated condition in parentheses after NOT, as in NOT (a = b), or parenthesize the NOT, as in (NOT a) = b',
        );
      }
      if (level === Level.Predicate) {
        this.fail(
          node,
          `a comparison or LIKE/IN/BETWEEN/IS test is used as the operand of ${parent} without parentheses`,
          'Comparisons cannot be chained: write a < b AND b < c, or add parentheses, as in (a = b) = TRUE',
        );
      }
      this.fail(
        node,
        `AND/OR is used as the operand of ${parent} without parentheses`,
        'Add parentheses around the AND/OR condition, as in (a OR b) = TRUE',
      );
    }
    return this.convert(node);
  }

  convert(node: unknown): Expression {
    if (Array.isArray(node)) this.fail(node, COMMA_AND_OR[0], COMMA_AND_OR[1]);
    if (!isRecord(node)) this.fail(node, 'unsupported syntax', `Write a plain expression such as ${EXAMPLE}`);
    switch (node.type) {
      case 'column_ref':
        return this.columnRef(node);
      case 'bool':
        this.checkKeys(node, ['value']);
        if (typeof node.value !== 'boolean') this.fail(node, 'unsupported boolean literal', 'Write TRUE or FALSE');
        return { kind: 'literal', literal: { kind: 'boolean', value: node.value } };
      case 'null':
        this.checkKeys(node, ['value']);
        return { kind: 'literal', literal: { kind: 'null' } };
      case 'binary_expr':
        return this.binary(node);
      case 'unary_expr':
        return this.unary(node);
      case 'function':
        return this.call(node);
      case 'case':
        return this.caseExpr(node);
      case 'expr_list':
        return this.fail(node, 'a list of values is only allowed after IN or as function arguments', "Write x IN ('a', 'b') to test membership in a list");
      default:
        return this.fail(node, `${describeNodeType(node.type)} is not allowed`, `Expressions may only use references, literals, operators, CASE and the functions ${ALLOWED_FUNCTIONS.join(', ')}`);
    }
  }

  private columnRef(node: Record<string, unknown>): Expression {
    this.checkKeys(node, ['table', 'column', 'collate']);
    let name: unknown = node.column;
    if (isRecord(name) && isRecord(name.expr) && name.expr.type === 'default') name = name.expr.value;
    const slot = typeof name === 'string' ? this.slots.get(name) : undefined;
    if (name === '*') this.fail(node, "'*' is not allowed", `Name what to compare, as in ${EXAMPLE}`);
    if (node.table !== null || slot === undefined) {
      this.fail(node, 'unsupported identifier', 'Write references as user.country, without quotes');
    }
    switch (slot.t) {
      case 'ref':
        return { kind: 'ref', ref: slot.text, position: slot.start + 1 };
      case 'string':
        return { kind: 'literal', literal: { kind: 'string', value: slot.value } };
      case 'number':
        return { kind: 'literal', literal: { kind: 'number', text: slot.text } };
    }
  }

  private binary(node: Record<string, unknown>): Expression {
    this.checkKeys(node, ['operator', 'left', 'right']);
    const op = upperOp(node);
    if (op === 'AND' || op === 'OR') return this.logicalChain(node);
    if (ARITHMETIC.has(op)) return this.arithmeticChain(node);
    const comparison = COMPARISON[op];
    if (comparison !== undefined) {
      return {
        kind: 'comparison',
        op: comparison,
        left: this.operand(node.left, Level.Additive, `'${comparison}'`),
        right: this.operand(node.right, Level.Additive, `'${comparison}'`),
      };
    }
    const like = LIKE_OPS[op];
    if (like !== undefined) {
      return {
        kind: 'like',
        arg: this.operand(node.left, Level.Additive, op),
        pattern: this.operand(node.right, Level.Additive, op),
        ...like,
      };
    }
    if (op === 'IN' || op === 'NOT IN') {
      const list = node.right;
      if (isRecord(list) && list.type === 'expr_list' && isRecord(list.value)) this.fail(node, COMMA_AND_OR[0], COMMA_AND_OR[1]);
      if (!isRecord(list) || list.type !== 'expr_list' || list.parentheses === true || !Array.isArray(list.value) || list.value.length === 0) {
        this.fail(node, `${op} must be followed by a list in parentheses`, "Write x IN ('a', 'b')");
      }
      this.checkKeys(list, ['value']);
      return {
        kind: 'in',
        arg: this.operand(node.left, Level.Additive, op),
        list: list.value.map((item: unknown) => this.convert(item)),
        negated: op === 'NOT IN',
      };
    }
    if (op === 'BETWEEN' || op === 'NOT BETWEEN') {
      const bounds = node.right;
      if (!isRecord(bounds) || bounds.type !== 'expr_list' || !Array.isArray(bounds.value) || bounds.value.length !== 2) {
        this.fail(node, `${op} needs a low and a high bound`, 'Write x BETWEEN 1 AND 10');
      }
      this.checkKeys(bounds, ['value']);
      return {
        kind: 'between',
        arg: this.operand(node.left, Level.Additive, op),
        low: this.operand(bounds.value[0], Level.Additive, op),
        high: this.operand(bounds.value[1], Level.Additive, op),
        negated: op === 'NOT BETWEEN',
      };
    }
    if (op === 'IS' || op === 'IS NOT') {
      const right = node.right;
      if (!isRecord(right) || right.type !== 'null') {
        this.fail(node, `${op} is only supported with NULL`, `Write x ${op} NULL; to test a boolean write x = TRUE or x = FALSE`);
      }
      return { kind: 'isNull', arg: this.operand(node.left, Level.Additive, op), negated: op === 'IS NOT' };
    }
    return this.fail(node, `the operator '${String(node.operator)}' is not allowed`, 'Use = <> != < <= > >= + - * / % AND OR NOT IN BETWEEN LIKE ILIKE IS NULL');
  }

  /**
   * Reads an unparenthesized chain of binary operators from `ops` back in source order (an
   * in-order walk does not depend on how the parser associated them).
   */
  private chain(root: Record<string, unknown>, ops: (op: string) => boolean): { operands: unknown[]; operators: string[] } {
    const operands: unknown[] = [];
    const operators: string[] = [];
    const visit = (node: unknown, isRoot: boolean): void => {
      if (isRecord(node) && node.type === 'binary_expr' && (isRoot || node.parentheses !== true) && ops(upperOp(node))) {
        this.checkKeys(node, ['operator', 'left', 'right']);
        visit(node.left, false);
        operators.push(upperOp(node));
        visit(node.right, false);
      } else {
        operands.push(node);
      }
    };
    visit(root, true);
    return { operands, operators };
  }

  private logicalChain(root: Record<string, unknown>): Expression {
    const { operands, operators } = this.chain(root, (op) => op === 'AND' || op === 'OR');
    const converted = operands.map((o) => this.operand(o, Level.Not, 'AND/OR'));
    // SQL precedence: AND binds tighter than OR.
    const groups: Expression[][] = [[converted[0]]];
    operators.forEach((op, n) => {
      if (op === 'OR') groups.push([converted[n + 1]]);
      else groups[groups.length - 1].push(converted[n + 1]);
    });
    const ands = groups.map((g) => (g.length === 1 ? g[0] : flatten('and', g)));
    return ands.length === 1 ? ands[0] : flatten('or', ands);
  }

  private arithmeticChain(root: Record<string, unknown>): Expression {
    const { operands, operators } = this.chain(root, (op) => ARITHMETIC.has(op));
    const converted = operands.map((o) => this.operand(o, Level.Unary, 'an arithmetic operator'));
    // SQL precedence: * / % bind tighter than + -, both left-associative.
    const terms: Expression[] = [converted[0]];
    const additive: ArithmeticOperator[] = [];
    operators.forEach((op, n) => {
      const right = converted[n + 1];
      if (MULTIPLICATIVE.has(op)) {
        terms[terms.length - 1] = { kind: 'arithmetic', op: op as ArithmeticOperator, left: terms[terms.length - 1], right };
      } else {
        additive.push(op as ArithmeticOperator);
        terms.push(right);
      }
    });
    let result = terms[0];
    additive.forEach((op, n) => {
      result = { kind: 'arithmetic', op, left: result, right: terms[n + 1] };
    });
    return result;
  }

  private unary(node: Record<string, unknown>): Expression {
    this.checkKeys(node, ['operator', 'expr']);
    const op = upperOp(node);
    if (op === 'NOT') return { kind: 'not', arg: this.operand(node.expr, Level.Not, 'NOT') };
    if (op === '-') return { kind: 'negate', arg: this.operand(node.expr, Level.Unary, "unary '-'") };
    if (op === '+') this.fail(node, "unary '+' is not supported", "Remove the '+'");
    return this.fail(node, `the operator '${String(node.operator)}' is not allowed`, 'Use NOT to negate a condition');
  }

  private call(node: Record<string, unknown>): Expression {
    this.checkKeys(node, ['name', 'args', 'over']);
    const raw = functionName(node);
    const args = node.args;
    if (isRecord(args) && args.type === 'expr_list' && isRecord(args.value)) this.fail(node, COMMA_AND_OR[0], COMMA_AND_OR[1]);
    if (raw === undefined || !isRecord(args) || args.type !== 'expr_list' || !Array.isArray(args.value)) {
      return this.fail(node, 'unsupported function call', `Only these functions may be called: ${ALLOWED_FUNCTIONS.join(', ')}`);
    }
    if (args.parentheses === true || args.value.some((a: unknown) => isRecord(a) && a.type === 'expr_list')) {
      this.fail(node, 'a parenthesized list is not a value', 'Pass each argument separately, e.g. coalesce(a, b)');
    }
    this.checkKeys(args, ['value']);
    const name = raw.toLowerCase();
    if (name === 'not') {
      // `NOT (x)` comes back from the parser as a call to a function named NOT.
      if (args.value.length !== 1) this.fail(node, 'NOT takes exactly one condition', 'Write NOT (a = b); to negate several conditions, combine them with AND/OR inside the parentheses');
      return { kind: 'not', arg: this.convert(args.value[0]) };
    }
    if (!ALLOWED.has(name)) {
      return this.fail(node, `the function '${raw}' is not allowed`, `Only these functions may be called: ${ALLOWED_FUNCTIONS.join(', ')}.${didYouMean(name, ALLOWED_FUNCTIONS)}`);
    }
    const fn = name as AllowedFunction;
    const [min, max] = ARITY[fn];
    const n = args.value.length;
    if (n < min || n > max) {
      const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      this.fail(node, `${fn}() takes ${expected} argument${min === 1 && max === 1 ? '' : 's'} but was given ${n}`, `Call it as ${fn}(${fnExample(fn)})`);
    }
    return { kind: 'call', fn, args: args.value.map((a: unknown) => this.convert(a)) };
  }

  private caseExpr(node: Record<string, unknown>): Expression {
    this.checkKeys(node, ['expr', 'args']);
    if (node.expr !== null && node.expr !== undefined) {
      this.fail(node, "the 'CASE x WHEN value' form is not supported", "Write the condition in each branch: CASE WHEN x = 'a' THEN 1 ELSE 0 END");
    }
    if (!Array.isArray(node.args)) this.fail(node, 'malformed CASE', 'Write CASE WHEN condition THEN value [ELSE value] END');
    const branches: { when: Expression; then: Expression }[] = [];
    let otherwise: Expression | undefined;
    node.args.forEach((arg: unknown, n: number, all: unknown[]) => {
      if (isRecord(arg) && arg.type === 'when') {
        this.checkKeys(arg, ['cond', 'result']);
        branches.push({ when: this.convert(arg.cond), then: this.convert(arg.result) });
      } else if (isRecord(arg) && arg.type === 'else' && n === all.length - 1) {
        this.checkKeys(arg, ['result']);
        otherwise = this.convert(arg.result);
      } else {
        this.fail(node, 'malformed CASE', 'Write CASE WHEN condition THEN value [ELSE value] END');
      }
    });
    if (branches.length === 0) this.fail(node, 'CASE needs at least one WHEN', 'Write CASE WHEN condition THEN value [ELSE value] END');
    return otherwise === undefined ? { kind: 'case', branches } : { kind: 'case', branches, otherwise };
  }
}

function flatten(kind: 'and' | 'or', args: Expression[]): Expression {
  const out: Expression[] = [];
  for (const a of args) {
    if (a.kind === kind) out.push(...a.args);
    else out.push(a);
  }
  return { kind, args: out };
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

function describeNodeType(type: unknown): string {
  switch (type) {
    case 'cast':
      return 'a type cast';
    case 'select':
    case 'ast':
      return 'a subquery';
    case 'interval':
      return 'an INTERVAL';
    case 'var':
    case 'param':
      return 'a query parameter';
    case 'star':
      return "'*'";
    case 'aggr_func':
      return 'an aggregate function';
    case 'array':
      return 'an array';
    case 'number':
    case 'bigint':
    case 'single_quote_string':
    case 'string':
      return 'this literal';
    default:
      return `unsupported syntax (${typeof type === 'string' ? type : 'unknown'})`;
  }
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
  try {
    const tokens = lex(text, r);
    if (tokens.length === 0) r.fail(undefined, 'it is empty', `Write an expression such as ${EXAMPLE}`);
    const rw = rewrite(tokens);
    const where = parseSql(text, tokens, rw, r);
    const expr = new Walker(rw.slots, r).convert(where);
    // Unparenthesized chains (NOT NOT …, 1 + 1 + …) nest too: bounded like parentheses, so that
    // no accepted filter is deeper than renderers and engines handle.
    if (depthOf(expr) > MAX_EXPRESSION_DEPTH) r.fail(undefined, `the expression is nested more than ${MAX_EXPRESSION_DEPTH} deep`, 'Simplify it, for example with IN (…) instead of a chain of ORs');
    return expr;
  } catch (err) {
    if (err instanceof TallyError) throw err;
    if (err instanceof RangeError) return r.fail(undefined, 'the expression is too long or too deeply nested', 'Simplify it');
    // Anything else is a bug in this module or the parser; still report it as a refused expression.
    return r.fail(undefined, `it could not be parsed (${err instanceof Error ? err.message : String(err)})`, `Write an expression such as ${EXAMPLE}`);
  }
}
