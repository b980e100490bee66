/**
 * A rollup answer is the base answer even after source rows change: rows newer than the build
 * (the source's freshness moved) and edited or planted old rows (a partition's source fingerprint
 * no longer matches) make the affected range fall through to the base tables, with the reason in
 * the audit record; ranges the change does not reach are still served; after a rebuild the rollup
 * serves again. Every answer is checked against hand-written SQL run after the edit, on a table
 * without keys (a row is planted twice).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRollups, DuckDBEngine, openRollupStore, type RollupStore, runQuery } from '../../src/index.js';
import { rollupSourceOf } from '../../src/rollups/source.js';
import { checkFreshness, type RollupChecks, verifyFingerprints, withStaleness } from '../../src/rollups/verify.js';
import { expectSameRows, sqlRows } from '../helpers/fixture-db.js';
import { MODELS, project, TABLE } from './readings-fixture.js';

let dir: string;
let engine: DuckDBEngine;
let store: RollupStore;
const p = project();
const definition = p.graph.rollups.get('by_site')!;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tally-rollup-stale-'));
  engine = await DuckDBEngine.open({ path: ':memory:' });
  await engine.query(TABLE);
  store = await openRollupStore({ store: 'duckdb', path: path.join(dir, 'rollups.duckdb'), schema: 'tally_rollups' });
  await buildRollups(p, engine, { store, now: () => new Date('2026-01-01T00:00:00Z') });
});

afterAll(async () => {
  await store?.close();
  await engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The base answer by hand: amount_total and readings by month and site over [from, to). */
const hand = (from: string, to: string): string => `
  SELECT CAST(date_trunc('month', read_at) AS DATE) AS "metric_time.month", site AS "reading.site", SUM(amount) AS amount_total, COUNT(id) AS readings
    FROM readings WHERE read_at >= TIMESTAMP '${from}' AND read_at < TIMESTAMP '${to}' GROUP BY 1, 2`;

/** The request for the same: `to` is inclusive of its month in Tally's ranges. */
const request = (from: string, toMonth: string) => ({ metrics: ['amount_total', 'readings'], groupBy: ['metric_time.month', 'reading.site'], from, to: toMonth });

/** Asks through a rollup source that measures freshness on the engine and knows `checks`. */
async function ask(from: string, toMonth: string, checks: RollupChecks = {}) {
  const source = await rollupSourceOf(p, store, undefined, { freshness: engine, checks: () => checks });
  return runQuery(p, engine, request(from, toMonth), { rollups: source.source });
}

describe('stale rollups fall through to the base tables', () => {
  it('serves the base answer from the rollup while nothing changed', async () => {
    const answer = await ask('2025-01-01', '2025-04-01');
    expect(answer.rollups?.served).toBe(true);
    expectSameRows(answer.rows, await sqlRows(engine, hand('2025-01-01', '2025-05-01')));
  });

  it('an edited and a planted old row: verification finds their partitions; those ranges read the base tables, others the rollup', async () => {
    // Neither moves freshness (the newest reading is 2025-04-15): only fingerprints see them.
    await engine.query(`UPDATE readings SET amount = amount + 1 WHERE id = 5`);
    await engine.query(`INSERT INTO readings VALUES (2, '2025-01-05 11:00:00', 'a', 5000000000000000000, 0.01)`);
    const [built] = await store.list();
    const freshness = await checkFreshness(p.graph, engine, definition, built);
    expect(freshness.stale).toEqual([]);
    // Without the verification the rollup would still answer, with the old numbers.
    const unverified = await ask('2025-01-01', '2025-04-01');
    expect(unverified.rollups?.served).toBe(true);
    const now = await sqlRows(engine, hand('2025-01-01', '2025-05-01'));
    expect(() => expectSameRows(unverified.rows, now)).toThrow();

    const verified = await verifyFingerprints(p.graph, engine, definition, built);
    expect(verified.stale.map(({ start, end }) => ({ start, end }))).toEqual([
      { start: '2025-01-01', end: '2025-02-01' },
      { start: '2025-02-01', end: '2025-03-01' },
    ]);
    expect(verified.stale[1].reason).toMatch(/^the source rows of partition 2025-02-01 changed since it was built at 2026-01-01T00:00:00.000Z/);
    const checks: RollupChecks = { by_site: { fingerprints: verified } };

    const whole = await ask('2025-01-01', '2025-04-01', checks);
    expect(whole.rollups?.served).toBe(false);
    expect(whole.rollups?.reason).toContain('by_site: its rows from 2025-01-01 to 2025-02-01 are stale (the source rows of partition 2025-01-01 changed');
    expectSameRows(whole.rows, now);

    const later = await ask('2025-03-01', '2025-04-01', checks);
    expect(later.rollups?.served).toBe(true);
    expectSameRows(later.rows, await sqlRows(engine, hand('2025-03-01', '2025-05-01')));
  });

  it('rows newer than the build: freshness moved, so its partition and every later one read the base tables', async () => {
    await engine.query(`INSERT INTO readings VALUES (11, '2025-04-20 10:00:00', 'b', 7, 7.77)`);
    const [built] = await store.list();
    const check = await checkFreshness(p.graph, engine, definition, built);
    expect(check.stale).toEqual([{ start: '2025-04-01', reason: "the newest 'readings' row moved from 2025-04-15 00:00:00 to 2025-04-20 10:00:00 since the build" }]);
    // Measured when the source is opened, as `tally query --rollups` opens it: no verification needed.
    const april = await ask('2025-04-01', '2025-04-01');
    expect(april.rollups?.served).toBe(false);
    expect(april.rollups?.reason).toContain('its rows from 2025-04-01 on are stale');
    expectSameRows(april.rows, await sqlRows(engine, hand('2025-04-01', '2025-05-01')));
    const march = await ask('2025-03-01', '2025-03-01');
    expect(march.rollups?.served).toBe(true);
    expectSameRows(march.rows, await sqlRows(engine, hand('2025-03-01', '2025-04-01')));
  });

  it('after a rebuild the rollup serves again, and its answer is the base answer', async () => {
    const [before] = await store.list();
    const stale = { by_site: { fingerprints: await verifyFingerprints(p.graph, engine, definition, before) } };
    await buildRollups(p, engine, { store, now: () => new Date('2026-01-02T00:00:00Z') });
    const [after] = await store.list();
    // The checks of the previous build say nothing about this one.
    expect(withStaleness([after], stale)[0].stale).toBeUndefined();
    expect((await verifyFingerprints(p.graph, engine, definition, after)).stale).toEqual([]);
    const answer = await ask('2025-01-01', '2025-04-01', stale);
    expect(answer.rollups?.served).toBe(true);
    expectSameRows(answer.rows, await sqlRows(engine, hand('2025-01-01', '2025-05-01')));
  });
});

