/**
 * The Postgres engine against a real server (the private cluster of test/setup/postgres.ts): exact
 * values, timeouts and cancellation that stop the query on the server, the pool, secrets kept out
 * of messages, tally.yml, and the CLI seeding and querying Postgres with the same answers as DuckDB.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionError, DuckDBEngine, type Engine, loadConfig, loadProject, openEngine, parseConfig, PostgresEngine, runQuery, TallyError } from '../src/index.js';
import { redactor } from '../src/engines/postgres.js';
import { DEMO_TABLES } from '../src/seed/demo.js';
import { expectSameRows, type Row } from './helpers/fixture-db.js';
import { createDatabase } from './helpers/postgres-db.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

let url: string;
let engine: PostgresEngine;

beforeAll(async () => {
  url = await createDatabase('engine');
  engine = await PostgresEngine.open({ connectionString: url });
});

afterAll(async () => {
  await engine?.close();
});

async function caught(p: Promise<unknown>): Promise<TallyError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TallyError);
    return e as TallyError;
  }
  throw new Error('expected an error');
}

/** Queries of ours still running on the server (other than the one asking). */
async function running(marker: string): Promise<number> {
  const r = await engine.query(`SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%${marker}%' AND pid <> pg_backend_pid()`);
  return Number(r.rows[0][0]);
}

async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe('exact values', () => {
  it('reads integers, decimals, dates, timestamps, doubles and booleans without rounding', async () => {
    const r = await engine.query(`
      SELECT 42::int8 AS small, 9007199254740993::int8 AS big, '-9223372036854775808'::int8 AS min,
             7::int4 AS i4, 3::int2 AS i2,
             12345678901234567890.12::numeric(22,2) AS dec, (SELECT SUM(x) FROM (VALUES (0.10::numeric(12,2))) AS v(x), generate_series(1, 10)) AS tenth_sum,
             DATE '2024-02-29' AS d, TIMESTAMP '2024-12-31 23:59:59' AS ts, TIMESTAMP '2025-01-01 00:00:00.123456' AS ts_frac,
             0.1::float8 AS f, true AS b, NULL::int8 AS n, 'Seoul'::varchar AS s,
             -- Postgres sums int8 into numeric; whole-number sums read as integers, as DuckDB's HUGEINT sums do.
             (SELECT SUM(x) FROM (VALUES (2::int8), (3::int8)) AS v(x)) AS int_sum,
             (SELECT SUM(x) FROM (VALUES (9007199254740993::int8), (1::int8)) AS v(x)) AS big_sum`);
    const row = Object.fromEntries(r.columns.map((c, i) => [c.name, r.rows[0][i]]));
    expect(row).toEqual({
      small: 42,
      big: 9007199254740993n,
      min: -9223372036854775808n,
      i4: 7,
      i2: 3,
      dec: '12345678901234567890.12',
      tenth_sum: '1.00',
      d: '2024-02-29',
      ts: '2024-12-31 23:59:59',
      ts_frac: '2025-01-01 00:00:00.123456',
      f: 0.1,
      b: true,
      n: null,
      s: 'Seoul',
      int_sum: 5,
      big_sum: 9007199254740994n,
    });
    expect(r.columns.map((c) => c.type)).toEqual([
      'BIGINT', 'BIGINT', 'BIGINT', 'INTEGER', 'SMALLINT', 'NUMERIC(22,2)', 'NUMERIC', 'DATE', 'TIMESTAMP', 'TIMESTAMP', 'DOUBLE PRECISION', 'BOOLEAN', 'BIGINT', 'VARCHAR', 'NUMERIC', 'NUMERIC',
    ]);
  });
});

