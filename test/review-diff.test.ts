/**
 * `tally diff` on a scratch git repository: revenue is changed to count refunded orders too, and
 * the review must show the SQL diff and how revenue moves month by month, against numbers from
 * hand-written SQL on the seeded database.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine } from '../src/index.js';
import { compareNumbers, diffRevisions } from '../src/review/diff.js';
import { percentChange, subtract } from '../src/review/numbers.js';
import { loadRevision } from '../src/review/revisions.js';
import { seedDemoDatabase } from '../src/seed/demo.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tally-diff-'));
const db = join(dir, 'demo.duckdb');
const repo = join(dir, 'repo');
let engine: DuckDBEngine;

const OLD_FILTER = `filter: "order.status IN ('paid', 'shipped')"`;
const NEW_FILTER = `filter: "order.status IN ('paid', 'shipped', 'refunded')"`;

function git(...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Analyst', '-c', 'user.email=analyst@shop.example', '-c', 'commit.gpgsign=false', ...args], { cwd: repo, encoding: 'utf8' });
}

async function tally(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/tally.js', '--project', repo, ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

/** Revenue per month before and after the change, and the refunded amount, straight from the tables. */
async function handComputed(): Promise<{ month: string; before: string; after: string; refunded: string; percent: number }[]> {
  const result = await engine.query(`
    SELECT CAST(date_trunc('month', ordered_at) AS DATE) AS month,
      SUM(amount) FILTER (WHERE status IN ('paid', 'shipped')) AS before,
      SUM(amount) FILTER (WHERE status IN ('paid', 'shipped', 'refunded')) AS after,
      COALESCE(SUM(amount) FILTER (WHERE status = 'refunded'), 0) AS refunded,
      100.0 * COALESCE(SUM(amount) FILTER (WHERE status = 'refunded'), 0) / SUM(amount) FILTER (WHERE status IN ('paid', 'shipped')) AS percent
    FROM orders GROUP BY 1 ORDER BY 1`);
  return result.rows.map((r) => ({ month: String(r[0]), before: String(r[1]), after: String(r[2]), refunded: String(r[3]), percent: Number(r[4]) }));
}

