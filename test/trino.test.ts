/**
 * The Trino engine against a real Trino (the cluster of test/setup/trino.ts: a coordinator that
 * schedules no work on itself plus one worker, on loopback): exact values, timeouts and
 * cancellation that stop the query on the cluster, errors mapped to Tally's codes without Trino's
 * text, tally.yml, the time spine, every Trino golden file run against DuckDB's answer, the CLI
 * seeding, querying and serving Trino with the same answers as DuckDB, and the cluster itself
 * (two nodes; the worker processed the splits).
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionError, DuckDBEngine, type Engine, loadProject, openEngine, parseConfig, runQuery, TallyError, TrinoEngine } from '../src/index.js';
import { DEMO_TABLES } from '../src/seed/demo.js';
import { trino as trinoDialect } from '../src/sql/dialects/trino.js';
import { expectSameRows, openFixtureDb, type Row } from './helpers/fixture-db.js';
import { createSchema, openFixtureTrino, trinoReady } from './helpers/trino-db.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
const DOUBLES = ['average_order_value', 'stickiness', 'search_ctr', 'revenue_growth_mom', 'signup_to_paid_order_7d'];

let url: string;
let engine: TrinoEngine;
let system: TrinoEngine;

beforeAll(async () => {
  url = await trinoReady();
  engine = await openFixtureTrino('engine');
  system = await TrinoEngine.open({ server: url, catalog: 'system', schema: 'runtime', user: 'tally' });
}, 600_000);

afterAll(async () => {
  await Promise.all([engine?.close(), system?.close()]);
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

/** The state of the (most recent) query whose text holds `marker`, as the coordinator sees it. */
async function stateOf(marker: string): Promise<{ state: string; error?: string } | undefined> {
  const r = await system.query(`SELECT state, error_code FROM queries WHERE query LIKE '%${marker}%' AND query NOT LIKE '%queries WHERE%' ORDER BY created DESC LIMIT 1`);
  return r.rows[0] ? { state: String(r.rows[0][0]), error: r.rows[0][1] === null ? undefined : String(r.rows[0][1]) } : undefined;
}

async function eventually(check: () => Promise<boolean>, tries = 200): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** A query that runs for minutes on the test cluster. */
const SLOW = (marker: string): string => `SELECT count(*) AS ${marker} FROM UNNEST(sequence(1, 10000)) AS a(x) CROSS JOIN UNNEST(sequence(1, 10000)) AS b(y) CROSS JOIN UNNEST(sequence(1, 1000)) AS c(z) WHERE x * y > z`;

describe('exact values', () => {
  it('reads integers, decimals, dates, timestamps, doubles and booleans without rounding', async () => {
    const r = await engine.query(`
      SELECT BIGINT '42' AS small, BIGINT '9007199254740993' AS big, BIGINT '-9223372036854775808' AS min,
             7 AS i4, SMALLINT '3' AS i2,
             DECIMAL '12345678901234567890.12' AS dec, (SELECT SUM(x) FROM UNNEST(repeat(DECIMAL '0.10', 10)) AS v(x)) AS tenth_sum,
             DATE '2024-02-29' AS d, CAST(TIMESTAMP '2024-12-31 23:59:59' AS TIMESTAMP(6)) AS ts, TIMESTAMP '2025-01-01 00:00:00.123456' AS ts_frac,
             DOUBLE '0.1' AS f, true AS b, CAST(NULL AS BIGINT) AS n, 'Seoul' AS s,
             (SELECT SUM(x) FROM (VALUES BIGINT '9007199254740993', BIGINT '1') AS v(x)) AS big_sum,
             nan() AS not_a_number, infinity() AS inf`);
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
      big_sum: 9007199254740994n,
      not_a_number: NaN,
      inf: Infinity,
    });
    expect(r.columns.map((c) => c.type)).toEqual([
      'BIGINT', 'BIGINT', 'BIGINT', 'INTEGER', 'SMALLINT', 'DECIMAL(22,2)', 'DECIMAL(38,2)', 'DATE', 'TIMESTAMP(6)', 'TIMESTAMP(6)', 'DOUBLE', 'BOOLEAN', 'BIGINT', 'VARCHAR(5)', 'BIGINT', 'DOUBLE', 'DOUBLE',
    ]);
  });

  it('reads every page of a large answer', async () => {
    const r = await engine.query('SELECT a.x * 1000 + b.y AS x FROM UNNEST(sequence(0, 49)) AS a(x) CROSS JOIN UNNEST(sequence(1, 1000)) AS b(y) ORDER BY x');
    expect(r.rows.length).toBe(50000);
    expect(r.rows[49999][0]).toBe(50000);
  });
});

