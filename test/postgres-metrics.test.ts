/**
 * Every example metric on Postgres, over the fixture tables (fixtures/shop.sql, copied into a
 * private Postgres server started by test/setup/postgres.ts):
 *  1. Tally's answer on Postgres equals hand-written Postgres SQL over the tables;
 *  2. Tally's answers on Postgres and on DuckDB are equal, cell for cell (decimals digit for
 *     digit, integers exactly, ratios to 1e-12), across grains, group-bys, filters, ranges and
 *     time zones.
 * Ratios are doubles on both engines; everything else must match exactly, including its JS type.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckDBEngine, type Engine, loadProject, type PostgresEngine, type Project, type RequestInput, runQuery, TallyError } from '../src/index.js';
import { type CompareOptions, expectSameRows, openFixtureDb, type Row, sqlRows } from './helpers/fixture-db.js';
import { openFixturePostgres } from './helpers/postgres-db.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let project: Project;
let pg: PostgresEngine;
let duck: DuckDBEngine;

beforeAll(async () => {
  project = loadProject(ROOT);
  [pg, duck] = await Promise.all([openFixturePostgres('metrics'), openFixtureDb()]);
});

afterAll(async () => {
  await Promise.all([pg?.close(), duck?.close()]);
});

/** The ratio metrics: doubles on every engine. */
const DOUBLES = ['average_order_value', 'stickiness', 'search_ctr', 'revenue_growth_mom', 'signup_to_paid_order_7d'];

/** Tally on Postgres equals the hand-written Postgres SQL, and Tally on DuckDB equals Tally on Postgres. */
async function check(request: RequestInput, expectedSql: string, options: CompareOptions = {}): Promise<void> {
  const expected = await sqlRows(pg, expectedSql);
  expect(expected.length, 'the hand-written SQL returns rows (a vacuous test proves nothing)').toBeGreaterThan(0);
  const onPostgres = await runQuery(project, pg, request);
  const opts = { doubles: DOUBLES, ...options };
  expectSameRows(onPostgres.rows, expected, opts);
  const onDuckDB = await runQuery(project, duck, request);
  expectSameRows(onDuckDB.rows, onPostgres.rows, opts);
}

const PAID = "status IN ('paid', 'shipped')";

/** Wall-clock time of a naive UTC column by hand (fixed offsets; the fixture spans Nov 2024–May 2025). */
function local(column: string, zone: 'Asia/Seoul' | 'America/Los_Angeles'): string {
  if (zone === 'Asia/Seoul') return `(${column} + INTERVAL '9 hours')`;
  return (
    `(CASE WHEN ${column} < TIMESTAMP '2024-11-03 09:00:00' THEN ${column} - INTERVAL '7 hours' ` +
    `WHEN ${column} < TIMESTAMP '2025-03-09 10:00:00' THEN ${column} - INTERVAL '8 hours' ` +
    `ELSE ${column} - INTERVAL '7 hours' END)`
  );
}

/** First day of the month / ISO week of a date expression, without date_trunc. */
const monthOf = (d: string): string => `make_date(CAST(extract(year FROM ${d}) AS INTEGER), CAST(extract(month FROM ${d}) AS INTEGER), 1)`;
const weekOf = (d: string): string => `(CAST(${d} AS DATE) - CAST(extract(isodow FROM ${d}) AS INTEGER) + 1)`;

/** Distinct users per day over a trailing window of days, from the first day with events to the last whose window holds one. */
const windowDaily = (window: number, name: string): string => `
  WITH cover AS (SELECT CAST(occurred_at AS DATE) + k AS d, user_id FROM events, generate_series(0, ${window - 1}) AS r(k)),
  -- Every day from the first day with events to the last day whose window holds one; 0 for an empty window.
  days AS (
    SELECT CAST(g AS DATE) AS d
    FROM generate_series(CAST((SELECT MIN(d) FROM cover) AS TIMESTAMP), CAST((SELECT MAX(d) FROM cover) AS TIMESTAMP), INTERVAL '1 day') AS s(g)
  )
  SELECT days.d AS d, COALESCE(COUNT(DISTINCT cover.user_id), 0) AS ${name}
  FROM days LEFT JOIN cover ON cover.d = days.d
  GROUP BY days.d`;

