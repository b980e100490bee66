/**
 * The examples of issue 11 (periods and windows, calendar offsets, empty values, declared grains),
 * each over tiny tables (fixtures/periods/tables.sql) with the metrics of fixtures/periods/metrics,
 * on DuckDB and on Postgres. Every expectation is hand-written SQL run on the same engine (written
 * so that it runs unchanged on both), and the values the issue names are also asserted literally.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TallyServer } from '../src/api/server.js';
import { DefinitionError } from '../src/errors.js';
import { importDbtSources, projectFromImport } from '../src/importers/dbt/index.js';
import { DuckDBEngine, type Engine, loadProject, PostgresEngine, type Project, projectFromSources, type QueryResult, type RequestInput, runQuery } from '../src/index.js';
import { type CompareOptions, expectSameRows, type Row, sqlRows } from './helpers/fixture-db.js';
import { copyDuckDBSql, createDatabase } from './helpers/postgres-db.js';

const DIR = fileURLToPath(new URL('../fixtures/periods', import.meta.url));
const TABLES = readFileSync(new URL('../fixtures/periods/tables.sql', import.meta.url), 'utf8');
let project: Project;
let duck: DuckDBEngine;
let pg: PostgresEngine;

beforeAll(async () => {
  project = loadProject(DIR);
  duck = await DuckDBEngine.open({ path: ':memory:' });
  await duck.query(TABLES);
  pg = await PostgresEngine.open({ connectionString: await createDatabase('periods') });
  await copyDuckDBSql(pg, TABLES);
});

afterAll(async () => {
  await Promise.all([duck?.close(), pg?.close()]);
});

/** Tally equals the hand-written SQL on DuckDB and on Postgres; returns the DuckDB answer. */
async function check(request: RequestInput, expectedSql: string, options: CompareOptions = {}): Promise<QueryResult> {
  let answer: QueryResult | undefined;
  for (const engine of [duck, pg] as Engine[]) {
    const expected = await sqlRows(engine, expectedSql);
    expect(expected.length, 'the hand-written SQL returns rows (a vacuous test proves nothing)').toBeGreaterThan(0);
    const result = await runQuery(project, engine, request);
    expectSameRows(result.rows, expected, options);
    answer ??= result;
  }
  if (!answer) throw new Error('no engine ran');
  return answer;
}

/** One value of an answer, by its time key. */
function at(result: QueryResult, key: string, column: string, time: string): unknown {
  const row = result.rows.find((r) => r[key] === time);
  return row ? Number(row[column]) : undefined;
}

/** Days from `from` to `to` (inclusive), as column d. */
const days = (from: string, to: string): string =>
  `SELECT CAST(g AS DATE) AS d FROM generate_series(TIMESTAMP '${from}', TIMESTAMP '${to}', INTERVAL '1 day') AS s(g)`;

