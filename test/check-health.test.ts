/**
 * Data health on answers: a revenue answer over the faulty fixture carries, over GraphQL and the
 * CLI, the input model's "data as of" (equal to hand-written MAX over the table), the checks that
 * failed on it at the last run (from the state store), and the trailing month the data stops
 * inside; the clean twin's answer carries no check warning. The `health` query lists every model
 * with its checks and their history.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine, loadProject } from '../src/index.js';
import { TallyServer } from '../src/api/server.js';
import { runChecks } from '../src/checks/runner.js';
import { DuckDBStateStore } from '../src/checks/state.js';
import { DataHealth } from '../src/checks/health.js';
import { runQuery } from '../src/run.js';
import { checksFixtureSql, NOW, writeChecksProject } from './helpers/checks-fixture.js';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tally-health-'));
const faultyDb = join(dir, 'faulty.duckdb');
const statePath = join(dir, '.tally', 'state.duckdb');
let engine: DuckDBEngine;
let server: TallyServer;
let url: string;

async function gql<T>(query: string): Promise<{ data?: T; errors?: unknown[] }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return (await response.json()) as { data?: T; errors?: unknown[] };
}

beforeAll(async () => {
  writeChecksProject(dir);
  const instance = await DuckDBInstance.create(faultyDb);
  const connection = await instance.connect();
  await connection.run(checksFixtureSql(true));
  connection.closeSync();
  instance.closeSync();
  engine = await DuckDBEngine.open({ path: faultyDb, readOnly: true });
  const project = loadProject(dir);
  await new DuckDBStateStore(statePath).saveRun(await runChecks(project.graph, engine, { now: NOW }));
  server = new TallyServer({ projectDir: dir, engine, log: () => {}, stateStore: new DuckDBStateStore(statePath) });
  url = await server.listen(0, '127.0.0.1');
});
afterAll(async () => {
  await server?.close();
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Health {
  models: { model: string; dataAsOf: string; failedChecks: { id: string; status: string }[] }[];
  incompletePeriods: { model: string; grain: string; period: string; dataAsOf: string }[];
  warnings: string[];
}

describe('an answer over a faulty model', () => {
  it('GraphQL: data as of, failed checks at the last run, the incomplete trailing month', async () => {
    const out = await gql<{ metrics: { rows: { metricTime: string; revenue: string }[]; health: Health } }>(
      '{ metrics { rows { metricTime(grain: MONTH) revenue } health { models { model dataAsOf failedChecks { id status } } incompletePeriods { model grain period dataAsOf } warnings } } }',
    );
    expect(out.errors).toBeUndefined();
    const health = out.data?.metrics.health as Health;
    const [latest] = (await engine.query('SELECT CAST(max(ordered_at) AS VARCHAR) FROM orders')).rows;
    expect(health.models).toHaveLength(1);
    expect(health.models[0].model).toBe('orders');
    expect(health.models[0].dataAsOf).toBe(latest[0]);
    const failedOnOrders = (await new DuckDBStateStore(statePath).lastResults()).filter((r) => r.model === 'orders' && r.status !== 'pass').map((r) => r.id).sort();
    expect(failedOnOrders).toContain('orders.relationship(user->users)');
    expect(health.models[0].failedChecks.map((c) => c.id).sort()).toEqual(failedOnOrders);
    // The data stops on 2026-03-01 (the row dated in the future): March is incomplete.
    expect(health.incompletePeriods).toEqual([{ model: 'orders', grain: 'month', period: '2026-03-01', dataAsOf: '2026-03-01 00:00:00' }]);
    expect(out.data?.metrics.rows.map((r) => r.metricTime)).toContain('2026-03-01');
    expect(health.warnings.some((w) => /^check orders\.relationship\(user->users\) on input model 'orders' failed at the last run .*3 rows of orders have a user not in users/.test(w))).toBe(true);
    expect(health.warnings).toContain("the month 2026-03-01 is incomplete: 'orders' has data only up to 2026-03-01 00:00:00 UTC");
  });

  it('at day grain the last day of data is complete', async () => {
    const project = loadProject(dir);
    const answer = await runQuery(project, engine, { metrics: ['revenue'], groupBy: ['metric_time.day'] });
    const health = await new DataHealth(engine, undefined).forAnswer(project.graph, answer);
    expect(health.incompletePeriods).toEqual([]);
    const weekly = await runQuery(project, engine, { metrics: ['revenue'], groupBy: ['metric_time.week'] });
    // 2026-03-01 is a Sunday, the last day of its ISO week: complete.
    expect((await new DataHealth(engine, undefined).forAnswer(project.graph, weekly)).incompletePeriods).toEqual([]);
    const yearly = await runQuery(project, engine, { metrics: ['signups'], groupBy: ['metric_time.year'] });
    expect((await new DataHealth(engine, undefined).forAnswer(project.graph, yearly)).incompletePeriods).toEqual([
      { model: 'users', grain: 'year', period: '2025-01-01', dataAsOf: '2025-12-07 10:00:00' },
    ]);
  });

  it('the CLI prints the same as warnings', async () => {
    let stderr = '';
    try {
      ({ stderr } = await exec(process.execPath, [join(process.cwd(), 'bin/tally.js'), '-p', dir, 'query', '-m', 'revenue', '-g', 'metric_time.month', '--db', faultyDb], { cwd: dir }));
    } catch (e) {
      throw new Error(`tally query failed: ${(e as { stderr: string }).stderr}`);
    }
    expect(stderr).toMatch(/^warning: check orders\.relationship\(user->users\) on input model 'orders' failed at the last run/m);
    expect(stderr).toMatch(/^warning: the month 2026-03-01 is incomplete: 'orders' has data only up to 2026-03-01 00:00:00 UTC$/m);
  });

  it('the health query: every model, its checks, their last results and history', async () => {
    const out = await gql<{ health: { lastRunAt: string; models: { model: string; dataAsOf: string | null; checks: { id: string; derived: boolean; last: { status: string; failing: string; samples: string } | null; history: { status: string }[] }[] }[] } }>(
      '{ health { lastRunAt models { model dataAsOf checks { id derived last { status failing samples } history { status } } } } }',
    );
    expect(out.errors).toBeUndefined();
    const models = out.data?.health.models ?? [];
    expect(models.map((m) => m.model)).toEqual(['users', 'orders', 'shipments']);
    const unique = models[0].checks.find((c) => c.id === 'users.unique(user)');
    expect(unique).toMatchObject({ derived: true, last: { status: 'fail', failing: '1', samples: '[{"user":3}]' }, history: [{ status: 'fail' }] });
    expect(models[2].dataAsOf).toBe('2026-01-08 11:00:00');
    const stored = await new DuckDBStateStore(statePath).lastResults();
    expect(out.data?.health.lastRunAt).toBe(stored[0].ranAt);
  });
});