/**
 * mau's calendar-month window: day p's window holds the days from (p + 1 day) - 1 month to p.
 * Every day from the first day with events to the last day whose window holds one; 0 for an
 * empty window.
 */
const monthly = (name: string): string => `
  WITH active AS (SELECT DISTINCT CAST(occurred_at AS DATE) AS day, user_id FROM events),
  days AS (
    SELECT CAST(g AS DATE) AS p
    FROM generate_series(CAST((SELECT MIN(day) FROM active) AS TIMESTAMP), CAST((SELECT MAX(day) FROM active) AS TIMESTAMP) + INTERVAL '1 month', INTERVAL '1 day') AS s(g)
  ),
  cover AS (
    SELECT p, user_id FROM days JOIN active ON active.day <= p AND active.day >= CAST(p + INTERVAL '1 day' - INTERVAL '1 month' AS DATE)
  )
  SELECT days.p AS d, COALESCE(COUNT(DISTINCT cover.user_id), 0) AS ${name}
  FROM days LEFT JOIN cover ON cover.p = days.p
  WHERE days.p <= (SELECT MAX(p) FROM cover)
  GROUP BY days.p`;

/**
 * A cumulative metric at a coarser grain: its value on each period's last day, the empty value
 * (`empty`) when that day's window holds nothing; every period from the first day's to the last
 * day's has a row.
 */
const atPeriodEnd = (daily: string, name: string, period: (d: string) => string, step: string, label: string, empty = '0'): string => `
  WITH daily AS (${daily}),
  periods AS (
    SELECT CAST(g AS DATE) AS p
    FROM generate_series(CAST((SELECT ${period('MIN(d)')} FROM daily) AS TIMESTAMP), CAST((SELECT ${period('MAX(d)')} FROM daily) AS TIMESTAMP), INTERVAL '${step}') AS s(g)
  )
  SELECT p AS "${label}", COALESCE(daily.${name}, ${empty}) AS ${name}
  FROM periods LEFT JOIN daily ON daily.d = CAST(p + INTERVAL '${step}' - INTERVAL '1 day' AS DATE)`;

