/**
 * The command line end to end, on a small seeded demo database: its JSON answer for DAU/WAU/MAU
 * equals hand-written SQL, and the SQL printed by `tally compile` runs unchanged in DuckDB.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine } from '../src/index.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tally-cli-'));
const db = join(dir, 'demo.duckdb');

async function tally(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/tally.js', ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

beforeAll(async () => {
  const seeded = await tally('seed', '--events', '20000', '--out', db);
  expect(seeded.code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tally CLI', () => {
  it('query --format json: dau, wau, mau by day equal hand-written SQL', async () => {
    const out = await tally('query', '--metrics', 'dau,wau,mau', '--group-by', 'metric_time.day', '--format', 'json', '--db', db);
    expect(out.stderr).toBe('');
    const answer = JSON.parse(out.stdout) as { columns: { name: string }[]; rows: Record<string, unknown>[]; sql: string; version: string };
    expect(answer.columns.map((c) => c.name)).toEqual(['metric_time.day', 'dau', 'wau', 'mau']);
    expect(answer.version).toMatch(/^[0-9a-f]{12}$/);
    expect(answer.sql).toContain('WITH');

    const engine = await DuckDBEngine.open({ path: db, readOnly: true });
    try {
      const expected = await engine.query(`
        WITH days AS (SELECT DISTINCT user_id, CAST(occurred_at AS DATE) AS d FROM events),
        bounds AS (SELECT min(d) AS lo, max(d) AS hi FROM days),
        -- Days run on while mau's window (a calendar month) still holds the last events.
        spine AS (SELECT CAST(s AS DATE) AS d FROM bounds, generate_series(CAST(lo AS TIMESTAMP), CAST(hi AS TIMESTAMP) + INTERVAL 1 MONTH, INTERVAL 1 DAY) AS g(s))
        SELECT CAST(spine.d AS VARCHAR) AS day,
          count(DISTINCT user_id) FILTER (WHERE days.d = spine.d) AS dau,
          count(DISTINCT user_id) FILTER (WHERE days.d > spine.d - 7) AS wau,
          count(DISTINCT user_id) AS mau
        FROM spine JOIN days ON days.d >= CAST(spine.d + INTERVAL 1 DAY - INTERVAL 1 MONTH AS DATE) AND days.d <= spine.d
        GROUP BY spine.d ORDER BY spine.d`);
      // A day in the answer without events has dau 0 (an empty distinct count), likewise wau.
      const want = expected.rows.map((r) => ({ 'metric_time.day': r[0], dau: r[1], wau: r[2], mau: r[3] }));
      expect(answer.rows).toEqual(want);
      expect(answer.rows.length).toBeGreaterThan(600);
    } finally {
      await engine.close();
    }
  });

  it('compile prints SQL that runs unchanged and gives the same answer as query', async () => {
    const args = ['-m', 'revenue,average_order_value,signup_to_paid_order_7d', '-g', 'metric_time.month,user.country', '-w', "user.country IN ('KR','US')"];
    const compiled = await tally('compile', ...args);
    expect(compiled.code).toBe(0);
    const queried = await tally('query', ...args, '--format', 'csv', '--db', db);
    expect(queried.code).toBe(0);
    const engine = await DuckDBEngine.open({ path: db, readOnly: true });
    try {
      const direct = await engine.query(compiled.stdout);
      const csv = queried.stdout.trim().split('\n');
      expect(csv[0]).toBe('metric_time.month,user.country,revenue,average_order_value,signup_to_paid_order_7d');
      expect(csv.slice(1)).toEqual(direct.rows.map((r) => r.map((c) => (c === null ? '' : String(c))).join(',')));
      expect(direct.rows.length).toBeGreaterThan(10);
    } finally {
      await engine.close();
    }
  });

  it('validate and list work on the example project', async () => {
    const v = await tally('validate');
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^ok: 6 semantic models, \d+ measures, \d+ metrics/);
    const l = await tally('list');
    expect(l.stdout).toMatch(/revenue\s+simple\s+finance@shop\.example\s+Money from paid and shipped orders/);
  });

  it('reports errors with their code and exits 1', async () => {
    const unknown = await tally('compile', '-m', 'revenu');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("error [UNKNOWN_METRIC]: unknown metric 'revenu'. Did you mean 'revenue'");
    const fanOut = await tally('compile', '-m', 'new_users', '-g', 'order.status');
    expect(fanOut.code).toBe(1);
    expect(fanOut.stderr).toContain('error [FAN_OUT_JOIN]');
    expect(fanOut.stderr).toContain("join users to orders on 'user'");
    const missing = await tally('query', '-m', 'revenue', '--db', join(dir, 'nope.duckdb'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('does not exist');
  });
});
