/**
 * The GraphQL API over HTTP on loopback: typed query, generic query and catalog against the
 * library and hand-written SQL; error codes; the checked-in schema; watch reload; shared runs.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSchema } from '../src/api/schema.js';
import { TallyServer } from '../src/api/server.js';
import type { Engine } from '../src/engines/engine.js';
import { DuckDBEngine, loadProject, runQuery } from '../src/index.js';
import { seedDemoDatabase } from '../src/seed/demo.js';

const dir = mkdtempSync(join(tmpdir(), 'tally-api-'));
const db = join(dir, 'demo.duckdb');
let engine: DuckDBEngine;
let server: TallyServer;
let url: string;
let queries = 0;

async function gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, at = url): Promise<{ data?: T; errors?: { message: string; extensions: { code: string } }[] }> {
  const response = await fetch(at, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return (await response.json()) as { data?: T; errors?: { message: string; extensions: { code: string } }[] };
}

/** Counts statements that reach the engine, to see identical requests share one run. */
function counting(inner: Engine): Engine {
  return { name: inner.name, dialect: inner.dialect, close: () => inner.close(), query: (sql, o) => ((queries += 1), inner.query(sql, o)) };
}

beforeAll(async () => {
  await seedDemoDatabase(db, { events: 20_000 });
  engine = await DuckDBEngine.open({ path: db, readOnly: true });
  server = new TallyServer({ projectDir: '.', engine: counting(engine), log: () => {} });
  url = await server.listen(0, '127.0.0.1');
});
afterAll(async () => {
  await server.close();
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

const TYPED = `query ($countries: [String!]) {
  metrics(filter: { user: { country: { in: $countries } }, order: { status: { notEquals: "cancelled" } } }, from: "2024-07-01", to: "2025-06-30") {
    rows { metricTime(grain: MONTH) user { country } revenue averageOrderValue }
    sql version lineage { metric measures { model table expr } }
  }
}`;

describe('GraphQL API', () => {
  it('typed query: revenue and average order value by month and country equal hand-written SQL and the library', async () => {
    const res = await gql<{ metrics: { rows: { metricTime: string; user: { country: string }; revenue: string; averageOrderValue: number }[]; sql: string; version: string } }>(TYPED, { countries: ['KR', 'US'] });
    expect(res.errors).toBeUndefined();
    const answer = res.data!.metrics;
    expect(answer.version).toBe(loadProject('.').version);
    expect(answer.sql).toContain('cte_revenue');

    const expected = await engine.query(`
      SELECT CAST(date_trunc('month', o.ordered_at) AS DATE) AS month, u.country,
             SUM(o.amount) AS revenue, CAST(SUM(o.amount) AS DOUBLE) / COUNT(*) AS aov
      FROM orders o LEFT JOIN users u ON u.user_id = o.user_id
      WHERE o.status IN ('paid', 'shipped') AND u.country IN ('KR', 'US') AND o.status <> 'cancelled'
        AND o.ordered_at >= TIMESTAMP '2024-07-01' AND o.ordered_at < TIMESTAMP '2025-07-01'
      GROUP BY 1, 2 ORDER BY 1, 2`);
    expect(answer.rows.map((r) => [r.metricTime, r.user.country, r.revenue])).toEqual(expected.rows.map((r) => [r[0], r[1], r[2]]));
    answer.rows.forEach((r, i) => expect(r.averageOrderValue).toBeCloseTo(expected.rows[i][3] as number, 9));
    expect(answer.rows.length).toBeGreaterThan(10);

    const library = await runQuery(loadProject('.'), engine, {
      metrics: ['revenue', 'average_order_value'],
      groupBy: ['metric_time.month', 'user.country'],
      where: "user.country IN ('KR', 'US') AND order.status <> 'cancelled'",
      from: '2024-07-01',
      to: '2025-06-30',
    });
    expect(answer.rows.map((r) => [r.metricTime, r.user.country, r.revenue, r.averageOrderValue])).toEqual(
      library.rows.map((r) => [r['metric_time.month'], r['user.country'], r.revenue, r.average_order_value]),
    );
  });

  it('typed query: time dimensions take a grain, ordering and limits apply, fragments work', async () => {
    const res = await gql<{ metrics: { rows: { newUsers: string; user: { signedUpAt: string; plan: string } }[] } }>(`
      fragment Plan on MetricsRow { user { plan } }
      { metrics(orderBy: [{ metric: NEW_USERS, desc: true }], limit: 3) { rows { newUsers user { signedUpAt(grain: YEAR) } ...Plan } } }`);
    expect(res.errors).toBeUndefined();
    const expected = await engine.query(`SELECT CAST(date_trunc('year', signed_up_at) AS DATE), plan, COUNT(*) AS n FROM users GROUP BY 1, 2 ORDER BY n DESC LIMIT 3`);
    expect(res.data!.metrics.rows.map((r) => [r.user.signedUpAt, r.user.plan, r.newUsers])).toEqual(expected.rows.map((r) => [r[0], r[1], String(r[2])]));
  });

  it('generic query equals the library', async () => {
    const request = { metrics: ['dau', 'wau', 'search_ctr'], groupBy: ['metric_time.week', 'user.plan'], where: "user.plan <> 'free'", orderBy: ['metric_time.week', 'user.plan'] };
    const res = await gql<{ query: { columns: { name: string; type: string; role: string }[]; rows: Record<string, unknown>[] } }>(
      `query ($m: [String!]!, $g: [String!], $w: String, $o: [String!]) { query(metrics: $m, groupBy: $g, where: $w, orderBy: $o) { columns { name type role } rows } }`,
      { m: request.metrics, g: request.groupBy, w: request.where, o: request.orderBy },
    );
    expect(res.errors).toBeUndefined();
    const library = await runQuery(loadProject('.'), engine, request);
    expect(res.data!.query.columns.map((c) => c.name)).toEqual(['metric_time.week', 'user.plan', 'dau', 'wau', 'search_ctr']);
    // One rule with the typed query: counts (dau, wau) are Decimal strings, ratios (search_ctr) numbers.
    const text = (v: unknown): unknown => (v === null ? null : String(v));
    expect(res.data!.query.rows).toEqual(library.rows.map((r) => ({ ...r, dau: text(r.dau), wau: text(r.wau) })));
    expect(res.data!.query.rows.every((r) => r.dau === null || (typeof r.dau === 'string' && /^\d+$/.test(r.dau)))).toBe(true);
    expect(res.data!.query.rows.some((r) => typeof r.search_ctr === 'number')).toBe(true);
    expect(res.data!.query.rows.length).toBeGreaterThan(100);
  });

  it('catalog lists every metric with formula, groupable dimensions and grains', async () => {
    const res = await gql<{ catalog: { metrics: { name: string; field: string; type: string; owner: string; formula: string; dimensions: string[]; grains: string[] }[]; dimensions: { name: string; type: string }[] } }>(
      '{ catalog { metrics { name field type owner formula dimensions grains } dimensions { name type } } }',
    );
    expect(res.errors).toBeUndefined();
    const metrics = res.data!.catalog.metrics;
    const project = loadProject('.');
    expect(metrics.map((m) => m.name).sort()).toEqual([...project.graph.metrics.keys()].sort());
    const newUsers = metrics.find((m) => m.name === 'new_users')!;
    expect(newUsers.dimensions).toContain('user.country');
    expect(newUsers.dimensions).not.toContain('order.status');
    const items = metrics.find((m) => m.name === 'items_sold')!;
    expect(items.dimensions).toEqual(expect.arrayContaining(['product.category', 'user.country', 'order.status']));
    expect(metrics.find((m) => m.name === 'average_order_value')).toMatchObject({ field: 'averageOrderValue', type: 'ratio', formula: 'revenue / paid_orders' });
    expect(newUsers.grains).toEqual(['HOUR', 'DAY', 'WEEK', 'MONTH', 'QUARTER', 'YEAR']);
    expect(res.data!.catalog.dimensions).toEqual(expect.arrayContaining([{ name: 'user.signed_up_at', type: 'time' }, { name: 'order.status', type: 'categorical' }]));
  });

  it('errors carry stable codes and the server keeps serving', async () => {
    const cases: [string, string][] = [
      ['{ query(metrics: ["revenu"]) { rows } }', 'UNKNOWN_METRIC'],
      ['{ query(metrics: ["revenue"], groupBy: ["user.countr"]) { rows } }', 'UNKNOWN_DIMENSION'],
      ['{ query(metrics: ["new_users"], groupBy: ["order.status"]) { rows } }', 'FAN_OUT_JOIN'],
      ['{ query(metrics: ["revenue"], where: "1=1; DROP TABLE orders") { rows } }', 'INVALID_FILTER'],
      ['{ metrics(filter: { metricTime: { gt: "yesterday" } }) { rows { revenue } } }', 'INVALID_REQUEST'],
      ['{ metrics { rows { metricTime } } }', 'INVALID_REQUEST'],
    ];
    for (const [query, code] of cases) {
      const res = await gql(query);
      expect(res.errors?.[0]?.extensions.code, query).toBe(code);
    }
    const ok = await gql<{ query: { rows: unknown[] } }>('{ query(metrics: ["orders"]) { rows } }');
    expect(ok.data!.query.rows).toHaveLength(1);
  });

  it('a query that runs too long is stopped with QUERY_TIMEOUT', async () => {
    const slow = new TallyServer({ projectDir: '.', engine, timeoutMs: 1, log: () => {} });
    const slowUrl = await slow.listen(0, '127.0.0.1');
    try {
      const res = await gql('{ query(metrics: ["mau", "wau"], groupBy: ["metric_time.day", "user.country", "user.plan"]) { rows } }', undefined, slowUrl);
      expect(res.errors?.[0]?.extensions.code).toBe('QUERY_TIMEOUT');
    } finally {
      await slow.close();
    }
  });

  it('identical concurrent requests run the SQL once', async () => {
    const before = queries;
    const query = '{ query(metrics: ["mau"], groupBy: ["metric_time.day", "user.country"]) { rows } }';
    const answers = await Promise.all(Array.from({ length: 6 }, () => gql<{ query: { rows: unknown[] } }>(query)));
    expect(queries - before).toBe(1);
    for (const a of answers) expect(a.data!.query.rows).toEqual(answers[0].data!.query.rows);
  });

  it('serves exact numbers beyond 2^53 as Decimal strings', async () => {
    const big = join(dir, 'big');
    cpSync('metrics', join(big, 'metrics'), { recursive: true });
    const bigDb = await DuckDBEngine.open({ path: ':memory:' });
    await bigDb.query(`CREATE TABLE orders AS SELECT i AS order_id, i AS user_id, TIMESTAMP '2024-01-01' AS ordered_at, 'paid' AS status,
      CAST('9007199254740993.25' AS DECIMAL(20,2)) AS amount FROM range(3) t(i)`);
    const s = new TallyServer({ projectDir: big, engine: bigDb, log: () => {} });
    const at = await s.listen(0, '127.0.0.1');
    try {
      const res = await gql<{ metrics: { rows: { revenue: string }[] } }>('{ metrics { rows { revenue } } }', undefined, at);
      expect(res.data!.metrics.rows[0].revenue).toBe('27021597764222979.75');
    } finally {
      await s.close();
      await bigDb.close();
    }
  });

  it('schema.graphql is the schema generated from the definitions (run `npx tally schema > schema.graphql`)', () => {
    const generated = printSchema(buildSchema(loadProject('.').graph)) + '\n';
    expect(readFileSync('schema.graphql', 'utf8')).toBe(generated);
  });

  it('--watch reloads a valid change at once and keeps serving the last valid version on a broken one', async () => {
    const project = join(dir, 'watched');
    cpSync('metrics', join(project, 'metrics'), { recursive: true });
    const lines: string[] = [];
    const s = new TallyServer({ projectDir: project, engine, watch: true, log: (l) => lines.push(l) });
    const at = await s.listen(0, '127.0.0.1');
    const names = async (): Promise<string[]> => ((await gql<{ catalog: { metrics: { name: string }[] } }>('{ catalog { metrics { name } } }', undefined, at)).data?.catalog.metrics ?? []).map((m) => m.name);
    const waitFor = async (check: () => Promise<boolean>): Promise<void> => {
      for (let i = 0; i < 100 && !(await check()); i++) await new Promise((r) => setTimeout(r, 50));
    };
    try {
      expect(await names()).not.toContain('refunded_orders');
      writeFileSync(join(project, 'metrics', 'extra.yml'), "metrics:\n  - { name: refunded_orders, type: simple, measure: order_count, filter: \"order.status = 'refunded'\" }\n");
      await waitFor(async () => (await names()).includes('refunded_orders'));
      expect(await names()).toContain('refunded_orders');
      const typed = await gql<{ metrics: { rows: { refundedOrders: string }[] } }>('{ metrics { rows { refundedOrders } } }', undefined, at);
      const expected = await engine.query("SELECT COUNT(*) FROM orders WHERE status = 'refunded'");
      expect(typed.data!.metrics.rows[0].refundedOrders).toBe(String(expected.rows[0][0]));

      writeFileSync(join(project, 'metrics', 'extra.yml'), 'metrics:\n  - { name: broken, type: simple, measure: nope }\n');
      await waitFor(async () => lines.some((l) => l.includes('not reloaded')));
      expect(lines.join('\n')).toMatch(/extra\.yml:2:\d+: unknown measure 'nope'/);
      expect(await names()).toContain('refunded_orders');
    } finally {
      await s.close();
    }
  });
});