describe('how far a change reaches', () => {
  it('a finished cumulative window makes the changed partition and every later one stale (its windows reach forward)', async () => {
    const db = await DuckDBEngine.open({ path: ':memory:' });
    const own = await openRollupStore({ store: 'duckdb', path: ':memory:', schema: 'tally_rollups' });
    try {
      await db.query(TABLE);
      const windowed = project(
        MODELS + '  - { name: amount_7d, type: cumulative, measure: amount_total, window: 7 days }\n',
        'rollups:\n  - { name: running, metrics: [amount_7d], grain: day, partition: month }\n',
      );
      const [built] = await buildRollups(windowed, db, { store: own });
      // A late reading planted at the end of February: the 7-day windows of March's first days read it.
      await db.query("INSERT INTO readings VALUES (20, '2025-02-27 10:00:00', 'a', 1, 9.99)");
      const check = await verifyFingerprints(windowed.graph, db, windowed.graph.rollups.get('running')!, built);
      expect(check.stale.map(({ start, end }) => ({ start, end }))).toEqual([{ start: '2025-02-01', end: undefined }]);
      // March's first days read February's last week: refused, and answered as by hand (an empty window is 0).
      const source = await rollupSourceOf(windowed, own, undefined, { checks: () => ({ running: { fingerprints: check } }) });
      const march = { metrics: ['amount_7d'], groupBy: ['metric_time.day'], from: '2025-03-01', to: '2025-03-31' };
      const unchecked = await rollupSourceOf(windowed, own);
      expect((await runQuery(windowed, db, march, { rollups: unchecked.source })).rollups?.served).toBe(true);
      const routed = await runQuery(windowed, db, march, { rollups: source.source });
      expect(routed.rollups?.served).toBe(false);
      expect(routed.rollups?.reason).toContain('running: its rows from 2025-02-01 on are stale');
      const byHand = `SELECT strftime(d, '%Y-%m-%d') AS "metric_time.day", (SELECT COALESCE(SUM(amount), 0) FROM readings WHERE read_at >= d - INTERVAL 6 DAY AND read_at < d + INTERVAL 1 DAY) AS amount_7d
                        FROM generate_series(TIMESTAMP '2025-03-01', TIMESTAMP '2025-03-31', INTERVAL 1 DAY) AS t(d)`;
      expectSameRows(routed.rows, await sqlRows(db, byHand));
      const january = await runQuery(windowed, db, { ...march, from: '2025-01-01', to: '2025-01-31' }, { rollups: source.source });
      expect(january.rollups?.served).toBe(true);
      // An incremental refresh rebuilds February and every later partition (their windows read it): then March is served, equal to the base.
      await buildRollups(windowed, db, { store: own });
      const rebuilt = await rollupSourceOf(windowed, own, undefined, { freshness: db });
      const after = await runQuery(windowed, db, march, { rollups: rebuilt.source });
      expect(after.rollups?.served).toBe(true);
      expectSameRows(after.rows, await sqlRows(db, byHand));
    } finally {
      await own.close();
      await db.close();
    }
  });
});

describe('what an answer from a rollup says about its freshness', () => {
  it('a build never compared with its sources: the answer warns; compared: it says when, and warns of nothing', async () => {
    const [built] = await store.list();
    const unchecked = await rollupSourceOf(p, store);
    const warned = await runQuery(p, engine, request('2025-01-01', '2025-03-01'), { rollups: unchecked.source });
    expect(warned.rollups?.served).toBe(true);
    expect(warned.warnings).toEqual([`rollup by_site: its sources were not compared with it since it was built at ${built.builtAt}: rows added or edited since then would not be reflected`]);
    expect(warned.rollups?.rollups[0].warnings).toHaveLength(1);

    const checked = await ask('2025-01-01', '2025-03-01');
    expect(checked.rollups?.served).toBe(true);
    expect(checked.warnings).toEqual([]);
    expect(checked.rollups?.rollups[0].checkedAt?.freshness).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(checked.rollups?.rollups[0].checkedAt?.fingerprints).toBeUndefined();
  });
});
