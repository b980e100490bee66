/**
 * The command line end to end, on a small seeded demo database: its JSON answer for DAU/WAU/MAU
 * equals hand-written SQL, and the SQL printed by `tally compile` runs unchanged in DuckDB; group-by
 * values without -m and saved queries (--saved-query) equal hand-written SQL too.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

  it('query -g without -m lists the values of the group-by, as hand-written SQL does', async () => {
    const out = await tally('query', '-g', 'user.country', '--format', 'json', '--db', db);
    expect(out.stderr).toBe('');
    const answer = JSON.parse(out.stdout) as { rows: Record<string, unknown>[] };
    const engine = await DuckDBEngine.open({ path: db, readOnly: true });
    try {
      const expected = await engine.query('SELECT country FROM (SELECT DISTINCT country FROM users) AS v ORDER BY country NULLS LAST');
      expect(answer.rows).toEqual(expected.rows.map((r) => ({ 'user.country': r[0] })));
      expect(answer.rows.length).toBeGreaterThan(2);
    } finally {
      await engine.close();
    }
    const none = await tally('query', '--db', db);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('name metrics (-m), group-bys to list their values (-g), or a saved query (--saved-query)');
  });

  it('--saved-query runs a saved query in query and compile, as hand-written SQL does', async () => {
    const project = mkdtempSync(join(tmpdir(), 'tally-saved-'));
    try {
      cpSync('metrics', join(project, 'metrics'), { recursive: true });
      writeFileSync(
        join(project, 'metrics', 'saved.yml'),
        `saved_queries:\n  - name: top_countries\n    metrics: [revenue]\n    group_by: [user.country]\n    where: "user.country <> 'US'"\n    order_by: [-revenue]\n    limit: 3\n`,
      );
      const queried = await tally('-p', project, 'query', '--saved-query', 'top_countries', '--format', 'json', '--db', db);
      expect(queried.stderr).toBe('');
      const answer = JSON.parse(queried.stdout) as { columns: { name: string }[]; rows: Record<string, unknown>[] };
      expect(answer.columns.map((c) => c.name)).toEqual(['user.country', 'revenue']);
      const compiled = await tally('-p', project, 'compile', '--saved-query', 'top_countries');
      expect(compiled.code).toBe(0);
      const engine = await DuckDBEngine.open({ path: db, readOnly: true });
      try {
        const expected = await engine.query(`
          SELECT u.country, SUM(o.amount) AS revenue
          FROM orders AS o JOIN users AS u ON u.user_id = o.user_id
          WHERE o.status IN ('paid', 'shipped') AND u.country <> 'US'
          GROUP BY u.country ORDER BY revenue DESC NULLS LAST, u.country LIMIT 3`);
        // Decimals as numbers: JSON writes 11504.2 for DuckDB's 11504.20.
        const want = expected.rows.map((r) => [r[0], Number(r[1])]);
        expect(answer.rows.map((r) => [r['user.country'], Number(r.revenue)])).toEqual(want);
        const direct = await engine.query(compiled.stdout);
        expect(direct.rows.map((r) => [r[0], Number(r[1])])).toEqual(want);
        expect(want.length).toBe(3);
      } finally {
        await engine.close();
      }
      const unknown = await tally('-p', project, 'query', '--saved-query', 'top_countrie', '--db', db);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain("unknown saved query 'top_countrie'. Did you mean 'top_countries'");
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
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

  it('seed shows its progress on stderr with --progress, and nothing without it off a terminal', async () => {
    const quiet = await tally('seed', '--events', '2000', '--out', join(dir, 'quiet.duckdb'));
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    const loud = await tally('seed', '--events', '2000', '--out', join(dir, 'loud.duckdb'), '--progress');
    expect(loud.code).toBe(0);
    const lines = loud.stderr.trim().split('\n');
    const steps = lines.map((l) => /^seed: (\d+)\/(\d+) building (\w+) \(\d+\.\d s\)$/.exec(l));
    expect(steps.every((m) => m !== null), loud.stderr).toBe(true);
    const total = Number(steps[0]?.[2]);
    // One line per generating step, counting up to the total, naming every demo table on the way.
    expect(steps.map((m) => Number(m?.[1]))).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    for (const table of ['users', 'products', 'events', 'orders', 'order_items', 'experiment_assignments']) expect(steps.map((m) => m?.[3])).toContain(table);
    // Same data either way: progress never changes the output.
    expect(loud.stdout.replace(/ in [\d.]+ s/, '').replace('loud', 'quiet')).toBe(quiet.stdout.replace(/ in [\d.]+ s/, ''));
  });

  it('import dbt: a missing directory and an unset $variable are each one plain line', async () => {
    const missing = await tally('import', 'dbt', join(dir, 'no-such-dbt-dir'));
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/^error \[INVALID_REQUEST\]: .*no-such-dbt-dir: no such directory; give the directory that holds the dbt project's YAML/);

    const project = join(dir, 'dbt');
    mkdirSync(project, { recursive: true });
    writeFileSync(
      join(project, 'config.yml'),
      ['project_configuration:', '  time_spine_table_configurations:', '    - location: $source_schema.mf_time_spine', '      column_name: ds', '      grain: day', ''].join('\n'),
    );
    const unset = await tally('import', 'dbt', project, '--dry-run');
    expect(unset.code).toBe(1);
    const lines = unset.stderr.trim().split('\n');
    // The unset variable, once, at the location; nothing about location/column_name/grain being absent.
    expect(lines[0]).toMatch(/config\.yml:3:17: the relation '\$source_schema\.mf_time_spine' uses \$source_schema; give its value \(tally import dbt --var source_schema=…\)$/);
    expect(lines.slice(1)).toEqual(['1 problem found; nothing written']);
    const set = await tally('import', 'dbt', project, '--dry-run', '--var', 'source_schema=analytics');
    expect(set.stderr).toBe('');
    expect(set.stdout).toMatch(/^ok: would write 1 files/);

    writeFileSync(join(project, 'config.yml'), ['project_configuration:', '  time_spine_table_configurations:', '    - location: analytics.spine', '     grain: day', ''].join('\n'));
    const indented = await tally('import', 'dbt', project, '--dry-run');
    expect(indented.stderr.trim().split('\n')[0]).toMatch(/config\.yml:4:6: YAML: 'grain' is indented by 5 spaces, but the line above \(line 3\) puts its key at 6/);
  });

  it('validate says when schema.graphql is out of date with the definitions', async () => {
    const project = join(dir, 'stale');
    cpSync('metrics', join(project, 'metrics'), { recursive: true });
    cpSync('schema.graphql', join(project, 'schema.graphql'));
    const fresh = await tally('--project', project, 'validate');
    expect(fresh.code).toBe(0);
    // A new metric changes the generated schema; the checked-in file does not have it yet.
    writeFileSync(join(project, 'metrics', 'extra.yml'), 'metrics:\n  - { name: zz_order_count, type: simple, measure: order_count }\n');
    const stale = await tally('--project', project, 'validate');
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/schema\.graphql:\d+:1: out of date with the definitions \(first difference here\); regenerate it: npx tally schema > .*schema\.graphql\n1 problem found/);
    const schema = await tally('--project', project, 'schema');
    writeFileSync(join(project, 'schema.graphql'), schema.stdout);
    expect((await tally('--project', project, 'validate')).code).toBe(0);
  });

  it("validate reports a rollup's schedule name that tally.yml does not define, at its file:line:col", async () => {
    const project = join(dir, 'schedules');
    cpSync('metrics', join(project, 'metrics'), { recursive: true });
    writeFileSync(join(project, 'metrics', 'nightly.yml'), 'rollups:\n  - name: nightly_orders\n    metrics: [orders]\n    grain: day\n    refresh: { schedule: nightly }\n');
    const missing = await tally('--project', project, 'validate');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nightly\.yml:2:5: rollup 'nightly_orders' is refreshed on schedule 'nightly', which tally\.yml does not define\..*Define it under rollups: \{ schedules: \{ nightly:/);
    writeFileSync(join(project, 'tally.yml'), 'rollups:\n  schedules:\n    nightly: "0 3 * * *"\n');
    const defined = await tally('--project', project, 'validate');
    expect(defined.stderr).toBe('');
    expect(defined.code).toBe(0);
  });

  it('query prints metrics in their display format in a table; json keeps full precision', async () => {
    const args = ['query', '-m', 'revenue,stickiness,dau', '-g', 'metric_time.month', '--db', db];
    const table = await tally(...args);
    expect(table.code).toBe(0);
    const rows = table.stdout.trim().split('\n').slice(2, -1).map((l) => l.trim().split(/\s{2,}/));
    const json = JSON.parse((await tally(...args, '-f', 'json')).stdout) as { rows: { revenue: number | null; stickiness: number | null; dau: number | null }[] };
    expect(rows.length).toBe(json.rows.length);
    rows.forEach(([, revenue, stickiness, dau], i) => {
      const want = json.rows[i];
      // revenue: { currency: USD } (cents, thousands separated); stickiness: percent with 1 decimal; dau: as is.
      expect(revenue).toBe(want.revenue === null ? 'NULL' : '$' + want.revenue.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
      expect(stickiness).toMatch(want.stickiness === null ? /^NULL$/ : /^\d{1,3}(,\d{3})*\.\d%$/);
      expect(dau).toBe(want.dau === null ? 'NULL' : String(want.dau));
    });
    const csv = await tally(...args, '-f', 'csv');
    expect(csv.stdout.split('\n')[1].split(',').slice(1)).toEqual([json.rows[0].revenue, json.rows[0].stickiness, json.rows[0].dau].map((v) => (v === null ? '' : String(v))));
  });
});