describe('1. the answer’s periods are the requested ones', () => {
  it('a 7-day window still holds the orders on the days after the last one (and refunds show)', async () => {
    const result = await check(
      { metrics: ['sales_7d', 'refunds'], groupBy: ['metric_time.day'], from: '2025-03-01', to: '2025-03-10' },
      `WITH days AS (${days('2025-03-01', '2025-03-10')}),
            w AS (SELECT days.d, SUM(o.amount) AS sales_7d FROM days LEFT JOIN sales_orders AS o
                  ON CAST(o.ordered_at AS DATE) > days.d - 7 AND CAST(o.ordered_at AS DATE) <= days.d GROUP BY days.d),
            r AS (SELECT CAST(refunded_at AS DATE) AS d, SUM(amount) AS refunds FROM refunds GROUP BY 1)
       SELECT w.d AS "metric_time.day", COALESCE(w.sales_7d, 0) AS sales_7d, COALESCE(r.refunds, 0) AS refunds
       FROM w LEFT JOIN r ON w.d = r.d`,
    );
    expect(at(result, 'metric_time.day', 'sales_7d', '2025-03-06')).toBe(3072);
    expect(at(result, 'metric_time.day', 'sales_7d', '2025-03-09')).toBe(2048);
    // Mar 1 is asked for and its window holds no order: 0, not a missing day.
    expect(at(result, 'metric_time.day', 'sales_7d', '2025-03-01')).toBe(0);
  });

  it('an all-time total keeps its value after the last order', async () => {
    const result = await check(
      { metrics: ['sales_all_time'], groupBy: ['metric_time.day'], from: '2025-03-01', to: '2025-03-10' },
      `SELECT days.d AS "metric_time.day", COALESCE(SUM(o.amount), 0) AS sales_all_time
       FROM (${days('2025-03-01', '2025-03-10')}) AS days LEFT JOIN sales_orders AS o ON CAST(o.ordered_at AS DATE) <= days.d GROUP BY days.d`,
    );
    expect(at(result, 'metric_time.day', 'sales_all_time', '2025-03-10')).toBe(3072);
  });

  it('a 3-day sign-up window asked for the two days after the last sign-up', async () => {
    const result = await check(
      { metrics: ['signups_3d'], groupBy: ['metric_time.day'], from: '2025-06-06', to: '2025-06-07' },
      `SELECT days.d AS "metric_time.day", COUNT(*) AS signups_3d
       FROM (${days('2025-06-06', '2025-06-07')}) AS days JOIN signups AS s
         ON CAST(s.signed_up_at AS DATE) > days.d - 3 AND CAST(s.signed_up_at AS DATE) <= days.d GROUP BY days.d`,
    );
    expect(result.rows.map((r) => Number(r.signups_3d))).toEqual([2, 2]);
  });

  it('without a range, a window runs on until it no longer holds the last sign-up (Jun 4, between, is 0)', async () => {
    await check(
      { metrics: ['signups_3d'], groupBy: ['metric_time.day'] },
      `SELECT days.d AS "metric_time.day", COUNT(s.user_id) AS signups_3d
       FROM (${days('2025-06-01', '2025-06-07')}) AS days LEFT JOIN signups AS s
         ON CAST(s.signed_up_at AS DATE) > days.d - 3 AND CAST(s.signed_up_at AS DATE) <= days.d GROUP BY days.d`,
    );
  });

  it('join_to_timespine with fill_nulls_with: 0 has every day of the range', async () => {
    const result = await check(
      { metrics: ['visits_filled'], groupBy: ['metric_time.day'], from: '2025-06-01', to: '2025-06-12' },
      `SELECT days.d AS "metric_time.day", COUNT(v.visit_id) AS visits_filled
       FROM (${days('2025-06-01', '2025-06-12')}) AS days LEFT JOIN visits AS v ON CAST(v.visited_at AS DATE) = days.d GROUP BY days.d`,
    );
    expect(result.rows).toHaveLength(12);
  });

  // Taps on Jun 1 (5, member 1), Jun 2 (7, member 2) and Jun 9 (11, member 1): the 3-day windows
  // ending Jun 5 to Jun 8 hold nothing. Those days are periods of the answer, read as 0.
  /** Days with the 3-day window of taps ending on each, LEFT JOINed so an empty window is a row. */
  const taps3d = (from: string, to: string): string =>
    `SELECT days.d AS "metric_time.day", COALESCE(SUM(t.amount), 0) AS taps_3d, COUNT(DISTINCT t.user_id) AS tappers_3d
     FROM (${days(from, to)}) AS days LEFT JOIN taps AS t
       ON CAST(t.tapped_at AS DATE) > days.d - 3 AND CAST(t.tapped_at AS DATE) <= days.d GROUP BY days.d`;

  it('by day, the days whose 3-day window is empty are in the answer as 0 (a sum, and a distinct count through the sweep)', async () => {
    const result = await check({ metrics: ['taps_3d', 'tappers_3d'], groupBy: ['metric_time.day'], from: '2025-06-03', to: '2025-06-10' }, taps3d('2025-06-03', '2025-06-10'));
    expect(result.rows.map((r) => [Number(r.taps_3d), Number(r.tappers_3d)])).toEqual([[12, 2], [7, 1], [0, 0], [0, 0], [0, 0], [0, 0], [11, 1], [11, 1]]);
  });

  it('by day without a range: from the first tap to the last day whose window holds one, the gap as 0', async () => {
    for (const metric of ['taps_3d', 'tappers_3d']) {
      const result = await check({ metrics: [metric], groupBy: ['metric_time.day'] }, `SELECT "metric_time.day", ${metric} FROM (${taps3d('2025-06-01', '2025-06-11')}) AS w`);
      expect(result.rows).toHaveLength(11);
      expect(at(result, 'metric_time.day', metric, '2025-06-06')).toBe(0);
    }
  });

  it('by day and member: a member shows on the days its window holds taps, as by week (no member-day for an empty window)', async () => {
    // The coarser-grain rule (a group is in a period when some window of the period holds its
    // rows) with the period a single day: a member is on a day when that day's window holds it.
    for (const metric of ['taps_3d', 'tappers_3d']) {
      const result = await check(
        { metrics: [metric], groupBy: ['metric_time.day', 'member'], from: '2025-06-01', to: '2025-06-12' },
        `SELECT days.d AS "metric_time.day", t.user_id AS member, ${metric === 'taps_3d' ? 'SUM(t.amount)' : 'COUNT(DISTINCT t.user_id)'} AS ${metric}
         FROM (${days('2025-06-01', '2025-06-12')}) AS days JOIN taps AS t
           ON CAST(t.tapped_at AS DATE) > days.d - 3 AND CAST(t.tapped_at AS DATE) <= days.d GROUP BY days.d, t.user_id`,
      );
      expect(result.rows).toHaveLength(9);
    }
  });

  it('by day and by month tell one story: the month of the gap, read on its last day, is the last day’s value', async () => {
    const byDay = await runQuery(project, duck, { metrics: ['taps_3d'], groupBy: ['metric_time.day'], from: '2025-06-01', to: '2025-06-08' });
    const byMonth = await runQuery(project, duck, { metrics: ['taps_3d'], groupBy: ['metric_time.month'], from: '2025-06-01', to: '2025-06-08' });
    expect(byDay.rows).toHaveLength(8);
    expect(Number(byMonth.rows[0].taps_3d)).toBe(Number(byDay.rows[7].taps_3d));
    expect(Number(byDay.rows[7].taps_3d)).toBe(0);
  });
});

