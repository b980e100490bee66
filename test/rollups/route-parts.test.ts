/**
 * Measure parts re-aggregated from a rollup by coarser periods and fewer dimensions (the rollup
 * scan adds up the rollup's buckets by the request's dimensions first, then truncates them to the
 * request's periods; at the rollup's own grain it reads the buckets as stored): sums beyond 2^63,
 * decimal sums, counts, minimums and maximums, several in one request (one shared scan), equal to
 * the base answer and to hand-written SQL on the readings table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRollups, DuckDBEngine, openRollupStore, type RequestInput, type RollupStore, runQuery } from '../../src/index.js';
import { type OpenRollupSource, rollupSourceOf } from '../../src/rollups/source.js';
import { expectSameRows, sqlRows } from '../helpers/fixture-db.js';
import { project, TABLE } from './readings-fixture.js';

const readings = project();
let engine: DuckDBEngine;
let store: RollupStore;
let rollups: OpenRollupSource;

beforeAll(async () => {
  engine = await DuckDBEngine.open({ path: ':memory:' });
  await engine.query(TABLE);
  store = await openRollupStore({ store: 'duckdb', path: ':memory:', schema: 'tally_rollups' });
  await buildRollups(readings, engine, { store });
  rollups = await rollupSourceOf(readings, store);
});

afterAll(async () => {
  await store?.close();
  await engine?.close();
});

const METRIC_SETS = [['big_total', 'amount_total', 'readings', 'lowest', 'highest'], ['lowest'], ['highest', 'readings']];
const GRAINS = ['day', 'week', 'month', 'quarter'];
/** Ranges of whole periods inside the covered range [2025-01-01, 2025-05-01) (weeks start on Monday). */
const RANGE: Record<string, { from: string; to: string }> = { week: { from: '2025-01-06', to: '2025-03-30' } };
const DIMS = [[], ['reading.site']];

describe('measure parts from a rollup by coarser periods', () => {
  it('equal the base answer for every grain, with and without the dimension, one or several measures', async () => {
    let served = 0;
    for (const metrics of METRIC_SETS) {
      for (const grain of GRAINS) {
        for (const dims of DIMS) {
          const request: RequestInput = { metrics, groupBy: [`metric_time.${grain}`, ...dims], ...(RANGE[grain] ?? { from: '2025-01-01', to: '2025-03-31' }) };
          const base = await runQuery(readings, engine, request);
          const routed = await runQuery(readings, engine, request, { rollups: rollups.source });
          const what = `${metrics.join(', ')} by ${request.groupBy?.join(', ')}`;
          expect(routed.rollups?.served, `${what}: ${routed.rollups?.reason}`).toBe(true);
          expect(routed.columns, what).toEqual(base.columns);
          expectSameRows(routed.rows, base.rows);
          served += 1;
        }
      }
    }
    expect(served).toBe(METRIC_SETS.length * GRAINS.length * DIMS.length);
  });

  it('equal hand-written SQL by month: a sum beyond 2^63, decimals, count, minimum and maximum', async () => {
    const request: RequestInput = { metrics: ['big_total', 'amount_total', 'readings', 'lowest', 'highest'], groupBy: ['metric_time.month'], from: '2025-01-01', to: '2025-04-30' };
    const routed = await runQuery(readings, engine, request, { rollups: rollups.source });
    expect(routed.rollups?.served).toBe(true);
    // The first step groups the days of both sites, then months: the SQL truncates the few summed days, not every stored row.
    expect(routed.sql).toMatch(/GROUP BY "rollup"\."metric_time__day"\s/);
    const hand = await sqlRows(
      engine,
      `SELECT CAST(date_trunc('month', read_at) AS DATE) AS "metric_time.month", SUM(big) AS big_total, SUM(amount) AS amount_total,
              COUNT(id) AS readings, MIN(amount) AS lowest, MAX(amount) AS highest
         FROM readings WHERE read_at >= TIMESTAMP '2025-01-01' AND read_at < TIMESTAMP '2025-05-01' GROUP BY 1`,
    );
    expectSameRows(routed.rows, hand);
    expect(routed.rows.find((r) => r['metric_time.month'] === '2025-01-01')).toMatchObject({ big_total: 15009007199254740993n, amount_total: '100000012.34', lowest: '0.01', highest: '99999999.99' });
  });
});
