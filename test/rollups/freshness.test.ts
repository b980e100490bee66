/**
 * `refresh.on_freshness`: a build records the newest time of each source model (as the data
 * checks measure freshness); the scheduler's probe compares it with the newest time now and
 * refreshes only the rollups whose sources moved. Truth: MAX(read_at) written by hand on the
 * engine, and the build records/events (never timings).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine, openRollupStore, type RollupStore } from '../../src/index.js';
import { probeFreshness, rollupSourceModels } from '../../src/rollups/freshness.js';
import type { FreshnessProbe } from '../../src/rollups/freshness.js';
import { hasScheduledRollups, RollupScheduler } from '../../src/rollups/schedule.js';
import type { BuiltRollup } from '../../src/rollups/types.js';
import { MODELS, project, ROLLUPS, TABLE } from './readings-fixture.js';

let engine: DuckDBEngine;
let store: RollupStore;

beforeAll(async () => {
  engine = await DuckDBEngine.open({ path: ':memory:' });
  // A copy of the source table of our own: rows are added to it below.
  await engine.query(TABLE);
  store = await openRollupStore({ store: 'duckdb', path: ':memory:', schema: 'tally_rollups' });
});

afterAll(async () => {
  await store?.close();
  await engine?.close();
});

async function newestReading(): Promise<string> {
  const r = await engine.query("SELECT strftime(MAX(read_at), '%Y-%m-%d %H:%M:%S') FROM readings");
  return String(r.rows[0][0]);
}

describe('refresh on freshness', () => {
  it('a build records the newest source time, as MAX of the time column gives it', async () => {
    const p = project();
    const rollup = p.graph.rollups.get('by_site')!;
    expect(rollup.refresh.onFreshness).toBe(true);
    expect(rollupSourceModels(p.graph, rollup).map((m) => m.name)).toEqual(['readings']);
    const probe = await probeFreshness(p.graph, engine, rollup, undefined);
    expect(probe).toMatchObject({ moved: true, reason: 'never built', now: { readings: await newestReading() } });
  });

  it('probes, refreshes only when the source freshness moved, and records the new time', async () => {
    const probes: FreshnessProbe[][] = [];
    const built: BuiltRollup[][] = [];
    const events: string[] = [];
    const scheduler = new RollupScheduler({
      project: () => project(),
      engine,
      store,
      onProbe: (p) => {
        probes.push(p);
        events.push(`probe ${p.map((x) => `${x.rollup}:${x.moved}`).join(',')}`);
      },
      onBuilt: (records) => {
        built.push(records);
        events.push(`built ${records.map((r) => r.name).join(',')}`);
      },
    });
    expect(hasScheduledRollups(project())).toBe(true);
    scheduler.start();
    try {
      // On_freshness without a schedule: probed on the default cadence.
      expect(scheduler.nextRun()).toBeInstanceOf(Date);

      // Never built: due.
      const first = await scheduler.refreshIfMoved();
      expect(first.records?.map((r) => r.name)).toEqual(['by_site']);
      const before = await store.get('by_site');
      expect(before?.sourceFreshness).toEqual({ readings: await newestReading() });

      // No new rows: the probe says nothing moved, and no refresh runs (the record is the same).
      const second = await scheduler.refreshIfMoved();
      expect(second.probes).toEqual([expect.objectContaining({ rollup: 'by_site', moved: false, reason: 'no source freshness moved' })]);
      expect(second.records).toBeUndefined();
      expect(await store.get('by_site')).toEqual(before);

      // Newer rows in the source (later on the same day and in a new month): moved, refreshed.
      const old = await newestReading();
      await engine.query(`INSERT INTO readings VALUES (11, '2025-04-15 06:00:00', 'c', 5, 5.50), (12, '2025-05-03 08:00:00', 'a', 6, 6.60)`);
      const third = await scheduler.refreshIfMoved();
      const now = await newestReading();
      expect(now).not.toBe(old);
      expect(third.probes).toEqual([expect.objectContaining({ rollup: 'by_site', moved: true, reason: `source freshness moved: readings ${old} → ${now}` })]);
      const after = await store.get('by_site');
      expect(after?.sourceFreshness).toEqual({ readings: now });
      expect(after?.partitions.map((p) => p.start)).toContain('2025-05-01');
      expect(after?.builtAt).not.toBe(before?.builtAt);

      expect(events).toEqual(['probe by_site:true', 'built by_site', 'probe by_site:false', 'probe by_site:true', 'built by_site']);

      // Shut down (a server stopping): newer rows are no longer probed nor refreshed.
      scheduler.shutdown();
      expect(scheduler.nextRun()).toBeUndefined();
      expect(scheduler.restart()).toBe(false);
      await engine.query(`INSERT INTO readings VALUES (13, '2025-05-04 08:00:00', 'a', 7, 7.70)`);
      expect(await scheduler.refreshIfMoved()).toEqual({ probes: [] });
      expect(await scheduler.refreshNow()).toBeUndefined();
      expect(events).toHaveLength(5);
      expect((await store.get('by_site'))?.sourceFreshness).toEqual({ readings: now });
    } finally {
      scheduler.stop();
    }
  });

  it('a rollup with on_freshness: false is never probed; one without schedule nor on_freshness leaves nothing to schedule', async () => {
    const off = project(MODELS, ROLLUPS.replace('refresh: { trailing: 2 }', 'refresh: { trailing: 2, on_freshness: false }'));
    expect(hasScheduledRollups(off)).toBe(false);
    const probes: FreshnessProbe[][] = [];
    const scheduler = new RollupScheduler({ project: () => off, engine, store, onProbe: (p) => probes.push(p) });
    scheduler.start();
    try {
      expect(scheduler.nextRun()).toBeUndefined();
      expect(await scheduler.refreshIfMoved()).toEqual({ probes: [] });
      expect(probes).toEqual([[]]);
    } finally {
      scheduler.stop();
    }
  });
});
