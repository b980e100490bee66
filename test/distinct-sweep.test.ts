/**
 * The distinct sweep (src/planner/lower/distinct-sweep.ts) on data made to hit its edges: members
 * that are NULL (they count toward no one, yet make a period present), a group key that is NULL,
 * days where only NULL members were active, gaps of several days, month ends (a calendar-month
 * window clamps Jan 30 + 1 month to Feb 28), hour grain (periods stay timestamps), and windows of
 * one measure requested together with a range (they share one set of member days read as far
 * back as the widest window needs). The truth is the definition written by hand: for each
 * period p, COUNT(DISTINCT member) over the rows from (p + 1 period) - window to p, by a spine
 * joined to the rows on that range; a period is shown when some row falls in its window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRequest, DuckDBEngine, projectFromSources, runQuery, type RequestInput } from '../src/index.js';
import { expectSameRows, sqlRows } from './helpers/fixture-db.js';

const DEFINITIONS = `semantic_models:
  - name: visits
    table: visits
    defaults: { agg_time_dimension: visited_at }
    entities:
      - { name: visit, type: primary, expr: visit_id }
    dimensions:
      - { name: visited_at, type: time, granularity: hour }
      - { name: region, type: categorical, data_type: text }
    measures:
      - { name: visitors, agg: count_distinct, expr: member }
      - { name: visit_count, agg: count, expr: visit_id }
metrics:
  - { name: visits_1m, type: cumulative, measure: visit_count, window: 1 month }
  - { name: visitors_3d, type: cumulative, measure: visitors, window: 3 days }
  - { name: visitors_1m, type: cumulative, measure: visitors, window: 1 month }
  - { name: visitors_1q, type: cumulative, measure: visitors, window: 1 quarter }
  - { name: visitors_5h, type: cumulative, measure: visitors, window: 5 hours }
`;

/**
 * About 900 visits from 2025-01-20 to 2025-04-10 by 40 members (every 7th visit has no member),
 * with nothing from Feb 10 to Feb 14 and only member-less visits on Mar 3; regions A, B or NULL.
 */
const VISITS = `
CREATE TABLE visits AS
SELECT i AS visit_id,
       CASE WHEN i % 7 = 0 OR CAST(ts AS DATE) = DATE '2025-03-03' THEN NULL ELSE (i * 37) % 40 END AS member,
       CASE i % 3 WHEN 0 THEN 'A' WHEN 1 THEN 'B' END AS region,
       ts AS visited_at
FROM (SELECT i, TIMESTAMP '2025-01-20' + INTERVAL ((i * 7919) % (80 * 24)) HOUR AS ts FROM range(900) t(i))
WHERE NOT (ts >= TIMESTAMP '2025-02-10' AND ts < TIMESTAMP '2025-02-15')`;

const project = projectFromSources([{ display: 'metrics/visits.yml', text: DEFINITIONS }]);
let engine: DuckDBEngine;

beforeAll(async () => {
  engine = await DuckDBEngine.open({ path: ':memory:' });
  await engine.query(VISITS);
});
afterAll(async () => {
  await engine?.close();
});

interface Window {
  name: string;
  interval: string;
}
const W3D: Window = { name: 'visitors_3d', interval: 'INTERVAL 3 DAY' };
const W1M: Window = { name: 'visitors_1m', interval: 'INTERVAL 1 MONTH' };
const W1Q: Window = { name: 'visitors_1q', interval: 'INTERVAL 3 MONTH' };
const W5H: Window = { name: 'visitors_5h', interval: 'INTERVAL 5 HOUR' };

/**
 * The windowed distinct count by definition, per period of `grain` from `from` to `to` (inclusive),
 * or without them from the first period with a visit to the last whose window holds one.
 */
function byDefinition(w: Window, grain: 'day' | 'hour', options: { from?: string; to?: string; region?: boolean } = {}): string {
  const step = `INTERVAL 1 ${grain.toUpperCase()}`;
  const first = options.from ? `TIMESTAMP '${options.from}'` : `(SELECT date_trunc('${grain}', MIN(visited_at)) FROM visits)`;
  const last = options.to ? `TIMESTAMP '${options.to}'` : `(SELECT date_trunc('${grain}', MAX(visited_at)) + ${w.interval} - ${step} FROM visits)`;
  const shown = grain === 'day' ? 'CAST(p.p AS DATE)' : 'p.p';
  // At the metric's own grain alone every period of the series is shown, 0 when its window is empty;
  // with a region, a group is shown in the periods whose window holds its rows.
  // (COUNT(DISTINCT) over the LEFT JOIN's NULL row is 0.)
  return `
    SELECT ${shown} AS "metric_time.${grain}", ${options.region ? 'v.region AS "visit.region", ' : ''}COUNT(DISTINCT v.member) AS ${w.name}
    FROM generate_series(${first}, ${last}, ${step}) AS p(p)
    ${options.region ? 'JOIN' : 'LEFT JOIN'} visits v ON v.visited_at >= p.p + ${step} - ${w.interval} AND v.visited_at < p.p + ${step}
    GROUP BY ALL`;
}

async function check(request: RequestInput, expectedSql: string): Promise<void> {
  const expected = await sqlRows(engine, expectedSql);
  expect(expected.length, 'the hand-written SQL returns rows').toBeGreaterThan(0);
  const result = await runQuery(project, engine, request);
  expectSameRows(result.rows, expected);
}

