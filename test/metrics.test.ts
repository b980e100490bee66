/**
 * Every example metric (metrics/metrics.yml) against hand-written SQL over the fixture tables
 * (fixtures/shop.sql): by time and, where it applies, by a dimension of a joined model. The
 * expected SQL is written directly over the tables and never produced by Tally.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProject, runQuery, type DuckDBEngine, type Project, type RequestInput } from '../src/index.js';
import { type CompareOptions, expectSameRows, openFixtureDb, sqlRows } from './helpers/fixture-db.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let project: Project;
let engine: DuckDBEngine;

beforeAll(async () => {
  project = loadProject(ROOT);
  engine = await openFixtureDb();
});

afterAll(async () => {
  await engine.close();
});

/** Runs the request through Tally and the SQL by hand, and compares the rows. */
async function check(request: RequestInput, expectedSql: string, options: CompareOptions = {}): Promise<void> {
  const expected = await sqlRows(engine, expectedSql);
  expect(expected.length, 'the hand-written SQL returns rows (a vacuous test proves nothing)').toBeGreaterThan(0);
  const result = await runQuery(project, engine, request);
  expectSameRows(result.rows, expected, options);
}

const PAID = "status IN ('paid', 'shipped')";

// Days covered by 7- and 30-day windows: an event on day D is inside the window of days D..D+6
// (D..D+29). Every day from the first day with events to the last day whose window holds one is
// in the answer; a day whose window holds none counts 0.
const daily = (window: number, name: string): string => `
  WITH cover AS (
    SELECT CAST(occurred_at AS DATE) + CAST(k AS INTEGER) AS d, user_id
    FROM events, range(0, ${window}) AS r(k)
  ),
  days AS (
    SELECT CAST(g AS DATE) AS d
    FROM generate_series(CAST((SELECT MIN(d) FROM cover) AS TIMESTAMP), CAST((SELECT MAX(d) FROM cover) AS TIMESTAMP), INTERVAL 1 DAY) AS s(g)
  )
  SELECT days.d AS d, COALESCE(COUNT(DISTINCT cover.user_id), 0) AS ${name}
  FROM days LEFT JOIN cover ON cover.d = days.d
  GROUP BY days.d`;

// The calendar-month window of mau: day p's window holds the days from (p + 1 day) - 1 month to
// p. Every day from the first day with events to the last day whose window holds one is in the
// answer; a day whose window holds none counts 0.
const monthly = (name: string): string => `
  WITH active AS (SELECT DISTINCT CAST(occurred_at AS DATE) AS day, user_id FROM events),
  days AS (
    SELECT CAST(g AS DATE) AS p
    FROM generate_series(CAST((SELECT MIN(day) FROM active) AS TIMESTAMP), CAST((SELECT MAX(day) FROM active) AS TIMESTAMP) + INTERVAL 1 MONTH, INTERVAL 1 DAY) AS s(g)
  ),
  cover AS (
    SELECT p, user_id FROM days JOIN active ON active.day <= p AND active.day >= CAST(p + INTERVAL 1 DAY - INTERVAL 1 MONTH AS DATE)
  )
  SELECT days.p AS d, COALESCE(COUNT(DISTINCT cover.user_id), 0) AS ${name}
  FROM days LEFT JOIN cover ON cover.p = days.p
  WHERE days.p <= (SELECT MAX(p) FROM cover)
  GROUP BY days.p`;

/** The first day of the ISO week or month of a date, by hand (no date_trunc). */
const PERIOD = {
  week: { start: (x: string): string => `(${x} - CAST(isodow(${x}) - 1 AS INTEGER))`, step: 'INTERVAL 7 DAY' },
  month: { start: (x: string): string => `make_date(year(${x}), month(${x}), 1)`, step: 'INTERVAL 1 MONTH' },
};

// A cumulative metric at a coarser grain is its value on the period's last day, 0 when that
// day's window holds no events; every period from the first day's to the last day's has a row.
const atPeriodEnd = (grain: keyof typeof PERIOD, dailySql: string, name: string): string => `
  WITH daily AS (${dailySql}),
  periods AS (
    SELECT CAST(g AS DATE) AS p
    FROM generate_series(CAST(${PERIOD[grain].start('(SELECT MIN(d) FROM daily)')} AS TIMESTAMP), CAST(${PERIOD[grain].start('(SELECT MAX(d) FROM daily)')} AS TIMESTAMP), ${PERIOD[grain].step}) AS s(g)
  )
  SELECT p AS "metric_time.${grain}", COALESCE(daily.${name}, 0) AS ${name}
  FROM periods LEFT JOIN daily ON daily.d = CAST(p + ${PERIOD[grain].step} - INTERVAL 1 DAY AS DATE)`;

