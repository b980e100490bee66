/**
 * Every example metric on Trino (the private cluster of test/setup/trino.ts: a coordinator that
 * schedules nothing on itself plus one worker), over the fixture tables (fixtures/shop.sql copied
 * into the memory catalog):
 *  1. Tally's answer on Trino equals hand-written Trino SQL over the tables, for one metric of
 *     each kind;
 *  2. Tally's answers on Trino and on DuckDB are equal, cell for cell (decimals digit for digit,
 *     integers exactly, ratios to 1e-12), for every metric across grains, group-bys, filters,
 *     ranges and time zones: the matrix that test/postgres-metrics.test.ts runs for Postgres, whose
 *     DuckDB answers are checked against hand-written SQL there.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckDBEngine, type Engine, loadProject, type Project, type RequestInput, runQuery, TallyError, type TrinoEngine } from '../src/index.js';
import { type CompareOptions, expectSameRows, openFixtureDb, type Row, sqlRows } from './helpers/fixture-db.js';
import { openFixtureTrino } from './helpers/trino-db.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let project: Project;
let trino: TrinoEngine;
let duck: DuckDBEngine;

beforeAll(async () => {
  project = loadProject(ROOT);
  [trino, duck] = await Promise.all([openFixtureTrino('metrics'), openFixtureDb()]);
}, 600_000);

afterAll(async () => {
  await Promise.all([trino?.close(), duck?.close()]);
});

/** The ratio metrics: doubles on every engine. */
const DOUBLES = ['average_order_value', 'stickiness', 'search_ctr', 'revenue_growth_mom', 'signup_to_paid_order_7d'];

/** Tally on Trino equals the hand-written Trino SQL, and Tally on DuckDB equals Tally on Trino. */
async function check(request: RequestInput, expectedSql: string, options: CompareOptions = {}): Promise<void> {
  const expected = await sqlRows(trino, expectedSql);
  expect(expected.length, 'the hand-written SQL returns rows (a vacuous test proves nothing)').toBeGreaterThan(0);
  const onTrino = await runQuery(project, trino, request);
  const opts = { doubles: DOUBLES, ...options };
  expectSameRows(onTrino.rows, expected, opts);
  const onDuckDB = await runQuery(project, duck, request);
  expectSameRows(onDuckDB.rows, onTrino.rows, opts);
}

const PAID = "status IN ('paid', 'shipped')";
/** Trino prints dates as 'YYYY-MM-DD'; Tally's day grain answers a DATE. */
const day = (column: string): string => `CAST(${column} AS DATE)`;

