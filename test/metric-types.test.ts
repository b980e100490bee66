/**
 * Metric types across grains, joins, filters, time ranges, time zones, ordering, multi-metric
 * requests, gap filling, errors and exactness. Every expectation is hand-written SQL directly over
 * the fixture tables (fixtures/shop.sql), or a literal; Tally is never compared with itself.
 *
 * Time buckets in the expected SQL are computed without date_trunc (make_date, isodow, ...) and
 * time zones without DuckDB's ICU (fixed offsets, see localTime), so that they do not share
 * Tally's code path.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProject, runQuery, TallyError, type DuckDBEngine, type Project, type QueryResult, type RequestInput } from '../src/index.js';
import { type CompareOptions, expectSameRows, localTime, openFixtureDb, type Row, sqlRows } from './helpers/fixture-db.js';

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

async function check(request: RequestInput, expectedSql: string, options: CompareOptions = {}): Promise<QueryResult> {
  const expected = await sqlRows(engine, expectedSql);
  expect(expected.length, 'the hand-written SQL returns rows (a vacuous test proves nothing)').toBeGreaterThan(0);
  const result = await runQuery(project, engine, request);
  expectSameRows(result.rows, expected, options);
  return result;
}

async function refusal(request: RequestInput): Promise<TallyError> {
  try {
    await runQuery(project, engine, request);
  } catch (e) {
    expect(e).toBeInstanceOf(TallyError);
    return e as TallyError;
  }
  throw new Error(`expected ${JSON.stringify(request)} to be refused`);
}

type Zone = 'UTC' | 'Asia/Seoul' | 'America/Los_Angeles';

/** Period starts computed by hand (no date_trunc). */
const G = {
  hour: (x: string): string => `make_timestamp(year(${x}), month(${x}), day(${x}), hour(${x}), 0, 0)`,
  day: (x: string): string => `CAST(${x} AS DATE)`,
  week: (x: string): string => `(CAST(${x} AS DATE) - CAST(isodow(${x}) - 1 AS INTEGER))`,
  month: (x: string): string => `make_date(year(${x}), month(${x}), 1)`,
  quarter: (x: string): string => `make_date(year(${x}), 3 * (quarter(${x}) - 1) + 1, 1)`,
  year: (x: string): string => `make_date(year(${x}), 1, 1)`,
};

const PAID = "o.status IN ('paid', 'shipped')";

/**
 * Daily values of a windowed count-distinct of events (wau/mau) by hand: an event on local day D
 * lies in the windows of days D .. D+window-1. Days run from the range start (or the first day
 * with rows) to the range end (or the last day whose window holds rows). Without keys every such
 * day appears, 0 where its window holds no rows; with keys, a group appears on the days whose
 * window holds its rows.
 * `from`/`toExclusive` are local wall-clock bounds; `where` filters event rows (aliases e, u).
 */
function windowDaily(o: { window: number | 'month'; name: string; zone?: Zone; where?: string; keys?: string[]; from?: string; toExclusive?: string }): string {
  const zone = o.zone ?? 'UTC';
  const lt = localTime('e.occurred_at', zone);
  const conds = [o.where ?? 'TRUE'];
  const month = o.window === 'month';
  if (o.from) conds.push(month ? `${lt} >= TIMESTAMP '${o.from}' + INTERVAL 1 DAY - INTERVAL 1 MONTH` : `${lt} >= TIMESTAMP '${o.from}' - INTERVAL ${Number(o.window) - 1} DAY`);
  if (o.toExclusive) conds.push(`${lt} < TIMESTAMP '${o.toExclusive}'`);
  const keys = o.keys ?? [];
  const keyOut = keys.map((_, i) => `, k${i}`).join('');
  return `
    WITH rows AS (
      SELECT CAST(${lt} AS DATE) AS day, e.user_id${keys.map((k, i) => `, ${k} AS k${i}`).join('')}
      FROM events AS e LEFT JOIN users AS u ON u.user_id = e.user_id
      WHERE ${conds.join(' AND ')}
    ), bounds AS (
      -- Periods are the range's; without one, from the first day with data to the last day whose window holds data.
      SELECT ${o.from ? `DATE '${o.from}'` : 'MIN(day)'} AS lo,
        ${o.toExclusive ? `CAST(DATE '${o.toExclusive}' - INTERVAL 1 DAY AS DATE)` : month ? 'CAST(MAX(day) + INTERVAL 1 MONTH AS DATE) - 1' : `MAX(day) + ${Number(o.window) - 1}`} AS hi
      FROM rows
    ), cover AS (
      ${month
        ? // Calendar month: day p's window holds the days from (p + 1 day) - 1 month to p.
          `SELECT CAST(g AS DATE) AS d, user_id${keyOut} FROM bounds, generate_series(CAST(lo AS TIMESTAMP), CAST(hi AS TIMESTAMP), INTERVAL 1 DAY) AS s(g)
           JOIN rows ON rows.day <= CAST(g AS DATE) AND rows.day >= CAST(g + INTERVAL 1 DAY - INTERVAL 1 MONTH AS DATE)`
        : `SELECT day + CAST(k AS INTEGER) AS d, user_id${keyOut} FROM rows, range(0, ${o.window}) AS r(k)`}
    )
    ${keys.length
      ? // With keys, a group is on a day when the day's window holds its rows.
        `SELECT d${keyOut}, COUNT(DISTINCT user_id) AS ${o.name}
    FROM cover, bounds
    WHERE d BETWEEN lo AND hi
    GROUP BY d${keyOut}`
      : // Without keys, every day from lo to hi is in the answer; a day whose window holds no rows counts 0.
        `, days AS (
      SELECT CAST(g AS DATE) AS d FROM bounds, generate_series(CAST(lo AS TIMESTAMP), CAST(hi AS TIMESTAMP), INTERVAL 1 DAY) AS s(g)
    )
    SELECT days.d AS d, COALESCE(COUNT(DISTINCT cover.user_id), 0) AS ${o.name}
    FROM days LEFT JOIN cover ON cover.d = days.d
    GROUP BY days.d`}`;
}

/**
 * Month-to-date revenue per day by hand, over local time, optionally from a (local) day on: every
 * day of the range (or from the first day with data to the end of its last month), 0 for a day
 * with no paid order yet in its month.
 */
function mtdDaily(o: { zone?: Zone; from?: string; toExclusive?: string } = {}): string {
  const lt = localTime('o.ordered_at', o.zone ?? 'UTC');
  const conds = [PAID];
  if (o.from) conds.push(`${lt} >= ${G.month(`TIMESTAMP '${o.from}'`)}`);
  if (o.toExclusive) conds.push(`${lt} < TIMESTAMP '${o.toExclusive}'`);
  return `
    WITH paid AS (SELECT CAST(${lt} AS DATE) AS day, o.amount FROM orders AS o WHERE ${conds.join(' AND ')}),
    days AS (
      SELECT CAST(g AS DATE) AS d
      FROM generate_series(CAST(${o.from ? `DATE '${o.from}'` : '(SELECT MIN(day) FROM paid)'} AS TIMESTAMP),
                           -- Periods are the range's; without one, they run to the end of the last month with data.
                           CAST(${o.toExclusive ? `CAST(DATE '${o.toExclusive}' - INTERVAL 1 DAY AS DATE)` : '(SELECT last_day(MAX(day)) FROM paid)'} AS TIMESTAMP), INTERVAL 1 DAY) AS s(g)
    )
    -- Every day of the series is in the answer; a day with no paid order yet in its month sums to 0.
    SELECT d, COALESCE(SUM(amount), 0) AS revenue_mtd
    FROM days LEFT JOIN paid ON paid.day <= days.d AND year(paid.day) = year(days.d) AND month(paid.day) = month(days.d)
    GROUP BY d`;
}

/** One period of each grain, as an interval (to find a period's last day by hand). */
const STEP = { week: '7 DAY', month: '1 MONTH', quarter: '3 MONTH', year: '1 YEAR' } as const;

/**
 * A daily cumulative series (columns d, k0.. and `name`, from windowDaily or mtdDaily) read as
 * Tally reads a cumulative metric at a coarser grain: on each period's last day (its last day in
 * the range, when a range `hi` cuts it), 0 where that day's window holds no rows. Without keys
 * every period from the first day's (`lo`, else the first day with a value) to the last day's
 * (`hi`, else the end of the period of the last day with a value) has a row; with keys, each
 * group that has a value on some day of the period.
 */
function atPeriodEnd(grain: keyof typeof STEP, daily: string, name: string, o: { keys?: number; lo?: string; hi?: string } = {}): string {
  const keys = Array.from({ length: o.keys ?? 0 }, (_, i) => `k${i}`);
  const last = o.hi ? `DATE '${o.hi}'` : `CAST(${G[grain]('MAX(d)')} + INTERVAL ${STEP[grain]} - INTERVAL 1 DAY AS DATE)`;
  const ends = `
    WITH daily AS (${daily}),
    span AS (SELECT ${o.lo ? `DATE '${o.lo}'` : 'MIN(d)'} AS lo, ${last} AS hi FROM daily),
    days AS (SELECT CAST(g AS DATE) AS day FROM span, generate_series(CAST(lo AS TIMESTAMP), CAST(hi AS TIMESTAMP), INTERVAL 1 DAY) AS s(g)),
    ends AS (SELECT ${G[grain]('day')} AS p, MAX(day) AS last FROM days GROUP BY 1)`;
  if (!keys.length) {
    return `${ends}
      SELECT ends.p AS "metric_time.${grain}", COALESCE(daily.${name}, 0) AS ${name} FROM ends LEFT JOIN daily ON daily.d = ends.last`;
  }
  return `${ends},
    groups AS (SELECT DISTINCT ${G[grain]('d')} AS p, ${keys.join(', ')} FROM daily)
    SELECT groups.p AS "metric_time.${grain}", ${keys.map((k) => `groups.${k}`).join(', ')}, COALESCE(daily.${name}, 0) AS ${name}
    FROM groups JOIN ends ON ends.p = groups.p
    LEFT JOIN daily ON daily.d = ends.last ${keys.map((k) => `AND daily.${k} IS NOT DISTINCT FROM groups.${k}`).join(' ')}`;
}