describe('revenue (simple, filtered)', () => {
  it('by metric_time.day', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.day'] },
      `SELECT CAST(date_trunc('day', ordered_at) AS DATE) AS "metric_time.day", SUM(amount) AS revenue
       FROM orders WHERE ${PAID} GROUP BY 1`,
    );
  });

  it('by metric_time.month and user.country (orders of unknown or NULL users fall in the NULL group)', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.month', 'user.country'] },
      `SELECT CAST(date_trunc('month', o.ordered_at) AS DATE) AS "metric_time.month", u.country AS "user.country", SUM(o.amount) AS revenue
       FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id
       WHERE o.status IN ('paid', 'shipped')
       GROUP BY 1, 2`,
    );
  });
});

describe('orders (simple, unfiltered)', () => {
  it('by metric_time.day', async () => {
    await check(
      { metrics: ['orders'], groupBy: ['metric_time.day'] },
      `SELECT CAST(ordered_at AS DATE) AS "metric_time.day", COUNT(*) AS orders FROM orders GROUP BY 1`,
    );
  });

  it('by metric_time.month and user.country', async () => {
    await check(
      { metrics: ['orders'], groupBy: ['metric_time.month', 'user.country'] },
      `SELECT CAST(date_trunc('month', o.ordered_at) AS DATE) AS "metric_time.month", u.country AS "user.country", COUNT(*) AS orders
       FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id
       GROUP BY 1, 2`,
    );
  });

  it('by its own dimension order.status', async () => {
    await check(
      { metrics: ['orders'], groupBy: ['order.status', 'metric_time.month'] },
      `SELECT status AS "order.status", CAST(date_trunc('month', ordered_at) AS DATE) AS "metric_time.month", COUNT(*) AS orders
       FROM orders GROUP BY 1, 2`,
    );
  });
});

describe('paid_orders (simple, filtered)', () => {
  it('by metric_time.day', async () => {
    await check(
      { metrics: ['paid_orders'], groupBy: ['metric_time.day'] },
      `SELECT CAST(ordered_at AS DATE) AS "metric_time.day", COUNT(*) AS paid_orders FROM orders WHERE ${PAID} GROUP BY 1`,
    );
  });

  it('by metric_time.month and user.plan', async () => {
    await check(
      { metrics: ['paid_orders'], groupBy: ['metric_time.month', 'user.plan'] },
      `SELECT CAST(date_trunc('month', o.ordered_at) AS DATE) AS "metric_time.month", u.plan AS "user.plan", COUNT(*) AS paid_orders
       FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id
       WHERE o.status IN ('paid', 'shipped')
       GROUP BY 1, 2`,
    );
  });
});

describe('average_order_value (ratio)', () => {
  it('by metric_time.month', async () => {
    await check(
      { metrics: ['average_order_value'], groupBy: ['metric_time.month'] },
      `SELECT CAST(date_trunc('month', ordered_at) AS DATE) AS "metric_time.month",
              CAST(SUM(amount) AS DOUBLE) / COUNT(*) AS average_order_value
       FROM orders WHERE ${PAID} GROUP BY 1`,
      { doubles: ['average_order_value'] },
    );
  });

  it('by metric_time.month and user.country', async () => {
    await check(
      { metrics: ['average_order_value'], groupBy: ['metric_time.month', 'user.country'] },
      `SELECT CAST(date_trunc('month', o.ordered_at) AS DATE) AS "metric_time.month", u.country AS "user.country",
              CAST(SUM(o.amount) AS DOUBLE) / COUNT(*) AS average_order_value
       FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id
       WHERE o.status IN ('paid', 'shipped')
       GROUP BY 1, 2`,
      { doubles: ['average_order_value'] },
    );
  });
});

