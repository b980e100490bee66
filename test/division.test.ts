/**
 * Division is NULL on a zero divisor in every expression and every dialect (issue 11, item 9):
 * a derived `100 * clicks / impressions` answered NULL on DuckDB and failed with "division by
 * zero" on Postgres. Checked against hand-written SQL on both engines, over the same rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine, type Engine, type PostgresEngine, projectFromSources, runQuery } from '../src/index.js';
import { DIALECTS } from '../src/sql/dialects/index.js';
import { compileRequest } from '../src/compile.js';
import { copyDuckDBSql, createDatabase } from './helpers/postgres-db.js';
import { PostgresEngine as Pg } from '../src/engines/postgres.js';

const TABLES = `
CREATE TABLE ad_days (ad_day_id BIGINT, day DATE, campaign VARCHAR, clicks BIGINT, impressions BIGINT);
INSERT INTO ad_days VALUES
  (1, DATE '2025-01-01', 'a', 3, 100),
  (2, DATE '2025-01-02', 'a', 0, 0),
  (3, DATE '2025-01-02', 'b', 5, 0),
  (4, DATE '2025-01-03', 'a', 2, 40),
  (5, DATE '2025-01-03', 'b', 7, 0);
`;

const project = projectFromSources([
  {
    display: 'models.yml',
    text: `semantic_models:
  - name: ad_days
    table: ad_days
    defaults:
      agg_time_dimension: day
    entities:
      - { name: ad_day, type: primary, expr: ad_day_id }
    dimensions:
      - { name: day, type: time, granularity: day }
      - { name: campaign, type: categorical }
    measures:
      - { name: clicks, agg: sum }
      - { name: impressions, agg: sum }
`,
  },
  {
    display: 'metrics.yml',
    text: `metrics:
  - { name: clicks, type: simple, measure: clicks }
  - { name: impressions, type: simple, measure: impressions }
  - name: click_rate_pct
    type: derived
    expr: 100 * clicks / impressions
    metrics: [{ name: clicks }, { name: impressions }]
  - name: clicks_mod_impressions
    type: derived
    expr: clicks % impressions
    metrics: [{ name: clicks }, { name: impressions }]
`,
  },
]);

/** By hand: NULL where the day's impressions are 0. */
const EXPECTED_SQL = `
SELECT day, campaign,
  CASE WHEN SUM(impressions) = 0 THEN NULL ELSE 100.0 * SUM(clicks) / SUM(impressions) END AS click_rate_pct,
  CASE WHEN SUM(impressions) = 0 THEN NULL ELSE SUM(clicks) % SUM(impressions) END AS clicks_mod_impressions
FROM ad_days GROUP BY day, campaign ORDER BY day, campaign`;

let duck: DuckDBEngine;
let pg: PostgresEngine;

beforeAll(async () => {
  duck = await DuckDBEngine.open({ path: ':memory:' });
  await duck.query(TABLES);
  pg = await Pg.open({ connectionString: await createDatabase('division') });
  await copyDuckDBSql(pg, TABLES);
});

afterAll(async () => {
  await Promise.all([duck?.close(), pg?.close()]);
});

async function answer(engine: Engine): Promise<unknown[][]> {
  const r = await runQuery(project, engine, {
    metrics: ['click_rate_pct', 'clicks_mod_impressions'],
    groupBy: ['metric_time.day', 'ad_day.campaign'],
    orderBy: ['metric_time.day', 'ad_day.campaign'],
  });
  return r.rows.map((row) => [row.click_rate_pct === null ? null : Number(row.click_rate_pct), row.clicks_mod_impressions === null ? null : Number(row.clicks_mod_impressions)]);
}

async function expected(engine: Engine): Promise<unknown[][]> {
  const r = await engine.query(EXPECTED_SQL);
  return r.rows.map((row) => [row[2] === null ? null : Number(row[2]), row[3] === null ? null : Number(row[3])]);
}

describe('division by zero is NULL', () => {
  it('on DuckDB, as hand-written SQL says', async () => {
    const want = await expected(duck);
    expect(want).toEqual([[3, 3], [null, null], [null, null], [5, 2], [null, null]]);
    expect(await answer(duck)).toEqual(want);
  });

  it('on Postgres too (it failed with "division by zero")', async () => {
    const want = await expected(pg);
    expect(want).toEqual([[3, 3], [null, null], [null, null], [5, 2], [null, null]]);
    expect(await answer(pg)).toEqual(want);
  });

  it('every dialect guards the divisor', () => {
    for (const dialect of Object.keys(DIALECTS)) {
      const { sql } = compileRequest(project.graph, { metrics: ['click_rate_pct', 'clicks_mod_impressions'] }, { dialect: dialect as keyof typeof DIALECTS });
      // The divisor is the metric's column, or COALESCE(column, 0) where an empty sum is 0.
      expect(sql, dialect).toMatch(/\/ NULLIF\((COALESCE\()?["`]?impressions/);
      expect(sql, dialect).toMatch(/(% |MOD\([\s\S]*?, )NULLIF\((COALESCE\()?["`]?impressions/);
    }
  });
});
