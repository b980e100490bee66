/**
 * SQL for every dialect, without a warehouse: for a request of each metric type and each
 * aggregation, the compiled SQL is compared with a reviewed golden file in
 * test/golden/<dialect>/<case>.sql. BigQuery, Snowflake, Redshift and Trino goldens are parsed by
 * sqlglot (pinned, in a test-only virtualenv; test/helpers/sqlglot.ts) in that dialect with errors
 * raised; Postgres goldens by node-sql-parser. DuckDB and Postgres goldens are also run on the
 * fixture tables, and Trino goldens on a real Trino (test/trino.test.ts). Where a dialect cannot
 * express a feature exactly, compiling must fail with UNSUPPORTED naming the dialect, never emit SQL.
 *
 * Update the goldens after an intended change with: TALLY_UPDATE_GOLDEN=1 npx vitest run test/dialects.test.ts
 * and review the diff like any other code.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sqlParser from 'node-sql-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRequest, DIALECT_NAMES, dialectByName, type DialectName, type Project, projectFromSources, type RequestInput, TallyError } from '../src/index.js';
import type { Expression } from '../src/query/expression.js';
import type { DuckDBEngine, PostgresEngine } from '../src/index.js';
import { openFixtureDb } from './helpers/fixture-db.js';
import { openFixturePostgres } from './helpers/postgres-db.js';
import { type ParseResult, parseWithSqlglot } from './helpers/sqlglot.js';

const { Parser } = sqlParser;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GOLDEN = join(ROOT, 'test', 'golden');
const UPDATE = process.env.TALLY_UPDATE_GOLDEN === '1';

/** Aggregations the example shop does not use, on the same orders table. */
const EXTRA_DEFINITIONS = `
semantic_models:
  - name: order_stats
    description: Order amounts, for the aggregations the example metrics do not use.
    table: orders
    defaults:
      agg_time_dimension: placed_at
    entities:
      - { name: order_stat, type: primary, expr: order_id }
    dimensions:
      - { name: placed_at, type: time, granularity: day, expr: ordered_at }
    measures:
      - { name: median_amount, agg: median, expr: amount }
      - { name: p90_amount, agg: percentile, expr: amount, percentile: 0.9 }
      - { name: p50_amount_discrete, agg: percentile, expr: amount, percentile: 0.5, discrete: true }
      - { name: p90_amount_approximate, agg: percentile, expr: amount, percentile: 0.9, approximate: true }
      - { name: p90_order_number, agg: percentile, expr: order_id, percentile: 0.9 }
      - { name: mean_amount, agg: average, expr: amount }
      - { name: paid_flags, agg: sum_boolean, expr: "status = 'paid'" }
      - { name: smallest_amount, agg: min, expr: amount }
      - { name: largest_amount, agg: max, expr: amount }
      - { name: buyers, agg: count_distinct, expr: user_id }
metrics:
  - { name: median_order, type: simple, measure: median_amount }
  - { name: p90_order, type: simple, measure: p90_amount }
  - { name: p50_order_discrete, type: simple, measure: p50_amount_discrete }
  - { name: p90_order_approximate, type: simple, measure: p90_amount_approximate }
  - { name: p90_order_id, type: simple, measure: p90_order_number }
  - { name: mean_order, type: simple, measure: mean_amount }
  - { name: paid_count, type: simple, measure: paid_flags }
  - { name: smallest_order, type: simple, measure: smallest_amount }
  - { name: largest_order, type: simple, measure: largest_amount }
  - { name: buyer_count, type: simple, measure: buyers }
  - name: spread_index
    type: derived
    expr: "round(greatest(largest_order, mean_order) / NULLIF(buyer_count, 0), 2) + buyer_count % 7"
    metrics: [largest_order, mean_order, buyer_count]
`;

interface Case {
  name: string;
  request: RequestInput;
  filters?: Expression[];
  /** Dialects that must refuse this request (UNSUPPORTED), with what the message names. */
  unsupported?: Partial<Record<DialectName, string>>;
}

const ref = (text: string): Expression => ({ kind: 'ref', ref: text, position: 0 });

