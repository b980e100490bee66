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
import { openRollupStore } from '../../src/index.js';
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
    expect(lines[0]).toMatch(/^ROLLUP\s+BUILT AT\s+VERSION\s+PARTITIONS\s+ROWS\s+COVERED\s+STATUS$/);
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
    expect(orders).toMatch(new RegExp(`^orders_daily\\s+\\S+Z\\s+[0-9a-f]{12}\\s+${partitions}\\s+${rows}\\s+\\[${from}, 2026-01-01\\)\\s+current$`));
    expect(conversion).toMatch(/^conversion_monthly\s+-\s+-\s+-\s+-\s+-\s+stale: never built/);

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