beforeAll(async () => {
  await seedDemoDatabase(db, { events: 20_000 });
  engine = await DuckDBEngine.open({ path: db, readOnly: true });
  cpSync('metrics', join(repo, 'metrics'), { recursive: true });
  git('init', '-q', '-b', 'main');
  git('add', 'metrics');
  git('commit', '-q', '-m', 'metrics as they are');
  const file = join(repo, 'metrics', 'metrics.yml');
  const text = readFileSync(file, 'utf8');
  // Only revenue's own filter: the first one in the file, under `- name: revenue`.
  const at = text.indexOf(OLD_FILTER, text.indexOf('- name: revenue'));
  expect(at).toBeGreaterThan(0);
  writeFileSync(file, text.slice(0, at) + NEW_FILTER + text.slice(at + OLD_FILTER.length));
  git('commit', '-q', '-am', 'revenue counts refunded orders too');
});
afterAll(async () => {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('tally diff', () => {
  it('finds revenue and the metrics computed from it, with the SQL diff and the monthly change', async () => {
    const base = loadRevision(repo, 'HEAD~1');
    const head = loadRevision(repo, 'HEAD');
    const diff = diffRevisions(base, head);
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);
    expect(diff.models).toEqual({ added: [], removed: [], changed: [] });
    expect(diff.changed.map((c) => c.metric).sort()).toEqual(['average_order_value', 'revenue', 'revenue_growth_mom']);

    const revenue = diff.changed.find((c) => c.metric === 'revenue')!;
    expect(revenue.fields).toEqual([{ field: 'filter', base: "order.status IN ('paid', 'shipped')", head: "order.status IN ('paid', 'shipped', 'refunded')" }]);
    expect(revenue.requestText).toBe('revenue by metric_time.month');
    expect(revenue.sqlDiff).toContain('--- revenue.sql (HEAD~1)\n+++ revenue.sql (HEAD)\n');
    const changedLines = revenue.sqlDiff.split('\n').filter((l) => /^[-+][^-+]/.test(l));
    expect(changedLines).toEqual([`-    WHERE "orders"."status" IN ('paid', 'shipped')`, `+    WHERE "orders"."status" IN ('paid', 'shipped', 'refunded')`]);
    expect(diff.changed.find((c) => c.metric === 'average_order_value')).toMatchObject({ fields: [], changedInputs: ['revenue'] });

    await compareNumbers(diff, base, head, engine);
    const expected = await handComputed();
    expect(revenue.numbers!.map((n) => [n.key, n.base, n.head, n.change])).toEqual(expected.map((e) => [e.month, e.before, e.after, e.refunded]));
    revenue.numbers!.forEach((n, i) => expect(n.percent).toBeCloseTo(expected[i].percent, 1));
    expect(expected.length).toBe(24);
    expect(expected.some((e) => e.refunded !== '0.00')).toBe(true);
  });

  it('prints the review on the command line, as text and as Markdown for a pull request', async () => {
    const expected = await handComputed();
    const text = await tally('diff', 'HEAD~1', 'HEAD', '--data', '--db', db);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/changed\s+revenue\s+filter/);
    expect(text.stdout).toMatch(/changed\s+average_order_value\s+through revenue/);
    expect(text.stdout).toContain("filter: order.status IN ('paid', 'shipped')  ->  order.status IN ('paid', 'shipped', 'refunded')");
    expect(text.stdout).toContain('SQL of revenue by metric_time.month:');
    expect(text.stdout).toContain(`+    WHERE "orders"."status" IN ('paid', 'shipped', 'refunded')`);
    const section = text.stdout.slice(text.stdout.indexOf('revenue by metric_time.month, HEAD~1 -> HEAD:'));
    for (const e of expected) {
      const line = section.split('\n').find((l) => l.startsWith(e.month))!;
      const [month, before, after, change, percent] = line.trim().split(/\s+/);
      expect([month, before, after, change]).toEqual([e.month, e.before, e.after, e.refunded]);
      expect(Number(percent.replace('%', ''))).toBeCloseTo(e.percent, 1);
    }

    const markdown = await tally('diff', 'HEAD~1', 'HEAD', '--data', '--db', db, '--format', 'markdown');
    expect(markdown.code).toBe(0);
    expect(markdown.stdout).toContain('### Tally: metric changes');
    expect(markdown.stdout).toContain('| changed | `revenue` | filter |');
    expect(markdown.stdout).toMatch(/```diff\n--- revenue\.sql \(HEAD~1\)\n\+\+\+ revenue\.sql \(HEAD\)\n/);
    expect(markdown.stdout).toContain('| metric_time.month | HEAD~1 | HEAD | change | % change |');
    const first = expected[0];
    expect(markdown.stdout).toContain(`| ${first.month} | ${first.before} | ${first.after} | ${first.refunded} |`);
  });

  it('diff --data shows which metric it compares on stderr with --progress, and nothing without it', async () => {
    const quiet = await tally('diff', 'HEAD~1', 'HEAD', '--data', '--db', db);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    const loud = await tally('diff', 'HEAD~1', 'HEAD', '--data', '--db', db, '--progress');
    expect(loud.code).toBe(0);
    expect(loud.stdout).toBe(quiet.stdout);
    const changed = diffRevisions(loadRevision(repo, 'HEAD~1'), loadRevision(repo, 'HEAD')).changed.map((c) => c.metric);
    const lines = loud.stderr.trim().split('\n').map((l) => l.replace(/ \(\d+\.\d s\)$/, ''));
    expect(lines).toEqual([...changed.map((m, i) => `diff --data: ${i}/${changed.length} comparing ${m}`), `diff --data: ${changed.length}/${changed.length} done`]);
    expect(changed).toContain('revenue');
  });

  it('by default compares HEAD with the working tree, and reports added and removed metrics', async () => {
    expect((await tally('diff')).stdout).toContain('No metric changed.');
    const extra = join(repo, 'metrics', 'refunds.yml');
    writeFileSync(extra, "metrics:\n  - { name: refunded_revenue, type: simple, measure: order_amount, filter: \"order.status = 'refunded'\" }\n");
    try {
      const out = await tally('diff');
      expect(out.code).toBe(0);
      expect(out.stdout).toContain('Metric changes from HEAD');
      expect(out.stdout).toContain('to working tree');
      expect(out.stdout).toMatch(/added\s+refunded_revenue\s+simple: order_amount where order.status = 'refunded'/);
      const backwards = diffRevisions(loadRevision(repo), loadRevision(repo, 'HEAD'));
      expect(backwards.removed.map((m) => m.metric)).toEqual(['refunded_revenue']);
      expect(backwards.changed).toEqual([]);
    } finally {
      rmSync(extra);
    }
  });

  it('names an unknown revision and broken definitions with their revision', async () => {
    const unknown = await tally('diff', 'no-such-branch');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("'no-such-branch' is not a git revision");
    const file = join(repo, 'metrics', 'broken.yml');
    writeFileSync(file, 'metrics:\n  - { name: broken, type: simple, measure: nope }\n');
    try {
      const broken = await tally('diff');
      expect(broken.code).toBe(1);
      expect(broken.stderr).toMatch(/^working tree:metrics\/broken\.yml:2:\d+: unknown measure 'nope'/m);
    } finally {
      rmSync(file);
    }
  });

  it('works out changes exactly, whatever the number types', () => {
    expect(subtract('10.5', '0.25')).toBe('10.25');
    expect(subtract('-1', '0.001')).toBe('-1.001');
    expect(subtract(9007199254740993n, 2)).toBe(9007199254740991);
    expect(subtract(9007199254740993n, 0)).toBe(9007199254740993n);
    expect(subtract(2n ** 64n, 1)).toBe(2n ** 64n - 1n);
    expect(subtract(0.3, 0.1)).toBeCloseTo(0.2, 12);
    expect(subtract(null, '1')).toBeNull();
    expect(percentChange('200', '250')).toBe(25);
    expect(percentChange('-200', '-100')).toBe(50);
    expect(percentChange('0', '5')).toBeNull();
  });
});