const CASES: Case[] = [
  {
    name: 'simple_filtered',
    request: {
      metrics: ['revenue'],
      groupBy: ['metric_time.month', 'user.country'],
      where: "user.country IN ('KR', 'US') AND user.plan ILIKE 'P%' AND user.country NOT LIKE 'X\\_%' AND order.status <> 'it''s'",
    },
  },
  { name: 'ratio', request: { metrics: ['average_order_value'], groupBy: ['metric_time.week'] } },
  { name: 'derived_offset', request: { metrics: ['revenue_growth_mom'], groupBy: ['metric_time.month'] } },
  { name: 'cumulative_window', request: { metrics: ['wau'], groupBy: ['metric_time.month'] } },
  { name: 'cumulative_grain_to_date', request: { metrics: ['revenue_mtd'], groupBy: ['metric_time.day'], from: '2024-12-10', to: '2025-01-31' } },
  { name: 'conversion', request: { metrics: ['signup_to_paid_order_7d'], groupBy: ['metric_time.month', 'user.country'] } },
  { name: 'time_zone', request: { metrics: ['dau', 'searches'], groupBy: ['metric_time.day'], timeZone: 'America/Los_Angeles' } },
  { name: 'fill_gaps_hour', request: { metrics: ['dau'], groupBy: ['metric_time.hour'], fillGaps: true, from: '2025-01-20', to: '2025-01-21' } },
  { name: 'fill_gaps_week', request: { metrics: ['revenue'], groupBy: ['metric_time.week', 'user.country'], fillGaps: true } },
  {
    name: 'fill_gaps_minute',
    request: { metrics: ['searches'], groupBy: ['metric_time.minute'], fillGaps: true, from: '2025-01-20 12:00', to: '2025-01-20 13:00' },
    unsupported: { redshift: 'time spine at minute grain' },
  },
  {
    name: 'multi_metric',
    request: { metrics: ['revenue', 'orders', 'new_users', 'items_sold'], groupBy: ['metric_time.quarter'], orderBy: ['-revenue'], limit: 10 },
  },
  {
    name: 'text_match',
    request: { metrics: ['orders'], groupBy: ['user.country'] },
    filters: [
      { kind: 'textMatch', arg: ref('user.country'), value: 'K', at: 'start' },
      { kind: 'textMatch', arg: ref('order.status'), value: "a'i", at: 'anywhere' },
      { kind: 'textMatch', arg: ref('user.plan'), value: 'o', at: 'end' },
    ],
  },
  { name: 'percentile_approximate', request: { metrics: ['p90_order_approximate'], groupBy: ['metric_time.month'] } },
  {
    name: 'date_parts',
    request: { metrics: ['orders'], groupBy: ['metric_time.extract_dow', 'metric_time.extract_week', 'metric_time.extract_doy', 'metric_time.extract_quarter'] },
  },
  { name: 'aggregations', request: { metrics: ['mean_order', 'paid_count', 'smallest_order', 'largest_order', 'buyer_count'], groupBy: ['metric_time.month'] } },
  { name: 'derived_functions', request: { metrics: ['spread_index'], groupBy: ['metric_time.year'] } },
  { name: 'median', request: { metrics: ['median_order'], groupBy: ['metric_time.month'] }, unsupported: { bigquery: 'exact median', trino: 'exact median' } },
  { name: 'percentile', request: { metrics: ['p90_order'], groupBy: ['metric_time.month'] }, unsupported: { bigquery: 'exact percentile', trino: 'exact percentile' } },
  {
    // Two sort-based aggregates over different columns: Redshift allows one WITHIN GROUP order per SELECT.
    name: 'sorted_aggregates',
    request: { metrics: ['median_order', 'p90_order_id'], groupBy: ['metric_time.month'] },
    unsupported: { bigquery: 'exact median', trino: 'exact median' },
  },
  {
    name: 'percentile_discrete',
    request: { metrics: ['p50_order_discrete'], groupBy: ['metric_time.month'] },
    unsupported: { bigquery: 'exact percentile', trino: 'exact percentile', redshift: 'discrete percentile' },
  },
];

/**
 * Valid SQL that node-sql-parser 5.4's grammars reject, each checked against the dialect's own
 * reference. Before parsing, the test rewrites only that construct, so the rest of the statement
 * is still checked; `sample` is a minimal valid statement with the construct, which the parser
 * must still reject (when it stops rejecting it, the workaround goes).
 */
interface ParserGap {
  dialect: DialectName;
  construct: string;
  sample: string;
  rewrite: (sql: string, check: (subquery: string) => void) => string;
}

const PARSER_GAPS: ParserGap[] = [
  {
    // A column alias list after a table function's alias is valid Postgres.
    dialect: 'postgres',
    construct: 'column alias lists (AS "t"("c"))',
    sample: 'SELECT s FROM generate_series(1, 3) AS "p"("s")',
    rewrite: (sql) => sql.replace(/ AS ("[A-Za-z0-9_]+")\("[A-Za-z0-9_]+"\)/g, ' AS $1'),
  },
  {
    dialect: 'postgres',
    construct: 'AT TIME ZONE',
    sample: "SELECT (x AT TIME ZONE 'UTC') AT TIME ZONE 'Asia/Seoul' FROM t",
    rewrite: (sql) => sql.replace(/ AT TIME ZONE /g, ' || '),
  },
];