describe('distinct sweep equals the windowed COUNT(DISTINCT) by definition', () => {
  for (const w of [W3D, W1M, W1Q]) {
    it(`${w.name} by day, over all the data`, async () => {
      await check({ metrics: [w.name], groupBy: ['metric_time.day'] }, byDefinition(w, 'day'));
    });
  }

  it('a day whose window holds only member-less visits is shown with 0', async () => {
    const rows = (await runQuery(project, engine, { metrics: ['visitors_5h'], groupBy: ['metric_time.hour'], from: '2025-03-03 00:00', to: '2025-03-03 23:00' })).rows;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.some((r) => r.visitors_5h === 0n || r.visitors_5h === 0)).toBe(true);
  });

  it('three windows of one measure together, with a range: each as if asked alone', async () => {
    const from = '2025-02-01';
    const to = '2025-03-31';
    await check(
      { metrics: ['visitors_3d', 'visitors_1m', 'visitors_1q'], groupBy: ['metric_time.day'], from, to },
      `WITH a AS (${byDefinition(W3D, 'day', { from, to })}), b AS (${byDefinition(W1M, 'day', { from, to })}), c AS (${byDefinition(W1Q, 'day', { from, to })})
       SELECT c."metric_time.day", COALESCE(a.visitors_3d, 0) AS visitors_3d, COALESCE(b.visitors_1m, 0) AS visitors_1m, c.visitors_1q
       FROM c LEFT JOIN b USING ("metric_time.day") LEFT JOIN a USING ("metric_time.day")`,
    );
  });

  it('grouped by a key that is sometimes NULL: windows per group', async () => {
    await check({ metrics: ['visitors_1m'], groupBy: ['metric_time.day', 'visit.region'] }, byDefinition(W1M, 'day', { region: true }));
  });

  it('at hour grain: an hour window, and a day window read per hour', async () => {
    await check({ metrics: ['visitors_5h'], groupBy: ['metric_time.hour'] }, byDefinition(W5H, 'hour'));
    await check({ metrics: ['visitors_3d'], groupBy: ['metric_time.hour'], from: '2025-02-27 00:00', to: '2025-03-05 23:00' }, byDefinition(W3D, 'hour', { from: '2025-02-27 00:00', to: '2025-03-05 23:00' }));
  });

  // The range's first day is the 30th of March: its window starts at (Mar 31) - 1 month, which
  // SQL clamps to Feb 28, so rows from Feb 28 on count; the rows read must reach that far back
  // (a month subtracted in JavaScript without clamping gives Mar 3 and loses three days of rows).
  it('a range starting where (day + 1) - 1 month is clamped to a month end reads the whole first window', async () => {
    const from = '2025-03-30';
    const to = '2025-04-02';
    await check({ metrics: ['visitors_1m'], groupBy: ['metric_time.day'], from, to }, byDefinition(W1M, 'day', { from, to }));
    await check(
      { metrics: ['visits_1m'], groupBy: ['metric_time.day'], from, to },
      `SELECT CAST(p.p AS DATE) AS "metric_time.day", COUNT(v.visit_id) AS visits_1m
       FROM generate_series(TIMESTAMP '${from}', TIMESTAMP '${to}', INTERVAL 1 DAY) AS p(p)
       LEFT JOIN visits v ON v.visited_at >= p.p + INTERVAL 1 DAY - INTERVAL 1 MONTH AND v.visited_at < p.p + INTERVAL 1 DAY
       GROUP BY ALL`,
    );
  });

  it('the windows of one measure read one set of member days', () => {
    const sql = compileRequest(project.graph, { metrics: ['visitors_3d', 'visitors_1m', 'visitors_1q'], groupBy: ['metric_time.day'], from: '2025-02-01', to: '2025-03-31' }).sql;
    expect(sql.match(/SELECT DISTINCT/g)).toHaveLength(1);
    expect(sql.match(/FROM visits/g)).toHaveLength(1);
    // Rows reach back a quarter before the day after the first day: 2024-11-02.
    expect(sql).toContain("TIMESTAMP '2024-11-02 00:00:00'");
  });

  it('the count is typed as COUNT(DISTINCT) is (BIGINT), not as the running sum that computes it (HUGEINT)', async () => {
    const typeOf = async (sql: string, column: string): Promise<unknown> => (await sqlRows(engine, `DESCRIBE ${sql}`)).find((r) => r.column_name === column)?.column_type;
    const truth = await typeOf('SELECT COUNT(DISTINCT member) AS n FROM visits', 'n');
    expect(truth).toBe('BIGINT');
    for (const request of [
      { metrics: ['visitors_3d'], groupBy: ['metric_time.day'] },
      { metrics: ['visitors_1m'], groupBy: ['metric_time.month', 'visit.region'] },
      { metrics: ['visitors_5h', 'visitors_3d'], groupBy: ['metric_time.hour'], from: '2025-02-27 00:00', to: '2025-03-01 23:00' },
    ] satisfies RequestInput[]) {
      const sql = compileRequest(project.graph, request).sql;
      for (const metric of request.metrics) expect([metric, await typeOf(sql, metric)]).toEqual([metric, truth]);
    }
  });
});
