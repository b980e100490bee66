import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { TallyError } from '../src/errors.js';
import { ALLOWED_FUNCTIONS, type AllowedFunction, type Expression, type Literal } from '../src/query/expression.js';
import { NUMBER_PATTERN, parseExpression, REF_PATTERN } from '../src/query/parse-expression.js';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const ref = (name: string, position: number): Expression => ({ kind: 'ref', ref: name, position });
const str = (value: string): Expression => ({ kind: 'literal', literal: { kind: 'string', value } });
const num = (text: string): Expression => ({ kind: 'literal', literal: { kind: 'number', text } });
const bool = (value: boolean): Expression => ({ kind: 'literal', literal: { kind: 'boolean', value } });
const nul: Expression = { kind: 'literal', literal: { kind: 'null' } };

/** Calls parseExpression and returns the TallyError it throws (failing the test otherwise). */
function refusal(text: string, context?: string): TallyError {
  try {
    parseExpression(text, context === undefined ? undefined : { context });
  } catch (err) {
    expect(err).toBeInstanceOf(TallyError);
    const e = err as TallyError;
    expect(e.code).toBe('INVALID_FILTER');
    return e;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

const KINDS = new Set([
  'ref', 'literal', 'comparison', 'arithmetic', 'negate', 'and', 'or', 'not', 'in', 'between', 'like', 'isNull', 'call', 'case',
]);
const COMPARISON_OPS = new Set(['=', '<>', '<', '<=', '>', '>=']);
const ARITHMETIC_OPS = new Set(['+', '-', '*', '/', '%']);

function quote(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

/**
 * Checks that an AST only has kinds of the union and that every reference and literal in it
 * comes from the source text: refs are identifier chains found at their position, numbers are
 * number text found in the source, strings are found quoted in the source.
 */
function checkAccountedFor(e: Expression, text: string): void {
  expect(KINDS.has(e.kind)).toBe(true);
  switch (e.kind) {
    case 'ref':
      expect(e.ref).toMatch(REF_PATTERN);
      expect(text.slice(e.position - 1, e.position - 1 + e.ref.length)).toBe(e.ref);
      break;
    case 'literal':
      checkLiteral(e.literal, text);
      break;
    case 'comparison':
      expect(COMPARISON_OPS.has(e.op)).toBe(true);
      checkAccountedFor(e.left, text);
      checkAccountedFor(e.right, text);
      break;
    case 'arithmetic':
      expect(ARITHMETIC_OPS.has(e.op)).toBe(true);
      checkAccountedFor(e.left, text);
      checkAccountedFor(e.right, text);
      break;
    case 'negate':
    case 'not':
      checkAccountedFor(e.arg, text);
      break;
    case 'isNull':
      expect(typeof e.negated).toBe('boolean');
      checkAccountedFor(e.arg, text);
      break;
    case 'and':
    case 'or':
      expect(e.args.length).toBeGreaterThanOrEqual(2);
      for (const a of e.args) {
        expect(a.kind).not.toBe(e.kind); // flattened
        checkAccountedFor(a, text);
      }
      break;
    case 'in':
      expect(e.list.length).toBeGreaterThanOrEqual(1);
      checkAccountedFor(e.arg, text);
      for (const a of e.list) checkAccountedFor(a, text);
      break;
    case 'between':
      checkAccountedFor(e.arg, text);
      checkAccountedFor(e.low, text);
      checkAccountedFor(e.high, text);
      break;
    case 'like':
      checkAccountedFor(e.arg, text);
      checkAccountedFor(e.pattern, text);
      break;
    case 'call':
      expect(ALLOWED_FUNCTIONS).toContain(e.fn);
      for (const a of e.args) checkAccountedFor(a, text);
      break;
    case 'case':
      expect(e.branches.length).toBeGreaterThanOrEqual(1);
      for (const b of e.branches) {
        checkAccountedFor(b.when, text);
        checkAccountedFor(b.then, text);
      }
      if (e.otherwise) checkAccountedFor(e.otherwise, text);
      break;
  }
}

function checkLiteral(l: Literal, text: string): void {
  switch (l.kind) {
    case 'string':
      expect(text).toContain(quote(l.value));
      break;
    case 'number':
      expect(l.text).toMatch(NUMBER_PATTERN);
      expect(text).toContain(l.text);
      break;
    case 'boolean':
      expect(text.toUpperCase()).toContain(l.value ? 'TRUE' : 'FALSE');
      break;
    case 'null':
      expect(text.toUpperCase()).toContain('NULL');
      break;
  }
}

/** Parses, and on refusal checks that the refusal is a proper INVALID_FILTER. */
function parseOrRefuse(text: string): Expression | undefined {
  try {
    return parseExpression(text);
  } catch (err) {
    if (!(err instanceof TallyError) || err.code !== 'INVALID_FILTER') throw err;
    expect(err.message.length).toBeGreaterThan(0);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The language, example by example
// ---------------------------------------------------------------------------------------------

describe('parseExpression: the language', () => {
  it('parses a dotted reference compared with a string', () => {
    expect(parseExpression("user.country = 'KR'")).toEqual({
      kind: 'comparison',
      op: '=',
      left: ref('user.country', 1),
      right: str('KR'),
    });
  });

  it('parses single identifiers (derived-metric formulas) and arithmetic with precedence', () => {
    expect(parseExpression('revenue / orders * 100 - refunds % 7 + -cost')).toEqual({
      kind: 'arithmetic',
      op: '+',
      left: {
        kind: 'arithmetic',
        op: '-',
        left: {
          kind: 'arithmetic',
          op: '*',
          left: { kind: 'arithmetic', op: '/', left: ref('revenue', 1), right: ref('orders', 11) },
          right: num('100'),
        },
        right: { kind: 'arithmetic', op: '%', left: ref('refunds', 26), right: num('7') },
      },
      right: { kind: 'negate', arg: ref('cost', 41) },
    });
  });

  it('keeps parentheses in arithmetic and is left-associative', () => {
    expect(parseExpression('(a + b) * c')).toEqual({
      kind: 'arithmetic',
      op: '*',
      left: { kind: 'arithmetic', op: '+', left: ref('a', 2), right: ref('b', 6) },
      right: ref('c', 11),
    });
    expect(parseExpression('a - b - c')).toEqual({
      kind: 'arithmetic',
      op: '-',
      left: { kind: 'arithmetic', op: '-', left: ref('a', 1), right: ref('b', 5) },
      right: ref('c', 9),
    });
    expect(parseExpression('a - (b - c)')).toEqual({
      kind: 'arithmetic',
      op: '-',
      left: ref('a', 1),
      right: { kind: 'arithmetic', op: '-', left: ref('b', 6), right: ref('c', 10) },
    });
  });

  it('parses every comparison operator and maps != to <>', () => {
    const ops: [string, string][] = [['=', '='], ['<>', '<>'], ['!=', '<>'], ['<', '<'], ['<=', '<='], ['>', '>'], ['>=', '>=']];
    for (const [written, op] of ops) {
      expect(parseExpression(`order.amount ${written} 10`)).toEqual({
        kind: 'comparison',
        op,
        left: ref('order.amount', 1),
        right: num('10'),
      });
    }
    expect(parseExpression('a<>b')).toEqual({ kind: 'comparison', op: '<>', left: ref('a', 1), right: ref('b', 4) });
    expect(parseExpression('a!=b')).toEqual({ kind: 'comparison', op: '<>', left: ref('a', 1), right: ref('b', 4) });
  });

  it('parses TRUE, FALSE and NULL in any case', () => {
    expect(parseExpression('user.active = TRUE')).toEqual({ kind: 'comparison', op: '=', left: ref('user.active', 1), right: bool(true) });
    expect(parseExpression('user.active = false')).toEqual({ kind: 'comparison', op: '=', left: ref('user.active', 1), right: bool(false) });
    expect(parseExpression('Null')).toEqual(nul);
  });

  it('flattens AND and OR into argument lists', () => {
    expect(parseExpression("a = 1 AND b = 2 AND (c = 3 AND d = 4)")).toEqual({
      kind: 'and',
      args: [
        { kind: 'comparison', op: '=', left: ref('a', 1), right: num('1') },
        { kind: 'comparison', op: '=', left: ref('b', 11), right: num('2') },
        { kind: 'comparison', op: '=', left: ref('c', 22), right: num('3') },
        { kind: 'comparison', op: '=', left: ref('d', 32), right: num('4') },
      ],
    });
    expect(parseExpression('a OR (b OR c) or d')).toEqual({
      kind: 'or',
      args: [ref('a', 1), ref('b', 7), ref('c', 12), ref('d', 18)],
    });
  });

  it('gives AND precedence over OR, and NOT over AND (node-sql-parser alone does not)', () => {
    expect(parseExpression('a OR b AND c')).toEqual({ kind: 'or', args: [ref('a', 1), { kind: 'and', args: [ref('b', 6), ref('c', 12)] }] });
    expect(parseExpression('a AND b OR c')).toEqual({ kind: 'or', args: [{ kind: 'and', args: [ref('a', 1), ref('b', 7)] }, ref('c', 12)] });
    expect(parseExpression('a OR b AND c OR d AND NOT e')).toEqual({
      kind: 'or',
      args: [
        ref('a', 1),
        { kind: 'and', args: [ref('b', 6), ref('c', 12)] },
        { kind: 'and', args: [ref('d', 17), { kind: 'not', arg: ref('e', 27) }] },
      ],
    });
    expect(parseExpression('(a OR b) AND c')).toEqual({ kind: 'and', args: [{ kind: 'or', args: [ref('a', 2), ref('b', 7)] }, ref('c', 14)] });
    expect(parseExpression('NOT a AND b')).toEqual({ kind: 'and', args: [{ kind: 'not', arg: ref('a', 5) }, ref('b', 11)] });
    expect(parseExpression('NOT (a OR b) AND c')).toEqual({
      kind: 'and',
      args: [{ kind: 'not', arg: { kind: 'or', args: [ref('a', 6), ref('b', 11)] } }, ref('c', 18)],
    });
    expect(parseExpression('NOT a = b')).toEqual({ kind: 'not', arg: { kind: 'comparison', op: '=', left: ref('a', 5), right: ref('b', 9) } });
  });

  it('parses IN and NOT IN', () => {
    expect(parseExpression("user.country IN ('KR', 'US')")).toEqual({
      kind: 'in',
      arg: ref('user.country', 1),
      list: [str('KR'), str('US')],
      negated: false,
    });
    expect(parseExpression('order.status NOT IN (1, 2.5, -3)')).toEqual({
      kind: 'in',
      arg: ref('order.status', 1),
      list: [num('1'), num('2.5'), { kind: 'negate', arg: num('3') }],
      negated: true,
    });
  });

  it('parses BETWEEN and NOT BETWEEN (the AND of BETWEEN is not a conjunction)', () => {
    expect(parseExpression("metric_time.day BETWEEN '2024-01-01' AND '2024-01-31' AND x = 1")).toEqual({
      kind: 'and',
      args: [
        { kind: 'between', arg: ref('metric_time.day', 1), low: str('2024-01-01'), high: str('2024-01-31'), negated: false },
        { kind: 'comparison', op: '=', left: ref('x', 59), right: num('1') },
      ],
    });
    expect(parseExpression('order.amount NOT BETWEEN 10 AND 20 + 5')).toEqual({
      kind: 'between',
      arg: ref('order.amount', 1),
      low: num('10'),
      high: { kind: 'arithmetic', op: '+', left: num('20'), right: num('5') },
      negated: true,
    });
  });

  it('parses LIKE, NOT LIKE, ILIKE and NOT ILIKE', () => {
    const cases: [string, boolean, boolean][] = [
      ['LIKE', false, false],
      ['NOT LIKE', true, false],
      ['ILIKE', false, true],
      ['not ilike', true, true],
    ];
    for (const [op, negated, caseInsensitive] of cases) {
      expect(parseExpression(`user.email ${op} '%@example.com'`)).toEqual({
        kind: 'like',
        arg: ref('user.email', 1),
        pattern: str('%@example.com'),
        negated,
        caseInsensitive,
      });
    }
  });

  it('parses IS NULL and IS NOT NULL', () => {
    expect(parseExpression('user.deleted_at IS NULL')).toEqual({ kind: 'isNull', arg: ref('user.deleted_at', 1), negated: false });
    expect(parseExpression('user.deleted_at is not null')).toEqual({ kind: 'isNull', arg: ref('user.deleted_at', 1), negated: true });
  });

  it('parses CASE WHEN ... THEN ... [ELSE ...] END', () => {
    expect(parseExpression("CASE WHEN order.amount > 100 THEN 'big' WHEN order.amount > 10 THEN 'medium' ELSE 'small' END")).toEqual({
      kind: 'case',
      branches: [
        { when: { kind: 'comparison', op: '>', left: ref('order.amount', 11), right: num('100') }, then: str('big') },
        { when: { kind: 'comparison', op: '>', left: ref('order.amount', 46), right: num('10') }, then: str('medium') },
      ],
      otherwise: str('small'),
    });
    const noElse = parseExpression('case when a then 1 end');
    expect(noElse).toEqual({ kind: 'case', branches: [{ when: ref('a', 11), then: num('1') }] });
    expect(noElse).not.toHaveProperty('otherwise');
  });

  it('parses calls to allowed functions, case-insensitively, with lowercase names', () => {
    expect(parseExpression("LOWER(user.country) = 'kr'")).toEqual({
      kind: 'comparison',
      op: '=',
      left: { kind: 'call', fn: 'lower', args: [ref('user.country', 7)] },
      right: str('kr'),
    });
    expect(parseExpression('Coalesce(a, b, 0)')).toEqual({ kind: 'call', fn: 'coalesce', args: [ref('a', 10), ref('b', 13), num('0')] });
    expect(parseExpression('round(x, 2)')).toEqual({ kind: 'call', fn: 'round', args: [ref('x', 7), num('2')] });
    for (const fn of ALLOWED_FUNCTIONS) {
      const args = fn === 'nullif' ? 'a, b' : 'a';
      const e = parseExpression(`${fn.toUpperCase()}(${args})`);
      expect(e.kind === 'call' && e.fn).toBe(fn);
    }
  });

  it('records 1-based columns, also across lines', () => {
    expect(parseExpression("  user.country = 'x''y'\n AND\torder.id > 1")).toEqual({
      kind: 'and',
      args: [
        { kind: 'comparison', op: '=', left: ref('user.country', 3), right: str("x'y") },
        { kind: 'comparison', op: '>', left: ref('order.id', 30), right: num('1') },
      ],
    });
  });

  it('parses a whole filter using most of the language', () => {
    const text =
      "(user.country IN ('KR', 'JP') OR lower(user.email) LIKE '%@corp.com') AND order.amount * 1.1 >= 100 " +
      "AND order.status <> 'cancelled' AND user.signed_up_at.month IS NOT NULL AND NOT group.x BETWEEN 1 AND 5";
    const e = parseExpression(text);
    expect(e.kind).toBe('and');
    if (e.kind !== 'and') return;
    expect(e.args.map((a) => a.kind)).toEqual(['or', 'comparison', 'comparison', 'isNull', 'not']);
    checkAccountedFor(e, text);
  });
});

describe('parseExpression: exactness', () => {
  it('keeps number text exactly', () => {
    expect(parseExpression('x = 12345678901234567890.12')).toEqual({
      kind: 'comparison',
      op: '=',
      left: ref('x', 1),
      right: num('12345678901234567890.12'),
    });
    for (const text of ['0', '007', '0.10', '.5', '1e10', '2.50E-3', '9007199254740993', '123456789012345678901234567890']) {
      expect(parseExpression(text)).toEqual(num(text));
    }
  });

  it("decodes '' as a quote inside strings", () => {
    expect(parseExpression("user.name = 'O''Brien'")).toEqual({ kind: 'comparison', op: '=', left: ref('user.name', 1), right: str("O'Brien") });
    expect(parseExpression("''''")).toEqual(str("'"));
    expect(parseExpression("''")).toEqual(str(''));
    expect(parseExpression("'a''''b'")).toEqual(str("a''b"));
  });

  it('keeps string contents verbatim: backslashes, SQL, comments and keywords are just text', () => {
    for (const v of ['C:\\path\\', "--", '/* x */', 'a; DROP TABLE y', '"quoted"', 'AND OR NOT', '$1 ?', '::int', '한국', '\n\t']) {
      expect(parseExpression(`x = ${quote(v)}`)).toEqual({ kind: 'comparison', op: '=', left: ref('x', 1), right: str(v) });
    }
  });

  it('accepts reserved words as entity names', () => {
    expect(parseExpression("order.status = 'paid' AND user.country = 'KR' AND group.x > 1 AND select.from = 2")).toEqual({
      kind: 'and',
      args: [
        { kind: 'comparison', op: '=', left: ref('order.status', 1), right: str('paid') },
        { kind: 'comparison', op: '=', left: ref('user.country', 27), right: str('KR') },
        { kind: 'comparison', op: '>', left: ref('group.x', 51), right: num('1') },
        { kind: 'comparison', op: '=', left: ref('select.from', 67), right: num('2') },
      ],
    });
    expect(parseExpression('table.end IN (case.when, user)')).toEqual({
      kind: 'in',
      arg: ref('table.end', 1),
      list: [ref('case.when', 15), ref('user', 26)],
      negated: false,
    });
    expect(parseExpression('metric_time.month')).toEqual(ref('metric_time.month', 1));
    expect(parseExpression('__tally_ref_0 = __tally_str_1')).toEqual({
      kind: 'comparison',
      op: '=',
      left: ref('__tally_ref_0', 1),
      right: ref('__tally_str_1', 17),
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------------------------

describe('parseExpression: refusals', () => {
  it('refuses empty text', () => {
    expect(refusal('').message).toMatch(/empty/);
    expect(refusal('  \n\t ').message).toMatch(/empty/);
  });

  it('refuses unknown functions and lists the allowed ones', () => {
    const e = refusal('pg_sleep(1) = 1');
    expect(e.message).toMatch(/column 1\b/);
    expect(e.message).toMatch(/pg_sleep/);
    expect(e.message).toMatch(/lower, upper/);
    expect(refusal("user.country = version()").message).toMatch(/column 16\b.*version/);
    expect(refusal('count(*) > 1').message).toMatch(/count/);
    expect(refusal('pg_catalog.pg_sleep(1)').message).toMatch(/not allowed/);
    expect(refusal('lowr(x)').message).toMatch(/Did you mean 'lower'/);
  });

  it('refuses subqueries', () => {
    const e = refusal('user.id IN (SELECT id FROM admins)');
    expect(e.message).toMatch(/column 13\b/);
    expect(e.message).toMatch(/subquer/);
    expect(refusal('EXISTS (SELECT 1)').message).toMatch(/EXISTS/);
  });

  it('refuses a second statement', () => {
    const e = refusal('x = 1; DROP TABLE y');
    expect(e.message).toMatch(/column 6\b/);
    expect(e.message).toMatch(/';'/);
    expect(refusal('x = 1;').message).toMatch(/';'/);
  });

  it('refuses comments', () => {
    expect(refusal('x = 1 -- y').message).toMatch(/column 7\b.*comment/);
    expect(refusal('x = 1 /* y */').message).toMatch(/column 7\b.*comment/);
    expect(refusal('x = 1 # y').message).toMatch(/comment/);
    expect(refusal('a--1').message).toMatch(/comment/);
  });

  it('refuses unterminated strings, pointing at the opening quote', () => {
    const e = refusal("user.country = 'KR");
    expect(e.message).toMatch(/column 16\b/);
    expect(e.message).toMatch(/never closed/);
    expect(e.message).toMatch(/''/);
    expect(refusal("x = 'it''s").message).toMatch(/column 5\b.*never closed/);
  });

  it('refuses :: casts, CAST and INTERVAL', () => {
    expect(refusal("order.created_at::date = '2024-01-01'").message).toMatch(/column 17\b.*cast/);
    expect(refusal('CAST(x AS int) = 1').message).toMatch(/CAST/);
    expect(refusal("x > now() - INTERVAL '1 day'").message).toMatch(/now/);
    expect(refusal("x > INTERVAL '1 day'").message).toMatch(/INTERVAL/);
  });

  it('refuses double-quoted and backtick identifiers', () => {
    expect(refusal('"user".country = 1').message).toMatch(/column 1\b.*double-quoted/);
    expect(refusal('user."country" = 1').message).toMatch(/incomplete|double-quoted/);
    expect(refusal('`user`.country = 1').message).toMatch(/backtick/);
  });

  it('refuses parameters, arrays, * and other SQL', () => {
    expect(refusal('x = $1').message).toMatch(/parameter/);
    expect(refusal('x = ?').message).toMatch(/parameter/);
    expect(refusal('x = :name').message).toMatch(/parameter/);
    expect(refusal('x = @var').message).toMatch(/variable/);
    expect(refusal('x = ARRAY[1, 2]').message).toMatch(/array/i);
    expect(refusal('x = *').message).toMatch(/'\*' is not allowed/);
    expect(refusal("x || 'a' = 'b'").message).toMatch(/concatenation/);
    expect(refusal("x = E'\\n'").message).toMatch(/column 6\b/);
    expect(refusal("x LIKE 'a!%' ESCAPE '!'").message).toMatch(/ESCAPE/);
    expect(refusal('x IS DISTINCT FROM y').message).toMatch(/DISTINCT/);
    expect(refusal('x = ANY (y)').message).toMatch(/ANY/);
    expect(refusal('x = 1 UNION SELECT 1').message).toMatch(/UNION/);
  });

  it('refuses malformed text with a column and a hint', () => {
    expect(refusal('x = ').message).toMatch(/ends too early/);
    expect(refusal('(x = 1').message).toMatch(/column 1\b.*never closed/);
    expect(refusal('x = 1)').message).toMatch(/column 6\b.*no matching/);
    expect(refusal('x = = 1').message).toMatch(/column 5\b/);
    expect(refusal('x == 1').message).toMatch(/'=='/);
    expect(refusal('user. country = 1').message).toMatch(/incomplete/);
    expect(refusal('1abc = 1').message).toMatch(/not a valid number/);
    expect(refusal('x = 1.').message).toMatch(/not a valid number/);
    expect(refusal('x IN ()').message).toMatch(/column 7\b/);
    expect(refusal('a b').message).toMatch(/column 3\b/);
    expect(refusal('país = 1').message).toMatch(/column 3\b.*'í'/);
    expect(refusal('x = 1\u00a0').message).toMatch(/U\+00A0/);
  });

  it('refuses what the language does not have, saying what to write instead', () => {
    expect(refusal('a IS TRUE').message).toMatch(/= TRUE/);
    expect(refusal('CASE x WHEN 1 THEN 2 END').message).toMatch(/CASE WHEN/);
    expect(refusal('+x').message).toMatch(/unary '\+'/);
    expect(refusal('round(x, 1, 2)').message).toMatch(/round\(\) takes 1 to 2 arguments but was given 3/);
    expect(refusal('nullif(x)').message).toMatch(/nullif\(\) takes 2 arguments/);
    expect(refusal('lower()').message).toMatch(/lower\(\) takes 1 argument but was given 0/);
    expect(refusal('a, b').message).toMatch(/list/);
    expect(refusal('(a, b) = (c, d)').message).toMatch(/list/);
    expect(refusal('lower((a, b))').message).toMatch(/list/);
  });

  it('refuses chained comparisons, which SQL has no meaning for', () => {
    expect(refusal('a = b = c').message).toMatch(/column 7\b.*chained/);
    expect(refusal('a LIKE b LIKE c').message).toMatch(/chained/);
    expect(refusal('a < b BETWEEN 1 AND 2').message).toMatch(/chained/);
    expect(parseExpression('(NOT a) = b')).toEqual({ kind: 'comparison', op: '=', left: { kind: 'not', arg: ref('a', 6) }, right: ref('b', 11) });
  });

  it('accepts forms the old node-sql-parser wrapper refused, with SQL precedence', () => {
    // NOT binds looser than a comparison: NOT (a) = b is NOT ((a) = b), as in Postgres and DuckDB.
    expect(parseExpression('NOT (a) = b')).toEqual({ kind: 'not', arg: { kind: 'comparison', op: '=', left: ref('a', 6), right: ref('b', 11) } });
    // AND/OR inside an IN list, a function argument and an ELSE result need no parentheses.
    expect(parseExpression('x IN (a AND b, c)')).toEqual({
      kind: 'in',
      arg: ref('x', 1),
      list: [{ kind: 'and', args: [ref('a', 7), ref('b', 13)] }, ref('c', 16)],
      negated: false,
    });
    expect(parseExpression('coalesce(a, b OR c)')).toEqual({
      kind: 'call',
      fn: 'coalesce',
      args: [ref('a', 10), { kind: 'or', args: [ref('b', 13), ref('c', 18)] }],
    });
    expect(parseExpression('CASE WHEN a THEN b ELSE c OR d END')).toEqual({
      kind: 'case',
      branches: [{ when: ref('a', 11), then: ref('b', 18) }],
      otherwise: { kind: 'or', args: [ref('c', 25), ref('d', 30)] },
    });
    expect(parseExpression('x LIKE NULL + y')).toEqual({
      kind: 'like',
      arg: ref('x', 1),
      pattern: { kind: 'arithmetic', op: '+', left: nul, right: ref('y', 15) },
      negated: false,
      caseInsensitive: false,
    });
    expect(parseExpression('NOT (a) + 1 > 2')).toEqual({
      kind: 'not',
      arg: { kind: 'comparison', op: '>', left: { kind: 'arithmetic', op: '+', left: ref('a', 6), right: num('1') }, right: num('2') },
    });
  });

  it('names the context in the message', () => {
    expect(refusal('x = ', "filter of metric 'revenue'").message).toMatch(/^Invalid expression in filter of metric 'revenue' at column 5/);
  });

  it('refuses deeply nested or huge input without crashing', () => {
    expect(refusal('('.repeat(500) + 'a' + ')'.repeat(500)).message).toMatch(/nested/);
    expect(refusal('NOT '.repeat(20000) + 'a').message).toMatch(/nested/);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const TOKENS = [
  'user.country', 'order.status', 'group.x', 'metric_time.month', 'revenue', 'a', 'b.c',
  "'KR'", "'O''Brien'", "''", "'--'", '42', '1.5', '.5', '12345678901234567890.12',
  'AND', 'OR', 'NOT', 'IN', 'IS', 'NULL', 'LIKE', 'ILIKE', 'BETWEEN', 'TRUE', 'FALSE', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END',
  '=', '<>', '!=', '<', '<=', '>', '>=', '+', '-', '*', '/', '%', '(', ')', ',',
  'lower(', 'coalesce(', 'round(', 'pg_sleep(', 'SELECT', 'FROM', '::', '--', '/*', ';', '"x"', '`x`', '$1', '?', "'open",
];

describe('parseExpression: properties', () => {
  it('either refuses with INVALID_FILTER or returns an AST accounted for by the text (arbitrary strings)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme-ascii' }), fc.string()), (text) => {
        const e = parseOrRefuse(text);
        if (e) checkAccountedFor(e, text);
      }),
      { numRuns: 500 },
    );
  });

  it('either refuses with INVALID_FILTER or returns an AST accounted for by the text (token soup)', () => {
    let parsed = 0;
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 12 }),
        fc.constantFrom(' ', '', '\n'),
        (tokens, sep) => {
          const text = tokens.join(sep);
          const e = parseOrRefuse(text);
          if (e) {
            parsed++;
            checkAccountedFor(e, text);
          }
        },
      ),
      { numRuns: 1000 },
    );
    expect(parsed).toBeGreaterThan(0);
  });

  it("parses user.country = '<v with quotes doubled>' to the string v exactly", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string(), fc.stringMatching(/^['\-;"\\ ]*$/)), (v) => {
        expect(parseExpression(`user.country = ${quote(v)}`)).toEqual({
          kind: 'comparison',
          op: '=',
          left: ref('user.country', 1),
          right: str(v),
        });
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips generated expressions printed with SQL precedence and minimal parentheses', () => {
    fc.assert(
      fc.property(expressionArb(4), (e) => {
        const text = print(e, 0);
        expect(withoutPositions(parseExpression(text))).toEqual(normalize(e));
      }),
      { numRuns: 400 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// A generator and a printer for the round-trip property
// ---------------------------------------------------------------------------------------------

const REF_NAMES = ['user.country', 'order.status', 'group.x', 'metric_time.month', 'user.signed_up_at.month', 'revenue', 'select', 'case.when', 'end.x'];

function expressionArb(depth: number): fc.Arbitrary<Expression> {
  const literal: fc.Arbitrary<Expression> = fc.oneof(
    fc.string().map((value) => str(value)),
    fc.oneof(
      fc.nat().map(String),
      fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}.${b}`),
      fc.bigInt({ min: 0n, max: 10n ** 30n }).map((n) => `${n}.${n % 97n}`),
    ).map((text) => num(text)),
    fc.boolean().map((value) => bool(value)),
    fc.constant(nul),
  );
  const leaf: fc.Arbitrary<Expression> = fc.oneof(fc.constantFrom(...REF_NAMES).map((name) => ref(name, 0)), literal);
  const tree: fc.Memo<Expression> = fc.memo<Expression>((n: number): fc.Arbitrary<Expression> => {
    if (n <= 1) return leaf;
    const sub: fc.Arbitrary<Expression> = tree(n - 1);
    const fnArb = fc.constantFrom(...ALLOWED_FUNCTIONS).chain((fn) => {
      const [min, max] = ARITY[fn];
      return fc.array(sub, { minLength: min, maxLength: Math.min(max, 3) }).map((args): Expression => ({ kind: 'call', fn, args }));
    });
    return fc.oneof(
      { depthSize: 'small' },
      leaf,
      fc.tuple(fc.constantFrom('=', '<>', '<', '<=', '>', '>=' as const), sub, sub).map(([op, left, right]): Expression => ({ kind: 'comparison', op, left, right })),
      fc.tuple(fc.constantFrom('+', '-', '*', '/', '%' as const), sub, sub).map(([op, left, right]): Expression => ({ kind: 'arithmetic', op, left, right })),
      sub.map((arg): Expression => ({ kind: 'negate', arg })),
      fc.array(sub, { minLength: 2, maxLength: 4 }).map((args): Expression => ({ kind: 'and', args })),
      fc.array(sub, { minLength: 2, maxLength: 4 }).map((args): Expression => ({ kind: 'or', args })),
      sub.map((arg): Expression => ({ kind: 'not', arg })),
      fc.tuple(sub, fc.array(sub, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([arg, list, negated]): Expression => ({ kind: 'in', arg, list, negated })),
      fc.tuple(sub, sub, sub, fc.boolean()).map(([arg, low, high, negated]): Expression => ({ kind: 'between', arg, low, high, negated })),
      fc.tuple(sub, sub, fc.boolean(), fc.boolean()).map(([arg, pattern, negated, caseInsensitive]): Expression => ({ kind: 'like', arg, pattern, negated, caseInsensitive })),
      fc.tuple(sub, fc.boolean()).map(([arg, negated]): Expression => ({ kind: 'isNull', arg, negated })),
      fnArb,
      fc.tuple(fc.array(fc.record({ when: sub, then: sub }), { minLength: 1, maxLength: 3 }), fc.option(sub, { nil: undefined })).map(
        ([branches, otherwise]): Expression => (otherwise === undefined ? { kind: 'case', branches } : { kind: 'case', branches, otherwise }),
      ),
    );
  });
  return tree(depth);
}

const ARITY: Record<AllowedFunction, [number, number]> = {
  lower: [1, 1], upper: [1, 1], trim: [1, 1], length: [1, 1], abs: [1, 1], round: [1, 2],
  floor: [1, 1], ceil: [1, 1], coalesce: [1, Infinity], nullif: [2, 2], greatest: [1, Infinity], least: [1, Infinity],
};

/** SQL binding strength (higher binds tighter). */
function level(e: Expression): number {
  switch (e.kind) {
    case 'or':
      return 1;
    case 'and':
      return 2;
    case 'not':
      return 3;
    case 'comparison':
    case 'in':
    case 'between':
    case 'like':
    case 'isNull':
      return 4;
    case 'arithmetic':
      return e.op === '+' || e.op === '-' ? 5 : 6;
    case 'negate':
      return 7;
    default:
      return 8;
  }
}

/** Prints `e` in the language, parenthesizing only where SQL precedence requires it. */
function print(e: Expression, min: number): string {
  const text = printBare(e);
  return level(e) < min ? `(${text})` : text;
}

function printBare(e: Expression): string {
  switch (e.kind) {
    case 'ref':
      return e.ref;
    case 'literal':
      switch (e.literal.kind) {
        case 'string':
          return quote(e.literal.value);
        case 'number':
          return e.literal.text;
        case 'boolean':
          return e.literal.value ? 'TRUE' : 'FALSE';
        case 'null':
          return 'NULL';
      }
      break;
    case 'comparison':
      return `${print(e.left, 5)} ${e.op} ${print(e.right, 5)}`;
    case 'arithmetic': {
      const l = level(e);
      return `${print(e.left, l)} ${e.op} ${print(e.right, l + 1)}`;
    }
    case 'negate':
      return `- ${print(e.arg, 7)}`;
    case 'and':
      return e.args.map((a) => print(a, 3)).join(' AND ');
    case 'or':
      return e.args.map((a) => print(a, 2)).join(' OR ');
    case 'not':
      return `NOT ${print(e.arg, 3)}`;
    case 'in':
      return `${print(e.arg, 5)} ${e.negated ? 'NOT IN' : 'IN'} (${e.list.map((a) => print(a, 0)).join(', ')})`;
    case 'between':
      return `${print(e.arg, 5)} ${e.negated ? 'NOT BETWEEN' : 'BETWEEN'} ${print(e.low, 5)} AND ${print(e.high, 5)}`;
    case 'like':
      return `${print(e.arg, 5)} ${e.negated ? 'NOT ' : ''}${e.caseInsensitive ? 'ILIKE' : 'LIKE'} ${print(e.pattern, 5)}`;
    case 'isNull':
      return `${print(e.arg, 5)} IS ${e.negated ? 'NOT NULL' : 'NULL'}`;
    case 'call':
      return `${e.fn}(${e.args.map((a) => print(a, 0)).join(', ')})`;
    case 'case':
      return `CASE ${e.branches.map((b) => `WHEN ${print(b.when, 0)} THEN ${print(b.then, 0)}`).join(' ')}${
        e.otherwise ? ` ELSE ${print(e.otherwise, 0)}` : ''
      } END`;
  }
  throw new Error('unreachable');
}

/** Replaces every ref position with 0. */
function withoutPositions(e: Expression): Expression {
  return mapChildren(e.kind === 'ref' ? { ...e, position: 0 } : e, withoutPositions);
}

/** What the parser produces for a generated AST: nested AND/OR flattened. */
function normalize(e: Expression): Expression {
  const n = mapChildren(e, normalize);
  if (n.kind === 'and' || n.kind === 'or') {
    return { kind: n.kind, args: n.args.flatMap((a) => (a.kind === n.kind ? a.args : [a])) };
  }
  return n;
}

function mapChildren(e: Expression, f: (x: Expression) => Expression): Expression {
  switch (e.kind) {
    case 'ref':
    case 'literal':
      return e;
    case 'comparison':
      return { ...e, left: f(e.left), right: f(e.right) };
    case 'arithmetic':
      return { ...e, left: f(e.left), right: f(e.right) };
    case 'negate':
    case 'not':
      return { ...e, arg: f(e.arg) };
    case 'isNull':
    case 'textMatch':
    case 'cast':
      return { ...e, arg: f(e.arg) };
    case 'and':
    case 'or':
      return { ...e, args: e.args.map(f) };
    case 'in':
      return { ...e, arg: f(e.arg), list: e.list.map(f) };
    case 'between':
      return { ...e, arg: f(e.arg), low: f(e.low), high: f(e.high) };
    case 'like':
      return { ...e, arg: f(e.arg), pattern: f(e.pattern) };
    case 'call':
      return { ...e, args: e.args.map(f) };
    case 'case': {
      const branches = e.branches.map((b) => ({ when: f(b.when), then: f(b.then) }));
      return e.otherwise === undefined ? { kind: 'case', branches } : { kind: 'case', branches, otherwise: f(e.otherwise) };
    }
  }
}

describe('the generated parser', () => {
  it('is what src/query/filter.peggy generates (run `npm run build:filter-parser` after editing the grammar)', async () => {
    const { readFileSync } = await import('node:fs');
    const { generateFilterParser, PARSER_PATH } = await import('../scripts/build-filter-parser.js');
    expect(readFileSync(PARSER_PATH, 'utf8')).toBe(generateFilterParser());
  });
});
