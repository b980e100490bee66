/**
 * Averages from a rollup's sum and count (issue 18). The base computes an average measure as its
 * exact sum over its count (src/planner/lower/average.ts), and a rollup re-aggregates the same
 * exact sum and count with the same formula: the routed answer is the base answer to the last bit,
 * where the engine's AVG is not (DuckDB's AVG of a DECIMAL differs from SUM/COUNT in the last bit
 * for some groups; asserted below, so the test shows why one definition is needed). Routing
 * refuses an average whose sum is a float (its value depends on the order of addition), one whose
 * build record does not say the sum's type, and one whose store is another kind of engine.
 * Independent truth: the base answer, and each average recomputed in JavaScript from the exact
 * sum (read as text) and count that hand-written SQL gives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRequest } from '../../src/compile.js';
import { DuckDBEngine } from '../../src/engines/duckdb.js';
import { type Project, projectFromSources } from '../../src/index.js';
import type { Expression } from '../../src/query/expression.js';
import { parseExpressionCached } from '../../src/query/parse-cache.js';
import type { RequestInput } from '../../src/query/request.js';
import { buildRollups } from '../../src/rollups/build.js';
import { definitionFingerprint } from '../../src/rollups/fingerprint.js';
import { type OpenRollupSource, rollupSourceOf } from '../../src/rollups/source.js';
import { openRollupStore, type RollupStore } from '../../src/rollups/store.js';
import { runQuery } from '../../src/run.js';
import { expectSameRows, sqlRows } from '../helpers/fixture-db.js';
import { DEFINITIONS, TABLE } from './average-fixture.js';

let project: Project;
let base: DuckDBEngine;
let store: RollupStore;
let rollups: OpenRollupSource;

beforeAll(async () => {
  project = projectFromSources([{ display: 'metrics/readings.yml', text: DEFINITIONS }]);
  base = await DuckDBEngine.open({ path: ':memory:' });
  await base.query(TABLE);
  store = await openRollupStore({ store: 'duckdb', path: ':memory:', schema: 'tally_rollups' });
  await buildRollups(project, base, { store });
  rollups = await rollupSourceOf(project, store);
}, 120_000);
afterAll(async () => {
  await store?.close();
  await base?.close();
});

/** Both answers; equal bit for bit, except `floats` (sums of doubles, not even the base repeats them: compared to 1e-12). */
async function bothWays(request: RequestInput, rowFilters: Expression[] = [], floats: string[] = []): Promise<{ base: Awaited<ReturnType<typeof runQuery>>; routed: Awaited<ReturnType<typeof runQuery>> }> {
  const plain = await runQuery(project, base, request, { rowFilters });
  const routed = await runQuery(project, base, request, { rowFilters, rollups: rollups.source });
  expect(routed.columns).toEqual(plain.columns);
  expectSameRows(routed.rows, plain.rows, { doubles: floats });
  return { base: plain, routed };
}