describe('timeouts and cancellation', () => {
  it('a timeout stops the query on the cluster', async () => {
    const error = await caught(engine.query(SLOW('timeout_marker_1'), { timeoutMs: 1500 }));
    expect(error.code).toBe('QUERY_TIMEOUT');
    expect(await eventually(async () => (await stateOf('timeout_marker_1'))?.state === 'FAILED')).toBe(true);
    expect((await engine.query('SELECT 1 AS still_works')).rows).toEqual([[1]]);
  });

  it('an AbortSignal cancels the running query (a DELETE of its nextUri)', async () => {
    const controller = new AbortController();
    const query = engine.query(SLOW('cancel_marker_2'), { signal: controller.signal });
    expect(await eventually(async () => (await stateOf('cancel_marker_2'))?.state === 'RUNNING')).toBe(true);
    controller.abort();
    expect((await caught(query)).code).toBe('QUERY_CANCELLED');
    expect(await eventually(async () => (await stateOf('cancel_marker_2'))?.state === 'FAILED')).toBe(true);
    expect((await stateOf('cancel_marker_2'))?.error).toBe('USER_CANCELED');
  });

  it('an already aborted signal runs nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await caught(engine.query('SELECT 1 AS never_sent_3', { signal: controller.signal }))).code).toBe('QUERY_CANCELLED');
    expect(await stateOf('never_sent_3')).toBeUndefined();
  });
});

describe('errors', () => {
  it('Trino errors map to ENGINE_ERROR with the error name, never Trino\'s message text', async () => {
    const missing = await caught(engine.query('SELECT * FROM secret_table_name_xyz'));
    expect(missing.code).toBe('ENGINE_ERROR');
    expect(missing.message).toContain('TABLE_NOT_FOUND');
    expect(missing.message).not.toContain('secret_table_name_xyz');
    const syntax = await caught(engine.query("SELECT 'hidden value' FROM"));
    expect(syntax.code).toBe('ENGINE_ERROR');
    expect(syntax.message).toContain('SYNTAX_ERROR');
    expect(syntax.message).not.toContain('hidden value');
    const division = await caught(engine.query('SELECT 1 / (SELECT count(*) - count(*) FROM orders)'));
    expect(division.message).toContain('DIVISION_BY_ZERO');
  });

  it('an unreachable coordinator is ENGINE_UNAVAILABLE', async () => {
    const error = await caught(TrinoEngine.open({ server: 'http://127.0.0.1:1', catalog: 'memory', schema: 'default', user: 'tally', source: '$TALLY_TRINO_URL' }));
    expect(error.code).toBe('ENGINE_UNAVAILABLE');
    expect(error.message).toContain('$TALLY_TRINO_URL');
  });
});

describe('tally.yml', () => {
  it('trino with the variables it reads, a catalog and a schema', () => {
    const config = parseConfig('tally.yml', 'engine:\n  type: trino\n  url_env: WAREHOUSE\n  user_env: WH_USER\n  password_env: WH_PASSWORD\n  catalog: hive\n  schema: analytics\n');
    expect(config.engine).toEqual({ type: 'trino', urlEnv: 'WAREHOUSE', userEnv: 'WH_USER', passwordEnv: 'WH_PASSWORD', catalog: 'hive', schema: 'analytics' });
    expect(config.dialect).toBe('trino');
    expect(parseConfig('tally.yml', 'engine: { type: trino }\n').engine).toEqual({ type: 'trino', urlEnv: 'TALLY_TRINO_URL', userEnv: 'TALLY_TRINO_USER', passwordEnv: undefined, catalog: 'memory', schema: 'default' });
  });

  it('refuses credentials written in the file', () => {
    for (const key of ['user', 'password']) {
      try {
        parseConfig('tally.yml', `engine:\n  type: trino\n  ${key}: hunter2-secret\n`);
        throw new Error('expected problems');
      } catch (e) {
        expect(e).toBeInstanceOf(DefinitionError);
        expect((e as DefinitionError).message).toMatch(new RegExp(`^tally\\.yml:3:3: '${key}' would put a connection secret`));
        expect((e as DefinitionError).message).not.toContain('hunter2-secret');
      }
    }
  });

  it('opens Trino from the variables tally.yml names, and says which variable is missing', async () => {
    const { schema } = await createSchema('config');
    const config = parseConfig('tally.yml', `engine:\n  type: trino\n  url_env: TEST_TRINO\n  user_env: TEST_TRINO_USER\n  schema: ${schema}\n`).engine;
    const opened = await openEngine(config, { env: { TEST_TRINO: url, TEST_TRINO_USER: 'analyst' } });
    try {
      expect(opened.name).toBe('trino');
      expect((await opened.query('SELECT current_user, current_catalog, current_schema')).rows[0]).toEqual(['analyst', 'memory', schema]);
    } finally {
      await opened.close();
    }
    expect((await caught(openEngine(config, { env: {} }))).message).toContain('TEST_TRINO');
  });
});