describe('7. empty counts and sums are 0; averages stay null', () => {
  it("a store without orders has 0 orders: 'store.sales_orders = 0' finds it", async () => {
    const result = await check(
      { groupBy: ['store.name'], where: 'store.sales_orders = 0' },
      `SELECT s.name AS "store.name" FROM stores AS s WHERE (SELECT COUNT(*) FROM sales_orders AS o WHERE o.store_id = s.store_id) = 0`,
    );
    expect(result.rows).toEqual([{ 'store.name': 'south' }]);
  });

  it("'store.sales_orders < 2' includes the store without orders", async () => {
    await check(
      { groupBy: ['store.name'], where: 'store.sales_orders < 2' },
      `SELECT s.name AS "store.name" FROM stores AS s WHERE (SELECT COUNT(*) FROM sales_orders AS o WHERE o.store_id = s.store_id) < 2`,
    );
  });

  it('with filled gaps: counts and sums are 0 on days without rows, an average is null', async () => {
    await check(
      { metrics: ['sales_orders', 'sales', 'average_sale'], groupBy: ['metric_time.day'], from: '2025-03-01', to: '2025-03-05', fillGaps: true },
      `SELECT days.d AS "metric_time.day", COUNT(o.order_id) AS sales_orders, COALESCE(SUM(o.amount), 0) AS sales, CAST(AVG(o.amount) AS DOUBLE PRECISION) AS average_sale
       FROM (${days('2025-03-01', '2025-03-05')}) AS days LEFT JOIN sales_orders AS o ON CAST(o.ordered_at AS DATE) = days.d GROUP BY days.d`,
      { doubles: ['average_sale'] },
    );
  });
});

describe('8. fill_nulls_with through derived and conversion metrics', () => {
  it('a derived sum of filled inputs is their sum on gap days, not null', async () => {
    await check(
      { metrics: ['signups', 'visits', 'signups_and_visits'], groupBy: ['metric_time.day'], from: '2025-06-01', to: '2025-06-07', fillGaps: true },
      `WITH s AS (SELECT CAST(signed_up_at AS DATE) AS d, COUNT(*) AS n FROM signups GROUP BY 1),
            v AS (SELECT CAST(visited_at AS DATE) AS d, COUNT(*) AS n FROM visits GROUP BY 1)
       SELECT days.d AS "metric_time.day", COALESCE(s.n, 0) AS signups, COALESCE(v.n, 0) AS visits, COALESCE(s.n, 0) + COALESCE(v.n, 0) AS signups_and_visits
       FROM (${days('2025-06-01', '2025-06-07')}) AS days LEFT JOIN s ON s.d = days.d LEFT JOIN v ON v.d = days.d`,
    );
  });

  const conversions = `
    SELECT CAST(s.signed_up_at AS DATE) AS d, COUNT(DISTINCT v.user_id) AS n
    FROM signups AS s LEFT JOIN visits AS v
      ON v.user_id = s.user_id AND v.visited_at >= s.signed_up_at AND v.visited_at <= s.signed_up_at + INTERVAL '2 days'
    GROUP BY 1`;

  it('a conversion count whose input has fill_nulls_with: 0 is 0 on gap days', async () => {
    await check(
      { metrics: ['visit_conversions'], groupBy: ['metric_time.day'], from: '2025-06-01', to: '2025-06-07', fillGaps: true },
      `SELECT days.d AS "metric_time.day", COALESCE(c.n, 0) AS visit_conversions
       FROM (${days('2025-06-01', '2025-06-07')}) AS days LEFT JOIN (${conversions}) AS c ON c.d = days.d`,
    );
  });

  it('join_to_timespine on a conversion metric’s input gives every day asked', async () => {
    const result = await check(
      { metrics: ['visit_conversions_spined'], groupBy: ['metric_time.day'], from: '2025-06-01', to: '2025-06-05' },
      `SELECT days.d AS "metric_time.day", COALESCE(c.n, 0) AS visit_conversions_spined
       FROM (${days('2025-06-01', '2025-06-05')}) AS days LEFT JOIN (${conversions}) AS c ON c.d = days.d`,
    );
    expect(result.rows).toHaveLength(5);
  });
});