describe('new_users (simple, on users)', () => {
  it('by metric_time.day', async () => {
    await check(
      { metrics: ['new_users'], groupBy: ['metric_time.day'] },
      `SELECT CAST(signed_up_at AS DATE) AS "metric_time.day", COUNT(*) AS new_users FROM users GROUP BY 1`,
    );
  });

  it('by metric_time.month, user.country and user.plan', async () => {
    await check(
      { metrics: ['new_users'], groupBy: ['metric_time.month', 'user.country', 'user.plan'] },
      `SELECT CAST(date_trunc('month', signed_up_at) AS DATE) AS "metric_time.month", country AS "user.country", plan AS "user.plan",
              COUNT(*) AS new_users
       FROM users GROUP BY 1, 2, 3`,
    );
  });
});

describe('dau (simple, count distinct)', () => {
  it('by metric_time.day (a day with only anonymous events has dau 0)', async () => {
    await check(
      { metrics: ['dau'], groupBy: ['metric_time.day'] },
      `SELECT CAST(occurred_at AS DATE) AS "metric_time.day", COUNT(DISTINCT user_id) AS dau FROM events GROUP BY 1`,
    );
  });

  it('by metric_time.month and user.country', async () => {
    await check(
      { metrics: ['dau'], groupBy: ['metric_time.month', 'user.country'] },
      `SELECT CAST(date_trunc('month', e.occurred_at) AS DATE) AS "metric_time.month", u.country AS "user.country",
              COUNT(DISTINCT e.user_id) AS dau
       FROM events AS e LEFT JOIN users AS u ON u.user_id = e.user_id
       GROUP BY 1, 2`,
    );
  });
});

describe('wau (cumulative, 7-day window)', () => {
  it('by metric_time.day: every day of the series, 0 on days whose window holds no events', async () => {
    await check({ metrics: ['wau'], groupBy: ['metric_time.day'] }, `SELECT d AS "metric_time.day", wau FROM (${daily(7, 'wau')})`);
  });

  it('by metric_time.week: the value on the last day (Sunday) of each ISO week', async () => {
    await check({ metrics: ['wau'], groupBy: ['metric_time.week'] }, atPeriodEnd('week', daily(7, 'wau'), 'wau'));
  });

  it('by metric_time.month: the value on the last day of each month', async () => {
    await check({ metrics: ['wau'], groupBy: ['metric_time.month'] }, atPeriodEnd('month', daily(7, 'wau'), 'wau'));
  });
});

describe('mau (cumulative, calendar-month window)', () => {
  it('by metric_time.day: 0 after a gap of more than a month, days to a month after the last event', async () => {
    await check({ metrics: ['mau'], groupBy: ['metric_time.day'] }, `SELECT d AS "metric_time.day", mau FROM (${monthly('mau')})`);
  });

  it('by metric_time.month: the value on the last day of each month (the calendar month)', async () => {
    await check({ metrics: ['mau'], groupBy: ['metric_time.month'] }, atPeriodEnd('month', monthly('mau'), 'mau'));
  });
});

describe('stickiness (ratio of a simple and a cumulative metric)', () => {
  it('by metric_time.day: days inside a 30-day window without events have stickiness 0, days whose window is empty none (0 / 0)', async () => {
    await check(
      { metrics: ['stickiness'], groupBy: ['metric_time.day'] },
      `WITH dau AS (SELECT CAST(occurred_at AS DATE) AS d, COUNT(DISTINCT user_id) AS dau FROM events GROUP BY 1),
            mau AS (${monthly('mau')})
       SELECT COALESCE(dau.d, mau.d) AS "metric_time.day", CAST(COALESCE(dau.dau, 0) AS DOUBLE) / NULLIF(mau.mau, 0) AS stickiness
       FROM dau FULL OUTER JOIN mau ON dau.d = mau.d`,
      { doubles: ['stickiness'] },
    );
  });

  it('by metric_time.month: the mean daily DAU over every day of the month over the MAU on its last day', async () => {
    await check(
      { metrics: ['stickiness'], groupBy: ['metric_time.month'] },
      // A day without events has a DAU of 0, so the mean is over all the month's days.
      `WITH daily AS (SELECT CAST(occurred_at AS DATE) AS d, COUNT(DISTINCT user_id) AS dau FROM events GROUP BY 1),
            dau AS (SELECT make_date(year(d), month(d), 1) AS m, CAST(SUM(dau) AS DOUBLE) / day(last_day(MIN(d))) AS dau FROM daily GROUP BY 1),
            mau AS (SELECT "metric_time.month" AS m, mau FROM (${atPeriodEnd('month', monthly('mau'), 'mau')}))
       SELECT COALESCE(dau.m, mau.m) AS "metric_time.month", COALESCE(dau.dau, 0) / NULLIF(mau.mau, 0) AS stickiness
       FROM dau FULL OUTER JOIN mau ON dau.m = mau.m`,
      { doubles: ['stickiness'] },
    );
  });
});