describe('the Trino time spine', () => {
  async function periods(start: string, stop: string, grain: 'day' | 'hour' | 'week'): Promise<string[]> {
    const item = trinoDialect.series(`TIMESTAMP '${start}'`, `TIMESTAMP '${stop}'`, grain, 's', 'p');
    const r = await engine.query(`SELECT CAST(s.p AS VARCHAR) FROM ${item} ORDER BY 1`);
    return r.rows.map((row) => String(row[0]));
  }

  it('one period per grain from start to stop inclusive; none when the stop precedes the start', async () => {
    expect(await periods('2025-01-01 00:00:00', '2025-01-03 00:00:00', 'day')).toEqual(['2025-01-01 00:00:00', '2025-01-02 00:00:00', '2025-01-03 00:00:00']);
    expect(await periods('2025-01-01 00:00:00', '2025-01-01 00:00:00', 'hour')).toEqual(['2025-01-01 00:00:00']);
    // sequence(0, n) counts down for a negative n: the spine must not run backwards.
    expect(await periods('2025-01-03 00:00:00', '2025-01-01 00:00:00', 'day')).toEqual([]);
    expect(await periods('2025-01-01 00:00:00', '1990-01-01 00:00:00', 'hour')).toEqual([]);
    expect(await periods('2024-12-30 00:00:00', '2025-01-13 00:00:00', 'week')).toEqual(['2024-12-30 00:00:00', '2025-01-06 00:00:00', '2025-01-13 00:00:00']);
  });

  it('beyond 10,000 periods (sequence() holds at most 10,000 elements)', async () => {
    const r = await engine.query(`SELECT count(*), min(p), max(p) FROM ${trinoDialect.series("TIMESTAMP '2000-01-01 00:00:00'", "TIMESTAMP '2002-01-01 00:00:00'", 'hour', 's', 'p')}`);
    expect(r.rows[0]).toEqual([17545, '2000-01-01 00:00:00', '2002-01-01 00:00:00']);
  });
});

describe('Trino golden files run on Trino and answer as the DuckDB golden files do on DuckDB', () => {
  const golden = join(ROOT, 'test', 'golden');
  const cases = readdirSync(join(golden, 'trino')).filter((f) => f.endsWith('.sql'));
  let duck: DuckDBEngine;
  beforeAll(async () => {
    duck = await openFixtureDb();
  });
  afterAll(async () => duck?.close());

  let answered = 0;
  afterAll(() => {
    // Nearly every case has rows (text_match's three filters together match none in the fixture).
    expect(answered).toBeGreaterThanOrEqual(cases.length - 2);
  });

  it.each(cases)('%s', async (file) => {
    const [onTrino, onDuck] = await Promise.all([engine.query(readFileSync(join(golden, 'trino', file), 'utf8')), duck.query(readFileSync(join(golden, 'duckdb', file), 'utf8'))]);
    expect(onTrino.columns.map((c) => c.name)).toEqual(onDuck.columns.map((c) => c.name));
    expect(onTrino.rows.length).toBe(onDuck.rows.length);
    if (onTrino.rows.length > 0) answered++;
    if (file === 'percentile_approximate.sql') return; // approx_percentile is an estimate on every engine
    const asRows = (r: { columns: { name: string }[]; rows: unknown[][] }): Row[] => r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, row[i]]))) as Row[];
    const doubles = onTrino.columns.filter((c) => c.type === 'DOUBLE').map((c) => c.name);
    expectSameRows(asRows(onTrino), asRows(onDuck), { doubles });
  });
});