describe('2. calendar offsets map whole periods at a coarser grain', () => {
  it('revenue a month earlier by quarter: Q2 holds March, April and May (1016)', async () => {
    const result = await check(
      { metrics: ['month_end_revenue_last_month'], groupBy: ['metric_time.quarter'] },
      `SELECT CAST(date_trunc('quarter', date_trunc('month', ordered_at) + INTERVAL '1 month') AS DATE) AS "metric_time.quarter",
              SUM(amount) AS month_end_revenue_last_month
       FROM month_end_orders GROUP BY 1`,
    );
    expect(at(result, 'metric_time.quarter', 'month_end_revenue_last_month', '2025-04-01')).toBe(1016);
  });

  it('revenue a month earlier by month: the 31sts stay in their month', async () => {
    await check(
      { metrics: ['month_end_revenue_last_month'], groupBy: ['metric_time.month'] },
      `SELECT CAST(date_trunc('month', ordered_at) + INTERVAL '1 month' AS DATE) AS "metric_time.month", SUM(amount) AS month_end_revenue_last_month
       FROM month_end_orders GROUP BY 1`,
    );
  });
});

describe('3. offset_to_grain with a second, coarser time group-by', () => {
  const startOfWeek = (label: string, extra: string): string => `
    SELECT CAST(d.ordered_at AS DATE) AS "metric_time.day"${extra}, SUM(m.amount) AS revenue_start_of_week
    FROM daily_orders AS d JOIN daily_orders AS m
      ON CAST(m.ordered_at AS DATE) = CAST(d.ordered_at AS DATE) - CAST(EXTRACT(isodow FROM d.ordered_at) - 1 AS INTEGER)
    GROUP BY 1${label}`;

  it('by day: every day reads its Monday (21 rows)', async () => {
    const result = await check({ metrics: ['revenue_start_of_week'], groupBy: ['metric_time.day'] }, startOfWeek('', ''));
    expect(result.rows).toHaveLength(21);
  });

  it('by day and week: the same 21 rows with the week beside them', async () => {
    const result = await check(
      { metrics: ['revenue_start_of_week'], groupBy: ['metric_time.day', 'metric_time.week'] },
      startOfWeek(', 2', `, CAST(d.ordered_at AS DATE) - CAST(EXTRACT(isodow FROM d.ordered_at) - 1 AS INTEGER) AS "metric_time.week"`),
    );
    expect(result.rows).toHaveLength(21);
  });

  it('by day and month: the same 21 rows with the month beside them', async () => {
    const result = await check(
      { metrics: ['revenue_start_of_week'], groupBy: ['metric_time.day', 'metric_time.month'] },
      startOfWeek(', 2', `, CAST(date_trunc('month', d.ordered_at) AS DATE) AS "metric_time.month"`),
    );
    expect(result.rows).toHaveLength(21);
  });
});

describe('4. offsets of cumulative metrics', () => {
  it("the opening total by month is the previous month's closing total (February: 23)", async () => {
    const result = await check(
      { metrics: ['units_opening'], groupBy: ['metric_time.month'] },
      `SELECT CAST(g AS DATE) AS "metric_time.month", (SELECT SUM(units) FROM unit_sales WHERE sold_at < g) AS units_opening
       FROM generate_series(TIMESTAMP '2024-02-01', TIMESTAMP '2024-04-01', INTERVAL '1 month') AS s(g)`,
    );
    expect(at(result, 'metric_time.month', 'units_opening', '2024-02-01')).toBe(23);
  });

  it('the range applies to the offset periods, by month', async () => {
    await check(
      { metrics: ['units_opening'], groupBy: ['metric_time.month'], from: '2024-02-01', to: '2024-03-31' },
      `SELECT CAST(g AS DATE) AS "metric_time.month", (SELECT SUM(units) FROM unit_sales WHERE sold_at < g) AS units_opening
       FROM generate_series(TIMESTAMP '2024-02-01', TIMESTAMP '2024-03-01', INTERVAL '1 month') AS s(g)`,
    );
  });

  it('the range applies to the offset periods, by day: 5 rows, each the total a calendar month earlier', async () => {
    const result = await check(
      { metrics: ['units_opening'], groupBy: ['metric_time.day'], from: '2024-02-27', to: '2024-03-02' },
      `SELECT days.d AS "metric_time.day",
              (SELECT SUM(units) FROM unit_sales WHERE CAST(sold_at AS DATE) <= CAST(days.d - INTERVAL '1 month' AS DATE)) AS units_opening
       FROM (${days('2024-02-27', '2024-03-02')}) AS days`,
    );
    expect(result.rows).toHaveLength(5);
  });
});