/** Users converted by the 7-day rule, on the stored (UTC) timestamps. */
const CONVERTED = `
  SELECT DISTINCT u.user_id
  FROM users AS u JOIN orders AS o ON o.user_id = u.user_id
  WHERE o.status IN ('paid', 'shipped') AND o.ordered_at >= u.signed_up_at AND o.ordered_at <= u.signed_up_at + INTERVAL 7 DAY`;

// ---------------------------------------------------------------------------------------------

describe('comparator sanity', () => {
  it('is exact for integers and decimal strings and tolerant only for named DOUBLE columns', () => {
    expect(() => expectSameRows([{ v: 3 }], [{ v: '3.00' }])).toThrow();
    expect(() => expectSameRows([{ v: '1.00' }], [{ v: '1.0' }])).toThrow();
    expect(() => expectSameRows([{ v: 0.1 + 0.2 }], [{ v: 0.3 }])).toThrow();
    expect(() => expectSameRows([{ v: 0.1 + 0.2 }], [{ v: 0.3 }], { doubles: ['v'] })).not.toThrow();
    expect(() => expectSameRows([{ v: 1.001 }], [{ v: 1 }], { doubles: ['v'] })).toThrow();
    expect(() => expectSameRows([{ k: 'a', v: 1 }, { k: 'b', v: 2 }], [{ k: 'b', v: 2 }, { k: 'a', v: 1 }])).not.toThrow();
    expect(() => expectSameRows([{ k: 'a', v: 1 }, { k: 'b', v: 2 }], [{ k: 'b', v: 2 }, { k: 'a', v: 1 }], { ordered: true })).toThrow();
    expect(() => expectSameRows([{ k: 'a', v: 1 }, { k: 'a', v: 1 }], [{ k: 'a', v: 1 }])).toThrow();
    expect(() => expectSameRows([{ k: null, v: 1 }], [{ k: 'null', v: 1 }])).toThrow();
    expect(() => expectSameRows([{ k: 'a', v: 1 }], [{ k: 'a', w: 1 }] as Row[])).toThrow();
  });
});

describe('grains', () => {
  it('simple: revenue by ISO week (a Sunday order stays in the previous week)', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.week'] },
      `SELECT ${G.week('o.ordered_at')} AS "metric_time.week", SUM(o.amount) AS revenue FROM orders AS o WHERE ${PAID} GROUP BY 1`,
    );
  });

  it('simple: revenue by quarter and by year', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.quarter'] },
      `SELECT ${G.quarter('o.ordered_at')} AS "metric_time.quarter", SUM(o.amount) AS revenue FROM orders AS o WHERE ${PAID} GROUP BY 1`,
    );
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.year'] },
      `SELECT ${G.year('o.ordered_at')} AS "metric_time.year", SUM(o.amount) AS revenue FROM orders AS o WHERE ${PAID} GROUP BY 1`,
    );
  });

  it('simple: orders and dau by hour come back as TIMESTAMP strings', async () => {
    const r = await check(
      { metrics: ['orders'], groupBy: ['metric_time.hour'] },
      `SELECT ${G.hour('o.ordered_at')} AS "metric_time.hour", COUNT(*) AS orders FROM orders AS o GROUP BY 1`,
    );
    expect(r.rows.map((x) => x['metric_time.hour'])).toContain('2025-01-02 10:00:00');
    await check(
      { metrics: ['dau'], groupBy: ['metric_time.hour'] },
      `SELECT ${G.hour('e.occurred_at')} AS "metric_time.hour", COUNT(DISTINCT e.user_id) AS dau FROM events AS e GROUP BY 1`,
    );
  });

  it('metric_time without a grain means day', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time'] },
      `SELECT ${G.day('o.ordered_at')} AS "metric_time", SUM(o.amount) AS revenue FROM orders AS o WHERE ${PAID} GROUP BY 1`,
    );
  });

  for (const grain of ['week', 'quarter', 'year'] as const) {
    it(`count distinct: dau by ${grain} counts each user once per ${grain}`, async () => {
      await check(
        { metrics: ['dau'], groupBy: [`metric_time.${grain}`] },
        `SELECT ${G[grain]('e.occurred_at')} AS "metric_time.${grain}", COUNT(DISTINCT e.user_id) AS dau FROM events AS e GROUP BY 1`,
      );
    });

    it(`ratio: average_order_value by ${grain}`, async () => {
      await check(
        { metrics: ['average_order_value'], groupBy: [`metric_time.${grain}`] },
        `SELECT ${G[grain]('o.ordered_at')} AS "metric_time.${grain}", CAST(SUM(o.amount) AS DOUBLE) / COUNT(*) AS average_order_value
         FROM orders AS o WHERE ${PAID} GROUP BY 1`,
        { doubles: ['average_order_value'] },
      );
    });

    it(`ratio: search_ctr by ${grain}`, async () => {
      await check(
        { metrics: ['search_ctr'], groupBy: [`metric_time.${grain}`] },
        `SELECT ${G[grain]('e.occurred_at')} AS "metric_time.${grain}",
                CAST(count_if(e.event_type = 'search_click') AS DOUBLE) / NULLIF(count_if(e.event_type = 'search'), 0) AS search_ctr
         FROM events AS e GROUP BY 1`,
        { doubles: ['search_ctr'] },
      );
    });

    it(`simple: new_users by ${grain}`, async () => {
      await check(
        { metrics: ['new_users'], groupBy: [`metric_time.${grain}`] },
        `SELECT ${G[grain]('signed_up_at')} AS "metric_time.${grain}", COUNT(*) AS new_users FROM users GROUP BY 1`,
      );
    });

    it(`cumulative window: wau by ${grain} (its value on the period's last day)`, async () => {
      await check({ metrics: ['wau'], groupBy: [`metric_time.${grain}`] }, atPeriodEnd(grain, windowDaily({ window: 7, name: 'wau' }), 'wau'));
    });

    it(`cumulative window: mau by ${grain}`, async () => {
      await check({ metrics: ['mau'], groupBy: [`metric_time.${grain}`] }, atPeriodEnd(grain, windowDaily({ window: 'month', name: 'mau' }), 'mau'));
    });

    it(`cumulative grain-to-date: revenue_mtd by ${grain}`, async () => {
      await check({ metrics: ['revenue_mtd'], groupBy: [`metric_time.${grain}`] }, atPeriodEnd(grain, mtdDaily(), 'revenue_mtd'));
    });

    it(`conversion: signup_to_paid_order_7d by ${grain}`, async () => {
      await check(
        { metrics: ['signup_to_paid_order_7d'], groupBy: [`metric_time.${grain}`] },
        `SELECT ${G[grain]('u.signed_up_at')} AS "metric_time.${grain}",
                CAST(COUNT(DISTINCT c.user_id) AS DOUBLE) / COUNT(DISTINCT u.user_id) AS signup_to_paid_order_7d
         FROM users AS u LEFT JOIN (${CONVERTED}) AS c ON c.user_id = u.user_id GROUP BY 1`,
        { doubles: ['signup_to_paid_order_7d'] },
      );
    });

    it(`simple over a SQL model: items_sold by ${grain}`, async () => {
      await check(
        { metrics: ['items_sold'], groupBy: [`metric_time.${grain}`] },
        `SELECT ${G[grain]('o.ordered_at')} AS "metric_time.${grain}", SUM(i.quantity) AS items_sold
         FROM order_items AS i JOIN orders AS o ON o.order_id = i.order_id GROUP BY 1`,
      );
    });
  }

  it('cumulative window at day grain in a week view: wau by day equals the covered-days definition', async () => {
    await check({ metrics: ['wau'], groupBy: ['metric_time.day'] }, `SELECT d AS "metric_time.day", wau FROM (${windowDaily({ window: 7, name: 'wau' })})`);
  });
});