/** Dialects node-sql-parser checks (Postgres also runs every golden file on a real server). */
const PARSER_DATABASE: Partial<Record<DialectName, string>> = {
  postgres: 'postgresql',
};

/** Dialects sqlglot parses, by sqlglot's name for them. */
const SQLGLOT_DIALECT: Partial<Record<DialectName, string>> = {
  bigquery: 'bigquery',
  snowflake: 'snowflake',
  redshift: 'redshift',
  trino: 'trino',
};

/** sqlglot's verdict on each golden file, parsed once for all dialects (one Python process). */
let sqlglotResults: Map<string, ParseResult> | undefined;
function sqlglotVerdict(file: string): ParseResult {
  if (!sqlglotResults) {
    const items = Object.entries(SQLGLOT_DIALECT).flatMap(([dialect, name]) =>
      CASES.filter((c) => !c.unsupported?.[dialect as DialectName]).map((c) => ({ dialect: name as string, file: join(GOLDEN, dialect, `${c.name}.sql`) })),
    );
    sqlglotResults = new Map(parseWithSqlglot(items.filter((i) => existsSync(i.file))).results.map((r) => [r.file, r]));
  }
  const verdict = sqlglotResults.get(file);
  if (!verdict) throw new Error(`sqlglot did not parse ${file}`);
  return verdict;
}

let project: Project;
let duck: DuckDBEngine;
let pg: PostgresEngine;

function sources(): { display: string; text: string }[] {
  const dir = join(ROOT, 'metrics');
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => ({ display: `metrics/${f}`, text: readFileSync(join(dir, f), 'utf8') }));
  return [...files, { display: 'test/extra-aggregations.yml', text: EXTRA_DEFINITIONS }];
}

/** The compiled SQL without the definitions' version hash, which changes with any edit of metrics/. */
function compile(c: Case, dialect: DialectName): string {
  const sql = compileRequest(project.graph, c.request, { dialect, filters: c.filters }).sql;
  return sql.replace(/^-- Tally [0-9a-f]+:/, '-- Tally <version>:');
}

beforeAll(async () => {
  project = projectFromSources(sources());
  [duck, pg] = await Promise.all([openFixtureDb(), openFixturePostgres('dialects')]);
});

afterAll(async () => {
  await Promise.all([duck?.close(), pg?.close()]);
});

