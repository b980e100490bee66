/**
 * The benchmark requests and, for each, hand-written SQL that gives the same answer. Where there
 * is more than one sensible way to write it, every way is listed and the fastest counts.
 */
import type { RequestInput } from '../src/index.js';

export interface BenchCase {
  name: string;
  request: RequestInput;
  /** Hand-written alternatives; each returns the request's columns in the same order. */
  handWritten: { name: string; sql: string }[];
}

const YEAR = { from: "TIMESTAMP '2025-01-01'", to: "TIMESTAMP '2026-01-01'" };

/**
 * A trailing window as the metrics define it: the window of day p holds the days from
 * (p + 1 day) - window to p. `until(d)` is the first day whose window no longer holds day d.
 * WAU's 7 days: d + 7. MAU's calendar month (metrics/metrics.yml): the same day of the next
 * month, or when d is the last day of its month, the last day of the next month (every day of
 * it, less a month, clamps back to d or before); DuckDB clamps Jan 30 + 1 month to Feb 28.
 */
interface TrailingWindow {
  interval: string;
  until(day: string): string;
}
const WEEK: TrailingWindow = { interval: 'INTERVAL 7 DAY', until: (d) => `(${d} + 7)` };
const MONTH: TrailingWindow = {
  interval: 'INTERVAL 1 MONTH',
  until: (d) => `CAST(CASE WHEN ${d} = last_day(${d}) THEN last_day(${d} + INTERVAL 1 MONTH) ELSE ${d} + INTERVAL 1 MONTH END AS DATE)`,
};
/** The first timestamp whose rows can fall in a window of the year's days. */
const firstRow = (w: TrailingWindow): string => `${YEAR.from} + INTERVAL 1 DAY - ${w.interval}`;

/** WAU/MAU the way time-spine tools write it: a spine joined to events on a date range, then COUNT DISTINCT. */
function spineRangeJoin(w: TrailingWindow, extraKeys = ''): string {
  return `
WITH spine AS (SELECT CAST(d AS TIMESTAMP) AS day FROM generate_series(${YEAR.from}, ${YEAR.to} - INTERVAL 1 DAY, INTERVAL 1 DAY) s(d))
SELECT CAST(spine.day AS DATE) AS day${extraKeys ? `, ${extraKeys}` : ''}, COUNT(DISTINCT e.user_id) AS active
FROM spine JOIN events e ON e.occurred_at >= spine.day + INTERVAL 1 DAY - ${w.interval} AND e.occurred_at < spine.day + INTERVAL 1 DAY
${extraKeys ? 'LEFT JOIN users u ON u.user_id = e.user_id' : ''}
GROUP BY ALL`;
}

/** Distinct users over trailing windows by merging each user's activity into islands and sweeping. */
function islands(w: TrailingWindow, partition: string, select: string, from: string): string {
  return `
WITH active AS (
  SELECT DISTINCT ${select ? `${select}, ` : ''}e.user_id, CAST(date_trunc('day', e.occurred_at) AS DATE) AS day
  FROM ${from}
  WHERE e.occurred_at >= ${firstRow(w)} AND e.occurred_at < ${YEAR.to}
), marked AS (
  SELECT *, CASE WHEN day <= ${w.until(`LAG(day) OVER (PARTITION BY ${partition ? `${partition}, ` : ''}user_id ORDER BY day)`)} THEN 0 ELSE 1 END AS starts
  FROM active
), numbered AS (
  SELECT *, SUM(starts) OVER (PARTITION BY ${partition ? `${partition}, ` : ''}user_id ORDER BY day ROWS UNBOUNDED PRECEDING) AS island FROM marked
), changes AS (
  SELECT ${partition ? `${partition}, ` : ''}day, SUM(delta) AS delta FROM (
    SELECT ${partition ? `${partition}, ` : ''}MIN(day) AS day, 1 AS delta FROM numbered GROUP BY ${partition ? `${partition}, ` : ''}user_id, island
    UNION ALL
    SELECT ${partition ? `${partition}, ` : ''}${w.until('MAX(day)')} AS day, -1 AS delta FROM numbered GROUP BY ${partition ? `${partition}, ` : ''}user_id, island
  ) GROUP BY ALL
), running AS (
  SELECT *, SUM(delta) OVER (${partition ? `PARTITION BY ${partition} ` : ''}ORDER BY day ROWS UNBOUNDED PRECEDING) AS active,
         LEAD(day, 1, DATE '2026-01-01') OVER (${partition ? `PARTITION BY ${partition} ` : ''}ORDER BY day) AS next_day
  FROM changes
)
SELECT CAST(g.d AS DATE) AS day${partition ? `, ${partition}` : ''}, active
FROM running JOIN generate_series(DATE '2025-01-01', DATE '2025-12-31', INTERVAL 1 DAY) g(d)
  ON g.d >= running.day AND g.d < running.next_day
WHERE active > 0`;
}