describe('joins', () => {
  it('items_sold by user.country (2 hops) and product.category (1 hop) together', async () => {
    await check(
      { metrics: ['items_sold'], groupBy: ['user.country', 'product.category'] },
      `SELECT u.country AS "user.country", p.category AS "product.category", SUM(i.quantity) AS items_sold
       FROM order_items AS i JOIN orders AS o ON o.order_id = i.order_id
       LEFT JOIN users AS u ON u.user_id = o.user_id
       LEFT JOIN products AS p ON p.product_id = i.product_id
       GROUP BY 1, 2`,
    );
  });

  it('items_sold by product.brand (NULL brand and unknown product share the NULL group)', async () => {
    await check(
      { metrics: ['items_sold'], groupBy: ['product.brand'] },
      `SELECT p.brand AS "product.brand", SUM(i.quantity) AS items_sold
       FROM order_items AS i JOIN orders AS o ON o.order_id = i.order_id
       LEFT JOIN products AS p ON p.product_id = i.product_id GROUP BY 1`,
    );
  });

  it('items_sold by the explicit path order.user.plan', async () => {
    await check(
      { metrics: ['items_sold'], groupBy: ['order.user.plan'] },
      `SELECT u.plan AS "order.user.plan", SUM(i.quantity) AS items_sold
       FROM order_items AS i JOIN orders AS o ON o.order_id = i.order_id
       LEFT JOIN users AS u ON u.user_id = o.user_id GROUP BY 1`,
    );
  });

  it('revenue by a time dimension of a joined model at a grain: user.signed_up_at.month', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['user.signed_up_at.month'] },
      `SELECT ${G.month('u.signed_up_at')} AS "user.signed_up_at.month", SUM(o.amount) AS revenue
       FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id WHERE ${PAID} GROUP BY 1`,
    );
  });

  it('revenue by the entity key user', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['user'] },
      `SELECT o.user_id AS "user", SUM(o.amount) AS revenue FROM orders AS o WHERE ${PAID} GROUP BY 1`,
    );
  });

  it('dau by user.plan and event.event_type', async () => {
    await check(
      { metrics: ['dau'], groupBy: ['user.plan', 'event.event_type'] },
      `SELECT u.plan AS "user.plan", e.event_type AS "event.event_type", COUNT(DISTINCT e.user_id) AS dau
       FROM events AS e LEFT JOIN users AS u ON u.user_id = e.user_id GROUP BY 1, 2`,
    );
  });

  it('wau by day and user.country (windows per group)', async () => {
    await check(
      { metrics: ['wau'], groupBy: ['metric_time.day', 'user.country'] },
      `SELECT d AS "metric_time.day", k0 AS "user.country", wau FROM (${windowDaily({ window: 7, name: 'wau', keys: ['u.country'] })})`,
    );
  });
});

describe('filters', () => {
  const revenueByMonth = (where: string): string =>
    `SELECT ${G.month('o.ordered_at')} AS "metric_time.month", SUM(o.amount) AS revenue
     FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id
     WHERE ${PAID} AND (${where}) GROUP BY 1`;

  it('on a joined dimension: user.country = KR', async () => {
    await check({ metrics: ['revenue'], groupBy: ['metric_time.month'], where: "user.country = 'KR'" }, revenueByMonth("u.country = 'KR'"));
  });

  it('NOT (three-valued: NULL countries are not "not KR")', async () => {
    await check({ metrics: ['revenue'], groupBy: ['metric_time.month'], where: "NOT user.country = 'KR'" }, revenueByMonth("NOT u.country = 'KR'"));
  });

  it('OR across two dimensions of the joined model', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['user.country'], where: "user.country = 'KR' OR user.plan = 'pro'" },
      `SELECT u.country AS "user.country", SUM(o.amount) AS revenue
       FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id
       WHERE ${PAID} AND (u.country = 'KR' OR u.plan = 'pro') GROUP BY 1`,
    );
  });

  it('IN on the model\'s own dimension', async () => {
    await check(
      { metrics: ['orders'], groupBy: ['order.status'], where: "order.status IN ('refunded', 'cancelled')" },
      `SELECT status AS "order.status", COUNT(*) AS orders FROM orders WHERE status IN ('refunded', 'cancelled') GROUP BY 1`,
    );
  });

  it('IS NULL on a joined dimension (unknown user, guest order, NULL country)', async () => {
    await check({ metrics: ['revenue'], groupBy: ['metric_time.month'], where: 'user.country IS NULL' }, revenueByMonth('u.country IS NULL'));
  });

  it('IS NOT NULL combined with NOT IN', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.month'], where: "user.country IS NOT NULL AND user.country NOT IN ('KR', 'DE')" },
      revenueByMonth("u.country IS NOT NULL AND u.country NOT IN ('KR', 'DE')"),
    );
  });

  it('BETWEEN on metric_time (timestamps: the upper bound is midnight)', async () => {
    await check(
      { metrics: ['orders'], groupBy: ['metric_time.day'], where: "metric_time BETWEEN '2024-12-01' AND '2024-12-31'" },
      `SELECT ${G.day('ordered_at')} AS "metric_time.day", COUNT(*) AS orders FROM orders
       WHERE ordered_at BETWEEN TIMESTAMP '2024-12-01 00:00:00' AND TIMESTAMP '2024-12-31 00:00:00' GROUP BY 1`,
    );
  });

  it('metric_time.month equality', async () => {
    await check(
      { metrics: ['new_users'], groupBy: ['metric_time.day'], where: "metric_time.month = '2024-12-01'" },
      `SELECT ${G.day('signed_up_at')} AS "metric_time.day", COUNT(*) AS new_users FROM users
       WHERE ${G.month('signed_up_at')} = DATE '2024-12-01' GROUP BY 1`,
    );
  });

  it('LIKE on a dimension of a different joined model than the group-by', async () => {
    await check(
      { metrics: ['items_sold'], groupBy: ['user.country'], where: "product.category LIKE 'elec%'" },
      `SELECT u.country AS "user.country", SUM(i.quantity) AS items_sold
       FROM order_items AS i JOIN orders AS o ON o.order_id = i.order_id
       LEFT JOIN users AS u ON u.user_id = o.user_id
       LEFT JOIN products AS p ON p.product_id = i.product_id
       WHERE p.category LIKE 'elec%' GROUP BY 1`,
    );
  });

  it('a joined time dimension at a grain: user.signed_up_at.month', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.month'], where: "user.signed_up_at.month = '2024-11-01'" },
      revenueByMonth(`${G.month('u.signed_up_at')} = DATE '2024-11-01'`),
    );
  });

  it('an allowed function: coalesce(user.country, ...)', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.month'], where: "coalesce(user.country, 'none') = 'none'" },
      revenueByMonth("coalesce(u.country, 'none') = 'none'"),
    );
  });

  it('event.event_type on dau', async () => {
    await check(
      { metrics: ['dau'], groupBy: ['metric_time.day'], where: "event.event_type = 'search'" },
      `SELECT ${G.day('occurred_at')} AS "metric_time.day", COUNT(DISTINCT user_id) AS dau FROM events WHERE event_type = 'search' GROUP BY 1`,
    );
  });

  it('a ratio: the filter applies to numerator and denominator', async () => {
    await check(
      { metrics: ['average_order_value'], groupBy: ['metric_time.month'], where: "user.country IN ('KR', 'US')" },
      `SELECT ${G.month('o.ordered_at')} AS "metric_time.month", CAST(SUM(o.amount) AS DOUBLE) / COUNT(*) AS average_order_value
       FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id
       WHERE ${PAID} AND u.country IN ('KR', 'US') GROUP BY 1`,
      { doubles: ['average_order_value'] },
    );
  });

  it('a cumulative metric: rows are filtered before the windows', async () => {
    await check(
      { metrics: ['wau'], groupBy: ['metric_time.day'], where: "user.country = 'KR'" },
      `SELECT d AS "metric_time.day", wau FROM (${windowDaily({ window: 7, name: 'wau', where: "u.country = 'KR'" })})`,
    );
  });

  it('a conversion metric: the filter selects the base events', async () => {
    await check(
      { metrics: ['signup_to_paid_order_7d'], groupBy: ['metric_time.month'], where: "user.plan = 'free'" },
      `SELECT ${G.month('u.signed_up_at')} AS "metric_time.month",
              CAST(COUNT(DISTINCT c.user_id) AS DOUBLE) / COUNT(DISTINCT u.user_id) AS signup_to_paid_order_7d
       FROM users AS u LEFT JOIN (${CONVERTED}) AS c ON c.user_id = u.user_id
       WHERE u.plan = 'free' GROUP BY 1`,
      { doubles: ['signup_to_paid_order_7d'] },
    );
  });

  it('a derived metric with an offset: a dimension filter applies to both periods', async () => {
    await check(
      { metrics: ['revenue_growth_mom'], groupBy: ['metric_time.month'], where: "user.country = 'KR'" },
      `WITH m AS (
         SELECT ${G.month('o.ordered_at')} AS month, SUM(o.amount) AS revenue
         FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id
         WHERE ${PAID} AND u.country = 'KR' GROUP BY 1
       ), months AS (SELECT month FROM m UNION SELECT CAST(month + INTERVAL 1 MONTH AS DATE) FROM m)
       SELECT months.month AS "metric_time.month", (COALESCE(cur.revenue, 0) - COALESCE(prev.revenue, 0)) / NULLIF(COALESCE(prev.revenue, 0), 0) AS revenue_growth_mom
       FROM months LEFT JOIN m AS cur ON cur.month = months.month
       LEFT JOIN m AS prev ON prev.month = CAST(months.month - INTERVAL 1 MONTH AS DATE)`,
      { doubles: ['revenue_growth_mom'] },
    );
  });
});

