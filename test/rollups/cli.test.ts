/**
 * `tally rollup build|status` end to end on a copy of the example project over a small seeded demo
 * database: status before and after a build, progress on stderr, the build's summary on stdout
 * (partitions and rows equal to what the store holds), and an unknown rollup refused with the
 * nearest name.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine, openRollupStore } from '../../src/index.js';
import { seedDemoDatabase } from '../../src/seed/demo.js';
import { ROOT } from './helpers.js';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tally-rollup-cli-'));
const db = join(dir, 'demo.duckdb');
const BIN = join(ROOT, 'bin/tally.js');

async function tally(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, '-p', dir, ...args], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

beforeAll(async () => {
  cpSync(join(ROOT, 'metrics'), join(dir, 'metrics'), { recursive: true });
  await seedDemoDatabase(db, { events: 3_000, seed: 3 });
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tally rollup', () => {
  it('status says never built, build shows progress and builds, status then says current', async () => {
    const before = await tally('rollup', 'status');
    expect(before.code).toBe(0);
    const lines = before.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ROLLUP\s+BUILT AT\s+VERSION\s+PARTITIONS\s+ROWS\s+COVERED\s+CHECKED\s+STATUS$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['orders_daily', 'activity_daily', 'conversion_monthly', 'conversion_monthly_by_plan']);
    for (const line of lines.slice(1)) expect(line).toMatch(/stale: never built; run tally rollup build$/);
    expect(existsSync(join(dir, '.tally/rollups.duckdb'))).toBe(false);

    const build = await tally('rollup', 'build', 'orders_daily', 'activity_daily', '--db', db, '--progress');
    expect(build.code).toBe(0);
    const summary = build.stdout.trim().split('\n');
    expect(summary).toHaveLength(2);
    const [, partitions, from] = /^orders_daily: (\d+) partitions, \d+ rows, covered \[(\d{4}-\d{2}-01), 2026-01-01\) \(built \S+, fingerprint [0-9a-f]{16}\)$/.exec(summary[0]) ?? [];
    expect(Number(partitions)).toBeGreaterThan(20);
    // One progress line per partition, on stderr: the start, each month, the last one.
    expect(build.stderr).toMatch(new RegExp(`^rollup build: 0/${partitions} orders_daily: full build, never built`, 'm'));
    expect(build.stderr).toMatch(new RegExp(`^rollup build: 1/${partitions} orders_daily ${from} built \\(full build\\)`, 'm'));
    expect(build.stderr).toMatch(new RegExp(`^rollup build: ${partitions}/${partitions} orders_daily 2025-12-01 built \\(full build\\)`, 'm'));

    const store = await openRollupStore({ store: 'duckdb', path: join(dir, '.tally/rollups.duckdb'), schema: 'tally_rollups' });
    let rows: number;
    try {
      rows = Number((await store.engine.query('SELECT COUNT(*) FROM tally_rollups.orders_daily')).rows[0][0]);
    } finally {
      await store.close();
    }
    expect(summary[0]).toContain(`${partitions} partitions, ${rows} rows`);

    const after = await tally('rollup', 'status', 'orders_daily', 'conversion_monthly');
    const [, orders, conversion] = after.stdout.trim().split('\n');
    expect(orders).toMatch(new RegExp(`^orders_daily\\s+\\S+Z\\s+[0-9a-f]{12}\\s+${partitions}\\s+${rows}\\s+\\[${from}, 2026-01-01\\)\\s+freshness not checked, fingerprints not verified\\s+current$`));
    expect(conversion).toMatch(/^conversion_monthly\s+-\s+-\s+-\s+-\s+-\s+-\s+stale: never built/);

    const json = JSON.parse((await tally('rollup', 'status', '--json', 'orders_daily')).stdout) as { name: string; stale: boolean; built: { partitions: unknown[] } }[];
    expect(json).toMatchObject([{ name: 'orders_daily', stale: false }]);
    expect(json[0].built.partitions).toHaveLength(Number(partitions));
  }, 180_000);

  it('builds while another process holds the store open: that one keeps its consistent old file, later readers see the new build', async () => {
    const path = join(dir, '.tally/rollups.duckdb');
    const held = await openRollupStore({ store: 'duckdb', path, schema: 'tally_rollups' });
    try {
      const before = await held.get('orders_daily');
      expect(before).toBeDefined();
      const build = await tally('rollup', 'build', 'orders_daily', '--full', '--db', db);
      expect(build.code).toBe(0);
      expect((await held.get('orders_daily'))?.builtAt).toBe(before?.builtAt);
      await held.close();
      const fresh = await openRollupStore({ store: 'duckdb', path, schema: 'tally_rollups' });
      try {
        const after = await fresh.get('orders_daily');
        expect(after && before && after.builtAt > before.builtAt).toBe(true);
        expect((await fresh.get('activity_daily'))?.name).toBe('activity_daily');
      } finally {
        await fresh.close();
      }
    } finally {
      await held.close().catch(() => undefined);
    }
  }, 120_000);

  it('status compares freshness, and with --verify partition fingerprints; tally query then reads the base tables for the stale month', async () => {
    const fresh = await tally('rollup', 'status', 'orders_daily', '--db', db);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout.split('\n')[1]).toMatch(/freshness \S+Z, fingerprints not verified\s+current$/);
    // An old paid order's amount edited in place: its month's fingerprint changes, the newest order time does not.
    const engine = await DuckDBEngine.open({ path: db });
    let month: string;
    let hand: string;
    try {
      const [row] = (await engine.query("SELECT order_id, strftime(date_trunc('month', ordered_at), '%Y-%m-%d') FROM orders WHERE status = 'paid' ORDER BY ordered_at, order_id LIMIT 1 OFFSET 5")).rows;
      month = String(row[1]);
      await engine.query(`UPDATE orders SET amount = amount + 1000 WHERE order_id = ${String(row[0])}`);
      const sum = await engine.query(`SELECT CAST(SUM(amount) AS VARCHAR) FROM orders WHERE status IN ('paid', 'shipped') AND ordered_at >= DATE '${month}' AND ordered_at < DATE '${month}' + INTERVAL 1 MONTH`);
      hand = String(sum.rows[0][0]);
    } finally {
      await engine.close();
    }
    expect((await tally('rollup', 'status', 'orders_daily', '--db', db)).stdout.split('\n')[1]).toMatch(/current$/);
    const verified = await tally('rollup', 'status', 'orders_daily', '--db', db, '--verify');
    expect(verified.code).toBe(0);
    expect(verified.stdout.split('\n')[1]).toMatch(new RegExp(`fingerprints \\S+Z\\s+stale: source rows changed since the build: from ${month} to \\d{4}-\\d{2}-01 \\(the source rows of partition ${month} changed`));
    // `tally query` reads what --verify kept: that month reads the base tables, and its answer is the hand-written sum.
    const query = await tally('query', '-m', 'revenue', '-g', 'metric_time.month', '--from', month, '--to', month, '--db', db, '--format', 'json');
    expect(query.code).toBe(0);
    const answer = JSON.parse(query.stdout) as { rows: { revenue: unknown }[]; rollups?: { served: boolean; reason?: string } };
    expect(answer.rollups?.served).toBe(false);
    expect(answer.rollups?.reason).toContain(`orders_daily: its rows from ${month} to`);
    expect(answer.rows.map((r) => Number(r.revenue))).toEqual([Number(hand)]);
    // A rebuild takes the edit in; the rollup serves the month again, with the same number.
    expect((await tally('rollup', 'build', 'orders_daily', '--db', db)).code).toBe(0);
    const rebuilt = JSON.parse((await tally('query', '-m', 'revenue', '-g', 'metric_time.month', '--from', month, '--to', month, '--db', db, '--format', 'json')).stdout) as typeof answer;
    expect(rebuilt.rollups?.served).toBe(true);
    expect(rebuilt.rows.map((r) => Number(r.revenue))).toEqual([Number(hand)]);
  }, 180_000);

  it('refuses an unknown rollup with the nearest name', async () => {
    const result = await tally('rollup', 'status', 'orders_dialy');
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe("error [INVALID_REQUEST]: unknown rollup 'orders_dialy'. Did you mean 'orders_daily'?");
  }, 60_000);

  it('refuses a name near none by listing the declared rollups, the same for status and build', async () => {
    const declared = "orders_daily, activity_daily, conversion_monthly, conversion_monthly_by_plan";
    for (const command of ['status', 'build']) {
      const result = await tally('rollup', command, 'nope', '--db', db);
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(`error [INVALID_REQUEST]: unknown rollup 'nope'. Rollups: ${declared}.`);
    }
    const typo = await tally('rollup', 'build', 'orders_dialy', '--db', db);
    expect(typo.stderr.trim()).toBe("error [INVALID_REQUEST]: unknown rollup 'orders_dialy'. Did you mean 'orders_daily'?");
  }, 60_000);
});