describe('searches, search_clicks, search_ctr', () => {
  it('searches by metric_time.day (0 on days with events but no search)', async () => {
    await check(
      { metrics: ['searches'], groupBy: ['metric_time.day'] },
      `SELECT CAST(occurred_at AS DATE) AS "metric_time.day", count_if(event_type = 'search') AS searches FROM events GROUP BY 1`,
    );
  });

  it('searches by metric_time.month and user.country', async () => {
    await check(
      { metrics: ['searches'], groupBy: ['metric_time.month', 'user.country'] },
      `SELECT CAST(date_trunc('month', e.occurred_at) AS DATE) AS "metric_time.month", u.country AS "user.country",
              count_if(e.event_type = 'search') AS searches
       FROM events AS e LEFT JOIN users AS u ON u.user_id = e.user_id GROUP BY 1, 2`,
    );
  });

  it('search_clicks by metric_time.day', async () => {
    await check(
      { metrics: ['search_clicks'], groupBy: ['metric_time.day'] },
      `SELECT CAST(occurred_at AS DATE) AS "metric_time.day", count_if(event_type = 'search_click') AS search_clicks FROM events GROUP BY 1`,
    );
  });

  it('search_clicks by metric_time.month and user.plan', async () => {
    await check(
      { metrics: ['search_clicks'], groupBy: ['metric_time.month', 'user.plan'] },
      `SELECT CAST(date_trunc('month', e.occurred_at) AS DATE) AS "metric_time.month", u.plan AS "user.plan",
              count_if(e.event_type = 'search_click') AS search_clicks
       FROM events AS e LEFT JOIN users AS u ON u.user_id = e.user_id GROUP BY 1, 2`,
    );
  });

  it('search_ctr by metric_time.day (NULL where there were clicks but no searches)', async () => {
    await check(
      { metrics: ['search_ctr'], groupBy: ['metric_time.day'] },
      `SELECT CAST(occurred_at AS DATE) AS "metric_time.day",
              CAST(count_if(event_type = 'search_click') AS DOUBLE) / NULLIF(count_if(event_type = 'search'), 0) AS search_ctr
       FROM events GROUP BY 1`,
      { doubles: ['search_ctr'] },
    );
  });

  it('search_ctr by metric_time.month and user.country', async () => {
    await check(
      { metrics: ['search_ctr'], groupBy: ['metric_time.month', 'user.country'] },
      `SELECT CAST(date_trunc('month', e.occurred_at) AS DATE) AS "metric_time.month", u.country AS "user.country",
              CAST(count_if(e.event_type = 'search_click') AS DOUBLE) / NULLIF(count_if(e.event_type = 'search'), 0) AS search_ctr
       FROM events AS e LEFT JOIN users AS u ON u.user_id = e.user_id GROUP BY 1, 2`,
      { doubles: ['search_ctr'] },
    );
  });
});

describe('items_sold (simple, on a SQL model joined to orders)', () => {
  it('by metric_time.day (lines of a missing order are dropped by the model SQL)', async () => {
    await check(
      { metrics: ['items_sold'], groupBy: ['metric_time.day'] },
      `SELECT CAST(o.ordered_at AS DATE) AS "metric_time.day", SUM(i.quantity) AS items_sold
       FROM order_items AS i JOIN orders AS o ON o.order_id = i.order_id GROUP BY 1`,
    );
  });

  it('by metric_time.month and user.country (two hops: order_items -> orders -> users)', async () => {
    await check(
      { metrics: ['items_sold'], groupBy: ['metric_time.month', 'user.country'] },
      `SELECT CAST(date_trunc('month', o.ordered_at) AS DATE) AS "metric_time.month", u.country AS "user.country", SUM(i.quantity) AS items_sold
       FROM order_items AS i JOIN orders AS o ON o.order_id = i.order_id
       LEFT JOIN users AS u ON u.user_id = o.user_id
       GROUP BY 1, 2`,
    );
  });

  it('by product.category (unknown product -> NULL group; a never-sold product has no row)', async () => {
    await check(
      { metrics: ['items_sold'], groupBy: ['product.category'] },
      `SELECT p.category AS "product.category", SUM(i.quantity) AS items_sold
       FROM order_items AS i JOIN orders AS o ON o.order_id = i.order_id
       LEFT JOIN products AS p ON p.product_id = i.product_id
       GROUP BY 1`,
    );
  });
});

