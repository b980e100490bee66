/**
 * The order of an answer is total and the same on every engine (issue 11, item 10): the requested
 * order with NULLs last in both directions, then the group-by keys (ascending, NULLs last) as
 * tie-break. Top-N over ties therefore picks the same rows on every run and on every engine, and
 * `-o -return_rate -l 2` never returns the products that have no rate.
 *
 * The data: eight products, inserted in an order unrelated to their ids; four tie on units, two
 * sold zero units (so their return rate is NULL), one has no category. The truth is hand-written
 * SQL with an explicit total order, run on the same engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine, type Engine, PostgresEngine, type Project, projectFromSources, type RequestInput, runQuery } from '../src/index.js';
import { expectSameRows, type Row, sqlRows } from './helpers/fixture-db.js';
import { copyDuckDBSql, createDatabase } from './helpers/postgres-db.js';

const DATA = `
CREATE TABLE products (product_id VARCHAR, category VARCHAR);
INSERT INTO products VALUES
  ('p7', 'toys'), ('p3', 'books'), ('p5', NULL), ('p1', 'books'),
  ('p8', 'toys'), ('p2', 'garden'), ('p6', 'garden'), ('p4', 'toys');
CREATE TABLE sales (sale_id INTEGER, product_id VARCHAR, sold_at TIMESTAMP, units INTEGER, returned INTEGER);
INSERT INTO sales VALUES
  (1, 'p6', TIMESTAMP '2025-01-03 10:00:00', 10, 1),
  (2, 'p2', TIMESTAMP '2025-01-03 11:00:00', 10, 3),
  (3, 'p8', TIMESTAMP '2025-01-04 09:00:00', 10, 0),
  (4, 'p4', TIMESTAMP '2025-01-04 12:00:00', 10, 2),
  (5, 'p1', TIMESTAMP '2025-01-05 08:00:00', 4, 1),
  (6, 'p7', TIMESTAMP '2025-01-05 09:00:00', 0, 2),
  (7, 'p3', TIMESTAMP '2025-01-06 10:00:00', 0, 1),
  (8, 'p5', TIMESTAMP '2025-01-06 11:00:00', 12, 1);
`;

const DEFINITIONS = `
semantic_models:
  - name: products
    description: Products and their category.
    table: products
    entities:
      - { name: product, type: primary, expr: product_id }
    dimensions:
      - { name: category, type: categorical }
  - name: sales
    description: One row per sale.
    table: sales
    defaults:
      agg_time_dimension: sold_at
    entities:
      - { name: sale, type: primary, expr: sale_id }
      - { name: product, type: foreign, expr: product_id }
    dimensions:
      - { name: sold_at, type: time, granularity: day }
    measures:
      - { name: units_sold, agg: sum, expr: units }
      - { name: units_returned, agg: sum, expr: returned }
metrics:
  - { name: units, type: simple, measure: units_sold }
  - { name: returns, type: simple, measure: units_returned }
  - { name: return_rate, type: ratio, numerator: returns, denominator: units }
`;

let project: Project;
let duck: DuckDBEngine;
let pg: PostgresEngine;

beforeAll(async () => {
  project = projectFromSources([{ display: 'metrics/order.yml', text: DEFINITIONS }]);
  duck = await DuckDBEngine.open({ path: ':memory:' });
  await duck.query(DATA);
  pg = await PostgresEngine.open({ connectionString: await createDatabase('order') });
  await copyDuckDBSql(pg, DATA);
});

afterAll(async () => {
  await Promise.all([duck?.close(), pg?.close()]);
});

const ENGINES = [
  ['duckdb', () => duck],
  ['postgres', () => pg],
] as const;

/** Per product: units, returns and the rate (NULL where no unit was sold), by hand. */
const PER_PRODUCT = `
  SELECT product_id AS product, SUM(units) AS units, SUM(returned) AS returns,
         CAST(SUM(returned) AS DOUBLE PRECISION) / NULLIF(SUM(units), 0) AS return_rate
  FROM sales GROUP BY product_id`;

describe.each(ENGINES)('%s', (_name, engine) => {
  async function check(request: RequestInput, expectedSql: string): Promise<Row[]> {
    const expected = await sqlRows(engine(), expectedSql);
    expect(expected.length, 'the hand-written SQL returns rows').toBeGreaterThan(0);
    const result = await runQuery(project, engine(), request);
    expectSameRows(result.rows, expected, { ordered: true, doubles: ['return_rate'] });
    return result.rows;
  }

  it('top-N over ties: the same list on every run, tie broken by the group-by key', async () => {
    const request: RequestInput = { metrics: ['units'], groupBy: ['product'], orderBy: ['-units'], limit: 3 };
    const expected = `SELECT product, units FROM (${PER_PRODUCT}) AS t ORDER BY units DESC, product LIMIT 3`;
    const first = await check(request, expected);
    expect(first.map((r) => r.product)).toEqual(['p5', 'p2', 'p4']);
    for (let run = 0; run < 15; run++) {
      const again = await runQuery(project, engine(), request);
      expect(again.rows).toEqual(first);
    }
  });

  it('-o -return_rate -l 2: NULL rates sort last, also descending', async () => {
    await check(
      { metrics: ['return_rate'], groupBy: ['product'], orderBy: ['-return_rate'], limit: 2 },
      `SELECT product, return_rate FROM (${PER_PRODUCT}) AS t WHERE return_rate IS NOT NULL ORDER BY return_rate DESC LIMIT 2`,
    );
  });

  it('ascending by a metric: NULLs after every value, ties by key', async () => {
    const all = await check(
      { metrics: ['return_rate'], groupBy: ['product'], orderBy: ['return_rate'] },
      `SELECT product, return_rate FROM (${PER_PRODUCT}) AS t
       ORDER BY CASE WHEN return_rate IS NULL THEN 1 ELSE 0 END, return_rate, product`,
    );
    expect(all.slice(-2).map((r) => r.product)).toEqual(['p3', 'p7']);
  });

  it('descending by a group-by key: the NULL category last, then the other keys ascending', async () => {
    await check(
      { metrics: ['units'], groupBy: ['product.category', 'product'], orderBy: ['-product.category'] },
      `SELECT p.category AS "product.category", s.product_id AS product, SUM(s.units) AS units
       FROM sales AS s JOIN products AS p ON p.product_id = s.product_id
       GROUP BY p.category, s.product_id
       ORDER BY CASE WHEN p.category IS NULL THEN 1 ELSE 0 END, p.category DESC, s.product_id`,
    );
  });

  it('group-by values: ordered by the values, NULL last', async () => {
    await check(
      { metrics: [], groupBy: ['product.category'], orderBy: ['-product.category'] },
      `SELECT category AS "product.category" FROM (SELECT DISTINCT category FROM products) AS v
       ORDER BY CASE WHEN category IS NULL THEN 1 ELSE 0 END, category DESC`,
    );
  });
});
