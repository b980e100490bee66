/**
 * `tally check` end to end over the planted-fault fixture and its clean twin: exit codes, the
 * JUnit XML read back by a real XML parser, JSON with exact counts, and the results kept with
 * their history in the state store (DuckDB file by default, a Postgres schema when configured).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine, projectFromSources } from '../src/index.js';
import { runChecks } from '../src/checks/runner.js';
import { DuckDBStateStore, PostgresStateStore } from '../src/checks/state.js';
import { CHECKS_METRICS_YML, CHECKS_MODELS_YML, checksFixtureSql, NOW, writeChecksProject } from './helpers/checks-fixture.js';
import { createDatabase } from './helpers/postgres-db.js';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tally-check-'));
const faultyDb = join(dir, 'faulty.duckdb');
const cleanDb = join(dir, 'clean.duckdb');
const BIN = join(process.cwd(), 'bin/tally.js');

async function tally(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, '-p', dir, ...args], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

async function writeDb(path: string, sql: string): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  await connection.run(sql);
  connection.closeSync();
  instance.closeSync();
}

beforeAll(async () => {
  writeChecksProject(dir);
  await writeDb(faultyDb, checksFixtureSql(true));
  await writeDb(cleanDb, checksFixtureSql(false));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NOW_FLAG = ['--now', NOW.toISOString()];

describe('tally check', () => {
  it('the clean twin passes: exit 0', async () => {
    const out = await tally('check', '--db', cleanDb, ...NOW_FLAG);
    expect(out.stdout).toMatch(/checks: \d+ passed, 0 warned, 0 failed, 0 could not run/);
    expect(out.code).toBe(0);
  });

  it('the faulty twin fails: exit 1, the duplicated user and the orphan orders named', async () => {
    const out = await tally('check', '--db', faultyDb, ...NOW_FLAG);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/^FAIL\s+users\.unique\(user\)\s+1 value of user occurs more than once in users.*e\.g\. 3$/m);
    expect(out.stdout).toMatch(/^FAIL\s+orders\.relationship\(user->users\)\s+3 rows of orders have a user not in users/m);
    expect(out.stdout).toMatch(/^WARN\s+orders\.not_null\(channel\)/m);
  });

  it('JUnit XML: one testsuite per model, a failure per failed error-level check, equal to the run', async () => {
    const out = await tally('check', '--db', faultyDb, '--format', 'junit', '--no-save', ...NOW_FLAG);
    expect(out.code).toBe(1);
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => name === 'testsuite' || name === 'testcase' }).parse(out.stdout) as {
      testsuites: { tests: string; failures: string; errors: string; testsuite: { name: string; failures: string; testcase: { name: string; failure?: { message: string }; 'system-out'?: string }[] }[] };
    };
    const engine = await DuckDBEngine.open({ path: faultyDb, readOnly: true });
    const project = projectFromSources([{ display: 'models.yml', text: CHECKS_MODELS_YML }, { display: 'metrics.yml', text: CHECKS_METRICS_YML }]);
    const run = await runChecks(project.graph, engine, { now: NOW });
    await engine.close();
    const suites = parsed.testsuites;
    expect(Number(suites.tests)).toBe(run.results.length);
    expect(Number(suites.failures)).toBe(run.results.filter((r) => r.status === 'fail').length);
    expect(Number(suites.errors)).toBe(0);
    expect(suites.testsuite.map((s) => s.name)).toEqual(['users', 'orders', 'shipments']);
    const cases = suites.testsuite.flatMap((s) => s.testcase);
    const failed = cases.filter((c) => c.failure).map((c) => c.name).sort();
    expect(failed).toEqual(run.results.filter((r) => r.status === 'fail').map((r) => r.id).sort());
    const warned = cases.filter((c) => c['system-out']).map((c) => c.name);
    expect(warned).toEqual(['orders.not_null(channel)']);
    expect(cases.find((c) => c.name === 'users.unique(user)')?.failure?.message).toBe(run.results.find((r) => r.id === 'users.unique(user)')?.message);
  });

  it('JSON with --select: counts as exact numbers, only the chosen models', async () => {
    const out = await tally('check', '--db', faultyDb, '--format', 'json', '--select', 'revenue', '--no-save', ...NOW_FLAG);
    const run = JSON.parse(out.stdout) as { failed: boolean; results: { id: string; model: string; failing: number; samples: unknown[] }[] };
    expect(run.failed).toBe(true);
    expect(new Set(run.results.map((r) => r.model))).toEqual(new Set(['orders']));
    expect(run.results.find((r) => r.id === 'orders.relationship(user->users)')).toMatchObject({ failing: 3, samples: [{ order: 111, user: 99 }, { order: 112, user: 98 }, { order: 113, user: 99 }] });
  });

  it('unknown --select names suggest the nearest', async () => {
    const out = await tally('check', '--db', faultyDb, '--select', 'ordres', ...NOW_FLAG);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/'ordres' is neither a semantic model nor a metric\. Did you mean 'orders'/);
  });

  it('keeps every run in .tally/state.duckdb, apart from the warehouse', async () => {
    const store = new DuckDBStateStore(join(dir, '.tally', 'state.duckdb'));
    const last = await store.lastResults();
    const unique = last.find((r) => r.id === 'users.unique(user)');
    expect(unique).toMatchObject({ status: 'fail', failing: '1', samples: [{ user: 3 }] });
    const history = await store.history('users.unique(user)');
    expect(history.map((h) => h.status)).toEqual(['fail', 'pass']); // newest first: the faulty run, then the clean one
    // The warehouse holds only its own tables.
    const engine = await DuckDBEngine.open({ path: faultyDb, readOnly: true });
    const tables = await engine.query('SELECT table_name FROM information_schema.tables ORDER BY 1');
    await engine.close();
    expect(tables.rows.map((r) => r[0])).toEqual(['orders', 'shipments', 'users']);
  });
});

describe('state store in Postgres', () => {
  it('keeps runs in its own schema and returns the latest result per check', async () => {
    const store = new PostgresStateStore(await createDatabase('check_state'), 'tally_state');
    try {
      const engine = await DuckDBEngine.open({ path: ':memory:' });
      const project = projectFromSources([{ display: 'models.yml', text: CHECKS_MODELS_YML }]);
      await engine.query(checksFixtureSql(false));
      const first = await runChecks(project.graph, engine, { now: NOW });
      await engine.query("INSERT INTO users VALUES (2, TIMESTAMP '2025-12-09 00:00:00', 'KR')");
      const second = await runChecks(project.graph, engine, { now: new Date(NOW.getTime() + 1000) });
      await engine.close();
      await store.saveRun(first);
      await store.saveRun(second);
      const last = await store.lastResults();
      expect(last.length).toBe(second.results.length);
      expect(last.find((r) => r.id === 'users.unique(user)')).toMatchObject({ runId: second.id, status: 'fail', failing: '1', samples: [{ user: 2 }] });
      expect((await store.history('users.unique(user)')).map((r) => r.runId)).toEqual([second.id, first.id]);
    } finally {
      await store.close();
    }
  });
});