describe('revenue_mtd (cumulative, grain to date)', () => {
  const mtdDaily = `
    WITH paid AS (SELECT CAST(ordered_at AS DATE) AS day, amount FROM orders WHERE ${PAID}),
    days AS (
      SELECT CAST(g AS DATE) AS d
      -- Every day from the first day with revenue to the end of the last month with revenue.
      FROM generate_series(CAST((SELECT MIN(day) FROM paid) AS TIMESTAMP), CAST((SELECT last_day(MAX(day)) FROM paid) AS TIMESTAMP), INTERVAL 1 DAY) AS s(g)
    )
    -- A day with no revenue yet in its month sums to 0.
    SELECT d, COALESCE(SUM(amount), 0) AS revenue_mtd
    FROM days LEFT JOIN paid ON paid.day <= days.d AND year(paid.day) = year(days.d) AND month(paid.day) = month(days.d)
    GROUP BY d`;

// The calendar-month window of mau: day p's window holds the days from (p + 1 day) - 1 month to
// p; days run from the first day with events to a month after the last one.
const monthly = (name: string): string => `
  WITH active AS (SELECT DISTINCT CAST(occurred_at AS DATE) AS day, user_id FROM events),
  days AS (
    SELECT CAST(g AS DATE) AS p
    FROM generate_series(CAST((SELECT MIN(day) FROM active) AS TIMESTAMP), CAST((SELECT MAX(day) FROM active) AS TIMESTAMP) + INTERVAL 1 MONTH, INTERVAL 1 DAY) AS s(g)
  )
  SELECT p AS d, COUNT(DISTINCT user_id) AS ${name}
  FROM days JOIN active ON active.day <= p AND active.day >= CAST(p + INTERVAL 1 DAY - INTERVAL 1 MONTH AS DATE)
  GROUP BY p`;

  it('by metric_time.day', async () => {
    await check({ metrics: ['revenue_mtd'], groupBy: ['metric_time.day'] }, `SELECT d AS "metric_time.day", revenue_mtd FROM (${mtdDaily})`);
  });

  it('by metric_time.month: the month\'s revenue (its value on the last day), 0 for a month without any', async () => {
    await check(
      { metrics: ['revenue_mtd'], groupBy: ['metric_time.month'] },
      `WITH paid AS (SELECT make_date(year(ordered_at), month(ordered_at), 1) AS m, amount FROM orders WHERE ${PAID}),
            months AS (SELECT CAST(g AS DATE) AS m FROM generate_series(CAST((SELECT MIN(m) FROM paid) AS TIMESTAMP), CAST((SELECT MAX(m) FROM paid) AS TIMESTAMP), INTERVAL 1 MONTH) AS s(g))
       SELECT months.m AS "metric_time.month", COALESCE(SUM(paid.amount), 0) AS revenue_mtd FROM months LEFT JOIN paid ON paid.m = months.m GROUP BY 1`,
    );
  });
});

