/**
 * `tally serve` refreshes rollups while it runs: a rollup refreshed on freshness, on a named
 * schedule of tally.yml (every second here), is probed; never built, it is built at the first
 * probe, and later probes that find no newer source rows refresh nothing. SIGTERM stops the
 * refreshing with the server. Shown by the order of events in the server's log, and by the build
 * record left in the rollup store against MAX(ordered_at) written by hand on the database.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine, openRollupStore } from '../../src/index.js';
import { seedDemoDatabase } from '../../src/seed/demo.js';

const dir = mkdtempSync(join(tmpdir(), 'tally-rollup-serve-'));
beforeAll(async () => {
  await seedDemoDatabase(join(dir, 'demo.duckdb'), { events: 2_000 });
  cpSync('metrics', join(dir, 'metrics'), { recursive: true });
  writeFileSync(
    join(dir, 'metrics', 'rollups.yml'),
    `rollups:\n  - name: orders_daily\n    metrics: [revenue, orders]\n    dimensions: [user.country]\n    grain: day\n    partition: month\n    refresh: { schedule: every_second }\n`,
  );
  writeFileSync(join(dir, 'tally.yml'), `engine: { type: duckdb, path: demo.duckdb }\nauth: { anonymous: true }\nrollups:\n  schedules: { every_second: "* * * * * *" }\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tally serve and rollup refresh', () => {
  it('builds a never-built rollup at the first probe, refreshes nothing while the sources do not move, stops on SIGTERM', async () => {
    const child = spawn('node', ['bin/tally.js', '--project', dir, 'serve', '--port', '0', '--log-level', 'debug'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const messages = (): string[] =>
      output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => (JSON.parse(l) as { msg: string }).msg);
    try {
      // Two probes after the build found nothing to do.
      for (let i = 0; i < 1200 && messages().filter((m) => m.includes('no source freshness moved')).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const seen = messages();
      const started = seen.findIndex((m) => m.startsWith('rollups are refreshed on their schedules'));
      const built = seen.findIndex((m) => /^rollups \(freshness probe \* \* \* \* \* \*: orders_daily \(never built\)\): orders_daily \d+ partitions$/.test(m));
      const quiet = seen.findIndex((m) => m === 'rollup freshness probe: orders_daily: no source freshness moved');
      const stopping = seen.indexOf('SIGTERM: stopping');
      expect(started, output).toBeGreaterThanOrEqual(0);
      expect(built, output).toBeGreaterThan(started);
      expect(quiet, output).toBeGreaterThan(built);
      expect(stopping, output).toBeGreaterThan(quiet);
      // Built once: every later probe found the sources where the build left them.
      expect(seen.filter((m) => m.startsWith('rollups (')).length, output).toBe(1);
      expect(seen[seen.length - 1]).toMatch(/^stopped: every statement cancelled/);
    } finally {
      child.kill('SIGKILL');
    }
    // The published store holds the build record, with the source's newest time as measured by hand.
    const db = await DuckDBEngine.open({ path: join(dir, 'demo.duckdb') });
    const store = await openRollupStore({ store: 'duckdb', path: join(dir, '.tally', 'rollups.duckdb'), schema: 'tally_rollups' });
    try {
      const newest = await db.query("SELECT strftime(MAX(CAST(ordered_at AS TIMESTAMP)), '%Y-%m-%d %H:%M:%S') FROM orders");
      const record = await store.get('orders_daily');
      expect(record?.sourceFreshness).toEqual({ orders: String(newest.rows[0][0]) });
    } finally {
      await store.close();
      await db.close();
    }
  }, 120_000);
});