describe('simple metrics', () => {
  it('revenue by day', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.day'] },
      `SELECT CAST(ordered_at AS DATE) AS "metric_time.day", SUM(amount) AS revenue FROM orders WHERE ${PAID} GROUP BY 1`,
    );
  });

  it('revenue by month and user.country (unknown and NULL users in the NULL group)', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.month', 'user.country'] },
      `SELECT ${monthOf('o.ordered_at')} AS "metric_time.month", u.country AS "user.country", SUM(o.amount) AS revenue
       FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id WHERE o.${PAID} GROUP BY 1, 2`,
    );
  });

  it('revenue by quarter and by year', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.quarter'] },
      `SELECT make_date(CAST(extract(year FROM ordered_at) AS INTEGER), 3 * CAST(extract(quarter FROM ordered_at) AS INTEGER) - 2, 1) AS "metric_time.quarter",
              SUM(amount) AS revenue
       FROM orders WHERE ${PAID} GROUP BY 1`,
    );
    await check(
      { metrics: ['orders'], groupBy: ['metric_time.year'] },
      `SELECT make_date(CAST(extract(year FROM ordered_at) AS INTEGER), 1, 1) AS "metric_time.year", COUNT(*) AS orders FROM orders GROUP BY 1`,
    );
  });

  it('revenue by ISO week in Asia/Seoul (a Sunday in UTC is Monday of the next ISO year there)', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.week'], timeZone: 'Asia/Seoul' },
      `SELECT ${weekOf(local('ordered_at', 'Asia/Seoul'))} AS "metric_time.week", SUM(amount) AS revenue FROM orders WHERE ${PAID} GROUP BY 1`,
    );
  });

  it('revenue by month in America/Los_Angeles, across both DST changes', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.month'], timeZone: 'America/Los_Angeles' },
      `SELECT ${monthOf(local('ordered_at', 'America/Los_Angeles'))} AS "metric_time.month", SUM(amount) AS revenue FROM orders WHERE ${PAID} GROUP BY 1`,
    );
  });

  it('revenue with a request filter and a time range', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.month', 'user.country'], where: "user.country IN ('KR', 'US')", from: '2024-12-01', to: '2025-03-31' },
      `SELECT ${monthOf('o.ordered_at')} AS "metric_time.month", u.country AS "user.country", SUM(o.amount) AS revenue
       FROM orders AS o JOIN users AS u ON u.user_id = o.user_id
       WHERE o.${PAID} AND u.country IN ('KR', 'US') AND o.ordered_at >= TIMESTAMP '2024-12-01' AND o.ordered_at < TIMESTAMP '2025-04-01'
       GROUP BY 1, 2`,
    );
  });

  it('orders by order.status and month; paid_orders by month and user.plan', async () => {
    await check(
      { metrics: ['orders'], groupBy: ['order.status', 'metric_time.month'] },
      `SELECT status AS "order.status", ${monthOf('ordered_at')} AS "metric_time.month", COUNT(*) AS orders FROM orders GROUP BY 1, 2`,
    );
    await check(
      { metrics: ['paid_orders'], groupBy: ['metric_time.month', 'user.plan'] },
      `SELECT ${monthOf('o.ordered_at')} AS "metric_time.month", u.plan AS "user.plan", COUNT(*) AS paid_orders
       FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id WHERE o.${PAID} GROUP BY 1, 2`,
    );
  });

  it('new_users by day, and by month, country and plan', async () => {
    await check(
      { metrics: ['new_users'], groupBy: ['metric_time.day'] },
      `SELECT CAST(signed_up_at AS DATE) AS "metric_time.day", COUNT(*) AS new_users FROM users GROUP BY 1`,
    );
    await check(
      { metrics: ['new_users'], groupBy: ['metric_time.month', 'user.country', 'user.plan'] },
      `SELECT ${monthOf('signed_up_at')} AS "metric_time.month", country AS "user.country", plan AS "user.plan", COUNT(*) AS new_users FROM users GROUP BY 1, 2, 3`,
    );
  });

  it('dau by day, by hour, and by month and user.country', async () => {
    await check(
      { metrics: ['dau'], groupBy: ['metric_time.day'] },
      `SELECT CAST(occurred_at AS DATE) AS "metric_time.day", COUNT(DISTINCT user_id) AS dau FROM events GROUP BY 1`,
    );
    await check(
      { metrics: ['dau'], groupBy: ['metric_time.hour'] },
      `SELECT to_char(occurred_at, 'YYYY-MM-DD HH24:00:00') AS "metric_time.hour", COUNT(DISTINCT user_id) AS dau FROM events GROUP BY 1`,
    );
    await check(
      { metrics: ['dau'], groupBy: ['metric_time.month', 'user.country'] },
      `SELECT ${monthOf('e.occurred_at')} AS "metric_time.month", u.country AS "user.country", COUNT(DISTINCT e.user_id) AS dau
       FROM events AS e LEFT JOIN users AS u ON u.user_id = e.user_id GROUP BY 1, 2`,
    );
  });

  it('searches and search_clicks by day, by month and user.country', async () => {
    await check(
      { metrics: ['searches', 'search_clicks'], groupBy: ['metric_time.day'] },
      `SELECT CAST(occurred_at AS DATE) AS "metric_time.day",
              COUNT(*) FILTER (WHERE event_type = 'search') AS searches, COUNT(*) FILTER (WHERE event_type = 'search_click') AS search_clicks
       FROM events GROUP BY 1`,
    );
    await check(
      { metrics: ['searches'], groupBy: ['metric_time.month', 'user.country'] },
      `SELECT ${monthOf('e.occurred_at')} AS "metric_time.month", u.country AS "user.country", COUNT(*) FILTER (WHERE e.event_type = 'search') AS searches
       FROM events AS e LEFT JOIN users AS u ON u.user_id = e.user_id GROUP BY 1, 2`,
    );
  });

  it('items_sold by day, by month and user.country (two hops), and by product.category', async () => {
    await check(
      { metrics: ['items_sold'], groupBy: ['metric_time.day'] },
      `SELECT CAST(o.ordered_at AS DATE) AS "metric_time.day", SUM(i.quantity) AS items_sold FROM order_items AS i JOIN orders AS o ON o.order_id = i.order_id GROUP BY 1`,
    );
    await check(
      { metrics: ['items_sold'], groupBy: ['metric_time.month', 'user.country'] },
      `SELECT ${monthOf('o.ordered_at')} AS "metric_time.month", u.country AS "user.country", SUM(i.quantity) AS items_sold
       FROM order_items AS i JOIN orders AS o ON o.order_id = i.order_id LEFT JOIN users AS u ON u.user_id = o.user_id GROUP BY 1, 2`,
    );
    await check(
      { metrics: ['items_sold'], groupBy: ['product.category'] },
      `SELECT p.category AS "product.category", SUM(i.quantity) AS items_sold
       FROM order_items AS i JOIN orders AS o ON o.order_id = i.order_id LEFT JOIN products AS p ON p.product_id = i.product_id GROUP BY 1`,
    );
  });
});