describe('the cluster: a coordinator that schedules nothing on itself, and a worker', () => {
  it('system.runtime.nodes shows both nodes', async () => {
    const r = await system.query('SELECT node_id, coordinator, state FROM nodes ORDER BY node_id');
    expect(r.rows).toEqual([
      ['coordinator', true, 'active'],
      ['worker_1', false, 'active'],
    ]);
  });

  it('the worker processed the splits of a query over the fixture tables', async () => {
    const project = loadProject(ROOT);
    const answer = await runQuery(project, engine, { metrics: ['revenue', 'dau'], groupBy: ['metric_time.month', 'user.country'] });
    expect(answer.rows.length).toBeGreaterThan(5);
    const id = await system.query(`SELECT query_id FROM queries WHERE query LIKE '-- Tally %: revenue, dau by metric_time.month, user.country%' AND state = 'FINISHED' ORDER BY created DESC LIMIT 1`);
    expect(id.rows.length).toBe(1);
    const tasks = await system.query(`SELECT node_id, sum(splits), sum(completed_splits), sum(raw_input_rows) FROM tasks WHERE query_id = '${String(id.rows[0][0])}' GROUP BY node_id`);
    const byNode = new Map(tasks.rows.map((r) => [String(r[0]), { splits: Number(r[1]), completed: Number(r[2]), rows: Number(r[3]) }]));
    expect([...byNode.keys()]).toEqual(['worker_1']);
    const worker = byNode.get('worker_1')!;
    expect(worker.splits).toBeGreaterThan(0);
    expect(worker.completed).toBe(worker.splits);
    // Every row of the orders, events and users tables was read on the worker.
    const [counts] = (await engine.query('SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM events) + 2 * (SELECT count(*) FROM users)')).rows;
    expect(worker.rows).toBeGreaterThanOrEqual(Number(counts[0]) / 2);
  });
});

