/**
 * The example project's checks on the demo data: all pass; on a copy with a duplicated
 * users.user_id and orders whose user is missing (tables copied WITHOUT the demo's key
 * constraints), `tally check` exits 1 naming both, and a revenue answer over the copy carries the
 * warning. Counts are compared with hand-written SQL over the copy.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoDatabase } from '../src/seed/demo.js';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tally-check-demo-'));
const demo = join(dir, 'demo.duckdb');
const copy = join(dir, 'faulty.duckdb');
const BIN = join(process.cwd(), 'bin/tally.js');

async function tally(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { maxBuffer: 16 * 1024 * 1024 });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

let orphanOrders = 0n;

beforeAll(async () => {
  // A copy of the example project, so that the state store lands in it (dir/.tally/state.duckdb).
  cpSync('metrics', join(dir, 'metrics'), { recursive: true });
  await seedDemoDatabase(demo, { events: 20_000 });
  const instance = await DuckDBInstance.create(copy);
  const c = await instance.connect();
  await c.run(`ATTACH '${demo}' AS demo (READ_ONLY)`);
  // CREATE TABLE AS copies rows, not the PRIMARY KEY constraints, so duplicates can exist.
  for (const t of ['events', 'products', 'order_items', 'experiment_assignments']) await c.run(`CREATE TABLE ${t} AS SELECT * FROM demo.${t}`);
  await c.run('CREATE TABLE users AS SELECT * FROM demo.users UNION ALL SELECT * FROM demo.users WHERE user_id = 7');
  // Orders of users 1 to 3 point at users that do not exist.
  await c.run('CREATE TABLE orders AS SELECT order_id, CASE WHEN user_id <= 3 THEN user_id + 1000000 ELSE user_id END AS user_id, ordered_at, status, amount FROM demo.orders');
  orphanOrders = (await c.runAndReadAll('SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = o.user_id)')).getRows()[0][0] as bigint;
  c.closeSync();
  instance.closeSync();
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tally check on the example project', () => {
  it('the demo data passes every check', async () => {
    const out = await tally('check', '--db', demo, '--state', join(dir, 'state-demo.duckdb'));
    expect(out.stdout).toMatch(/checks: \d+ passed, 0 warned, 0 failed, 0 could not run/);
    expect(out.code).toBe(0);
  });

  it('a copy with a duplicated users.user_id and orphan orders fails, naming both; a revenue answer warns', async () => {
    expect(orphanOrders).toBeGreaterThan(0n);
    const out = await tally('-p', dir, 'check', '--db', copy);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/^FAIL\s+users\.unique\(user\)\s+1 value of user occurs more than once in users \(up to 2 times among the samples\), e\.g\. 7$/m);
    expect(out.stdout).toMatch(new RegExp(`^FAIL\\s+orders\\.relationship\\(user->users\\)\\s+${orphanOrders} rows of orders have a user not in users`, 'm'));
    // A revenue answer over the copy: the failed checks of its input model from that run, as warnings.
    const answer = await tally('-p', dir, 'query', '-m', 'revenue', '-g', 'metric_time.month', '--db', copy, '--format', 'json');
    expect(answer.code).toBe(0);
    expect(answer.stderr).toMatch(/^warning: check orders\.relationship\(user->users\) on input model 'orders' failed at the last run/m);
    const json = JSON.parse(answer.stdout) as { health: { models: { model: string; failedChecks: { id: string }[] }[] } };
    expect(json.health.models.map((m) => m.model)).toEqual(['orders']);
    expect(json.health.models[0].failedChecks.map((c) => c.id)).toEqual(['orders.relationship(user->users)']);
    // Grouped by user.country, revenue is joined through users, whose duplicated key multiplies it.
    const byCountry = await tally('-p', dir, 'query', '-m', 'revenue', '-g', 'user.country', '--db', copy);
    expect(byCountry.stderr).toMatch(/^warning: check users\.unique\(user\) on input model 'users' failed at the last run/m);
    expect(byCountry.stderr).toMatch(/^warning: check orders\.relationship\(user->users\) on input model 'orders' failed/m);
  });
});