describe('ratio metrics', () => {
  it('average_order_value by month, and by month and user.country', async () => {
    await check(
      { metrics: ['average_order_value'], groupBy: ['metric_time.month'] },
      `SELECT ${monthOf('ordered_at')} AS "metric_time.month", CAST(SUM(amount) AS DOUBLE PRECISION) / COUNT(*) AS average_order_value
       FROM orders WHERE ${PAID} GROUP BY 1`,
    );
    await check(
      { metrics: ['average_order_value'], groupBy: ['metric_time.month', 'user.country'] },
      `SELECT ${monthOf('o.ordered_at')} AS "metric_time.month", u.country AS "user.country", CAST(SUM(o.amount) AS DOUBLE PRECISION) / COUNT(*) AS average_order_value
       FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id WHERE o.${PAID} GROUP BY 1, 2`,
    );
  });

  it('search_ctr by day (NULL on a day with clicks but no searches), and by month and user.country', async () => {
    await check(
      { metrics: ['search_ctr'], groupBy: ['metric_time.day'] },
      `SELECT CAST(occurred_at AS DATE) AS "metric_time.day",
              CAST(COUNT(*) FILTER (WHERE event_type = 'search_click') AS DOUBLE PRECISION) / NULLIF(COUNT(*) FILTER (WHERE event_type = 'search'), 0) AS search_ctr
       FROM events GROUP BY 1`,
    );
    await check(
      { metrics: ['search_ctr'], groupBy: ['metric_time.month', 'user.country'] },
      `SELECT ${monthOf('e.occurred_at')} AS "metric_time.month", u.country AS "user.country",
              CAST(COUNT(*) FILTER (WHERE e.event_type = 'search_click') AS DOUBLE PRECISION) / NULLIF(COUNT(*) FILTER (WHERE e.event_type = 'search'), 0) AS search_ctr
       FROM events AS e LEFT JOIN users AS u ON u.user_id = e.user_id GROUP BY 1, 2`,
    );
  });

  it('stickiness (average daily dau / mau) by day: 0 on days without events', async () => {
    await check(
      { metrics: ['stickiness'], groupBy: ['metric_time.day'] },
      `WITH dau AS (SELECT CAST(occurred_at AS DATE) AS d, COUNT(DISTINCT user_id) AS dau FROM events GROUP BY 1),
            mau AS (${monthly('mau')})
       SELECT COALESCE(dau.d, mau.d) AS "metric_time.day", CAST(COALESCE(dau.dau, 0) AS DOUBLE PRECISION) / NULLIF(mau.mau, 0) AS stickiness
       FROM dau FULL OUTER JOIN mau ON dau.d = mau.d`,
    );
  });
});