describe("5. a cumulative metric at a coarser grain is its value on the period's last day", () => {
  /** ISO weeks (their Mondays) from `from` to `to`, as column w; a week's last day is w + 6. */
  const weeks = (from: string, to: string): string =>
    `SELECT CAST(g AS DATE) AS w FROM generate_series(TIMESTAMP '${from}', TIMESTAMP '${to}', INTERVAL '7 days') AS s(g)`;
  /** The 7-day window of sales ending on day `day`. */
  const in7d = (day: string): string => `CAST(o.ordered_at AS DATE) > ${day} - 7 AND CAST(o.ordered_at AS DATE) <= ${day}`;
  /** The 3-day window of visits ending on day `day`. */
  const in3d = (day: string): string => `CAST(v.visited_at AS DATE) > ${day} - 3 AND CAST(v.visited_at AS DATE) <= ${day}`;

  it('sales_7d by week: the last week reads its Sunday, whose window is empty (1024, 2048, 0)', async () => {
    const result = await check(
      { metrics: ['sales_7d'], groupBy: ['metric_time.week'], from: '2025-02-24', to: '2025-03-16' },
      `SELECT weeks.w AS "metric_time.week", COALESCE(SUM(o.amount), 0) AS sales_7d
       FROM (${weeks('2025-02-24', '2025-03-10')}) AS weeks LEFT JOIN sales_orders AS o ON ${in7d('weeks.w + 6')}
       GROUP BY weeks.w`,
    );
    expect(result.rows.map((r) => Number(r.sales_7d))).toEqual([1024, 2048, 0]);
  });

  it('visitors_3d by week (distinct members, through the sweep): 2, 0, 0', async () => {
    const result = await check(
      { metrics: ['visitors_3d'], groupBy: ['metric_time.week'], from: '2025-06-02', to: '2025-06-22' },
      `SELECT weeks.w AS "metric_time.week", COUNT(DISTINCT v.user_id) AS visitors_3d
       FROM (${weeks('2025-06-02', '2025-06-16')}) AS weeks LEFT JOIN visits AS v ON ${in3d('weeks.w + 6')}
       GROUP BY weeks.w`,
    );
    expect(result.rows.map((r) => Number(r.visitors_3d))).toEqual([2, 0, 0]);
  });

  it('without a range, the periods run to the last month’s end: June reads June 30 (0), not June 13', async () => {
    const result = await check(
      { metrics: ['visitors_3d'], groupBy: ['metric_time.month'] },
      `WITH months AS (SELECT DISTINCT CAST(date_trunc('month', visited_at) AS DATE) AS m FROM visits),
            ends AS (SELECT m, CAST(m + INTERVAL '1 month' - INTERVAL '1 day' AS DATE) AS final_day FROM months)
       SELECT ends.m AS "metric_time.month", COUNT(DISTINCT v.user_id) AS visitors_3d
       FROM ends LEFT JOIN visits AS v ON ${in3d('ends.final_day')} GROUP BY ends.m`,
    );
    expect(at(result, 'metric_time.month', 'visitors_3d', '2025-06-01')).toBe(0);
  });

  it('with a second key: a member with values earlier in the week but none on its last day reads 0', async () => {
    // A member is in a week when some window of the week holds a visit: one on w - 2 .. w + 6.
    const result = await check(
      { metrics: ['visitors_3d'], groupBy: ['metric_time.week', 'member'], from: '2025-06-02', to: '2025-06-22' },
      `WITH weeks AS (${weeks('2025-06-02', '2025-06-16')}),
            groups AS (SELECT DISTINCT weeks.w, v.user_id FROM weeks JOIN visits AS v
                       ON CAST(v.visited_at AS DATE) >= weeks.w - 2 AND CAST(v.visited_at AS DATE) <= weeks.w + 6)
       SELECT groups.w AS "metric_time.week", groups.user_id AS member, COUNT(DISTINCT v.user_id) AS visitors_3d
       FROM groups LEFT JOIN visits AS v ON v.user_id = groups.user_id AND ${in3d('groups.w + 6')}
       GROUP BY groups.w, groups.user_id`,
    );
    expect(result.rows.map((r) => [r['metric_time.week'], Number(r.member), Number(r.visitors_3d)])).toEqual([
      ['2025-06-02', 1, 1],
      ['2025-06-02', 2, 1],
      ['2025-06-02', 3, 0],
      ['2025-06-09', 1, 0],
    ]);
  });

  it('with a second key through the window join: sales_7d by week and store (north: 0 in the last week)', async () => {
    const result = await check(
      { metrics: ['sales_7d'], groupBy: ['metric_time.week', 'store.name'], from: '2025-02-24', to: '2025-03-16' },
      `WITH weeks AS (${weeks('2025-02-24', '2025-03-10')}),
            groups AS (SELECT DISTINCT weeks.w, o.store_id FROM weeks JOIN sales_orders AS o
                       ON CAST(o.ordered_at AS DATE) >= weeks.w - 6 AND CAST(o.ordered_at AS DATE) <= weeks.w + 6)
       SELECT groups.w AS "metric_time.week", s.name AS "store.name", COALESCE(SUM(o.amount), 0) AS sales_7d
       FROM groups JOIN stores AS s ON s.store_id = groups.store_id
       LEFT JOIN sales_orders AS o ON o.store_id = groups.store_id AND ${in7d('groups.w + 6')}
       GROUP BY groups.w, s.name`,
    );
    expect(at(result, 'metric_time.week', 'sales_7d', '2025-03-10')).toBe(0);
  });

  it("period_agg: first reads the period's first day (Monday Feb 24's window is empty: 0)", async () => {
    const result = await check(
      { metrics: ['sales_7d_opening'], groupBy: ['metric_time.week'], from: '2025-02-24', to: '2025-03-16' },
      `SELECT weeks.w AS "metric_time.week", COALESCE(SUM(o.amount), 0) AS sales_7d_opening
       FROM (${weeks('2025-02-24', '2025-03-10')}) AS weeks LEFT JOIN sales_orders AS o ON ${in7d('weeks.w')}
       GROUP BY weeks.w`,
    );
    expect(result.rows.map((r) => Number(r.sales_7d_opening))).toEqual([0, 1024, 2048]);
  });

  it('on a time spine with a fiscal calendar: a fiscal month reads its own last and first day, its average every day', async () => {
    // Orders on Mar 2 and 4 fall in the fiscal month of Feb 21 to Mar 20: both of its ends have empty windows.
    const spined = projectFromSources([
      { display: 'models.yml', text: readFileSync(`${DIR}/metrics/models.yml`, 'utf8') },
      { display: 'metrics.yml', text: readFileSync(`${DIR}/metrics/metrics.yml`, 'utf8') },
      { display: 'spine.yml', text: 'time_spines:\n  - { table: fiscal_days, column: d, grain: day, custom_granularities: [{ name: fiscal_month }] }\n' },
    ]);
    for (const engine of [duck, pg] as Engine[]) {
      const answer = await runQuery(spined, engine, { metrics: ['sales_7d', 'sales_7d_opening', 'sales_7d_average'], groupBy: ['metric_time.fiscal_month'] });
      const expected = await sqlRows(
        engine,
        `WITH span AS (SELECT MIN(CAST(ordered_at AS DATE)) AS lo, MAX(CAST(ordered_at AS DATE)) + 6 AS hi FROM sales_orders),
              periods AS (SELECT fiscal_month AS p, MIN(d) AS first_day, MAX(d) AS final_day FROM fiscal_days GROUP BY fiscal_month),
              shown AS (SELECT * FROM periods WHERE p IN (SELECT f.fiscal_month FROM fiscal_days AS f, span WHERE f.d BETWEEN span.lo AND span.hi)),
              daily AS (SELECT f.d, f.fiscal_month AS p, COALESCE(SUM(o.amount), 0) AS v FROM fiscal_days AS f
                        LEFT JOIN sales_orders AS o ON ${in7d('f.d')} GROUP BY f.d, f.fiscal_month)
         SELECT shown.p AS "metric_time.fiscal_month",
                (SELECT v FROM daily WHERE daily.d = shown.final_day) AS sales_7d,
                (SELECT v FROM daily WHERE daily.d = shown.first_day) AS sales_7d_opening,
                (SELECT CAST(AVG(v) AS DOUBLE PRECISION) FROM daily WHERE daily.p = shown.p) AS sales_7d_average
         FROM shown`,
      );
      expectSameRows(answer.rows, expected, { doubles: ['sales_7d_average'] });
      expect(answer.rows.map((r) => [r['metric_time.fiscal_month'], Number(r.sales_7d), Number(r.sales_7d_opening), Number(r.sales_7d_average)])).toEqual([['2025-02-21', 0, 0, 768]]);
    }
  });

  const dailySales = (from: string, to: string): string => `
    SELECT days.d, days.d - CAST(EXTRACT(isodow FROM days.d) - 1 AS INTEGER) AS w, COALESCE(SUM(o.amount), 0) AS v
    FROM (${days(from, to)}) AS days LEFT JOIN sales_orders AS o ON ${in7d('days.d')} GROUP BY days.d`;

  it('period_agg: average is over every day of the period, an empty window counting 0 (week 1: 1024 / 7)', async () => {
    const result = await check(
      { metrics: ['sales_7d_average'], groupBy: ['metric_time.week'], from: '2025-02-24', to: '2025-03-16' },
      `SELECT w AS "metric_time.week", CAST(AVG(v) AS DOUBLE PRECISION) AS sales_7d_average FROM (${dailySales('2025-02-24', '2025-03-16')}) AS daily GROUP BY w`,
      { doubles: ['sales_7d_average'] },
    );
    expect(at(result, 'metric_time.week', 'sales_7d_average', '2025-02-24')).toBeCloseTo(1024 / 7, 9);
  });

  it('period_agg: average with a second key, over every day of the period', async () => {
    // North has orders; the days of its weeks without a sale in the window count 0.
    await check(
      { metrics: ['sales_7d_average'], groupBy: ['metric_time.week', 'store.name'], from: '2025-02-24', to: '2025-03-16' },
      `SELECT w AS "metric_time.week", 'north' AS "store.name", CAST(AVG(v) AS DOUBLE PRECISION) AS sales_7d_average
       FROM (${dailySales('2025-02-24', '2025-03-16')}) AS daily GROUP BY w`,
      { doubles: ['sales_7d_average'] },
    );
  });
});

