/**
 * Readings for the average tests (route-average*.test.ts): an average of decimals with cents, one
 * of integers near 2^53 whose sums pass 2^63, one of floats, with a ratio and a derived metric over
 * them, cumulative means over the days of a period (of decimals, of floats), and a rollup by day,
 * site and kind that keeps them all.
 */
export const DEFINITIONS = `
semantic_models:
  - name: readings
    table: readings
    defaults: { agg_time_dimension: read_at }
    entities:
      - { name: reading, type: primary, expr: id }
    dimensions:
      - { name: read_at, type: time, granularity: day }
      - { name: site, type: categorical }
      - { name: kind, type: categorical }
    measures:
      - { name: amount_avg, agg: average, expr: amount }
      - { name: big_avg, agg: average, expr: big }
      - { name: score_avg, agg: average, expr: score }
      - { name: amount_total, agg: sum, expr: amount }
      - { name: reading_count, agg: count, expr: id }
      - { name: score_total, agg: sum, expr: score }
metrics:
  - { name: amount_avg, type: simple, measure: amount_avg }
  - { name: big_avg, type: simple, measure: big_avg }
  - { name: score_avg, type: simple, measure: score_avg }
  - { name: amount_total, type: simple, measure: amount_total }
  - { name: readings, type: simple, measure: reading_count }
  - { name: amount_per_reading, type: ratio, numerator: amount_total, denominator: readings }
  - { name: avg_spread, type: derived, expr: "amount_avg - big_avg", metrics: [amount_avg, big_avg] }
  - { name: amount_7d_mean, type: cumulative, measure: amount_total, window: 7 days, period_agg: average }
  - { name: score_7d_mean, type: cumulative, measure: score_total, window: 7 days, period_agg: average }
rollups:
  - name: readings_daily
    metrics: [amount_avg, big_avg, score_avg, amount_per_reading, avg_spread, amount_7d_mean, score_7d_mean]
    dimensions: [reading.site, reading.kind]
    grain: day
    partition: month
`;

// 6,000 readings over 2025 at five sites: decimals with cents, integers near 2^53 (sums beyond
// 2^63), a few NULLs, and float scores.
export const TABLE = `
CREATE TABLE readings AS
SELECT i AS id,
       TIMESTAMP '2025-01-01' + INTERVAL (i * 5237 % 525600) MINUTE AS read_at,
       'site_' || (i % 5) AS site,
       CASE WHEN i % 3 = 0 THEN 'a' ELSE 'b' END AS kind,
       CASE WHEN i % 97 = 0 THEN NULL ELSE CAST((i * 7919 % 1000003) / 100.0 AS DECIMAL(18, 2)) END AS amount,
       CAST(9007199254740000 + i * 7 AS BIGINT) AS big,
       (i * 0.1) / 3.0 AS score
FROM range(1, 6001) AS t(i)`;