describe.each(DIALECT_NAMES)('%s', (dialect) => {
  for (const c of CASES) {
    const refusal = c.unsupported?.[dialect];
    if (refusal) {
      it(`${c.name}: refused as UNSUPPORTED`, () => {
        let error: unknown;
        try {
          compile(c, dialect);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(TallyError);
        expect((error as TallyError).code).toBe('UNSUPPORTED');
        expect((error as TallyError).message).toContain(`the ${dialect} dialect`);
        expect((error as TallyError).message).toContain(refusal);
        expect(existsSync(join(GOLDEN, dialect, `${c.name}.sql`)), 'no golden file for a refused case').toBe(false);
      });
      continue;
    }

    it(`${c.name}: matches test/golden/${dialect}/${c.name}.sql`, () => {
      const sql = compile(c, dialect);
      const file = join(GOLDEN, dialect, `${c.name}.sql`);
      if (UPDATE) {
        mkdirSync(join(GOLDEN, dialect), { recursive: true });
        writeFileSync(file, sql);
      }
      expect(existsSync(file), `missing ${file}; run with TALLY_UPDATE_GOLDEN=1 and review it`).toBe(true);
      expect(sql).toBe(readFileSync(file, 'utf8'));
    });

    const database = PARSER_DATABASE[dialect];
    if (database) {
      it(`${c.name}: parses as ${database} (node-sql-parser)`, () => {
        const parse = (sql: string): void => void new Parser().astify(sql, { database });
        let sql = compile(c, dialect);
        for (const gap of PARSER_GAPS.filter((g) => g.dialect === dialect)) sql = gap.rewrite(sql, parse);
        expect(() => parse(sql)).not.toThrow();
      });
    }

    const sqlglotDialect = SQLGLOT_DIALECT[dialect];
    if (sqlglotDialect) {
      it(`${c.name}: parses as ${sqlglotDialect} (sqlglot, errors raised)`, () => {
        const verdict = sqlglotVerdict(join(GOLDEN, dialect, `${c.name}.sql`));
        expect(verdict.error).toBeNull();
        expect(verdict.statements).toBe(1);
      });
    }

    if (dialect === 'duckdb' || dialect === 'postgres') {
      it(`${c.name}: runs on ${dialect} over the fixture tables`, async () => {
        const engine = dialect === 'duckdb' ? duck : pg;
        const result = await engine.query(compile(c, dialect));
        expect(result.columns.length).toBeGreaterThan(0);
      });
    }
  }
});

describe('parser gaps are real', () => {
  it.each(PARSER_GAPS)('$dialect: node-sql-parser still rejects $construct', ({ dialect, sample, rewrite }) => {
    const database = PARSER_DATABASE[dialect] ?? dialect;
    expect(() => new Parser().astify(sample, { database })).toThrow();
    expect(() => new Parser().astify(rewrite(sample, () => undefined), { database })).not.toThrow();
  });
});

describe('sqlglot refuses what is not SQL of its dialect (the check can fail)', () => {
  const samples: { dialect: string; sql: string }[] = [
    { dialect: 'trino', sql: 'SELECT (1 + FROM t' },
    { dialect: 'trino', sql: 'SELECT a FROM t WHERE' },
    { dialect: 'bigquery', sql: 'SELECT a FROM (SELECT 1 AS a' },
    { dialect: 'bigquery', sql: 'WITH c AS SELECT 1 SELECT * FROM c' },
    { dialect: 'snowflake', sql: 'SELECT CAST(a AS) FROM t' },
    { dialect: 'snowflake', sql: 'SELECT a FROM t ORDER BY' },
    { dialect: 'redshift', sql: 'SELECT CASE WHEN a THEN 1 FROM t' },
    { dialect: 'redshift', sql: 'SELECT MEDIAN(a FROM t' },
  ];

  it.each(samples)('$dialect: $sql', ({ dialect, sql }) => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-sqlglot-'));
    try {
      const file = join(dir, 'bad.sql');
      writeFileSync(file, sql);
      const [verdict] = parseWithSqlglot([{ dialect, file }]).results;
      expect(verdict.error).toMatch(/Error/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Redshift', () => {
  it('puts sort-based aggregates over different columns in separate steps (one WITHIN GROUP order per SELECT)', () => {
    const sql = compile(CASES.find((c) => c.name === 'sorted_aggregates') as Case, 'redshift');
    const selects = sql.split(/\n(?=  "|SELECT)/).filter((part) => /MEDIAN\(|PERCENTILE_CONT\(/.test(part));
    expect(selects.length).toBe(2);
    for (const part of selects) expect(part.match(/MEDIAN\(|PERCENTILE_CONT\(/g)?.length).toBe(1);
  });

  it('computes an approximate continuous percentile exactly, never as APPROXIMATE PERCENTILE_DISC', () => {
    const sql = compile(CASES.find((c) => c.name === 'percentile_approximate') as Case, 'redshift');
    expect(sql).toContain('PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY');
    expect(sql).not.toContain('PERCENTILE_DISC');
  });
});

describe('dialect selection', () => {
  it('names the dialects', () => {
    expect([...DIALECT_NAMES].sort()).toEqual(['bigquery', 'duckdb', 'postgres', 'redshift', 'snowflake', 'trino']);
  });

  it('an unknown dialect is an error that lists the known ones', () => {
    expect(() => dialectByName('snowflak')).toThrow(/Did you mean 'snowflake'.*duckdb, postgres, bigquery, snowflake, trino, redshift/);
  });

  it('every dialect writes a total order: NULLs last in both directions, then the group-by keys', () => {
    const quarter: Record<DialectName, string> = {
      duckdb: '"metric_time.quarter"',
      postgres: '"metric_time.quarter"',
      snowflake: '"metric_time.quarter"',
      trino: '"metric_time.quarter"',
      redshift: '"metric_time.quarter"',
      bigquery: '`metric_time__quarter`',
    };
    const multi = CASES.find((c) => c.name === 'multi_metric');
    if (!multi) throw new Error('the multi_metric case is gone');
    for (const dialect of DIALECT_NAMES) {
      const revenue = dialect === 'bigquery' ? '`revenue`' : '"revenue"';
      expect(compile(multi, dialect), dialect).toContain(`\nORDER BY ${revenue} DESC NULLS LAST, ${quarter[dialect]} NULLS LAST\nLIMIT 10`);
    }
  });

  it('every golden file belongs to a case', () => {
    for (const dialect of DIALECT_NAMES) {
      const dir = join(GOLDEN, dialect);
      const files = existsSync(dir) ? readdirSync(dir) : [];
      const expected = CASES.filter((c) => !c.unsupported?.[dialect]).map((c) => `${c.name}.sql`);
      expect(files.sort(), dialect).toEqual(expected.sort());
    }
  });
});