/** The same sweep, finding where each member's coverage starts and ends from its neighbours. */
function neighbours(w: TrailingWindow, partition: string, select: string, from: string): string {
  const by = `${partition ? `${partition}, ` : ''}user_id`;
  return `
WITH active AS (
  SELECT DISTINCT ${select ? `${select}, ` : ''}e.user_id, CAST(date_trunc('day', e.occurred_at) AS DATE) AS day
  FROM ${from}
  WHERE e.occurred_at >= ${firstRow(w)} AND e.occurred_at < ${YEAR.to}
), near AS (
  SELECT *, LAG(day) OVER (PARTITION BY ${by} ORDER BY day) AS prev, LEAD(day) OVER (PARTITION BY ${by} ORDER BY day) AS next FROM active
), changes AS (
  SELECT ${partition ? `${partition}, ` : ''}day, SUM(delta) AS delta FROM (
    SELECT ${partition ? `${partition}, ` : ''}day, 1 AS delta FROM near WHERE prev IS NULL OR day >= ${w.until('prev')}
    UNION ALL
    SELECT ${partition ? `${partition}, ` : ''}${w.until('day')}, -1 FROM near WHERE next IS NULL OR next >= ${w.until('day')}
  ) GROUP BY ALL
), running AS (
  SELECT *, SUM(delta) OVER (${partition ? `PARTITION BY ${partition} ` : ''}ORDER BY day ROWS UNBOUNDED PRECEDING) AS active,
         LEAD(day, 1, DATE '2026-01-01') OVER (${partition ? `PARTITION BY ${partition} ` : ''}ORDER BY day) AS next_day
  FROM changes
)
SELECT CAST(g.d AS DATE) AS day${partition ? `, ${partition}` : ''}, active
FROM running JOIN generate_series(DATE '2025-01-01', DATE '2025-12-31', INTERVAL 1 DAY) g(d)
  ON g.d >= running.day AND g.d < running.next_day
WHERE active > 0`;
}

/**
 * WAU and MAU in one pass, as an outside analyst wrote it: each user's active day opens an
 * interval that ends at the earlier of the day its window leaves it and the user's next active
 * day; a running sum of +1 at each start and -1 at each end, over a calendar, counts the users.
 * One set of active days and one LEAD serve both windows.
 */
const outsideSweep = `
WITH days AS (
  SELECT DISTINCT user_id, CAST(occurred_at AS DATE) AS day
  FROM events
  WHERE occurred_at >= ${firstRow(MONTH)} AND occurred_at < ${YEAR.to}
), spans AS (
  SELECT day, LEAD(day) OVER (PARTITION BY user_id ORDER BY day) AS next FROM days
), ends AS (
  SELECT day, LEAST(${WEEK.until('day')}, next) AS week_end, LEAST(${MONTH.until('day')}, next) AS month_end FROM spans
), deltas AS (
  SELECT day, SUM(w) AS w, SUM(m) AS m FROM (
    SELECT day, 1 AS w, 1 AS m FROM ends
    UNION ALL SELECT week_end, -1, 0 FROM ends
    UNION ALL SELECT month_end, 0, -1 FROM ends
  ) GROUP BY day
), calendar AS (
  SELECT CAST(g AS DATE) AS day FROM generate_series(CAST(${firstRow(MONTH)} AS DATE), DATE '2025-12-31', INTERVAL 1 DAY) t(g)
), running AS (
  SELECT c.day, SUM(COALESCE(d.w, 0)) OVER (ORDER BY c.day) AS wau, SUM(COALESCE(d.m, 0)) OVER (ORDER BY c.day) AS mau
  FROM calendar c LEFT JOIN deltas d ON d.day = c.day
)
SELECT day, wau, mau FROM running WHERE day >= DATE '2025-01-01'`;