describe('timeouts and cancellation', () => {
  it('a timeout stops the statement on the server, and the connection is usable afterwards', async () => {
    const error = await caught(engine.query('SELECT pg_sleep(30) AS timeout_marker_1', { timeoutMs: 200 }));
    expect(error.code).toBe('QUERY_TIMEOUT');
    expect(await eventually(async () => (await running('timeout_marker_1')) === 0)).toBe(true);
    // The timeout does not stay on the pooled connections.
    const results = await Promise.all([1, 2, 3, 4].map(() => engine.query('SHOW statement_timeout')));
    for (const r of results) expect(r.rows[0][0]).toBe('0');
  });

  it('an AbortSignal cancels the running statement with pg_cancel_backend', async () => {
    const controller = new AbortController();
    const query = engine.query('SELECT pg_sleep(30) AS cancel_marker_2', { signal: controller.signal });
    expect(await eventually(async () => (await running('cancel_marker_2')) === 1)).toBe(true);
    controller.abort();
    const error = await caught(query);
    expect(error.code).toBe('QUERY_CANCELLED');
    expect(await eventually(async () => (await running('cancel_marker_2')) === 0)).toBe(true);
    expect((await engine.query('SELECT 1 AS still_works')).rows).toEqual([[1]]);
  });

  it('an already aborted signal runs nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await caught(engine.query('SELECT 1', { signal: controller.signal }))).code).toBe('QUERY_CANCELLED');
  });

  it("SQL errors are ENGINE_ERRORs; the server's message is kept for the log, never in the message", async () => {
    const error = await caught(engine.query('SELECT * FROM no_such_table'));
    expect(error.code).toBe('ENGINE_ERROR');
    expect(error.detail).toContain('no_such_table');
    expect(error.message).not.toContain('no_such_table');
  });
});

describe('pool', () => {
  it('runs concurrent queries on several connections', async () => {
    const pids = await Promise.all([1, 2, 3].map(() => engine.query('SELECT pg_backend_pid(), pg_sleep(0.2)')));
    expect(new Set(pids.map((r) => r.rows[0][0])).size).toBeGreaterThan(1);
  });
});

describe('secrets', () => {
  const password = 'S3cret-Pa55-word';

  it('a connection error names where the URL came from, never the URL or password', async () => {
    const secretUrl = `postgres://tally:${password}@127.0.0.1:1/nowhere`;
    const error = await caught(PostgresEngine.open({ connectionString: secretUrl, source: '$TALLY_PG_URL' }));
    expect(error.code).toBe('ENGINE_ERROR');
    expect(error.message).toContain('$TALLY_PG_URL');
    expect(error.message).not.toContain(password);
    expect(error.message).not.toContain(secretUrl);
  });

  it('server errors are redacted too', async () => {
    const bad = new URL(url);
    bad.password = password;
    bad.pathname = '/no_such_database';
    const error = await caught(PostgresEngine.open({ connectionString: bad.toString() }));
    expect(error.message).toContain('no_such_database');
    expect(error.message).not.toContain(password);
  });

  it('redacts the URL, its password and its URL-encoded form', () => {
    const redact = redactor('postgres://u:p%40ss%2Fword@h:5432/db');
    expect(redact('failed for postgres://u:p%40ss%2Fword@h:5432/db and p@ss/word and p%40ss%2Fword')).toBe('failed for [redacted] and [redacted] and [redacted]');
  });
});

