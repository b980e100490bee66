/**
 * Checks while serving: the cron schedule from tally.yml (validated at tally.yml:line:col), and a
 * run after a --watch reload that changed the definitions; results land in the state store.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionError, DuckDBEngine, parseConfig, projectFromSources } from '../src/index.js';
import { TallyServer } from '../src/api/server.js';
import { CheckScheduler } from '../src/checks/schedule.js';
import { DuckDBStateStore } from '../src/checks/state.js';
import { CHECKS_MODELS_YML, checksFixtureSql, writeChecksProject } from './helpers/checks-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'tally-schedule-'));
let engine: DuckDBEngine;

beforeAll(async () => {
  writeChecksProject(dir);
  engine = await DuckDBEngine.open({ path: ':memory:' });
  await engine.query(checksFixtureSql(true));
});
afterAll(async () => {
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('checks on a schedule', () => {
  it('tally.yml: a cron schedule is validated at its place', () => {
    expect(parseConfig('tally.yml', 'checks:\n  schedule: "0 * * * *"\n').checks).toEqual({ schedule: '0 * * * *', timeZone: undefined });
    try {
      parseConfig('tally.yml', 'checks:\n  schedule: "every hour"\n');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DefinitionError);
      expect((e as DefinitionError).problems[0]).toMatchObject({ file: 'tally.yml', line: 2, col: 13 });
      expect((e as DefinitionError).message).toMatch(/'every hour' is not a cron expression/);
    }
  });

  it('runs on the cron schedule and keeps the results', async () => {
    const store = new DuckDBStateStore(join(dir, 'scheduled.duckdb'));
    const project = projectFromSources([{ display: 'models.yml', text: CHECKS_MODELS_YML }]);
    const runs: string[] = [];
    const scheduler = new CheckScheduler({ schedule: '* * * * * *', graph: () => project.graph, engine, store, onRun: (r) => runs.push(r.id) });
    scheduler.start();
    try {
      const last = await until(async () => ((await store.lastResults()).length ? store.lastResults() : undefined), 'a scheduled run');
      expect(last.find((r) => r.id === 'users.unique(user)')?.status).toBe('fail');
      expect(runs.length).toBeGreaterThan(0);
    } finally {
      scheduler.stop();
    }
  });

  it('runs after a --watch reload that changed the definitions', async () => {
    const store = new DuckDBStateStore(join(dir, 'reload.duckdb'));
    let scheduler: CheckScheduler | undefined;
    const server = new TallyServer({ projectDir: dir, engine, watch: true, log: () => {}, stateStore: store, onReload: () => void scheduler?.runNow('reload') });
    scheduler = new CheckScheduler({ graph: () => server.project.graph, engine, store });
    try {
      expect(await store.lastResults()).toEqual([]);
      await server.watching;
      writeFileSync(join(dir, 'metrics', 'models.yml'), CHECKS_MODELS_YML.replace('      - { row_count: { min: 1, max: 12 } }\n', '      - { row_count: { min: 1, max: 100 } }\n'));
      const last = await until(async () => ((await store.lastResults()).length ? store.lastResults() : undefined), 'a run after the reload');
      expect(last.find((r) => r.id === 'orders.row_count')?.status).toBe('pass');
    } finally {
      await server.close();
    }
  });
});