describe('filters: more of the expression language', () => {
  it('an entity key: user IS NULL (guest orders) and user IN (...)', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.month'], where: 'user IS NULL' },
      `SELECT ${G.month('o.ordered_at')} AS "metric_time.month", SUM(o.amount) AS revenue FROM orders AS o WHERE ${PAID} AND o.user_id IS NULL GROUP BY 1`,
    );
    await check(
      { metrics: ['revenue'], groupBy: ['user'], where: 'user IN (1, 99)' },
      `SELECT o.user_id AS "user", SUM(o.amount) AS revenue FROM orders AS o WHERE ${PAID} AND o.user_id IN (1, 99) GROUP BY 1`,
    );
  });

  it('ILIKE and CASE', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['user.country'], where: "user.country ILIKE 'k%' OR CASE WHEN user.plan = 'pro' THEN 1 ELSE 0 END = 1" },
      `SELECT u.country AS "user.country", SUM(o.amount) AS revenue FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id
       WHERE ${PAID} AND (u.country ILIKE 'k%' OR CASE WHEN u.plan = 'pro' THEN 1 ELSE 0 END = 1) GROUP BY 1`,
    );
  });

  it('a filter on the joined order for items_sold, with <> on the product', async () => {
    await check(
      { metrics: ['items_sold'], groupBy: ['product.category'], where: "order.status IN ('paid', 'shipped') AND product.category <> 'toys'" },
      `SELECT p.category AS "product.category", SUM(i.quantity) AS items_sold
       FROM order_items AS i JOIN orders AS o ON o.order_id = i.order_id LEFT JOIN products AS p ON p.product_id = i.product_id
       WHERE ${PAID} AND p.category <> 'toys' GROUP BY 1`,
    );
  });

  it('metric_time.week in a time zone', async () => {
    const lo = localTime('o.ordered_at', 'Asia/Seoul');
    await check(
      { metrics: ['orders'], groupBy: ['metric_time.day'], where: "metric_time.week = '2024-12-30'", timeZone: 'Asia/Seoul' },
      `SELECT ${G.day(lo)} AS "metric_time.day", COUNT(*) AS orders FROM orders AS o WHERE ${G.week(lo)} = DATE '2024-12-30' GROUP BY 1`,
    );
  });

  it('a filter that contradicts the metric filter: no rows, or one total of 0 (an empty sum)', async () => {
    const byMonth = await runQuery(project, engine, { metrics: ['revenue'], groupBy: ['metric_time.month'], where: "order.status = 'refunded'" });
    expect(byMonth.rows).toEqual([]);
    await check({ metrics: ['revenue'], where: "order.status = 'refunded'" }, `SELECT COALESCE(SUM(o.amount), 0) AS revenue FROM orders AS o WHERE ${PAID} AND o.status = 'refunded'`);
  });
});

describe('joined time dimensions as group-bys', () => {
  it('user.signed_up_at (its own day granularity) and user.signed_up_at.year', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['user.signed_up_at', 'user.signed_up_at.year'] },
      `SELECT ${G.day('u.signed_up_at')} AS "user.signed_up_at", ${G.year('u.signed_up_at')} AS "user.signed_up_at.year", SUM(o.amount) AS revenue
       FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id WHERE ${PAID} GROUP BY 1, 2`,
    );
  });

  it('quarter grain widens a range to whole quarters', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.quarter'], from: '2024-11-15', to: '2025-01-15' },
      `SELECT ${G.quarter('o.ordered_at')} AS "metric_time.quarter", SUM(o.amount) AS revenue FROM orders AS o
       WHERE ${PAID} AND o.ordered_at >= TIMESTAMP '2024-10-01' AND o.ordered_at < TIMESTAMP '2025-04-01' GROUP BY 1`,
    );
  });
});

describe('time ranges', () => {
  it('a date-only `to` includes that whole day', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.day'], from: '2024-11-30', to: '2024-12-01' },
      `SELECT ${G.day('o.ordered_at')} AS "metric_time.day", SUM(o.amount) AS revenue FROM orders AS o
       WHERE ${PAID} AND o.ordered_at >= TIMESTAMP '2024-11-30 00:00:00' AND o.ordered_at < TIMESTAMP '2024-12-02 00:00:00' GROUP BY 1`,
    );
  });

  it('rows at the very first and last second of the range are inside it', async () => {
    // Order 114 is at 2025-01-01 00:00:00; orders 107 and 113 at 23:59:59 on the last day.
    await check(
      { metrics: ['orders'], groupBy: ['metric_time.day'], from: '2025-01-01', to: '2025-01-01' },
      `SELECT DATE '2025-01-01' AS "metric_time.day", COUNT(*) AS orders FROM orders
       WHERE ordered_at >= TIMESTAMP '2025-01-01 00:00:00' AND ordered_at <= TIMESTAMP '2025-01-01 23:59:59'`,
    );
    await check(
      { metrics: ['orders'], groupBy: ['metric_time.month'], from: '2024-11-30', to: '2024-12-31' },
      `SELECT ${G.month('ordered_at')} AS "metric_time.month", COUNT(*) AS orders FROM orders
       WHERE ordered_at >= TIMESTAMP '2024-11-01 00:00:00' AND ordered_at <= TIMESTAMP '2024-12-31 23:59:59' GROUP BY 1`,
    );
  });

  it('month grain widens the range to whole months', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.month'], from: '2024-12-15', to: '2025-01-10' },
      `SELECT ${G.month('o.ordered_at')} AS "metric_time.month", SUM(o.amount) AS revenue FROM orders AS o
       WHERE ${PAID} AND o.ordered_at >= TIMESTAMP '2024-12-01' AND o.ordered_at < TIMESTAMP '2025-02-01' GROUP BY 1`,
    );
  });

  it('week grain widens the range to whole ISO weeks (across the year boundary)', async () => {
    await check(
      { metrics: ['dau'], groupBy: ['metric_time.week'], from: '2025-01-01', to: '2025-01-01' },
      `SELECT DATE '2024-12-30' AS "metric_time.week", COUNT(DISTINCT user_id) AS dau FROM events
       WHERE occurred_at >= TIMESTAMP '2024-12-30' AND occurred_at < TIMESTAMP '2025-01-06'`,
    );
  });

  it('hour grain: from/to snap to whole hours, `to` inclusive', async () => {
    await check(
      { metrics: ['dau', 'searches'], groupBy: ['metric_time.hour'], from: '2025-01-20 12:30:00', to: '2025-01-20 13:00:00' },
      `SELECT ${G.hour('occurred_at')} AS "metric_time.hour", COUNT(DISTINCT user_id) AS dau, count_if(event_type = 'search') AS searches
       FROM events WHERE occurred_at >= TIMESTAMP '2025-01-20 12:00:00' AND occurred_at < TIMESTAMP '2025-01-20 14:00:00' GROUP BY 1`,
    );
  });

  it('a timestamp `to` at day grain includes the rest of that day', async () => {
    await check(
      { metrics: ['orders'], groupBy: ['metric_time.day'], from: '2024-11-30', to: '2024-12-01 03:00:00' },
      `SELECT ${G.day('ordered_at')} AS "metric_time.day", COUNT(*) AS orders FROM orders
       WHERE ordered_at >= TIMESTAMP '2024-11-30' AND ordered_at < TIMESTAMP '2024-12-02' GROUP BY 1`,
    );
  });

  it('a range without a time group-by still bounds the metric', async () => {
    await check(
      { metrics: ['revenue', 'new_users'], groupBy: ['user.country'], from: '2024-12-01', to: '2024-12-31' },
      `WITH r AS (
         SELECT u.country, SUM(o.amount) AS revenue FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id
         WHERE ${PAID} AND o.ordered_at >= TIMESTAMP '2024-12-01' AND o.ordered_at < TIMESTAMP '2025-01-01' GROUP BY 1
       ), n AS (
         SELECT country, COUNT(*) AS new_users FROM users
         WHERE signed_up_at >= TIMESTAMP '2024-12-01' AND signed_up_at < TIMESTAMP '2025-01-01' GROUP BY 1
       )
       SELECT COALESCE(r.country, n.country) AS "user.country", r.revenue, n.new_users
       FROM r FULL OUTER JOIN n ON r.country IS NOT DISTINCT FROM n.country`,
    );
  });

  it('cumulative: windows at the start of the range count events before it', async () => {
    await check(
      { metrics: ['wau'], groupBy: ['metric_time.day'], from: '2024-12-05', to: '2024-12-20' },
      `SELECT d AS "metric_time.day", wau FROM (${windowDaily({ window: 7, name: 'wau', from: '2024-12-05', toExclusive: '2024-12-21' })})`,
    );
  });

  it('cumulative: mau by month over a range starting after a long gap', async () => {
    await check(
      { metrics: ['mau'], groupBy: ['metric_time.month'], from: '2025-02-01', to: '2025-03-31' },
      atPeriodEnd('month', windowDaily({ window: 'month', name: 'mau', from: '2025-02-01', toExclusive: '2025-04-01' }), 'mau', { lo: '2025-02-01', hi: '2025-03-31' }),
    );
  });

  it('grain-to-date: revenue_mtd from the middle of a month includes the days before it', async () => {
    await check(
      { metrics: ['revenue_mtd'], groupBy: ['metric_time.day'], from: '2024-12-15', to: '2024-12-31' },
      `SELECT d AS "metric_time.day", revenue_mtd FROM (${mtdDaily({ from: '2024-12-15', toExclusive: '2025-01-01' })})`,
    );
  });

  it('offset: growth in the first month of the range compares with the month before it', async () => {
    await check(
      { metrics: ['revenue_growth_mom'], groupBy: ['metric_time.month'], from: '2025-01-01', to: '2025-03-31' },
      `WITH m AS (
         SELECT ${G.month('o.ordered_at')} AS month, SUM(o.amount) AS revenue FROM orders AS o WHERE ${PAID} GROUP BY 1
       ), months AS (SELECT month FROM m UNION SELECT CAST(month + INTERVAL 1 MONTH AS DATE) FROM m)
       SELECT months.month AS "metric_time.month", (COALESCE(cur.revenue, 0) - COALESCE(prev.revenue, 0)) / NULLIF(COALESCE(prev.revenue, 0), 0) AS revenue_growth_mom
       FROM months LEFT JOIN m AS cur ON cur.month = months.month
       LEFT JOIN m AS prev ON prev.month = CAST(months.month - INTERVAL 1 MONTH AS DATE)
       WHERE months.month BETWEEN DATE '2025-01-01' AND DATE '2025-03-01'`,
      { doubles: ['revenue_growth_mom'] },
    );
  });

  it('conversion: a conversion after the end of the range still counts for a sign-up inside it', async () => {
    await check(
      { metrics: ['signup_to_paid_order_7d'], groupBy: ['metric_time.day'], from: '2025-01-01', to: '2025-01-10' },
      `SELECT ${G.day('u.signed_up_at')} AS "metric_time.day",
              CAST(COUNT(DISTINCT c.user_id) AS DOUBLE) / COUNT(DISTINCT u.user_id) AS signup_to_paid_order_7d
       FROM users AS u LEFT JOIN (${CONVERTED}) AS c ON c.user_id = u.user_id
       WHERE u.signed_up_at >= TIMESTAMP '2025-01-01' AND u.signed_up_at < TIMESTAMP '2025-01-11' GROUP BY 1`,
      { doubles: ['signup_to_paid_order_7d'] },
    );
  });
});