describe('CLI on Trino: tally seed, tally query and tally serve agree with DuckDB', () => {
  let dir: string;
  let duckdbFile: string;
  let env: NodeJS.ProcessEnv;
  let schema: string;

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
    dir = mkdtempSync(join(tmpdir(), 'tally-trino-cli-'));
    duckdbFile = join(dir, 'demo.duckdb');
    cpSync(join(ROOT, 'metrics'), join(dir, 'metrics'), { recursive: true });
    ({ schema } = await createSchema('cli'));
    writeFileSync(join(dir, 'tally.yml'), `engine:\n  type: trino\n  catalog: memory\n  schema: ${schema}\nauth:\n  anonymous: true\n`);
    env = { ...process.env, TALLY_TRINO_URL: url, TALLY_TRINO_USER: 'tally' };
    const [trinoSeed, duckSeed] = await Promise.all([tally('seed', '--engine', 'trino', '--events', '3000'), tally('seed', '--events', '3000', '--out', duckdbFile)]);
    expect(trinoSeed.stderr).toBe('');
    expect(trinoSeed.code).toBe(0);
    expect(trinoSeed.stdout).toMatch(/^seeded Trino in .* events=3000/);
    expect(duckSeed.code).toBe(0);
  }, 600_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function tableRows(e: Engine, table: string): Promise<Row[]> {
    const columns = (await e.query(`SELECT * FROM ${table} LIMIT 0`)).columns.map((c) => c.name);
    const r = await e.query(`SELECT * FROM ${table} ORDER BY ${columns.map((_, i) => i + 1).join(', ')}`);
    return r.rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]])));
  }

  it('the seeded tables hold exactly the rows of the DuckDB demo, with exact types', async () => {
    const seeded = await TrinoEngine.open({ server: url, catalog: 'memory', schema, user: 'tally' });
    const duck = await DuckDBEngine.open({ path: duckdbFile, readOnly: true });
    try {
      for (const table of DEMO_TABLES) {
        const [a, b] = await Promise.all([tableRows(duck, table), tableRows(seeded, table)]);
        expect(a.length, table).toBeGreaterThan(0);
        expectSameRows(b, a, { ordered: true });
      }
      const types = await seeded.query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = 'orders' ORDER BY ordinal_position`);
      expect(types.rows).toEqual([
        ['order_id', 'bigint'],
        ['user_id', 'bigint'],
        ['ordered_at', 'timestamp(6)'],
        ['status', 'varchar'],
        ['amount', 'decimal(12,2)'],
      ]);
    } finally {
      await Promise.all([seeded.close(), duck.close()]);
    }
  });

  it('every example metric by month is equal on both engines, to the cent', async () => {
    const project = loadProject(ROOT);
    const seeded = await TrinoEngine.open({ server: url, catalog: 'memory', schema, user: 'tally' });
    const duck = await DuckDBEngine.open({ path: duckdbFile, readOnly: true });
    try {
      for (const metric of project.graph.metrics.keys()) {
        const request = { metrics: [metric], groupBy: ['metric_time.month'] };
        const [a, b] = await Promise.all([runQuery(project, duck, request), runQuery(project, seeded, request)]);
        expect(a.rows.length, metric).toBeGreaterThan(0);
        expectSameRows(b.rows, a.rows, { doubles: DOUBLES });
      }
    } finally {
      await Promise.all([seeded.close(), duck.close()]);
    }
  });

  it('tally query reads tally.yml: the JSON answer equals the DuckDB one', async () => {
    const args = ['query', '-m', 'revenue,orders,items_sold', '-g', 'metric_time.quarter,user.country', '--format', 'json'];
    const [onTrino, onDuck] = await Promise.all([tally(...args), tally(...args, '--db', duckdbFile)]);
    // The only thing on stderr is data health: the last quarter is incomplete, as on DuckDB.
    expect(onTrino.stderr.split('\n').filter((l) => l && !/^warning: the quarter \S+ is incomplete: '\w+' has data only up to /.test(l))).toEqual([]);
    expect(onTrino.stderr).toBe(onDuck.stderr);
    const a = JSON.parse(onTrino.stdout) as { rows: unknown[] };
    const b = JSON.parse(onDuck.stdout) as { rows: unknown[] };
    expect(a.rows.length).toBeGreaterThan(10);
    expect(a.rows).toEqual(b.rows);
  });

  it('a timeout from the command line stops the query', async () => {
    const out = await tally('query', '-m', 'wau,mau', '-g', 'metric_time.hour', '--timeout', '1');
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/QUERY_TIMEOUT/);
  });

  it('a missing server variable is named', async () => {
    const saved = env;
    env = { ...env, TALLY_TRINO_URL: '' };
    try {
      const out = await tally('query', '-m', 'orders');
      expect(out.code).not.toBe(0);
      expect(out.stderr).toContain('TALLY_TRINO_URL');
    } finally {
      env = saved;
    }
  });

  it('tally serve answers GraphQL from Trino', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/tally.js'), '-p', dir, 'serve', '--port', '0'], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const api = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`tally serve did not start:\n${out}`)), 60_000);
        // The start-up line, as text or as a JSON log record: "Tally serves … at http://…/graphql".
        const read = (chunk: Buffer): void => {
          out += chunk.toString();
          const m = /serves .* at (http:\/\/[^\s"]+\/graphql)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        };
        child.stdout.on('data', read);
        child.stderr.on('data', read);
        child.on('exit', () => reject(new Error(`tally serve exited:\n${out}`)));
      });
      const response = await fetch(api, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ query(metrics: ["revenue"], groupBy: ["metric_time.year"]) { rows } }' }),
      });
      const body = (await response.json()) as { data?: { query: { rows: Record<string, unknown>[] } }; errors?: unknown };
      expect(body.errors).toBeUndefined();
      const duck = await DuckDBEngine.open({ path: duckdbFile, readOnly: true });
      try {
        const expected = await duck.query(`SELECT CAST(date_trunc('year', ordered_at) AS DATE) AS y, CAST(SUM(amount) AS VARCHAR) FROM orders WHERE status IN ('paid', 'shipped') GROUP BY 1 ORDER BY 1`);
        expect(body.data!.query.rows.map((r) => [r['metric_time.year'], String(r.revenue)])).toEqual(expected.rows);
      } finally {
        await duck.close();
      }
    } finally {
      child.kill('SIGTERM');
    }
  });
});
