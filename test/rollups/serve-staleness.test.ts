/**
 * `tally serve` end to end: a rollup built by `tally rollup build`, then an order newer than the
 * build written to the database (the rollup is refreshed on no schedule and not on freshness, so
 * nothing rebuilds it). The server compares the build with its sources when it starts, logs the
 * stale range, and answers that month from the base tables (equal to the hand-written sum) while
 * an older month is still answered from the rollup. The server is stopped by its own PID.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine } from '../../src/index.js';
import { seedDemoDatabase } from '../../src/seed/demo.js';
import { ROOT } from './helpers.js';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tally-rollup-serve-stale-'));
const BIN = join(ROOT, 'bin/tally.js');
let child: ChildProcess | undefined;

beforeAll(async () => {
  await seedDemoDatabase(join(dir, 'demo.duckdb'), { events: 2_000, seed: 5 });
  cpSync(join(ROOT, 'metrics'), join(dir, 'metrics'), { recursive: true, filter: (src) => !src.endsWith('rollups.yml') });
  writeFileSync(join(dir, 'metrics', 'rollups.yml'), 'rollups:\n  - name: orders_daily\n    metrics: [revenue, orders]\n    dimensions: [user.country, order.status]\n    refresh: { on_freshness: false }\n');
  writeFileSync(join(dir, 'tally.yml'), 'engine: { type: duckdb, path: demo.duckdb }\nauth: { anonymous: true }\n');
}, 120_000);
afterAll(() => {
  if (child?.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function revenue(url: string, month: string): Promise<{ rows: { revenue: unknown }[]; rollup: { served: boolean; reason: string | null } }> {
  const query = `{ query(metrics: ["revenue"], groupBy: ["metric_time.month"], from: "${month}", to: "${month}") { rows rollup { served reason } } }`;
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  const body = (await response.json()) as { data?: { query: { rows: { revenue: unknown }[]; rollup: { served: boolean; reason: string | null } } }; errors?: unknown[] };
  expect(body.errors).toBeUndefined();
  return body.data!.query;
}

describe('tally serve and stale rollups', () => {
  it('finds rows newer than the build when it starts, and answers their month from the base tables', async () => {
    const built = await exec(process.execPath, [BIN, '-p', dir, 'rollup', 'build'], { cwd: dir });
    const [, covered] = /covered \[(\d{4}-\d{2}-\d{2}),/.exec(built.stdout) ?? [];
    expect(covered).toBeDefined();

    // A paid order a minute after the newest one, written while no server holds the file.
    const db = await DuckDBEngine.open({ path: join(dir, 'demo.duckdb') });
    let month: string;
    let hand: string;
    try {
      const [newest] = (await db.query("SELECT order_id, user_id, strftime(ordered_at + INTERVAL 1 MINUTE, '%Y-%m-%d %H:%M:%S'), strftime(date_trunc('month', ordered_at + INTERVAL 1 MINUTE), '%Y-%m-%d') FROM orders ORDER BY ordered_at DESC, order_id DESC LIMIT 1")).rows;
      month = String(newest[3]);
      await db.query(`INSERT INTO orders VALUES ((SELECT MAX(order_id) + 1 FROM orders), ${String(newest[1])}, TIMESTAMP '${String(newest[2])}', 'paid', 1234.56)`);
      const sum = await db.query(`SELECT CAST(SUM(amount) AS VARCHAR) FROM orders WHERE status IN ('paid', 'shipped') AND ordered_at >= DATE '${month}' AND ordered_at < DATE '${month}' + INTERVAL 1 MONTH`);
      hand = String(sum.rows[0][0]);
    } finally {
      await db.close();
    }

    child = spawn(process.execPath, [BIN, '--project', dir, 'serve', '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const lines = (): { msg: string; url?: string }[] => output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; url?: string });
    for (let i = 0; i < 1200 && !(lines().some((l) => l.url) && lines().some((l) => l.msg.startsWith('rollup orders_daily is stale'))); i++) await new Promise((r) => setTimeout(r, 50));
    const url = lines().find((l) => l.url)?.url;
    expect(url, output).toBeDefined();
    expect(lines().find((l) => l.msg.startsWith('rollup orders_daily is stale'))?.msg, output).toMatch(new RegExp(`^rollup orders_daily is stale \\(freshness\\): from \\d{4}-\\d{2}-01 on: the newest 'orders' row moved from `));

    const stale = await revenue(url!, month);
    expect(stale.rollup.served).toBe(false);
    expect(stale.rollup.reason).toMatch(/orders_daily: its rows from \d{4}-\d{2}-01 on are stale \(the newest 'orders' row moved from /);
    expect(stale.rows.map((r) => Number(r.revenue))).toEqual([Number(hand)]);
    const earlier = await revenue(url!, covered);
    expect(earlier.rollup.served).toBe(true);

    process.kill(child.pid!, 'SIGTERM');
    await new Promise((r) => child!.once('exit', r));
  }, 180_000);
});
