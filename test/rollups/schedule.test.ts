/**
 * Rollup refresh schedules: a rollup's `refresh.schedule` is a cron expression or names one of
 * tally.yml's `rollups.schedules` (an unknown name is refused with the nearest); the scheduler
 * refreshes on them, skips a refresh while one is going, and reports the build records.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionError, DuckDBEngine, openRollupStore, parseConfig, type RollupStore } from '../../src/index.js';
import { RollupScheduler, rollupCron } from '../../src/rollups/schedule.js';
import { MODELS, project, ROLLUPS, TABLE } from './readings-fixture.js';

let dir: string;
let engine: DuckDBEngine;
let store: RollupStore;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tally-rollup-schedule-'));
  engine = await DuckDBEngine.open({ path: ':memory:' });
  await engine.query(TABLE);
  store = await openRollupStore({ store: 'duckdb', path: path.join(dir, 'rollups.duckdb'), schema: 'tally_rollups' });
});

afterAll(async () => {
  await store?.close();
  await engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const scheduled = (schedule: string) => project(MODELS, ROLLUPS.replace('refresh: { trailing: 2 }', `refresh: { trailing: 2, schedule: "${schedule}" }`));

describe('rollup schedules', () => {
  it('reads a cron expression, or names one of tally.yml', () => {
    expect(rollupCron(scheduled('15 * * * *').graph.rollups.get('by_site')!)).toBe('15 * * * *');
    expect(rollupCron(scheduled('hourly').graph.rollups.get('by_site')!, { hourly: '0 * * * *' })).toBe('0 * * * *');
    expect(() => rollupCron(scheduled('hourli').graph.rollups.get('by_site')!, { hourly: '0 * * * *' })).toThrow(
      "metrics/rollups.yml:3:5: rollup 'by_site' is refreshed on schedule 'hourli', which tally.yml does not define. Did you mean 'hourly'? Define it under rollups: { schedules: { hourli: \"0 * * * *\" } } or write a cron expression",
    );
  });

  it('tally.yml names schedules, each a cron expression checked where it is written', () => {
    expect(parseConfig('tally.yml', 'rollups:\n  schedules:\n    hourly: "0 * * * *"\n').rollupSchedules).toEqual({ hourly: '0 * * * *' });
    let problems: string[] = [];
    try {
      parseConfig('tally.yml', 'rollups:\n  schedules:\n    hourly: "0 25 * * *"\n');
    } catch (e) {
      if (e instanceof DefinitionError) problems = e.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`);
    }
    expect(problems).toEqual([expect.stringMatching(/^tally\.yml:3:13: '0 25 \* \* \*' is not a cron expression/)]);
  });

  it('refreshes on demand, skips a refresh while one is going, and reports the records', async () => {
    const built: string[][] = [];
    const scheduler = new RollupScheduler({ project: () => scheduled('hourly'), engine, store, schedules: { hourly: '0 * * * *' }, onBuilt: (records) => built.push(records.map((r) => r.name)) });
    scheduler.start();
    try {
      expect(scheduler.nextRun()).toBeInstanceOf(Date);
      const first = scheduler.refreshNow(undefined, 'test');
      expect(await scheduler.refreshNow(undefined, 'test')).toBeUndefined();
      expect((await first)?.map((r) => r.name)).toEqual(['by_site']);
      expect(built).toEqual([['by_site']]);
      expect((await store.get('by_site'))?.partitions).toHaveLength(4);
    } finally {
      scheduler.stop();
    }
  });
});