describe('cumulative metrics', () => {
  it('wau by day, by ISO week and by month', async () => {
    await check({ metrics: ['wau'], groupBy: ['metric_time.day'] }, `SELECT d AS "metric_time.day", wau FROM (${windowDaily(7, 'wau')}) AS w`);
    await check({ metrics: ['wau'], groupBy: ['metric_time.week'] }, atPeriodEnd(windowDaily(7, 'wau'), 'wau', weekOf, '7 days', 'metric_time.week'));
    await check({ metrics: ['wau'], groupBy: ['metric_time.month'] }, atPeriodEnd(windowDaily(7, 'wau'), 'wau', monthOf, '1 month', 'metric_time.month'));
  });

  it('mau by day and by month', async () => {
    await check({ metrics: ['mau'], groupBy: ['metric_time.day'] }, `SELECT d AS "metric_time.day", mau FROM (${monthly('mau')}) AS m`);
    await check({ metrics: ['mau'], groupBy: ['metric_time.month'] }, atPeriodEnd(monthly('mau'), 'mau', monthOf, '1 month', 'metric_time.month'));
  });

  const mtdDaily = `
    WITH paid AS (SELECT CAST(ordered_at AS DATE) AS day, amount FROM orders WHERE ${PAID}),
    days AS (SELECT CAST(g AS DATE) AS d FROM generate_series(CAST((SELECT MIN(day) FROM paid) AS TIMESTAMP), CAST((SELECT ${monthOf('MAX(day)')} + INTERVAL '1 month' - INTERVAL '1 day' FROM paid) AS TIMESTAMP), INTERVAL '1 day') AS s(g))
    -- Every day of the series; a day with no revenue yet in its month sums to 0.00.
    SELECT d, COALESCE(SUM(amount), 0.00) AS revenue_mtd
    FROM days LEFT JOIN paid ON paid.day <= days.d AND ${monthOf('paid.day')} = ${monthOf('days.d')}
    GROUP BY d`;

  it('revenue_mtd by day and by month', async () => {
    await check({ metrics: ['revenue_mtd'], groupBy: ['metric_time.day'] }, `SELECT d AS "metric_time.day", revenue_mtd FROM (${mtdDaily}) AS m`);
    await check({ metrics: ['revenue_mtd'], groupBy: ['metric_time.month'] }, atPeriodEnd(mtdDaily, 'revenue_mtd', monthOf, '1 month', 'metric_time.month', '0.00'));
  });
});

describe('derived and conversion metrics', () => {
  it('revenue_growth_mom by month: a month without revenue, a 0.00 month and one extra month at the end', async () => {
    await check(
      { metrics: ['revenue_growth_mom'], groupBy: ['metric_time.month'] },
      `WITH m AS (SELECT ${monthOf('ordered_at')} AS month, SUM(amount) AS revenue FROM orders WHERE ${PAID} GROUP BY 1),
       months AS (SELECT month FROM m UNION SELECT CAST(month + INTERVAL '1 month' AS DATE) FROM m)
       SELECT months.month AS "metric_time.month", CAST(COALESCE(cur.revenue, 0) - COALESCE(prev.revenue, 0) AS DOUBLE PRECISION) / NULLIF(COALESCE(prev.revenue, 0), 0) AS revenue_growth_mom
       FROM months
       LEFT JOIN m AS cur ON cur.month = months.month
       LEFT JOIN m AS prev ON prev.month = CAST(months.month - INTERVAL '1 month' AS DATE)`,
    );
  });

  const converted = `
    SELECT DISTINCT u.user_id FROM users AS u JOIN orders AS o ON o.user_id = u.user_id
    WHERE o.${PAID} AND o.ordered_at >= u.signed_up_at AND o.ordered_at <= u.signed_up_at + INTERVAL '7 days'`;

  it('signup_to_paid_order_7d by month and by country and plan (exactly +7 days converts)', async () => {
    await check(
      { metrics: ['signup_to_paid_order_7d'], groupBy: ['metric_time.month'] },
      `SELECT ${monthOf('u.signed_up_at')} AS "metric_time.month", CAST(COUNT(DISTINCT c.user_id) AS DOUBLE PRECISION) / COUNT(DISTINCT u.user_id) AS signup_to_paid_order_7d
       FROM users AS u LEFT JOIN (${converted}) AS c ON c.user_id = u.user_id GROUP BY 1`,
    );
    await check(
      { metrics: ['signup_to_paid_order_7d'], groupBy: ['user.country', 'user.plan'] },
      `SELECT u.country AS "user.country", u.plan AS "user.plan", CAST(COUNT(DISTINCT c.user_id) AS DOUBLE PRECISION) / COUNT(DISTINCT u.user_id) AS signup_to_paid_order_7d
       FROM users AS u LEFT JOIN (${converted}) AS c ON c.user_id = u.user_id GROUP BY 1, 2`,
    );
  });
});