describe('revenue_growth_mom (derived with an offset)', () => {
  it('by metric_time.month: a month without revenue (-1: it reads 0), a 0.00 month and one extra month at the end', async () => {
    await check(
      { metrics: ['revenue_growth_mom'], groupBy: ['metric_time.month'] },
      `WITH m AS (
         SELECT make_date(year(ordered_at), month(ordered_at), 1) AS month, SUM(amount) AS revenue
         FROM orders WHERE ${PAID} GROUP BY 1
       ), months AS (
         SELECT month FROM m UNION SELECT CAST(month + INTERVAL 1 MONTH AS DATE) FROM m
       )
       SELECT months.month AS "metric_time.month",
              (COALESCE(cur.revenue, 0) - COALESCE(prev.revenue, 0)) / NULLIF(COALESCE(prev.revenue, 0), 0) AS revenue_growth_mom
       FROM months
       LEFT JOIN m AS cur ON cur.month = months.month
       LEFT JOIN m AS prev ON prev.month = CAST(months.month - INTERVAL 1 MONTH AS DATE)`,
      { doubles: ['revenue_growth_mom'] },
    );
  });

  it('by metric_time.month and user.country', async () => {
    await check(
      { metrics: ['revenue_growth_mom'], groupBy: ['metric_time.month', 'user.country'] },
      `WITH m AS (
         SELECT make_date(year(o.ordered_at), month(o.ordered_at), 1) AS month, u.country, SUM(o.amount) AS revenue
         FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id
         WHERE o.status IN ('paid', 'shipped') GROUP BY 1, 2
       ), keys AS (
         SELECT month, country FROM m UNION SELECT CAST(month + INTERVAL 1 MONTH AS DATE), country FROM m
       )
       SELECT keys.month AS "metric_time.month", keys.country AS "user.country",
              (COALESCE(cur.revenue, 0) - COALESCE(prev.revenue, 0)) / NULLIF(COALESCE(prev.revenue, 0), 0) AS revenue_growth_mom
       FROM keys
       LEFT JOIN m AS cur ON cur.month = keys.month AND cur.country IS NOT DISTINCT FROM keys.country
       LEFT JOIN m AS prev ON prev.month = CAST(keys.month - INTERVAL 1 MONTH AS DATE) AND prev.country IS NOT DISTINCT FROM keys.country`,
      { doubles: ['revenue_growth_mom'] },
    );
  });
});

describe('signup_to_paid_order_7d (conversion)', () => {
  // Users with a paid or shipped order within [signed_up_at, signed_up_at + 7 days].
  const converted = `
    SELECT DISTINCT u.user_id
    FROM users AS u JOIN orders AS o ON o.user_id = u.user_id
    WHERE o.status IN ('paid', 'shipped')
      AND o.ordered_at >= u.signed_up_at
      AND o.ordered_at <= u.signed_up_at + INTERVAL 7 DAY`;

  it('by metric_time.month (exactly +7 days converts, +7 days +1 second does not)', async () => {
    await check(
      { metrics: ['signup_to_paid_order_7d'], groupBy: ['metric_time.month'] },
      `SELECT CAST(date_trunc('month', u.signed_up_at) AS DATE) AS "metric_time.month",
              CAST(COUNT(DISTINCT c.user_id) AS DOUBLE) / COUNT(DISTINCT u.user_id) AS signup_to_paid_order_7d
       FROM users AS u LEFT JOIN (${converted}) AS c ON c.user_id = u.user_id
       GROUP BY 1`,
      { doubles: ['signup_to_paid_order_7d'] },
    );
  });

  it('by metric_time.day', async () => {
    await check(
      { metrics: ['signup_to_paid_order_7d'], groupBy: ['metric_time.day'] },
      `SELECT CAST(u.signed_up_at AS DATE) AS "metric_time.day",
              CAST(COUNT(DISTINCT c.user_id) AS DOUBLE) / COUNT(DISTINCT u.user_id) AS signup_to_paid_order_7d
       FROM users AS u LEFT JOIN (${converted}) AS c ON c.user_id = u.user_id
       GROUP BY 1`,
      { doubles: ['signup_to_paid_order_7d'] },
    );
  });

  it('by user.country and user.plan (base-side dimensions, NULL groups included)', async () => {
    await check(
      { metrics: ['signup_to_paid_order_7d'], groupBy: ['user.country', 'user.plan'] },
      `SELECT u.country AS "user.country", u.plan AS "user.plan",
              CAST(COUNT(DISTINCT c.user_id) AS DOUBLE) / COUNT(DISTINCT u.user_id) AS signup_to_paid_order_7d
       FROM users AS u LEFT JOIN (${converted}) AS c ON c.user_id = u.user_id
       GROUP BY 1, 2`,
      { doubles: ['signup_to_paid_order_7d'] },
    );
  });
});

describe('coverage', () => {
  it('every metric of the example project is tested here', () => {
    const tested = [
      'revenue', 'orders', 'paid_orders', 'average_order_value', 'new_users', 'dau', 'wau', 'mau', 'average_dau', 'stickiness', 'searches',
      'search_clicks', 'search_ctr', 'items_sold', 'revenue_mtd', 'revenue_growth_mom', 'signup_to_paid_order_7d',
    ];
    expect([...project.graph.metrics.keys()].sort()).toEqual([...tested].sort());
  });
});
