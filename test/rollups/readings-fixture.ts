/**
 * A small project of its own for rollup tests: readings with big integers and decimals in a table
 * without keys (so rows can be planted twice), every kind of measure part, a distinct count kept
 * finished, and the hand-written GROUP BY that gives what the rollup must store.
 */
import { type Project, projectFromSources } from '../../src/index.js';

export const MODELS = `
semantic_models:
  - name: readings
    table: readings
    defaults: { agg_time_dimension: read_at }
    entities:
      - { name: reading, type: primary, expr: id }
    dimensions:
      - { name: read_at, type: time, granularity: day }
      - { name: site, type: categorical }
    measures:
      - { name: big_total, agg: sum, expr: big }
      - { name: amount_total, agg: sum, expr: amount }
      - { name: amount_avg, agg: average, expr: amount }
      - { name: reading_count, agg: count, expr: id }
      - { name: lowest, agg: min, expr: amount }
      - { name: highest, agg: max, expr: amount }
      - { name: ids, agg: count_distinct, expr: id }
metrics:
  - { name: big_total, type: simple, measure: big_total }
  - { name: amount_total, type: simple, measure: amount_total }
  - { name: amount_avg, type: simple, measure: amount_avg }
  - { name: readings, type: simple, measure: reading_count }
  - { name: lowest, type: simple, measure: lowest }
  - { name: highest, type: simple, measure: highest }
  - { name: distinct_ids, type: simple, measure: ids }
`;

export const ROLLUPS = `
rollups:
  - name: by_site
    metrics: [big_total, amount_total, amount_avg, readings, lowest, highest, distinct_ids]
    dimensions: [reading.site]
    grain: day
    partition: month
    refresh: { trailing: 2 }
`;

export function project(models = MODELS, rollups = ROLLUPS): Project {
  return projectFromSources([
    { display: 'metrics/models.yml', text: models },
    { display: 'metrics/rollups.yml', text: rollups },
  ]);
}

// No PRIMARY KEY: a row is planted twice below.
export const TABLE = `
CREATE TABLE readings (id BIGINT, read_at TIMESTAMP, site VARCHAR, big BIGINT, amount DECIMAL(18, 2));
INSERT INTO readings VALUES
  (1, '2025-01-05 10:00:00', 'a', 5000000000000000000, 12.34),
  (2, '2025-01-05 11:00:00', 'a', 5000000000000000000, 0.01),
  (3, '2025-01-05 12:00:00', 'a', 5000000000000000000, NULL),
  (4, '2025-01-20 09:00:00', 'b', 9007199254740993, 99999999.99),
  (5, '2025-02-11 09:00:00', 'b', 1, 1.10),
  (6, '2025-02-11 23:59:59', NULL, 2, 2.20),
  (7, '2025-03-31 23:00:00', 'a', 3, 3.30),
  (8, '2025-04-01 00:00:00', 'a', 4, 4.40),
  (9, '2025-04-15 00:00:00', 'c', NULL, -7.77);
`;

export const EXPECTED = `
SELECT CAST(date_trunc('day', read_at) AS DATE) AS metric_time__day, site AS reading__site,
       SUM(big) AS m__big_total__sum, COUNT(big) AS m__big_total__count,
       SUM(amount) AS m__amount_total__sum, COUNT(amount) AS m__amount_total__count,
       SUM(amount) AS m__amount_avg__sum, COUNT(amount) AS m__amount_avg__count,
       COUNT(id) AS m__reading_count__count,
       MIN(amount) AS m__lowest__min, COUNT(amount) AS m__lowest__count,
       MAX(amount) AS m__highest__max, COUNT(amount) AS m__highest__count,
       COUNT(DISTINCT id) AS metric__distinct_ids, TRUE AS present__distinct_ids
  FROM readings GROUP BY 1, 2`;