export const BENCH_CASES: BenchCase[] = [
  {
    name: 'revenue by month and country',
    request: { metrics: ['revenue'], groupBy: ['metric_time.month', 'user.country'] },
    handWritten: [
      {
        name: 'join then aggregate',
        sql: `SELECT CAST(date_trunc('month', o.ordered_at) AS DATE), u.country, SUM(o.amount)
              FROM orders o LEFT JOIN users u ON u.user_id = o.user_id
              WHERE o.status IN ('paid', 'shipped') GROUP BY ALL`,
      },
    ],
  },
  {
    name: 'DAU by day over a year',
    request: { metrics: ['dau'], groupBy: ['metric_time.day'], from: '2025-01-01', to: '2025-12-31' },
    handWritten: [
      {
        name: 'count distinct per day',
        sql: `SELECT CAST(date_trunc('day', occurred_at) AS DATE), COUNT(DISTINCT user_id) FROM events
              WHERE occurred_at >= ${YEAR.from} AND occurred_at < ${YEAR.to} GROUP BY ALL`,
      },
    ],
  },
  {
    name: 'WAU and MAU by day over a year',
    request: { metrics: ['wau', 'mau'], groupBy: ['metric_time.day'], from: '2025-01-01', to: '2025-12-31' },
    handWritten: [
      {
        name: 'spine range join (peers)',
        sql: `WITH w AS (${spineRangeJoin(WEEK)}), m AS (${spineRangeJoin(MONTH)})
              SELECT m.day, w.active, m.active FROM m LEFT JOIN w ON w.day = m.day`,
      },
      {
        name: 'islands and sweep',
        sql: `WITH w AS (${islands(WEEK, '', '', 'events e')}), m AS (${islands(MONTH, '', '', 'events e')})
              SELECT m.day, w.active, m.active FROM m LEFT JOIN w ON w.day = m.day`,
      },
      {
        name: 'neighbours and sweep',
        sql: `WITH w AS (${neighbours(WEEK, '', '', 'events e')}), m AS (${neighbours(MONTH, '', '', 'events e')})
              SELECT m.day, w.active, m.active FROM m LEFT JOIN w ON w.day = m.day`,
      },
      { name: 'outside sweep (one pass)', sql: outsideSweep },
    ],
  },
  {
    name: 'WAU by day and country',
    request: { metrics: ['wau'], groupBy: ['metric_time.day', 'user.country'], from: '2025-01-01', to: '2025-12-31' },
    handWritten: [
      { name: 'spine range join (peers)', sql: spineRangeJoin(WEEK, 'u.country') },
      { name: 'islands and sweep', sql: islands(WEEK, 'country', 'u.country', 'events e LEFT JOIN users u ON u.user_id = e.user_id') },
      { name: 'neighbours and sweep', sql: neighbours(WEEK, 'country', 'u.country', 'events e LEFT JOIN users u ON u.user_id = e.user_id') },
    ],
  },
  {
    name: 'average order value by plan',
    request: { metrics: ['average_order_value'], groupBy: ['user.plan'] },
    handWritten: [
      {
        name: 'one pass',
        sql: `SELECT u.plan, CAST(SUM(o.amount) AS DOUBLE) / NULLIF(COUNT(o.order_id), 0)
              FROM orders o LEFT JOIN users u ON u.user_id = o.user_id
              WHERE o.status IN ('paid', 'shipped') GROUP BY ALL`,
      },
    ],
  },
  {
    name: 'items sold by category',
    request: { metrics: ['items_sold'], groupBy: ['product.category'] },
    handWritten: [
      {
        name: 'join products',
        sql: `SELECT p.category, SUM(i.quantity) FROM order_items i JOIN orders o ON o.order_id = i.order_id
              LEFT JOIN products p ON p.product_id = i.product_id GROUP BY ALL`,
      },
    ],
  },
  {
    name: 'signup to paid order within 7 days, by month',
    request: { metrics: ['signup_to_paid_order_7d'], groupBy: ['metric_time.month'] },
    handWritten: [
      {
        name: 'exists per user',
        sql: `SELECT CAST(date_trunc('month', u.signed_up_at) AS DATE),
                CAST(COUNT(DISTINCT u.user_id) FILTER (WHERE EXISTS (
                  SELECT 1 FROM orders o WHERE o.user_id = u.user_id AND o.status IN ('paid', 'shipped')
                    AND o.ordered_at >= u.signed_up_at AND o.ordered_at <= u.signed_up_at + INTERVAL 7 DAY)) AS DOUBLE)
                / NULLIF(COUNT(DISTINCT u.user_id), 0)
              FROM users u GROUP BY ALL`,
      },
    ],
  },
];
