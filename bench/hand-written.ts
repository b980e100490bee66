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

/** WAU/MAU the way time-spine tools write it: a spine joined to events on a date range, then COUNT DISTINCT. */
function spineRangeJoin(days: number, extraKeys = ''): string {
  return `
WITH spine AS (SELECT CAST(d AS TIMESTAMP) AS day FROM generate_series(${YEAR.from}, ${YEAR.to} - INTERVAL 1 DAY, INTERVAL 1 DAY) s(d))
SELECT CAST(spine.day AS DATE) AS day${extraKeys ? `, ${extraKeys}` : ''}, COUNT(DISTINCT e.user_id) AS active
FROM spine JOIN events e ON e.occurred_at >= spine.day - INTERVAL ${days - 1} DAY AND e.occurred_at < spine.day + INTERVAL 1 DAY
${extraKeys ? 'LEFT JOIN users u ON u.user_id = e.user_id' : ''}
GROUP BY ALL`;
}

/** Distinct users over trailing windows by merging each user's activity into islands and sweeping. */
function islands(days: number, partition: string, select: string, from: string): string {
  return `
WITH active AS (
  SELECT DISTINCT ${select ? `${select}, ` : ''}e.user_id, CAST(date_trunc('day', e.occurred_at) AS DATE) AS day
  FROM ${from}
  WHERE e.occurred_at >= ${YEAR.from} - INTERVAL ${days - 1} DAY AND e.occurred_at < ${YEAR.to}
), marked AS (
  SELECT *, CASE WHEN day <= LAG(day) OVER (PARTITION BY ${partition ? `${partition}, ` : ''}user_id ORDER BY day) + ${days} THEN 0 ELSE 1 END AS starts
  FROM active
), numbered AS (
  SELECT *, SUM(starts) OVER (PARTITION BY ${partition ? `${partition}, ` : ''}user_id ORDER BY day ROWS UNBOUNDED PRECEDING) AS island FROM marked
), changes AS (
  SELECT ${partition ? `${partition}, ` : ''}day, SUM(delta) AS delta FROM (
    SELECT ${partition ? `${partition}, ` : ''}MIN(day) AS day, 1 AS delta FROM numbered GROUP BY ${partition ? `${partition}, ` : ''}user_id, island
    UNION ALL
    SELECT ${partition ? `${partition}, ` : ''}MAX(day) + ${days} AS day, -1 AS delta FROM numbered GROUP BY ${partition ? `${partition}, ` : ''}user_id, island
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
function neighbours(days: number, partition: string, select: string, from: string): string {
  const by = `${partition ? `${partition}, ` : ''}user_id`;
  return `
WITH active AS (
  SELECT DISTINCT ${select ? `${select}, ` : ''}e.user_id, CAST(date_trunc('day', e.occurred_at) AS DATE) AS day
  FROM ${from}
  WHERE e.occurred_at >= ${YEAR.from} - INTERVAL ${days - 1} DAY AND e.occurred_at < ${YEAR.to}
), near AS (
  SELECT *, LAG(day) OVER (PARTITION BY ${by} ORDER BY day) AS prev, LEAD(day) OVER (PARTITION BY ${by} ORDER BY day) AS next FROM active
), changes AS (
  SELECT ${partition ? `${partition}, ` : ''}day, SUM(delta) AS delta FROM (
    SELECT ${partition ? `${partition}, ` : ''}day, 1 AS delta FROM near WHERE prev IS NULL OR day > prev + ${days}
    UNION ALL
    SELECT ${partition ? `${partition}, ` : ''}day + ${days}, -1 FROM near WHERE next IS NULL OR next > day + ${days}
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
        sql: `WITH w AS (${spineRangeJoin(7)}), m AS (${spineRangeJoin(30)})
              SELECT m.day, w.active, m.active FROM m LEFT JOIN w ON w.day = m.day`,
      },
      {
        name: 'islands and sweep',
        sql: `WITH w AS (${islands(7, '', '', 'events e')}), m AS (${islands(30, '', '', 'events e')})
              SELECT m.day, w.active, m.active FROM m LEFT JOIN w ON w.day = m.day`,
      },
      {
        name: 'neighbours and sweep',
        sql: `WITH w AS (${neighbours(7, '', '', 'events e')}), m AS (${neighbours(30, '', '', 'events e')})
              SELECT m.day, w.active, m.active FROM m LEFT JOIN w ON w.day = m.day`,
      },
    ],
  },
  {
    name: 'WAU by day and country',
    request: { metrics: ['wau'], groupBy: ['metric_time.day', 'user.country'], from: '2025-01-01', to: '2025-12-31' },
    handWritten: [
      { name: 'spine range join (peers)', sql: spineRangeJoin(7, 'u.country') },
      { name: 'islands and sweep', sql: islands(7, 'country', 'u.country', 'events e LEFT JOIN users u ON u.user_id = e.user_id') },
      { name: 'neighbours and sweep', sql: neighbours(7, 'country', 'u.country', 'events e LEFT JOIN users u ON u.user_id = e.user_id') },
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