describe('tally.yml', () => {
  it('without a file: embedded DuckDB and the duckdb dialect', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-config-'));
    try {
      expect(loadConfig(dir)).toEqual({ engine: { type: 'duckdb', path: '.tally/demo.duckdb' }, dialect: 'duckdb' });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('postgres with url_env, a schema and a compile dialect', () => {
    const config = parseConfig('tally.yml', 'engine:\n  type: postgres\n  url_env: WAREHOUSE_URL\n  schema: analytics\ndialect: snowflake\n');
    expect(config.engine).toEqual({ type: 'postgres', urlEnv: 'WAREHOUSE_URL', urlEnvConfigured: true, schema: 'analytics', maxConnections: undefined });
    expect(config.dialect).toBe('snowflake');
    expect(parseConfig('tally.yml', 'engine: { type: postgres }\n').dialect).toBe('postgres');
  });

  function problems(text: string): string[] {
    try {
      parseConfig('tally.yml', text);
    } catch (e) {
      expect(e).toBeInstanceOf(DefinitionError);
      return (e as DefinitionError).problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`);
    }
    throw new Error('expected problems');
  }

  it('reports problems at file:line:col', () => {
    expect(problems('engine:\n  type: postgres\n  url_envv: X\n')).toEqual(["tally.yml:3:3: unknown key 'url_envv'; remove it or check the spelling"]);
    expect(problems('engine:\n  type: oracle\n')[0]).toMatch(/^tally\.yml:2:9: 'type' is not valid: .*duckdb, postgres or trino/);
    expect(problems('dialect: mysql\n')[0]).toMatch(/^tally\.yml:1:10: 'dialect' must be one of "duckdb", "postgres", "bigquery", "snowflake", "trino", "redshift"/);
    expect(problems('engine:\n  type: postgres\n  max_connections: 0\n')[0]).toMatch(/^tally\.yml:3:20: /);
    expect(problems('engine: [\n')).toEqual(["tally.yml:1:9: the '[' opened here is not closed; close it on this line, or put the whole value in quotes if the bracket is text"]);
  });

  it('refuses secrets in the file, and never repeats a value written by mistake', () => {
    const [secret] = problems('engine:\n  type: postgres\n  password: hunter2-secret\n');
    expect(secret).toMatch(/^tally\.yml:3:3: 'password' would put a connection secret in tally\.yml.*url_env/);
    expect(secret).not.toContain('hunter2-secret');
    const [value] = problems('engine:\n  type: postgres\n  url_env: postgres://u:hunter2-secret@db/x\n');
    expect(value).toMatch(/^tally\.yml:3:12: 'url_env': name an environment variable/);
    expect(value).not.toContain('hunter2-secret');
  });

  it('opens Postgres from the variable url_env names, and says which variable is missing', async () => {
    const config = parseConfig('tally.yml', 'engine:\n  type: postgres\n  url_env: TALLY_TEST_WAREHOUSE\n').engine;
    const opened = await openEngine(config, { env: { TALLY_TEST_WAREHOUSE: url } });
    try {
      expect(opened.name).toBe('postgres');
      expect((await opened.query('SELECT current_database()')).rows[0][0]).toBe(new URL(url).pathname.slice(1));
    } finally {
      await opened.close();
    }
    const error = await caught(openEngine(config, { env: {} }));
    expect(error.message).toContain('TALLY_TEST_WAREHOUSE');
  });
});

describe('CLI on Postgres: tally seed and tally query agree with DuckDB', () => {
  const password = 'never-print-this-pw';
  let dir: string;
  let duckdbFile: string;
  let secretUrl: string;
  let env: NodeJS.ProcessEnv;

  async function tally(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'bin/tally.js'), '-p', dir, ...args], { env, cwd: dir, maxBuffer: 64 * 1024 * 1024 });
      return { stdout, stderr, code: 0 };
    } catch (e) {
      const err = e as { stdout: string; stderr: string; code: number };
      return { stdout: err.stdout, stderr: err.stderr, code: err.code };
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tally-pg-cli-'));
    duckdbFile = join(dir, 'demo.duckdb');
    cpSync(join(ROOT, 'metrics'), join(dir, 'metrics'), { recursive: true });
    writeFileSync(join(dir, 'tally.yml'), 'engine:\n  type: postgres\n  url_env: TALLY_PG_URL\n');
    const u = new URL(await createDatabase('cli'));
    u.password = password; // trust authentication ignores it; it must still never be printed
    secretUrl = u.toString();
    env = { ...process.env, TALLY_PG_URL: secretUrl };
    const [pgSeed, duckSeed] = await Promise.all([tally('seed', '--events', '5000'), tally('seed', '--events', '5000', '--out', duckdbFile)]);
    expect(pgSeed.stderr).toBe('');
    expect(pgSeed.code).toBe(0);
    expect(pgSeed.stdout).toMatch(/^seeded Postgres in .* events=5000/);
    expect(pgSeed.stdout + pgSeed.stderr).not.toContain(password);
    expect(duckSeed.code).toBe(0);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function tableRows(e: Engine, table: string): Promise<Row[]> {
    const columns = (await e.query(`SELECT * FROM ${table} LIMIT 0`)).columns.map((c) => c.name);
    const r = await e.query(`SELECT * FROM ${table} ORDER BY ${columns.map((_, i) => i + 1).join(', ')}`);
    return r.rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]])));
  }

  it('the seeded tables hold exactly the rows of the DuckDB demo, with the same types', async () => {
    const pg = await PostgresEngine.open({ connectionString: secretUrl });
    const duck = await DuckDBEngine.open({ path: duckdbFile, readOnly: true });
    try {
      for (const table of DEMO_TABLES) {
        const [a, b] = await Promise.all([tableRows(duck, table), tableRows(pg, table)]);
        expect(a.length, table).toBeGreaterThan(0);
        expectSameRows(b, a, { ordered: true });
      }
      const types = await pg.query(`SELECT table_name, column_name, data_type, numeric_precision, numeric_scale, is_nullable FROM information_schema.columns
        WHERE table_name = 'orders' ORDER BY ordinal_position`);
      expect(types.rows).toEqual([
        ['orders', 'order_id', 'bigint', 64, 0, 'NO'],
        ['orders', 'user_id', 'bigint', 64, 0, 'NO'],
        ['orders', 'ordered_at', 'timestamp without time zone', null, null, 'NO'],
        ['orders', 'status', 'character varying', null, null, 'NO'],
        ['orders', 'amount', 'numeric', 12, 2, 'NO'],
      ]);
    } finally {
      await Promise.all([pg.close(), duck.close()]);
    }
  });

  it('every example metric by month is equal on both engines, to the cent', async () => {
    const project = loadProject(ROOT);
    const pg = await PostgresEngine.open({ connectionString: secretUrl });
    const duck = await DuckDBEngine.open({ path: duckdbFile, readOnly: true });
    try {
      for (const metric of project.graph.metrics.keys()) {
        const request = { metrics: [metric], groupBy: ['metric_time.month'] };
        const [a, b] = await Promise.all([runQuery(project, duck, request), runQuery(project, pg, request)]);
        expect(a.rows.length, metric).toBeGreaterThan(0);
        expectSameRows(b.rows, a.rows, { doubles: ['average_order_value', 'stickiness', 'search_ctr', 'revenue_growth_mom', 'signup_to_paid_order_7d'] });
      }
    } finally {
      await Promise.all([pg.close(), duck.close()]);
    }
  });

  it('tally query reads tally.yml: the JSON answer equals the DuckDB one', async () => {
    const args = ['query', '-m', 'revenue,orders,items_sold', '-g', 'metric_time.quarter,user.country', '--format', 'json'];
    const [onPg, onDuck] = await Promise.all([tally(...args), tally(...args, '--db', duckdbFile)]);
    // Only data-health warnings (the data stops inside the last quarter), the same on both engines.
    expect(onPg.stderr.split('\n').filter((l) => l && !/^warning: the quarter \S+ is incomplete: '\w+' has data only up to /.test(l))).toEqual([]);
    expect(onPg.stderr).toBe(onDuck.stderr);
    expect(onPg.stdout).not.toContain(password);
    const a = JSON.parse(onPg.stdout) as { rows: unknown[]; columns: { type: string }[] };
    const b = JSON.parse(onDuck.stdout) as { rows: unknown[] };
    expect(a.rows.length).toBeGreaterThan(10);
    expect(a.rows).toEqual(b.rows);
  });

  it('a timeout from the command line stops the query', async () => {
    const out = await tally('query', '-m', 'wau,mau', '-g', 'metric_time.hour', '--timeout', '1');
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/QUERY_TIMEOUT/);
  });

  it('a connection failure names the variable, not its value', async () => {
    const wrong = new URL(secretUrl);
    wrong.port = '1';
    env = { ...env, TALLY_PG_URL: wrong.toString() };
    try {
      const out = await tally('query', '-m', 'orders');
      expect(out.code).not.toBe(0);
      expect(out.stderr).toContain('$TALLY_PG_URL');
      expect(out.stderr).not.toContain(password);
      expect(out.stderr).not.toContain(wrong.toString());
    } finally {
      env = { ...env, TALLY_PG_URL: secretUrl };
    }
  });

  it('tally compile --dialect writes SQL for all six dialects; tally.yml decides the default', async () => {
    const dialects = ['duckdb', 'postgres', 'bigquery', 'snowflake', 'trino', 'redshift'];
    const outs = await Promise.all(dialects.map((d) => tally('compile', '-m', 'revenue,wau', '-g', 'metric_time.week', '--dialect', d)));
    outs.forEach((out, i) => {
      expect(out.stderr, dialects[i]).toBe('');
      expect(out.stdout, dialects[i]).toMatch(/^-- Tally [0-9a-f]+: revenue, wau by metric_time\.week\nWITH\n/);
    });
    expect(new Set(outs.map((o) => o.stdout)).size, 'six different spellings').toBe(6);
    // tally.yml names the postgres engine and no dialect: the default is Postgres.
    const [byDefault, unknown] = await Promise.all([tally('compile', '-m', 'revenue,wau', '-g', 'metric_time.week'), tally('compile', '-m', 'revenue', '--dialect', 'oracle')]);
    expect(byDefault.stderr).toBe('');
    expect(byDefault.stdout).toBe(outs[1].stdout);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/duckdb, postgres, bigquery, snowflake, trino, redshift/);
  });
});
