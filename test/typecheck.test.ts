/**
 * Caller filters are typed before SQL exists (src/query/typecheck.ts): what is wrong for every row
 * is refused with INVALID_FILTER and the column; operands of unknown type get a conversion that
 * cannot fail. Answers are checked against hand-written SQL on the demo data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRequest, DuckDBEngine, type Engine, loadProject, PostgresEngine, runQuery, seedPostgres, TallyError } from '../src/index.js';
import { createDatabase } from './helpers/postgres-db.js';
import { parseExpression } from '../src/query/parse-expression.js';
import { typecheckFilter } from '../src/query/typecheck.js';
import { seedDemoDatabase } from '../src/seed/demo.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const project = loadProject('.');
const check = (text: string) => typecheckFilter(project.graph, parseExpression(text));

function refusal(text: string): TallyError {
  try {
    check(text);
  } catch (e) {
    expect(e).toBeInstanceOf(TallyError);
    return e as TallyError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

describe('type errors are refused before SQL exists', () => {
  it("the issue's example: CASE gives text, compared with a number", () => {
    const e = refusal("CASE WHEN user = 8 THEN user.plan ELSE '1' END = 5");
    expect(e.code).toBe('INVALID_FILTER');
    expect(e.message).toMatch(/compares a text value with a number value/);
    expect(e.message).toMatch(/single quotes/);
  });

  it('refuses each kind of ill-typed expression with INVALID_FILTER and a column', () => {
    const cases: [string, RegExp][] = [
      ["'KR' = 5", /compares a text value with a number value/],
      ['user.country = 5', /'=' compares a text value with a number value/],
      ['user.plan + 1 > 2', /'\+' needs numbers, but this is a text value/],
      ["order.status BETWEEN 1 AND 'z'", /BETWEEN compares a text value with a number value/],
      ["order.status IN ('paid', 3)", /IN compares a text value with a number value/],
      ["CASE WHEN user.country = 'KR' THEN 1 ELSE 'no' END = 1", /results of CASE mix number and text/],
      ["coalesce(user.country, 'x', 0) = 'KR'", /coalesce\(\) mix text and number values/],
      ["coalesce(user, 0) = 'pro'", /'=' compares a number value with a text value/],
      ["coalesce(user.plan, 0) = 'pro'", /coalesce\(\) mix text and number values/],
      ["lower(user.country) + 1 > 0", /'\+' needs numbers, but this is a text value/],
      ['metric_time.day * 2 > 1', /needs numbers, but this is a time value/],
      ["length(5) = 1", /length\(\) needs text, but this is a number value/],
      ['user.signed_up_at LIKE 5', /needs text/],
      ["user.country = 'KR' AND 5", /AND needs a condition, but this is a number value/],
      ["'KR'", /the filter needs a condition/],
      ["metric_time.day >= 'last week'", /not a date/],
      ['metric_time.day = 5', /compares a time value with a number value/],
      ['round(user, user) = 1', /round\(\) takes the number of decimals/],
      ["NOT 'x'", /NOT needs a condition/],
    ];
    for (const [text, message] of cases) {
      const e = refusal(text);
      expect(e.code, text).toBe('INVALID_FILTER');
      expect(e.message, text).toMatch(message);
    }
    expect(refusal("user.country = 'KR' AND lower(user.plan) + 1 > 0").message).toMatch(/at column 31\b/);
  });

  it('accepts well-typed filters, converting operands of unknown type', () => {
    // user.country declares data_type: text (metrics/models.yml); an entity's type is the warehouse's.
    expect(check("user.country = 'KR'")).toEqual(parseExpression("user.country = 'KR'"));
    expect(check("order = 'KR'")).toEqual({
      kind: 'comparison',
      op: '=',
      left: { kind: 'cast', to: 'text', arg: { kind: 'ref', ref: 'order', position: 1 } },
      right: { kind: 'literal', literal: { kind: 'string', value: 'KR' } },
    });
    expect(check('user = 8')).toMatchObject({ left: { kind: 'cast', to: 'number' } });
    expect(check("metric_time.day >= '2025-01-01'")).toEqual(parseExpression("metric_time.day >= '2025-01-01'"));
    expect(check("user.signed_up_at < '2025-01-01 10:00:00'")).toEqual(parseExpression("user.signed_up_at < '2025-01-01 10:00:00'"));
    expect(check('metric_time.extract_year = 2025')).toEqual(parseExpression('metric_time.extract_year = 2025'));
    expect(check("CASE WHEN user = 8 THEN user.plan ELSE '1' END = '5'")).toMatchObject({ kind: 'comparison' });
    expect(check('user.country IS NULL OR user.country IS NOT NULL')).toMatchObject({ kind: 'or' });
  });
});

describe("a name that is not a dimension (issue 13: where: \"user.country = KR\")", () => {
  it('says it is not a dimension, that a text value needs quotes, and where it is', () => {
    let error: TallyError | undefined;
    try {
      compileRequest(project.graph, { metrics: ['orders'], where: 'user.country = KR' });
    } catch (e) {
      error = e as TallyError;
    }
    expect(error?.code).toBe('UNKNOWN_DIMENSION');
    expect(error?.message).toMatch(/at column 16: 'KR' is not a dimension, entity or metric/);
    expect(error?.message).toMatch(/put it in single quotes: 'KR'/);
  });

  it('suggests the nearest name for a misspelled reference, with its column', () => {
    let error: TallyError | undefined;
    try {
      compileRequest(project.graph, { metrics: ['orders'], where: "user.contry = 'KR'" });
    } catch (e) {
      error = e as TallyError;
    }
    expect(error?.code).toBe('UNKNOWN_DIMENSION');
    expect(error?.message).toMatch(/at column 1: unknown dimension 'contry'/);
    expect(error?.message).toMatch(/Did you mean 'user\.country'/);
  });
});

describe('converted filters answer as hand-written SQL does, on DuckDB and Postgres', () => {
  let dir: string;
  let duck: DuckDBEngine;
  let pg: PostgresEngine;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tally-typecheck-'));
    await seedDemoDatabase(join(dir, 'demo.duckdb'), { events: 2000 });
    duck = await DuckDBEngine.open({ path: join(dir, 'demo.duckdb'), readOnly: true });
    pg = await PostgresEngine.open({ connectionString: await createDatabase('typecheck') });
    await seedPostgres(pg, { events: 2000 });
  }, 120_000);
  afterAll(async () => {
    await Promise.all([duck?.close(), pg?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  // Each filter, and the same rows chosen by hand-written SQL (valid on both engines).
  const cases: [string, string][] = [
    ["user.country = 'KR'", "SELECT count(*) FROM orders o JOIN users u USING (user_id) WHERE u.country = 'KR'"],
    ['user = 8', 'SELECT count(*) FROM orders WHERE user_id = 8'],
    ["order <> 'abc'", 'SELECT count(*) FROM orders'],
    ["user.country IN ('KR', 'US') AND order.status <> 'paid'", "SELECT count(*) FROM orders o JOIN users u USING (user_id) WHERE u.country IN ('KR', 'US') AND o.status <> 'paid'"],
    // Division and modulo by zero are NULL, so the comparison is not true for user 8's orders.
    ['100 / (user - 8) <> 0', 'SELECT count(*) FROM orders WHERE user_id <> 8'],
    ['(user % (user - 8)) IS NULL', 'SELECT count(*) FROM orders WHERE user_id = 8'],
    // 64-bit integer overflow does not fail.
    ['user * 9223372036854775807 > 0', 'SELECT count(*) FROM orders WHERE user_id > 0'],
    ["CASE WHEN user = 8 THEN order ELSE 0 END = 0", 'SELECT count(*) FROM orders WHERE user_id <> 8'],
  ];

  for (const [name, engineOf] of [['DuckDB', () => duck], ['Postgres', () => pg]] as [string, () => Engine][]) {
    it(`on ${name}`, async () => {
      const engine = engineOf();
      for (const [where, sql] of cases) {
        const r = await runQuery(project, engine, { metrics: ['orders'], where });
        const got = Number(r.rows[0]?.orders ?? 0);
        const want = Number((await engine.query(sql)).rows[0][0]);
        expect(got, where).toBe(want);
      }
    });
  }
});