describe('averages from a rollup’s sum and count', () => {
  it('the store records the sums’ exact types', () => {
    const types = rollups.source.built[0].columnTypes ?? {};
    expect(types.m__amount_avg__sum).toBe('DECIMAL(38,2)');
    expect(types.m__big_avg__sum).toBe('HUGEINT');
    expect(types.m__score_avg__sum).toBe('DOUBLE');
  });

  it('serve decimal and integer averages (and ratios, derived metrics over them) over a matrix of requests, equal to the base bit for bit', async () => {
    let served = 0;
    for (const metric of ['amount_avg', 'big_avg', 'amount_per_reading', 'avg_spread']) {
      for (const grain of ['day', 'week', 'month', 'quarter', 'year']) {
        for (const dims of [[], ['reading.site'], ['reading.site', 'reading.kind']]) {
          for (const filtering of ['none', 'where', 'row filter'] as const) {
            const request: RequestInput = { metrics: [metric], groupBy: [`metric_time.${grain}`, ...dims], from: '2025-01-06', to: '2025-12-28', where: filtering === 'where' ? "reading.kind = 'a'" : undefined };
            const rowFilters = filtering === 'row filter' ? [parseExpressionCached("reading.site IN ('site_1', 'site_3')", 'row filter')] : [];
            const { routed } = await bothWays(request, rowFilters);
            expect(routed.rollups?.served, `${metric} by ${grain} ${dims.join('+')} ${filtering}: ${routed.rollups?.reason}`).toBe(true);
            expect(routed.rows.length).toBeGreaterThan(0);
            served += 1;
          }
        }
      }
    }
    expect(served).toBe(4 * 5 * 3 * 3);
  }, 300_000);

  it('equal the exact sum over the count, computed from hand-written SQL; the engine’s AVG differs in the last bit for some groups', async () => {
    const { routed } = await bothWays({ metrics: ['amount_avg'], groupBy: ['metric_time.day', 'reading.site'], from: '2025-01-01', to: '2025-12-31' });
    const hand = await sqlRows(
      base,
      `SELECT CAST(CAST(date_trunc('day', read_at) AS DATE) AS VARCHAR) AS day, site, CAST(SUM(amount) AS VARCHAR) AS total, COUNT(amount) AS n, AVG(amount) AS engine_avg
       FROM readings GROUP BY 1, 2`,
    );
    const byKey = new Map(routed.rows.map((r) => [`${String(r['metric_time.day'])}|${String(r['reading.site'])}`, r.amount_avg]));
    let engineDiffers = 0;
    for (const h of hand) {
      // A decimal's text as a double is correctly rounded (Number), then one division.
      const expected = Number(h.n) === 0 ? null : Number(h.total) / Number(h.n);
      expect(byKey.get(`${String(h.day)}|${String(h.site)}`), `${String(h.day)} ${String(h.site)}`).toBe(expected);
      if (h.engine_avg !== expected) engineDiffers += 1;
    }
    expect(hand.length).toBe(routed.rows.length);
    expect(engineDiffers).toBeGreaterThan(0);
  });

  it('refuses an average of floats: the sum depends on the order of addition', async () => {
    const { routed } = await bothWays({ metrics: ['score_avg'], groupBy: ['metric_time.month'], from: '2025-01-01', to: '2025-12-31' }, [], ['score_avg']);
    expect(routed.rollups?.served).toBe(false);
    expect(routed.rollups?.reason).toMatch(/the sum of 'score_avg' is a DOUBLE: a float sum depends on the order of addition/);
  });

  it('a cumulative metric averaged over each period’s days: served over decimal values, refused over floats', async () => {
    for (const dims of [[], ['reading.site', 'reading.kind']]) {
      const decimals = await bothWays({ metrics: ['amount_7d_mean'], groupBy: ['metric_time.month', ...dims], from: '2025-01-01', to: '2025-12-31' });
      expect(decimals.routed.rollups?.served, decimals.routed.rollups?.reason).toBe(dims.length > 0);
      const floats = await bothWays({ metrics: ['score_7d_mean'], groupBy: ['metric_time.month', ...dims], from: '2025-01-01', to: '2025-12-31' }, [], ['score_7d_mean']);
      expect(floats.routed.rollups?.served).toBe(false);
      if (dims.length) expect(floats.routed.rollups?.reason).toMatch(/averaged over each period's days; its values are DOUBLE, whose sum depends on the order of addition/);
    }
    // By day there is nothing to average: the stored values are the answer.
    const daily = await bothWays({ metrics: ['score_7d_mean'], groupBy: ['metric_time.day', 'reading.site', 'reading.kind'], from: '2025-03-01', to: '2025-03-31' }, [], ['score_7d_mean']);
    expect(daily.routed.rollups?.served, daily.routed.rollups?.reason).toBe(true);
  });

  it('refuses where the build record does not say the sum’s type, or the store is another kind of engine', () => {
    const built = rollups.source.built.map(({ columnTypes: _types, ...r }) => r);
    const request: RequestInput = { metrics: ['amount_avg'], groupBy: ['metric_time.month'], from: '2025-01-01', to: '2025-12-31' };
    const fingerprint = (n: string): string => definitionFingerprint(project.graph, n);
    const untyped = compileRequest(project.graph, request, { rollups: { built, fingerprint } });
    expect(untyped.rollups?.reason).toMatch(/does not say the type of m__amount_avg__sum/);
    const typed = compileRequest(project.graph, request, { rollups: { built: rollups.source.built, fingerprint } });
    expect(typed.rollups?.served).toBe(true);
    // A Postgres base with the default DuckDB store: each engine converts the exact sum to a double its own way.
    const crossEngine = compileRequest(project.graph, request, { dialect: 'postgres', rollups: { built: rollups.source.built, fingerprint, dialect: 'duckdb' } });
    expect(crossEngine.rollups?.served).toBe(false);
    expect(crossEngine.rollups?.reason).toMatch(/another kind of engine/);
  });
});