describe('time zones', () => {
  for (const zone of ['Asia/Seoul', 'America/Los_Angeles'] as const) {
    const lo = localTime('o.ordered_at', zone);
    const le = localTime('e.occurred_at', zone);
    const lu = localTime('u.signed_up_at', zone);

    it(`revenue by day in ${zone}`, async () => {
      await check(
        { metrics: ['revenue'], groupBy: ['metric_time.day'], timeZone: zone },
        `SELECT ${G.day(lo)} AS "metric_time.day", SUM(o.amount) AS revenue FROM orders AS o WHERE ${PAID} GROUP BY 1`,
      );
    });

    it(`revenue by month in ${zone}`, async () => {
      await check(
        { metrics: ['revenue'], groupBy: ['metric_time.month'], timeZone: zone },
        `SELECT ${G.month(lo)} AS "metric_time.month", SUM(o.amount) AS revenue FROM orders AS o WHERE ${PAID} GROUP BY 1`,
      );
    });

    it(`orders by hour in ${zone} (wall-clock hours)`, async () => {
      await check(
        { metrics: ['orders'], groupBy: ['metric_time.hour'], timeZone: zone },
        `SELECT ${G.hour(lo)} AS "metric_time.hour", COUNT(*) AS orders FROM orders AS o GROUP BY 1`,
      );
    });

    it(`dau by ISO week in ${zone}`, async () => {
      await check(
        { metrics: ['dau'], groupBy: ['metric_time.week'], timeZone: zone },
        `SELECT ${G.week(le)} AS "metric_time.week", COUNT(DISTINCT e.user_id) AS dau FROM events AS e GROUP BY 1`,
      );
    });

    it(`new_users by month and user.country in ${zone}`, async () => {
      await check(
        { metrics: ['new_users'], groupBy: ['metric_time.month', 'user.country'], timeZone: zone },
        `SELECT ${G.month(lu)} AS "metric_time.month", u.country AS "user.country", COUNT(*) AS new_users FROM users AS u GROUP BY 1, 2`,
      );
    });

    it(`wau by day in ${zone}`, async () => {
      await check(
        { metrics: ['wau'], groupBy: ['metric_time.day'], timeZone: zone },
        `SELECT d AS "metric_time.day", wau FROM (${windowDaily({ window: 7, name: 'wau', zone })})`,
      );
    });

    it(`revenue_mtd by day in ${zone}`, async () => {
      await check(
        { metrics: ['revenue_mtd'], groupBy: ['metric_time.day'], timeZone: zone },
        `SELECT d AS "metric_time.day", revenue_mtd FROM (${mtdDaily({ zone })})`,
      );
    });

    it(`revenue_growth_mom by month in ${zone}`, async () => {
      await check(
        { metrics: ['revenue_growth_mom'], groupBy: ['metric_time.month'], timeZone: zone },
        `WITH m AS (
           SELECT ${G.month(lo)} AS month, SUM(o.amount) AS revenue FROM orders AS o WHERE ${PAID} GROUP BY 1
         ), months AS (SELECT month FROM m UNION SELECT CAST(month + INTERVAL 1 MONTH AS DATE) FROM m)
         SELECT months.month AS "metric_time.month", (COALESCE(cur.revenue, 0) - COALESCE(prev.revenue, 0)) / NULLIF(COALESCE(prev.revenue, 0), 0) AS revenue_growth_mom
         FROM months LEFT JOIN m AS cur ON cur.month = months.month
         LEFT JOIN m AS prev ON prev.month = CAST(months.month - INTERVAL 1 MONTH AS DATE)`,
        { doubles: ['revenue_growth_mom'] },
      );
    });

    it(`signup_to_paid_order_7d by day in ${zone}: days are local, the 7-day window is elapsed time`, async () => {
      await check(
        { metrics: ['signup_to_paid_order_7d'], groupBy: ['metric_time.day'], timeZone: zone },
        `SELECT ${G.day(lu)} AS "metric_time.day",
                CAST(COUNT(DISTINCT c.user_id) AS DOUBLE) / COUNT(DISTINCT u.user_id) AS signup_to_paid_order_7d
         FROM users AS u LEFT JOIN (${CONVERTED}) AS c ON c.user_id = u.user_id GROUP BY 1`,
        { doubles: ['signup_to_paid_order_7d'] },
      );
    });

    it(`a range in ${zone} is in local wall-clock time`, async () => {
      // The local day holding the orders placed around 2024-12-01 00:00 UTC.
      const [day, next] = zone === 'Asia/Seoul' ? ['2024-12-01', '2024-12-02'] : ['2024-11-30', '2024-12-01'];
      await check(
        { metrics: ['revenue'], groupBy: ['metric_time.day'], timeZone: zone, from: day, to: day },
        `SELECT ${G.day(lo)} AS "metric_time.day", SUM(o.amount) AS revenue FROM orders AS o
         WHERE ${PAID} AND ${lo} >= TIMESTAMP '${day}' AND ${lo} < TIMESTAMP '${next}' GROUP BY 1`,
      );
    });

    it(`a where on metric_time in ${zone} is in local wall-clock time`, async () => {
      await check(
        { metrics: ['orders'], groupBy: ['metric_time.month'], timeZone: zone, where: "metric_time >= '2024-12-01' AND metric_time < '2025-03-01'" },
        `SELECT ${G.month(lo)} AS "metric_time.month", COUNT(*) AS orders FROM orders AS o
         WHERE ${lo} >= TIMESTAMP '2024-12-01' AND ${lo} < TIMESTAMP '2025-03-01' GROUP BY 1`,
      );
    });
  }
});

describe('ordering and limit', () => {
  it('top countries by revenue', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['user.country'], orderBy: ['-revenue'], limit: 3 },
      `SELECT u.country AS "user.country", SUM(o.amount) AS revenue FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id
       WHERE ${PAID} GROUP BY 1 ORDER BY revenue DESC LIMIT 3`,
      { ordered: true },
    );
  });

  it('without orderBy, rows come ordered by the group-bys', async () => {
    await check(
      { metrics: ['orders'], groupBy: ['metric_time.month'] },
      `SELECT ${G.month('ordered_at')} AS "metric_time.month", COUNT(*) AS orders FROM orders GROUP BY 1 ORDER BY 1`,
      { ordered: true },
    );
  });

  it('several sort keys, descending metric then ascending time, with a limit', async () => {
    await check(
      { metrics: ['dau'], groupBy: ['metric_time.day'], orderBy: ['-dau', 'metric_time.day'], limit: 5 },
      `SELECT ${G.day('occurred_at')} AS "metric_time.day", COUNT(DISTINCT user_id) AS dau FROM events GROUP BY 1 ORDER BY dau DESC, 1 LIMIT 5`,
      { ordered: true },
    );
  });

  it('ordering a multi-metric request by a dimension (NULLs last)', async () => {
    await check(
      { metrics: ['revenue', 'orders'], groupBy: ['user.country'], orderBy: ['-orders', 'user.country'] },
      `SELECT u.country AS "user.country", SUM(o.amount) FILTER (WHERE ${PAID}) AS revenue, COUNT(*) AS orders
       FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id GROUP BY 1 ORDER BY orders DESC, 1 ASC NULLS LAST`,
      { ordered: true },
    );
  });

  it('a limit on a ratio ordered ascending', async () => {
    await check(
      { metrics: ['average_order_value'], groupBy: ['metric_time.day'], orderBy: ['average_order_value'], limit: 4 },
      `SELECT ${G.day('o.ordered_at')} AS "metric_time.day", CAST(SUM(o.amount) AS DOUBLE) / COUNT(*) AS average_order_value
       FROM orders AS o WHERE ${PAID} GROUP BY 1 ORDER BY 2 LIMIT 4`,
      { ordered: true, doubles: ['average_order_value'] },
    );
  });
});