describe('6. an inclusive date is the whole day at every grain', () => {
  const readings = (grain: 'hour' | 'minute', local: string): string => `
    SELECT date_trunc('${grain}', ${local}) AS "metric_time.${grain}", COUNT(*) AS readings
    FROM readings WHERE ${local} >= TIMESTAMP '2026-03-29 00:00:00' AND ${local} < TIMESTAMP '2026-03-30 00:00:00' GROUP BY 1`;

  it('by hour: 24 hours', async () => {
    const result = await check({ metrics: ['readings'], groupBy: ['metric_time.hour'], from: '2026-03-29', to: '2026-03-29' }, readings('hour', 'read_at'));
    expect(result.rows).toHaveLength(24);
  });

  it('through GraphQL alike: 24 hours', async () => {
    const server = new TallyServer({ projectDir: DIR, engine: duck, log: () => {} });
    try {
      const url = await server.listen(0, '127.0.0.1');
      const query = '{ metrics(from: "2026-03-29", to: "2026-03-29") { rows { metricTime(grain: HOUR) readings } } }';
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
      const body = (await response.json()) as { data?: { metrics: { rows: { metricTime: string; readings: unknown }[] } }; errors?: unknown };
      expect(body.errors).toBeUndefined();
      const expected = await sqlRows(duck, readings('hour', 'read_at'));
      expect(body.data?.metrics.rows.map((r) => [r.metricTime, Number(r.readings)])).toEqual(
        expected.map((r) => [r['metric_time.hour'], Number(r.readings)]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      );
      expect(body.data?.metrics.rows).toHaveLength(24);
    } finally {
      await server.close();
    }
  });

  it('by minute: every reading of the day', async () => {
    const result = await check({ metrics: ['readings'], groupBy: ['metric_time.minute'], to: '2026-03-29', from: '2026-03-29' }, readings('minute', 'read_at'));
    expect(result.rows).toHaveLength(96);
  });

  it("by hour in the request's time zone", async () => {
    const result = await check(
      { metrics: ['readings'], groupBy: ['metric_time.hour'], from: '2026-03-29', to: '2026-03-29', timeZone: 'Asia/Seoul' },
      readings('hour', `(read_at + INTERVAL '9 hours')`),
    );
    expect(result.rows).toHaveLength(24);
  });
});

describe('11. a time dimension is read at its declared grain', () => {
  it("a daily snapshot's closing balance takes every row of the last day, whatever its hour (335)", async () => {
    const result = await check(
      { metrics: ['closing_balance'], groupBy: ['metric_time.month'] },
      `SELECT CAST(date_trunc('month', b.snapshot_at) AS DATE) AS "metric_time.month", SUM(b.balance) AS closing_balance
       FROM balances AS b
       WHERE CAST(b.snapshot_at AS DATE) = (SELECT MAX(CAST(l.snapshot_at AS DATE)) FROM balances AS l WHERE date_trunc('month', l.snapshot_at) = date_trunc('month', b.snapshot_at))
       GROUP BY 1`,
    );
    expect(at(result, 'metric_time.month', 'closing_balance', '2025-01-01')).toBe(335);
  });
});

describe("semantics: metricflow keeps MetricFlow's meaning (what the dbt importer writes)", () => {
  const sources = (extra: string[]): { display: string; text: string }[] => [
    { display: 'models.yml', text: readFileSync(`${DIR}/metrics/models.yml`, 'utf8') },
    { display: 'metrics.yml', text: readFileSync(`${DIR}/metrics/metrics.yml`, 'utf8') },
    ...extra.map((text, i) => ({ display: `semantics_${i}.yml`, text })),
  ];

  it('empty counts and sums are null there: a filled gap is null, and no store has 0 orders', async () => {
    const metricflow = projectFromSources(sources(['semantics: metricflow\n']));
    expect(metricflow.graph.semantics).toBe('metricflow');
    for (const engine of [duck, pg] as Engine[]) {
      const gaps = await runQuery(metricflow, engine, { metrics: ['sales_orders'], groupBy: ['metric_time.day'], from: '2025-03-01', to: '2025-03-03', fillGaps: true });
      const expected = await sqlRows(engine, `SELECT days.d AS "metric_time.day", (SELECT COUNT(*) FROM sales_orders AS o WHERE CAST(o.ordered_at AS DATE) = days.d HAVING COUNT(*) > 0) AS sales_orders FROM (${days('2025-03-01', '2025-03-03')}) AS days`);
      expectSameRows(gaps.rows, expected);
      const none = await runQuery(metricflow, engine, { groupBy: ['store.name'], where: 'store.sales_orders = 0' });
      expect(none.rows).toEqual([]);
    }
  });

  it("a cumulative metric at a coarser grain reads the period's last day with a value there (MetricFlow's rule)", async () => {
    const metricflow = projectFromSources(sources(['semantics: metricflow\n']));
    for (const engine of [duck, pg] as Engine[]) {
      const answer = await runQuery(metricflow, engine, { metrics: ['sales_7d'], groupBy: ['metric_time.week'], from: '2025-02-24', to: '2025-03-16' });
      const expected = await sqlRows(
        engine,
        `WITH daily AS (SELECT days.d, SUM(o.amount) AS v FROM (${days('2025-02-24', '2025-03-16')}) AS days JOIN sales_orders AS o
                        ON CAST(o.ordered_at AS DATE) > days.d - 7 AND CAST(o.ordered_at AS DATE) <= days.d GROUP BY days.d),
              ends AS (SELECT d - CAST(EXTRACT(isodow FROM d) - 1 AS INTEGER) AS w, MAX(d) AS d FROM daily GROUP BY 1)
         SELECT ends.w AS "metric_time.week", daily.v AS sales_7d FROM ends JOIN daily ON daily.d = ends.d`,
      );
      expectSameRows(answer.rows, expected);
      expect(answer.rows.map((r) => Number(r.sales_7d))).toEqual([1024, 2048, 2048]);
    }
  });

  it('files that disagree on semantics are refused at file:line:col', () => {
    let error: unknown;
    try {
      projectFromSources(sources(['semantics: metricflow\n', 'semantics: tally\n']));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DefinitionError);
    expect(String((error as Error).message)).toMatch(/semantics_1\.yml:1:\d+: semantics is 'tally' here but 'metricflow' in semantics_0\.yml/);
  });

  it("the dbt importer writes 'semantics: metricflow' and dbt's default period_agg", () => {
    const imported = importDbtSources([
      {
        display: 'dbt/orders.yml',
        relativePath: 'orders.yml',
        text: `semantic_models:
  - name: orders
    model: ref('orders')
    defaults: { agg_time_dimension: ordered_at }
    entities: [{ name: order, type: primary, expr: order_id }]
    dimensions: [{ name: ordered_at, type: time, type_params: { time_granularity: day } }]
    measures: [{ name: order_total, agg: sum, expr: amount }]
metrics:
  - name: order_total_mtd
    type: cumulative
    type_params: { measure: order_total, cumulative_type_params: { grain_to_date: month } }
`,
      },
    ]);
    expect(imported.failed).toBe(false);
    const text = imported.files.map((f) => f.text).join('\n');
    expect(text).toMatch(/^semantics: metricflow$/m);
    expect(text).toMatch(/period_agg: first/);
    expect(projectFromImport(imported).graph.metrics.get('order_total_mtd')?.def).toMatchObject({ period_agg: 'first' });
  });
});