describe('requests over several metrics', () => {
  it('three metrics from two models by month (the UNION of NULLs is typed on Postgres)', async () => {
    await check(
      { metrics: ['revenue', 'orders', 'new_users'], groupBy: ['metric_time.month'] },
      `WITH o AS (SELECT ${monthOf('ordered_at')} AS m, SUM(amount) FILTER (WHERE ${PAID}) AS revenue, COUNT(*) AS orders FROM orders GROUP BY 1),
            u AS (SELECT ${monthOf('signed_up_at')} AS m, COUNT(*) AS new_users FROM users GROUP BY 1)
       SELECT COALESCE(o.m, u.m) AS "metric_time.month", COALESCE(o.revenue, 0.00) AS revenue, COALESCE(o.orders, 0) AS orders, COALESCE(u.new_users, 0) AS new_users FROM o FULL OUTER JOIN u ON o.m = u.m`,
    );
  });

  it('fill gaps: one row per month of the range, empty months included', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.month'], fillGaps: true, from: '2024-10-01', to: '2025-06-30' },
      `SELECT CAST(g AS DATE) AS "metric_time.month", (SELECT COALESCE(SUM(amount), 0.00) FROM orders WHERE ${PAID} AND ${monthOf('ordered_at')} = CAST(g AS DATE)) AS revenue
       FROM generate_series(TIMESTAMP '2024-10-01', TIMESTAMP '2025-06-01', INTERVAL '1 month') AS s(g)`,
    );
  });

  it('order by a metric descending with a limit', async () => {
    await check(
      { metrics: ['orders'], groupBy: ['user.country'], orderBy: ['-orders', 'user.country'], limit: 3 },
      `SELECT u.country AS "user.country", COUNT(*) AS orders FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id
       GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3`,
      { ordered: true },
    );
  });

  it('a filter with LIKE, ILIKE and a backslash matches the same rows as on DuckDB', async () => {
    await check(
      { metrics: ['orders'], groupBy: ['order.status'], where: "order.status LIKE 'p%' OR order.status ILIKE 'SHIP%' OR order.status = 'a\\b'" },
      `SELECT status AS "order.status", COUNT(*) AS orders FROM orders WHERE status LIKE 'p%' OR status ILIKE 'SHIP%' GROUP BY 1`,
    );
  });
});

describe('Postgres and DuckDB agree on every example metric', () => {
  const groupings: string[][] = [
    [],
    ['metric_time.hour'],
    ['metric_time.day'],
    ['metric_time.week'],
    ['metric_time.month'],
    ['metric_time.quarter'],
    ['metric_time.year'],
    ['metric_time.extract_dow'],
    ['metric_time.month', 'user.country'],
  ];
  const variants: Partial<RequestInput>[] = [
    {},
    { timeZone: 'Asia/Seoul' },
    { timeZone: 'America/Los_Angeles', from: '2024-11-01', to: '2025-03-31' },
    { where: "user.country IS NOT NULL AND user.plan <> 'pro'" },
  ];

  it('for every metric, grouping and variant (or both refuse it the same way)', async () => {
    let compared = 0;
    for (const metric of project.graph.metrics.keys()) {
      for (const groupBy of groupings) {
        for (const variant of variants) {
          const request: RequestInput = { metrics: [metric], groupBy, ...variant };
          const label = JSON.stringify(request);
          const [a, b] = await Promise.allSettled([runQuery(project, duck, request), runQuery(project, pg, request)]);
          if (a.status === 'rejected' || b.status === 'rejected') {
            expect(a.status, label).toBe('rejected');
            expect(b.status, label).toBe('rejected');
            const [ea, eb] = [(a as PromiseRejectedResult).reason as unknown, (b as PromiseRejectedResult).reason as unknown];
            expect(ea, label).toBeInstanceOf(TallyError);
            expect((eb as TallyError).code, label).toBe((ea as TallyError).code);
            continue;
          }
          try {
            expectSameRows(b.value.rows, a.value.rows, { doubles: DOUBLES });
          } catch (e) {
            throw new Error(`${label}\n${(e as Error).message}`);
          }
          compared++;
        }
      }
    }
    // Most combinations answer; refusals (e.g. a cumulative metric without metric_time) are the exception.
    expect(compared).toBeGreaterThan(project.graph.metrics.size * groupings.length * variants.length * 0.75);
  });
});