describe('Tally on Trino equals hand-written Trino SQL', () => {
  it('revenue by day and by month and user.country', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.day'] },
      `SELECT ${day('ordered_at')} AS "metric_time.day", SUM(amount) AS revenue FROM orders WHERE ${PAID} GROUP BY 1`,
    );
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.month', 'user.country'] },
      `SELECT CAST(date_trunc('month', o.ordered_at) AS DATE) AS "metric_time.month", u.country AS "user.country", SUM(o.amount) AS revenue
       FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id WHERE o.${PAID} GROUP BY 1, 2`,
    );
  });

  it('dau by day in Asia/Seoul', async () => {
    await check(
      { metrics: ['dau'], groupBy: ['metric_time.day'], timeZone: 'Asia/Seoul' },
      `SELECT ${day("occurred_at + INTERVAL '9' HOUR")} AS "metric_time.day", COUNT(DISTINCT user_id) AS dau FROM events GROUP BY 1`,
    );
  });

  it('wau by day: distinct users over the trailing 7 days, every day from the first event to 6 days after the last (0 where the window is empty)', async () => {
    await check(
      { metrics: ['wau'], groupBy: ['metric_time.day'] },
      `WITH bounds AS (SELECT MIN(CAST(occurred_at AS DATE)) AS lo, MAX(CAST(occurred_at AS DATE)) AS hi FROM events)
       SELECT d AS "metric_time.day", COUNT(DISTINCT e.user_id) AS wau
       FROM bounds CROSS JOIN UNNEST(sequence(bounds.lo, date_add('day', 6, bounds.hi), INTERVAL '1' DAY)) AS days(d)
       LEFT JOIN events AS e ON CAST(e.occurred_at AS DATE) BETWEEN date_add('day', -6, d) AND d
       GROUP BY 1`,
    );
  });

  it('average_order_value and search_ctr by month (ratios as doubles, NULL on a zero denominator)', async () => {
    await check(
      { metrics: ['average_order_value'], groupBy: ['metric_time.month'] },
      `SELECT CAST(date_trunc('month', ordered_at) AS DATE) AS "metric_time.month", CAST(SUM(amount) AS DOUBLE) / COUNT(*) AS average_order_value
       FROM orders WHERE ${PAID} GROUP BY 1`,
    );
    await check(
      { metrics: ['search_ctr'], groupBy: ['metric_time.day'] },
      `SELECT ${day('occurred_at')} AS "metric_time.day",
              CAST(COUNT(*) FILTER (WHERE event_type = 'search_click') AS DOUBLE) / NULLIF(COUNT(*) FILTER (WHERE event_type = 'search'), 0) AS search_ctr
       FROM events GROUP BY 1`,
    );
  });

  it('signup_to_paid_order_7d by month (exactly +7 days converts)', async () => {
    await check(
      { metrics: ['signup_to_paid_order_7d'], groupBy: ['metric_time.month'] },
      `WITH converted AS (
         SELECT DISTINCT u.user_id FROM users AS u JOIN orders AS o ON o.user_id = u.user_id
         WHERE o.${PAID} AND o.ordered_at >= u.signed_up_at AND o.ordered_at <= u.signed_up_at + INTERVAL '7' DAY)
       SELECT CAST(date_trunc('month', u.signed_up_at) AS DATE) AS "metric_time.month",
              CAST(COUNT(DISTINCT c.user_id) AS DOUBLE) / COUNT(DISTINCT u.user_id) AS signup_to_paid_order_7d
       FROM users AS u LEFT JOIN converted AS c ON c.user_id = u.user_id GROUP BY 1`,
    );
  });

  it('fill gaps: one row per month of the range, empty months included (revenue 0.00 there)', async () => {
    await check(
      { metrics: ['revenue'], groupBy: ['metric_time.month'], fillGaps: true, from: '2024-10-01', to: '2025-06-30' },
      `SELECT m AS "metric_time.month", (SELECT COALESCE(SUM(amount), DECIMAL '0.00') FROM orders WHERE ${PAID} AND CAST(date_trunc('month', ordered_at) AS DATE) = m) AS revenue
       FROM UNNEST(sequence(DATE '2024-10-01', DATE '2025-06-01', INTERVAL '1' MONTH)) AS s(m)`,
    );
  });

  it('order by a metric descending with a limit', async () => {
    await check(
      { metrics: ['orders'], groupBy: ['user.country'], orderBy: ['-orders', 'user.country'], limit: 3 },
      `SELECT u.country AS "user.country", COUNT(*) AS orders FROM orders AS o LEFT JOIN users AS u ON u.user_id = o.user_id
       GROUP BY 1 ORDER BY 2 DESC, 1 NULLS LAST LIMIT 3`,
      { ordered: true },
    );
  });
});

describe('Trino and DuckDB agree on every example metric', () => {
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
    const requests: RequestInput[] = [];
    for (const metric of project.graph.metrics.keys()) {
      for (const groupBy of groupings) for (const variant of variants) requests.push({ metrics: [metric], groupBy, ...variant });
    }
    let compared = 0;
    const failures: string[] = [];
    // A few requests at a time: the cluster runs them side by side.
    const compare = async (request: RequestInput): Promise<void> => {
      const label = JSON.stringify(request);
      const [a, b] = await Promise.allSettled([runQuery(project, duck, request), runQuery(project, trino, request)]);
      if (a.status === 'rejected' || b.status === 'rejected') {
        const ea = a.status === 'rejected' ? (a.reason as Error) : undefined;
        const eb = b.status === 'rejected' ? (b.reason as Error) : undefined;
        if (!ea || !eb || !(ea instanceof TallyError) || !(eb instanceof TallyError) || ea.code !== eb.code) {
          failures.push(`${label}: DuckDB ${ea ? `${(ea as TallyError).code} ${ea.message}` : 'answered'}; Trino ${eb ? `${(eb as TallyError).code} ${eb.message}` : 'answered'}`);
        }
        return;
      }
      try {
        expectSameRows(b.value.rows, a.value.rows, { doubles: DOUBLES });
        compared++;
      } catch (e) {
        failures.push(`${label}\n${(e as Error).message.slice(0, 2000)}`);
      }
    };
    const queue = [...requests];
    await Promise.all([1, 2, 3, 4].map(async () => {
      for (let r = queue.shift(); r; r = queue.shift()) await compare(r);
    }));
    expect(failures, failures.join('\n\n')).toEqual([]);
    // Most combinations answer; refusals (e.g. a cumulative metric without metric_time) are the exception.
    expect(compared).toBeGreaterThan(requests.length * 0.75);
  }, 900_000);
});
