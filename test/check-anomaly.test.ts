/**
 * Volume and metric anomaly checks over ten weeks of strongly seasonal daily sales (Sundays about
 * three times Mondays) with one anomalous Wednesday planted, and its clean twin. The anomalous
 * days, their values and bands equal a hand-written DuckDB query (median and MAD of the same
 * weekday over the trailing 8 weeks); the clean twin's seasonal days raise nothing; the
 * statistics match a published worked example.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine, projectFromSources, type Project } from '../src/index.js';
import { hampelBand, medianAbsoluteDeviation } from '../src/checks/anomaly.js';
import { runChecks } from '../src/checks/runner.js';
import { sqlRows } from './helpers/fixture-db.js';

const MODELS = `semantic_models:
  - name: sales
    table: sales
    defaults: { agg_time_dimension: sold_at }
    entities:
      - { name: sale, type: primary, expr: sale_id }
    dimensions:
      - { name: sold_at, type: time, granularity: day }
    measures:
      - { name: sales_amount, agg: sum, expr: amount }
    checks:
      - { volume: { weeks: 8, sensitivity: 3, periods: 7 }, severity: warn }
metrics:
  - name: revenue
    type: simple
    measure: sales_amount
    anomaly: { weeks: 8, sensitivity: 3, periods: 7, severity: error }
`;

const NOW = new Date('2026-01-10T12:00:00Z'); // a Saturday: judged days are 2026-01-03 to 2026-01-09
const SPIKE = '2026-01-07'; // a Wednesday

/** Rows per day: 10 on Mondays rising to 28 on Sundays, ±1 by week; the spike day 4×. Amount 10 + day of week. */
function salesSql(spike: boolean): string {
  return `
    CREATE TABLE sales AS
    WITH days AS (SELECT CAST(x AS DATE) AS d FROM generate_series(TIMESTAMP '2025-10-20', TIMESTAMP '2026-01-10', INTERVAL 1 DAY) t(x)),
    counts AS (
      SELECT d, (10 + 3 * (isodow(d) - 1) + ((datediff('day', DATE '2025-10-20', d) // 7) % 3) - 1)
                * CASE WHEN ${spike ? `d = DATE '${SPIKE}'` : 'FALSE'} THEN 4 ELSE 1 END AS n
      FROM days)
    SELECT row_number() OVER (ORDER BY d, i) AS sale_id, CAST(d AS TIMESTAMP) + INTERVAL (i * 7) MINUTE AS sold_at, CAST(10 + isodow(d) AS DECIMAL(10, 2)) AS amount
    FROM counts, range(n) r(i)`;
}

/** The anomalous judged days by hand: same weekday 1..8 weeks back, median ± 3 × 1.4826 × MAD. */
function handSql(value: 'count(*)' | 'sum(amount)'): string {
  return `
    WITH daily AS (SELECT CAST(sold_at AS DATE) AS d, ${value} AS v FROM sales GROUP BY 1),
    judged AS (SELECT CAST(x AS DATE) AS d FROM generate_series(TIMESTAMP '2026-01-03', TIMESTAMP '2026-01-09', INTERVAL 1 DAY) t(x)),
    hist AS (SELECT j.d, coalesce(h.v, 0) AS v FROM judged j CROSS JOIN range(1, 9) w(k) LEFT JOIN daily h ON h.d = j.d - CAST(7 * w.k AS INTEGER)),
    med AS (SELECT d, median(v) AS m FROM hist GROUP BY d),
    mad AS (SELECT hist.d, median(abs(v - m)) AS mad FROM hist JOIN med USING (d) GROUP BY hist.d)
    SELECT CAST(j.d AS VARCHAR) AS day, CAST(coalesce(t.v, 0) AS DOUBLE) AS value, CAST(m AS DOUBLE) AS median,
           CAST(m - 3 * 1.4826 * mad AS DOUBLE) AS low, CAST(m + 3 * 1.4826 * mad AS DOUBLE) AS high
    FROM judged j JOIN med USING (d) JOIN mad USING (d) LEFT JOIN daily t ON t.d = j.d
    WHERE CASE WHEN mad = 0 THEN coalesce(t.v, 0) <> m ELSE coalesce(t.v, 0) NOT BETWEEN m - 3 * 1.4826 * mad AND m + 3 * 1.4826 * mad END
    ORDER BY 1`;
}

