/**
 * `tally query` answers from the project's rollup store when a built rollup serves the request:
 * the same rows as `--no-rollups` (the base tables), `--explain` says which rollup answered (built
 * at, version, fingerprint) or why none did, and the JSON answer carries the same audit record.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoDatabase } from '../../src/seed/demo.js';
import { ROOT } from './helpers.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tally-rollup-cli-'));
const db = join(dir, 'demo.duckdb');
// The same data in another file: rollups built from demo.duckdb must not answer for it.
const other = join(dir, 'other.duckdb');

async function tally(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'bin/tally.js'), '--project', dir, ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

beforeAll(async () => {
  cpSync(join(ROOT, 'metrics'), join(dir, 'metrics'), { recursive: true, filter: (src) => !src.endsWith('rollups.yml') });
  writeFileSync(
    join(dir, 'metrics', 'rollups.yml'),
    'rollups:\n  - name: orders_by_country_daily\n    metrics: [revenue, orders, average_order_value]\n    dimensions: [user.country, order.status]\n',
  );
  await seedDemoDatabase(db, { events: 5_000, seed: 3 });
  copyFileSync(db, other);
  const built = await tally('rollup', 'build', '--db', db);
  expect(built.code, built.stderr).toBe(0);
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Answer {
  rows: Record<string, unknown>[];
  sql: string;
  rollups?: { served: boolean; reason?: string; rollups: { name: string; builtAt: string; version: string; fingerprint: string }[] };
}

describe('tally query with rollups', () => {
  const request = ['--metrics', 'revenue,orders,average_order_value', '--group-by', 'metric_time.month,user.country', '--from', '2025-01-01', '--to', '2025-06-30', '--format', 'json', '--db', db];

  it('answers from the rollup, equal to --no-rollups, and says so', async () => {
    const routed = await tally('query', ...request, '--explain');
    expect(routed.code, routed.stderr).toBe(0);
    expect(routed.stderr).toMatch(/^rollups: answered from orders_by_country_daily \(table tally_rollups\.orders_by_country_daily\), built \d{4}-\d\d-\d\dT[\d:.]+Z from definitions [0-9a-f]{12}.*, fingerprint [0-9a-f]{16}\n/);
    const base = await tally('query', ...request, '--no-rollups', '--explain');
    expect(base.code, base.stderr).toBe(0);
    expect(base.stderr).toMatch(/^rollups: not used: not asked \(--no-rollups\)/);
    const a = JSON.parse(routed.stdout) as Answer;
    const b = JSON.parse(base.stdout) as Answer;
    expect(a.rollups?.served).toBe(true);
    expect(a.rollups?.rollups.map((r) => r.name)).toEqual(['orders_by_country_daily']);
    expect(a.sql).toContain('FROM tally_rollups.orders_by_country_daily');
    expect(b.rollups).toBeUndefined();
    expect(a.rows.length).toBeGreaterThan(10);
    expect(a.rows).toEqual(b.rows);
  });

  it('tally compile --rollups prints the SQL that would run, over the rollup table', async () => {
    const args = ['--metrics', 'orders', '--group-by', 'metric_time.quarter,user.country', '--from', '2025-01-01', '--to', '2025-06-30'];
    const routed = await tally('compile', ...args, '--rollups', '--explain', '--db', db);
    expect(routed.code, routed.stderr).toBe(0);
    expect(routed.stderr).toMatch(/^rollups: answered from orders_by_country_daily/);
    expect(routed.stdout).toContain('FROM tally_rollups.orders_by_country_daily');
    const plain = await tally('compile', ...args);
    expect(plain.stdout).not.toContain('tally_rollups');
  });

  it('never answers about another database from rollups built from this one', async () => {
    const out = await tally('query', ...request.slice(0, -2), '--db', other, '--explain');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toContain(`orders_by_country_daily: built from another database (duckdb:${db}); this request reads duckdb:${other}`);
    expect((JSON.parse(out.stdout) as Answer).rollups?.served).toBe(false);
  });

  it('explains why a request is not served, and answers from the base tables', async () => {
    const out = await tally('query', '--metrics', 'orders', '--group-by', 'metric_time.month,user.plan', '--from', '2025-01-01', '--to', '2025-06-30', '--format', 'json', '--db', db, '--explain');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toContain("rollups: not used: metric 'orders' (count of order_count) is not served by a rollup (orders_by_country_daily: groups by 'user.plan', which is not one of its dimensions (user.country, order.status))");
    const answer = JSON.parse(out.stdout) as Answer;
    expect(answer.rollups?.served).toBe(false);
    expect(answer.sql).not.toContain('tally_rollups');
  });
});