describe('multi-metric requests', () => {
  it('revenue + dau + new_users by month and user.country (three models, NULL keys match)', async () => {
    await check(
      { metrics: ['revenue', 'dau', 'new_users'], groupBy: ['metric_time.month', 'user.country'] },
      `WITH r AS (
         SELECT ${G.month('o.ordered_at')} AS m, u.country AS c, SUM(o.amount) AS revenue
         FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id WHERE ${PAID} GROUP BY 1, 2
       ), d AS (
         SELECT ${G.month('e.occurred_at')} AS m, u.country AS c, COUNT(DISTINCT e.user_id) AS dau
         FROM events AS e LEFT JOIN users AS u ON u.user_id = e.user_id GROUP BY 1, 2
       ), n AS (
         SELECT ${G.month('signed_up_at')} AS m, country AS c, COUNT(*) AS new_users FROM users GROUP BY 1, 2
       ), rd AS (
         SELECT COALESCE(r.m, d.m) AS m, COALESCE(r.c, d.c) AS c, r.revenue, d.dau
         FROM r FULL OUTER JOIN d ON r.m = d.m AND r.c IS NOT DISTINCT FROM d.c
       )
       SELECT COALESCE(rd.m, n.m) AS "metric_time.month", COALESCE(rd.c, n.c) AS "user.country", COALESCE(rd.revenue, 0) AS revenue, COALESCE(rd.dau, 0) AS dau, COALESCE(n.new_users, 0) AS new_users
       FROM rd FULL OUTER JOIN n ON rd.m = n.m AND rd.c IS NOT DISTINCT FROM n.c`,
    );
  });

  it('revenue + dau by user.country: one NULL-country row, not two', async () => {
    const r = await check(
      { metrics: ['revenue', 'dau'], groupBy: ['user.country'] },
      `WITH r AS (SELECT u.country AS c, SUM(o.amount) AS revenue FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id WHERE ${PAID} GROUP BY 1),
            d AS (SELECT u.country AS c, COUNT(DISTINCT e.user_id) AS dau FROM events AS e LEFT JOIN users AS u ON u.user_id = e.user_id GROUP BY 1)
       SELECT COALESCE(r.c, d.c) AS "user.country", r.revenue, d.dau FROM r FULL OUTER JOIN d ON r.c IS NOT DISTINCT FROM d.c`,
    );
    expect(r.rows.filter((x) => x['user.country'] === null)).toHaveLength(1);
  });

  it('simple + SQL model + cumulative by month: revenue, items_sold, wau', async () => {
    await check(
      { metrics: ['revenue', 'items_sold', 'wau'], groupBy: ['metric_time.month'] },
      `WITH r AS (SELECT ${G.month('o.ordered_at')} AS m, SUM(o.amount) AS revenue FROM orders AS o WHERE ${PAID} GROUP BY 1),
            i AS (SELECT ${G.month('o.ordered_at')} AS m, SUM(i.quantity) AS items_sold FROM order_items AS i JOIN orders AS o ON o.order_id = i.order_id GROUP BY 1),
            w AS (SELECT "metric_time.month" AS m, wau FROM (${atPeriodEnd('month', windowDaily({ window: 7, name: 'wau' }), 'wau')})),
            keys AS (SELECT m FROM r UNION SELECT m FROM i UNION SELECT m FROM w)
       SELECT keys.m AS "metric_time.month", COALESCE(r.revenue, 0) AS revenue, COALESCE(i.items_sold, 0) AS items_sold, COALESCE(w.wau, 0) AS wau
       FROM keys LEFT JOIN r ON r.m = keys.m LEFT JOIN i ON i.m = keys.m LEFT JOIN w ON w.m = keys.m`,
    );
  });

  it('metrics sharing an input: revenue, average_order_value, revenue_growth_mom by month', async () => {
    await check(
      { metrics: ['revenue', 'average_order_value', 'revenue_growth_mom'], groupBy: ['metric_time.month'] },
      `WITH m AS (
         SELECT ${G.month('o.ordered_at')} AS month, SUM(o.amount) AS revenue, CAST(SUM(o.amount) AS DOUBLE) / COUNT(*) AS aov
         FROM orders AS o WHERE ${PAID} GROUP BY 1
       ), months AS (SELECT month FROM m UNION SELECT CAST(month + INTERVAL 1 MONTH AS DATE) FROM m)
       SELECT months.month AS "metric_time.month", COALESCE(cur.revenue, 0) AS revenue, cur.aov AS average_order_value,
              (COALESCE(cur.revenue, 0) - COALESCE(prev.revenue, 0)) / NULLIF(COALESCE(prev.revenue, 0), 0) AS revenue_growth_mom
       FROM months LEFT JOIN m AS cur ON cur.month = months.month
       LEFT JOIN m AS prev ON prev.month = CAST(months.month - INTERVAL 1 MONTH AS DATE)`,
      { doubles: ['average_order_value', 'revenue_growth_mom'] },
    );
  });

  it('new_users + signup_to_paid_order_7d by month and user.country', async () => {
    await check(
      { metrics: ['new_users', 'signup_to_paid_order_7d'], groupBy: ['metric_time.month', 'user.country'] },
      `SELECT ${G.month('u.signed_up_at')} AS "metric_time.month", u.country AS "user.country", COUNT(*) AS new_users,
              CAST(COUNT(DISTINCT c.user_id) AS DOUBLE) / COUNT(DISTINCT u.user_id) AS signup_to_paid_order_7d
       FROM users AS u LEFT JOIN (${CONVERTED}) AS c ON c.user_id = u.user_id GROUP BY 1, 2`,
      { doubles: ['signup_to_paid_order_7d'] },
    );
  });

  it('searches, search_clicks and search_ctr by day', async () => {
    await check(
      { metrics: ['searches', 'search_clicks', 'search_ctr'], groupBy: ['metric_time.day'] },
      `SELECT ${G.day('occurred_at')} AS "metric_time.day", count_if(event_type = 'search') AS searches,
              count_if(event_type = 'search_click') AS search_clicks,
              CAST(count_if(event_type = 'search_click') AS DOUBLE) / NULLIF(count_if(event_type = 'search'), 0) AS search_ctr
       FROM events GROUP BY 1`,
      { doubles: ['search_ctr'] },
    );
  });

  it('no group-by: one row of totals', async () => {
    await check(
      { metrics: ['revenue', 'orders', 'new_users', 'dau'] },
      `SELECT (SELECT SUM(amount) FROM orders WHERE status IN ('paid', 'shipped')) AS revenue, (SELECT COUNT(*) FROM orders) AS orders,
              (SELECT COUNT(*) FROM users) AS new_users, (SELECT COUNT(DISTINCT user_id) FROM events) AS dau`,
    );
  });
});

describe('fillGaps', () => {
  it('revenue by day over a range: one row per day, 0 without data', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.day'], from: '2025-01-01', to: '2025-01-15', fillGaps: true },
      `WITH days AS (SELECT CAST(g AS DATE) AS d FROM generate_series(TIMESTAMP '2025-01-01', TIMESTAMP '2025-01-15', INTERVAL 1 DAY) AS s(g)),
            r AS (SELECT ${G.day('o.ordered_at')} AS d, SUM(o.amount) AS revenue FROM orders AS o WHERE ${PAID} GROUP BY 1)
       SELECT days.d AS "metric_time.day", COALESCE(r.revenue, 0) AS revenue FROM days LEFT JOIN r ON r.d = days.d`,
    );
  });

  it('revenue by month without a range: from the first to the last month with data', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.month'], fillGaps: true },
      `WITH r AS (SELECT ${G.month('o.ordered_at')} AS m, SUM(o.amount) AS revenue FROM orders AS o WHERE ${PAID} GROUP BY 1),
            months AS (SELECT CAST(g AS DATE) AS m FROM generate_series(CAST((SELECT MIN(m) FROM r) AS TIMESTAMP), CAST((SELECT MAX(m) FROM r) AS TIMESTAMP), INTERVAL 1 MONTH) AS s(g))
       SELECT months.m AS "metric_time.month", COALESCE(r.revenue, 0) AS revenue FROM months LEFT JOIN r ON r.m = months.m`,
    );
  });

  it('dau by week over a range that is widened to whole weeks', async () => {
    await check(
      { metrics: ['dau'], groupBy: ['metric_time.week'], from: '2025-01-01', to: '2025-02-28', fillGaps: true },
      `WITH weeks AS (SELECT CAST(g AS DATE) AS w FROM generate_series(TIMESTAMP '2024-12-30', TIMESTAMP '2025-02-24', INTERVAL 7 DAY) AS s(g)),
            d AS (SELECT ${G.week('occurred_at')} AS w, COUNT(DISTINCT user_id) AS dau FROM events
                  WHERE occurred_at >= TIMESTAMP '2024-12-30' AND occurred_at < TIMESTAMP '2025-03-03' GROUP BY 1)
       SELECT weeks.w AS "metric_time.week", COALESCE(d.dau, 0) AS dau FROM weeks LEFT JOIN d ON d.w = weeks.w`,
    );
  });

  it('two metrics by month over a range wider than the data', async () => {
    await check(
      { metrics: ['revenue', 'new_users'], groupBy: ['metric_time.month'], from: '2024-10-01', to: '2025-06-30', fillGaps: true },
      `WITH months AS (SELECT CAST(g AS DATE) AS m FROM generate_series(TIMESTAMP '2024-10-01', TIMESTAMP '2025-06-01', INTERVAL 1 MONTH) AS s(g)),
            r AS (SELECT ${G.month('o.ordered_at')} AS m, SUM(o.amount) AS revenue FROM orders AS o WHERE ${PAID} GROUP BY 1),
            n AS (SELECT ${G.month('signed_up_at')} AS m, COUNT(*) AS new_users FROM users GROUP BY 1)
       SELECT months.m AS "metric_time.month", COALESCE(r.revenue, 0) AS revenue, COALESCE(n.new_users, 0) AS new_users FROM months LEFT JOIN r ON r.m = months.m LEFT JOIN n ON n.m = months.m`,
    );
  });
});