const project: Project = projectFromSources([{ display: 'metrics/sales.yml', text: MODELS }]);
let faulty: DuckDBEngine;
let clean: DuckDBEngine;

beforeAll(async () => {
  faulty = await DuckDBEngine.open({ path: ':memory:' });
  clean = await DuckDBEngine.open({ path: ':memory:' });
  await faulty.query(salesSql(true));
  await clean.query(salesSql(false));
});
afterAll(async () => {
  await Promise.all([faulty?.close(), clean?.close()]);
});

const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

describe('anomaly checks', () => {
  it('volume and the metric anomaly flag exactly the days the hand-written SQL flags, with their bands', async () => {
    const run = await runChecks(project.graph, faulty, { now: NOW });
    for (const [id, value, status] of [['sales.volume', 'count(*)', 'warn'], ['revenue.anomaly', 'sum(amount)', 'fail']] as const) {
      const result = run.results.find((r) => r.id === id);
      const expected = await sqlRows(faulty, handSql(value));
      expect(expected.map((r) => r.day), id).toEqual([SPIKE]);
      expect(result?.status, id).toBe(status);
      expect(result?.failing, id).toBe(BigInt(expected.length));
      expect(result?.samples.length, id).toBe(expected.length);
      result?.samples.forEach((s, i) => {
        expect(s.day).toBe(expected[i].day);
        for (const k of ['value', 'median', 'low', 'high']) expect(close(Number(s[k]), Number(expected[i][k])), `${id} ${k}: ${s[k]} vs ${expected[i][k]}`).toBe(true);
      });
      expect(result?.message).toMatch(/^1 day of .* outside the band learnt from the same weekday: 2026-01-07 \(Wednesday\)/);
    }
  });

  it('the clean twin: strongly seasonal days are no alarm', async () => {
    const run = await runChecks(project.graph, clean, { now: NOW });
    expect(run.results.filter((r) => r.status !== 'pass').map((r) => r.message)).toEqual([]);
    // …and the data is strongly seasonal: the judged Sunday has well over twice the Monday's rows.
    const [row] = await sqlRows(clean, "SELECT count(*) FILTER (WHERE CAST(sold_at AS DATE) = DATE '2026-01-04') / count(*) FILTER (WHERE CAST(sold_at AS DATE) = DATE '2026-01-05') AS ratio FROM sales");
    expect(Number(row.ratio)).toBeGreaterThan(2);
  });

  it('median and MAD on a hand-computed example (the series of Leys et al. 2013)', () => {
    // 1, 3, 3, 6, 8, 10, 10, 1000: median (6 + 8) / 2 = 7; absolute deviations 6, 4, 4, 1, 1, 3, 3,
    // 993, sorted 1, 1, 3, 3, 4, 4, 6, 993: MAD (3 + 4) / 2 = 3.5; spread 3.5 × 1.4826 = 5.1891;
    // with k = 3 the band is 7 ± 15.5673, so 1000 is far outside and 10 inside.
    const series = [1, 3, 3, 6, 8, 10, 10, 1000];
    expect(medianAbsoluteDeviation(series)).toBe(3.5);
    const band = hampelBand(series, 3);
    expect(band.centre).toBe(7);
    expect(band.spread).toBeCloseTo(5.1891, 10);
    expect(band.high).toBeCloseTo(22.5673, 10);
    expect(band.low).toBeCloseTo(-8.5673, 10);
  });
});