describe('combinations', () => {
  it('fillGaps with a dimension: every month for every country seen', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.month', 'user.country'], from: '2024-11-01', to: '2025-02-28', fillGaps: true },
      `WITH r AS (
         SELECT ${G.month('o.ordered_at')} AS m, u.country AS c, SUM(o.amount) AS revenue
         FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id
         WHERE ${PAID} AND o.ordered_at >= TIMESTAMP '2024-11-01' AND o.ordered_at < TIMESTAMP '2025-03-01' GROUP BY 1, 2
       ), months AS (SELECT CAST(g AS DATE) AS m FROM generate_series(TIMESTAMP '2024-11-01', TIMESTAMP '2025-02-01', INTERVAL 1 MONTH) AS s(g)),
       countries AS (SELECT DISTINCT c FROM r)
       SELECT months.m AS "metric_time.month", countries.c AS "user.country", COALESCE(r.revenue, 0) AS revenue
       FROM months CROSS JOIN countries LEFT JOIN r ON r.m = months.m AND r.c IS NOT DISTINCT FROM countries.c`,
    );
  });

  it('fillGaps in a time zone', async () => {
    const lo = localTime('o.ordered_at', 'Asia/Seoul');
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.day'], from: '2024-11-28', to: '2024-12-04', timeZone: 'Asia/Seoul', fillGaps: true },
      `WITH days AS (SELECT CAST(g AS DATE) AS d FROM generate_series(TIMESTAMP '2024-11-28', TIMESTAMP '2024-12-04', INTERVAL 1 DAY) AS s(g)),
            r AS (SELECT ${G.day(lo)} AS d, SUM(o.amount) AS revenue FROM orders AS o WHERE ${PAID} GROUP BY 1)
       SELECT days.d AS "metric_time.day", COALESCE(r.revenue, 0) AS revenue FROM days LEFT JOIN r ON r.d = days.d`,
    );
  });

  it('fillGaps by hour', async () => {
    await check(
      { metrics: ['dau'], groupBy: ['metric_time.hour'], from: '2025-01-20 10:00:00', to: '2025-01-20 14:00:00', fillGaps: true },
      `WITH hours AS (SELECT g AS h FROM generate_series(TIMESTAMP '2025-01-20 10:00:00', TIMESTAMP '2025-01-20 14:00:00', INTERVAL 1 HOUR) AS s(g)),
            d AS (SELECT ${G.hour('occurred_at')} AS h, COUNT(DISTINCT user_id) AS dau FROM events GROUP BY 1)
       SELECT hours.h AS "metric_time.hour", COALESCE(d.dau, 0) AS dau FROM hours LEFT JOIN d ON d.h = hours.h`,
    );
  });

  it('fillGaps with ordering and a limit', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.day'], from: '2025-01-01', to: '2025-01-15', fillGaps: true, orderBy: ['-metric_time.day'], limit: 5 },
      `WITH days AS (SELECT CAST(g AS DATE) AS d FROM generate_series(TIMESTAMP '2025-01-01', TIMESTAMP '2025-01-15', INTERVAL 1 DAY) AS s(g)),
            r AS (SELECT ${G.day('o.ordered_at')} AS d, SUM(o.amount) AS revenue FROM orders AS o WHERE ${PAID} GROUP BY 1)
       SELECT days.d AS "metric_time.day", COALESCE(r.revenue, 0) AS revenue FROM days LEFT JOIN r ON r.d = days.d ORDER BY 1 DESC LIMIT 5`,
      { ordered: true },
    );
  });

  it('fillGaps on a derived offset metric over a range wider than the data', async () => {
    await check(
      { metrics: ['revenue_growth_mom'], groupBy: ['metric_time.month'], from: '2024-10-01', to: '2025-07-31', fillGaps: true },
      `WITH m AS (SELECT ${G.month('o.ordered_at')} AS month, SUM(o.amount) AS revenue FROM orders AS o WHERE ${PAID} GROUP BY 1),
            months AS (SELECT CAST(g AS DATE) AS month FROM generate_series(TIMESTAMP '2024-10-01', TIMESTAMP '2025-07-01', INTERVAL 1 MONTH) AS s(g))
       SELECT months.month AS "metric_time.month", (COALESCE(cur.revenue, 0) - COALESCE(prev.revenue, 0)) / NULLIF(COALESCE(prev.revenue, 0), 0) AS revenue_growth_mom
       FROM months LEFT JOIN m AS cur ON cur.month = months.month
       LEFT JOIN m AS prev ON prev.month = CAST(months.month - INTERVAL 1 MONTH AS DATE)`,
      { doubles: ['revenue_growth_mom'] },
    );
  });

  it('fillGaps on a conversion metric', async () => {
    await check(
      { metrics: ['signup_to_paid_order_7d'], groupBy: ['metric_time.month'], from: '2024-10-01', to: '2025-05-31', fillGaps: true },
      `WITH months AS (SELECT CAST(g AS DATE) AS m FROM generate_series(TIMESTAMP '2024-10-01', TIMESTAMP '2025-05-01', INTERVAL 1 MONTH) AS s(g)),
            r AS (SELECT ${G.month('u.signed_up_at')} AS m, CAST(COUNT(DISTINCT c.user_id) AS DOUBLE) / COUNT(DISTINCT u.user_id) AS rate
                  FROM users AS u LEFT JOIN (${CONVERTED}) AS c ON c.user_id = u.user_id GROUP BY 1)
       SELECT months.m AS "metric_time.month", r.rate AS signup_to_paid_order_7d FROM months LEFT JOIN r ON r.m = months.m`,
      { doubles: ['signup_to_paid_order_7d'] },
    );
  });

  it('cumulative with a range in a time zone', async () => {
    await check(
      { metrics: ['wau'], groupBy: ['metric_time.day'], from: '2024-12-30', to: '2025-01-12', timeZone: 'Asia/Seoul' },
      `SELECT d AS "metric_time.day", wau FROM (${windowDaily({ window: 7, name: 'wau', zone: 'Asia/Seoul', from: '2024-12-30', toExclusive: '2025-01-13' })})`,
    );
  });

  it('cumulative by week with a range starting mid-week', async () => {
    await check(
      { metrics: ['wau'], groupBy: ['metric_time.week'], from: '2025-01-01', to: '2025-01-31' },
      atPeriodEnd('week', windowDaily({ window: 7, name: 'wau', from: '2024-12-30', toExclusive: '2025-02-03' }), 'wau', { lo: '2024-12-30', hi: '2025-02-02' }),
    );
  });

  it('cumulative by month and user.country with a range', async () => {
    await check(
      { metrics: ['mau'], groupBy: ['metric_time.month', 'user.country'], from: '2025-01-01', to: '2025-03-31' },
      `SELECT "metric_time.month", k0 AS "user.country", mau
       FROM (${atPeriodEnd('month', windowDaily({ window: 'month', name: 'mau', keys: ['u.country'], from: '2025-01-01', toExclusive: '2025-04-01' }), 'mau', { keys: 1, lo: '2025-01-01', hi: '2025-03-31' })})`,
    );
  });

  it('grain-to-date by day and user.country', async () => {
    await check(
      { metrics: ['revenue_mtd'], groupBy: ['metric_time.day', 'user.country'] },
      `WITH paid AS (
         SELECT CAST(o.ordered_at AS DATE) AS day, u.country, o.amount
         FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id WHERE ${PAID}
       ), days AS (
         SELECT CAST(g AS DATE) AS d
         FROM generate_series(CAST((SELECT MIN(day) FROM paid) AS TIMESTAMP), CAST((SELECT last_day(MAX(day)) FROM paid) AS TIMESTAMP), INTERVAL 1 DAY) AS s(g)
       )
       SELECT d AS "metric_time.day", paid.country AS "user.country", SUM(amount) AS revenue_mtd
       FROM days JOIN paid ON paid.day <= days.d AND year(paid.day) = year(days.d) AND month(paid.day) = month(days.d)
       GROUP BY 1, 2`,
    );
  });

  it('ratio of simple and cumulative over a range: stickiness', async () => {
    await check(
      { metrics: ['stickiness'], groupBy: ['metric_time.day'], from: '2024-12-05', to: '2024-12-20' },
      `WITH dau AS (
         SELECT ${G.day('occurred_at')} AS d, COUNT(DISTINCT user_id) AS dau FROM events
         WHERE occurred_at >= TIMESTAMP '2024-12-05' AND occurred_at < TIMESTAMP '2024-12-21' GROUP BY 1
       ), mau AS (${windowDaily({ window: 'month', name: 'mau', from: '2024-12-05', toExclusive: '2024-12-21' })})
       SELECT COALESCE(dau.d, mau.d) AS "metric_time.day", CAST(COALESCE(dau.dau, 0) AS DOUBLE) / NULLIF(mau.mau, 0) AS stickiness
       FROM dau FULL OUTER JOIN mau ON dau.d = mau.d`,
      { doubles: ['stickiness'] },
    );
  });

  it('conversion over a range in a time zone (local sign-up days)', async () => {
    const lu = localTime('u.signed_up_at', 'Asia/Seoul');
    await check(
      { metrics: ['signup_to_paid_order_7d'], groupBy: ['metric_time.day'], from: '2024-12-01', to: '2024-12-31', timeZone: 'Asia/Seoul' },
      `SELECT ${G.day(lu)} AS "metric_time.day",
              CAST(COUNT(DISTINCT c.user_id) AS DOUBLE) / COUNT(DISTINCT u.user_id) AS signup_to_paid_order_7d
       FROM users AS u LEFT JOIN (${CONVERTED}) AS c ON c.user_id = u.user_id
       WHERE ${lu} >= TIMESTAMP '2024-12-01' AND ${lu} < TIMESTAMP '2025-01-01' GROUP BY 1`,
      { doubles: ['signup_to_paid_order_7d'] },
    );
  });

  it('offset with a range and a dimension', async () => {
    await check(
      { metrics: ['revenue', 'revenue_growth_mom'], groupBy: ['metric_time.month', 'user.country'], from: '2024-12-01', to: '2025-01-31' },
      `WITH m AS (
         SELECT ${G.month('o.ordered_at')} AS month, u.country, SUM(o.amount) AS revenue
         FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id WHERE ${PAID} GROUP BY 1, 2
       ), keys AS (SELECT month, country FROM m UNION SELECT CAST(month + INTERVAL 1 MONTH AS DATE), country FROM m)
       SELECT keys.month AS "metric_time.month", keys.country AS "user.country", COALESCE(cur.revenue, 0) AS revenue,
              (COALESCE(cur.revenue, 0) - COALESCE(prev.revenue, 0)) / NULLIF(COALESCE(prev.revenue, 0), 0) AS revenue_growth_mom
       FROM keys
       LEFT JOIN m AS cur ON cur.month = keys.month AND cur.country IS NOT DISTINCT FROM keys.country
       LEFT JOIN m AS prev ON prev.month = CAST(keys.month - INTERVAL 1 MONTH AS DATE) AND prev.country IS NOT DISTINCT FROM keys.country
       WHERE keys.month BETWEEN DATE '2024-12-01' AND DATE '2025-01-01'`,
      { doubles: ['revenue_growth_mom'] },
    );
  });

  it('a cumulative and a conversion metric with simple ones, by month and user.country', async () => {
    await check(
      { metrics: ['wau', 'new_users', 'signup_to_paid_order_7d'], groupBy: ['metric_time.month', 'user.country'] },
      `WITH w AS (
         SELECT "metric_time.month" AS m, k0 AS c, wau FROM (${atPeriodEnd('month', windowDaily({ window: 7, name: 'wau', keys: ['u.country'] }), 'wau', { keys: 1 })})
       ), n AS (
         SELECT ${G.month('u.signed_up_at')} AS m, u.country AS c, COUNT(*) AS new_users,
                CAST(COUNT(DISTINCT cv.user_id) AS DOUBLE) / COUNT(DISTINCT u.user_id) AS rate
         FROM users AS u LEFT JOIN (${CONVERTED}) AS cv ON cv.user_id = u.user_id GROUP BY 1, 2
       )
       SELECT COALESCE(w.m, n.m) AS "metric_time.month", COALESCE(w.c, n.c) AS "user.country", COALESCE(w.wau, 0) AS wau, COALESCE(n.new_users, 0) AS new_users, n.rate AS signup_to_paid_order_7d
       FROM w FULL OUTER JOIN n ON w.m = n.m AND w.c IS NOT DISTINCT FROM n.c`,
      { doubles: ['signup_to_paid_order_7d'] },
    );
  });
});

describe('errors', () => {
  it('an unknown metric suggests the nearest names', async () => {
    const e = await refusal({ metrics: ['revenu'], groupBy: ['metric_time.month'] });
    expect(e.code).toBe('UNKNOWN_METRIC');
    expect(e.message).toContain("'revenue'");
  });

  it('new_users by order.status would fan out users -> orders', async () => {
    const e = await refusal({ metrics: ['new_users'], groupBy: ['order.status'] });
    expect(e.code).toBe('FAN_OUT_JOIN');
    expect(e.message).toMatch(/users/);
    expect(e.message).toMatch(/orders/);
    expect(e.message).toContain("'user'");
  });

  it('orders by assignment.variant would fan out to experiment_assignments', async () => {
    const e = await refusal({ metrics: ['orders'], groupBy: ['assignment.variant'] });
    expect(e.code).toBe('FAN_OUT_JOIN');
    expect(e.message).toContain('experiment_assignments');
  });

  it('revenue by product.category would fan out orders -> order_items', async () => {
    const e = await refusal({ metrics: ['revenue'], groupBy: ['product.category'] });
    expect(e.code).toBe('FAN_OUT_JOIN');
    expect(e.message).toContain('order_items');
  });

  it('a fan-out in a filter is refused too', async () => {
    const e = await refusal({ metrics: ['new_users'], where: "order.status = 'paid'" });
    expect(e.code).toBe('FAN_OUT_JOIN');
  });

  it('unknown dimensions', async () => {
    expect((await refusal({ metrics: ['revenue'], groupBy: ['user.colour'] })).code).toBe('UNKNOWN_DIMENSION');
    expect((await refusal({ metrics: ['revenue'], groupBy: ['metric_time.fortnight'] })).code).toBe('UNKNOWN_DIMENSION');
    expect((await refusal({ metrics: ['revenue'], where: "user.colour = 'red'" })).code).toBe('UNKNOWN_DIMENSION');
  });

  for (const where of ['1=1; DROP TABLE users', 'pg_sleep(1)', "user.country = 'KR'; DROP TABLE users", 'user.country IN (SELECT country FROM users)', "user.country = 'KR' UNION SELECT 1"]) {
    it(`hostile filter is refused: ${where}`, async () => {
      const e = await refusal({ metrics: ['revenue'], groupBy: ['user.country'], where });
      expect(e.code).toBe('INVALID_FILTER');
    });
  }

  it('the tables survive the hostile filters', async () => {
    expect(await sqlRows(engine, 'SELECT COUNT(*) AS n FROM users')).toEqual([{ n: 15 }]);
  });
});

describe('exactness', () => {
  it('the fixture is meaningful: summed as doubles, the 2025-01-02 amounts are not 3', async () => {
    const [row] = await sqlRows(engine, "SELECT SUM(CAST(amount AS DOUBLE)) AS s FROM orders WHERE CAST(ordered_at AS DATE) = DATE '2025-01-02'");
    expect(row.s).not.toBe(3);
  });

  it('ten 0.10 and ten 0.20 orders sum to exactly 3.00', async () => {
    const r = await runQuery(project, engine, { metrics: ['revenue'], groupBy: ['metric_time.day'], from: '2025-01-02', to: '2025-01-02' });
    expect(r.rows).toEqual([{ 'metric_time.day': '2025-01-02', revenue: '3.00' }]);
  });

  it('the same by user.country: exactly 1.00 (US) and 2.00 (NULL)', async () => {
    const r = await check(
      { metrics: ['revenue'], groupBy: ['user.country'], from: '2025-01-02', to: '2025-01-02' },
      `SELECT u.country AS "user.country", SUM(o.amount) AS revenue FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id
       WHERE ${PAID} AND CAST(o.ordered_at AS DATE) = DATE '2025-01-02' GROUP BY 1`,
    );
    expect(new Map(r.rows.map((x) => [x['user.country'], x.revenue]))).toEqual(new Map([['US', '1.00'], [null, '2.00']]));
  });

  it('the all-time total is the exact decimal', async () => {
    const r = await runQuery(project, engine, { metrics: ['revenue'] });
    expect(r.rows).toEqual([{ revenue: '802.83' }]);
    expect(r.columns.find((c) => c.name === 'revenue')?.type).toMatch(/^DECIMAL/);
  });

  it('ratios are DOUBLE; counts are integers', async () => {
    const r = await runQuery(project, engine, { metrics: ['average_order_value', 'orders', 'items_sold'], groupBy: ['metric_time.year'] });
    const types = new Map(r.columns.map((c) => [c.name, c.type]));
    expect(types.get('average_order_value')).toBe('DOUBLE');
    expect(types.get('metric_time.year')).toBe('DATE');
    for (const row of r.rows) {
      expect(Number.isInteger(row.orders)).toBe(true);
      expect(Number.isInteger(row.items_sold)).toBe(true);
    }
  });
});
