/**
 * A bounded load test on loopback: 600 mixed valid and invalid requests (typed and
 * generic queries, the catalog, unknown metrics, hostile filters, forbidden metrics, missing and
 * wrong credentials) from many connections. The server must not crash, every answer it gives must
 * be right (each valid kind is checked against hand-written SQL), every refusal must carry its
 * code, and memory must stay bounded.
 */
import vm from 'node:vm';
import v8 from 'node:v8';
import autocannon, { type Request } from 'autocannon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

v8.setFlagsFromString('--expose_gc');
const gc = vm.runInNewContext('gc') as () => void;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ events: 20_000 });
});
afterAll(async () => h?.close());

interface Kind {
  name: string;
  caller?: string;
  body: (i: number) => { query: string; variables?: Record<string, unknown> };
  /** Checks one answer (status and body); returns a problem or undefined. */
  check: (status: number, body: Record<string, unknown>, i: number) => string | undefined;
}

function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1e6;
}

describe('load', () => {
  it('mixed valid and invalid requests, 600 of them: no crash, no wrong answer, bounded memory', async () => {
    const q = (sql: string): Promise<unknown[][]> => h.engine.query(sql).then((r) => r.rows);
    // Expected answers, by hand-written SQL.
    const ordersByCountry = new Map((await q('SELECT u.country, count(*) FROM orders o JOIN users u ON u.user_id = o.user_id GROUP BY 1')).map((r) => [String(r[0]), String(r[1])]));
    const krOrdersByMonth = new Map(
      (await q("SELECT strftime(date_trunc('month', o.ordered_at), '%Y-%m-%d'), count(*) FROM orders o JOIN users u ON u.user_id = o.user_id WHERE u.country = 'KR' GROUP BY 1")).map((r) => [String(r[0]), Number(r[1])]),
    );
    const newUsersTotal = Number((await q('SELECT count(*) FROM users'))[0][0]);
    const dailyOrders = (await q("SELECT strftime(date_trunc('day', ordered_at), '%Y-%m-%d'), count(*) FROM orders GROUP BY 1 ORDER BY 1")).map((r) => [String(r[0]), String(r[1])] as const);
    const metricCount = h.server.project.graph.metrics.size;

    const errorIs = (code: string, status = 200) => (s: number, b: Record<string, unknown>): string | undefined => {
      const errors = b.errors as { extensions?: { code?: string } }[] | undefined;
      return s === status && errors?.[0]?.extensions?.code === code ? undefined : `expected ${code}/${status}, got ${s} ${JSON.stringify(b).slice(0, 200)}`;
    };
    const kinds: Kind[] = [
      {
        name: 'generic query by country',
        caller: 'admin',
        body: () => ({ query: '{ query(metrics: ["orders"], groupBy: ["user.country"]) { rows } }' }),
        check: (_s, b) => {
          const rows = (b.data as { query: { rows: { 'user.country': string; orders: string }[] } } | undefined)?.query.rows;
          if (!rows || rows.length !== ordersByCountry.size) return `wrong row count ${JSON.stringify(b).slice(0, 200)}`;
          return rows.every((r) => ordersByCountry.get(r['user.country']) === r.orders) ? undefined : 'wrong orders by country';
        },
      },
      {
        name: 'typed query, kr analyst, by month',
        caller: 'kr',
        body: () => ({ query: '{ metrics { rows { metricTime(grain: MONTH) orders user { country } } } }' }),
        check: (_s, b) => {
          const rows = (b.data as { metrics: { rows: { metricTime: string; orders: string; user: { country: string } }[] } } | undefined)?.metrics.rows;
          if (!rows || rows.length !== krOrdersByMonth.size) return `wrong row count ${JSON.stringify(b).slice(0, 200)}`;
          return rows.every((r) => r.user.country === 'KR' && krOrdersByMonth.get(r.metricTime) === Number(r.orders)) ? undefined : 'wrong KR orders by month';
        },
      },
      {
        name: 'distinct limits (engine runs, not the cache)',
        caller: 'admin',
        body: (i) => ({ query: `{ query(metrics: ["orders"], groupBy: ["metric_time.day"], orderBy: ["metric_time.day"], limit: ${1 + (i % 150)}) { rows } }` }),
        check: (_s, b, i) => {
          const rows = (b.data as { query: { rows: { 'metric_time.day': string; orders: string }[] } } | undefined)?.query.rows;
          const want = dailyOrders.slice(0, 1 + (i % 150));
          if (!rows || rows.length !== want.length) return `wrong row count ${JSON.stringify(b).slice(0, 200)}`;
          return rows.every((r, j) => r['metric_time.day'] === want[j][0] && r.orders === want[j][1]) ? undefined : 'wrong daily orders';
        },
      },
      {
        name: 'catalog',
        caller: 'admin',
        body: () => ({ query: '{ catalog { metrics { name } } }' }),
        check: (_s, b) => ((b.data as { catalog: { metrics: unknown[] } } | undefined)?.catalog.metrics.length === metricCount ? undefined : 'wrong catalog'),
      },
      { name: 'new users total', caller: 'analyst', body: () => ({ query: '{ metrics { rows { newUsers } } }' }), check: (_s, b) => (Number((b.data as { metrics: { rows: { newUsers: string }[] } } | undefined)?.metrics.rows[0].newUsers) === newUsersTotal ? undefined : 'wrong new users') },
      { name: 'unknown metric', caller: 'admin', body: () => ({ query: '{ query(metrics: ["revenu"]) { rows } }' }), check: errorIs('UNKNOWN_METRIC') },
      { name: 'hostile filter', caller: 'admin', body: () => ({ query: 'query ($w: String) { query(metrics: ["orders"], where: $w) { rows } }', variables: { w: "1=1; DROP TABLE orders --" } }), check: errorIs('INVALID_FILTER') },
      { name: 'forbidden metric', caller: 'analyst', body: () => ({ query: '{ metrics { rows { revenue } } }' }), check: errorIs('FORBIDDEN') },
      { name: 'no credentials', body: () => ({ query: '{ catalog { version } }' }), check: errorIs('UNAUTHENTICATED', 401) },
      { name: 'wrong key', caller: 'wrong', body: () => ({ query: '{ catalog { version } }' }), check: errorIs('UNAUTHENTICATED', 401) },
      { name: 'not GraphQL', caller: 'admin', body: () => ({ query: '{ query(metrics: ["orders"] { rows }' }), check: errorIs('GRAPHQL_PARSE_FAILED') },
    ];
    const keys: Record<string, string> = { ...h.keys, wrong: 'tally_not_a_key' };
    const counter = { sent: 0 };
    const problems: string[] = [];
    const checked = new Map<string, number>();
    const requests: Request[] = kinds.map((kind) => {
      let sent = 0;
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(kind.caller ? { authorization: `Bearer ${keys[kind.caller]}` } : {}) };
      return {
        method: 'POST',
        path: '/graphql',
        headers,
        // Each connection has one request in flight: its context says which one an answer is to.
        setupRequest: (req: Request, context: object) => {
          const i = sent++;
          (context as { i?: number }).i = i;
          return { ...req, body: JSON.stringify(kind.body(i)) };
        },
        onResponse: (status: number, body: string, context: object) => {
          counter.sent += 1;
          checked.set(kind.name, (checked.get(kind.name) ?? 0) + 1);
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(body) as Record<string, unknown>;
          } catch {
            problems.push(`${kind.name}: not JSON (${status}): ${body.slice(0, 100)}`);
            return;
          }
          const problem = kind.check(status, parsed, (context as { i?: number }).i ?? 0);
          if (problem && problems.length < 20) problems.push(`${kind.name}: ${problem}`);
        },
      };
    });

    // Warm up (definitions, compiled SQL, DuckDB), then measure the heap.
    for (const kind of kinds) await h.gql(kind.body(0).query, kind.body(0).variables, kind.caller ? keys[kind.caller] : undefined);
    const before = heapMb();
    // A fixed number of requests, not a duration: the test asserts answers, never throughput.
    const result = await autocannon({ url: h.url, connections: 16, amount: 600, requests, timeout: 30 });
    const after = heapMb();
    const summary = {
      requests: result.requests.total,
      rps: Math.round(result.requests.average),
      non2xx: result.non2xx,
      connectionErrors: result.errors,
      timeouts: result.timeouts,
      heapBeforeMb: Math.round(before),
      heapAfterMb: Math.round(after),
    };
    console.log(`load: ${JSON.stringify(summary)}`);

    expect(problems).toEqual([]);
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(result.requests.total).toBe(600);
    for (const kind of kinds) expect(checked.get(kind.name) ?? 0, kind.name).toBeGreaterThan(10);
    // Caches are bounded (1000 answers, 1000 compiled statements): the heap may grow by them, not without end.
    expect(after - before).toBeLessThan(150);
    // Still serving, correctly, afterwards.
    const res = await h.gql<{ query: { rows: { orders: string }[] } }>('{ query(metrics: ["orders"]) { rows } }', undefined, h.keys.admin);
    expect(res.data!.query.rows[0].orders).toBe(String([...ordersByCountry.values()].reduce((a, b) => a + Number(b), 0)));
    expect(h.server.gate.stats).toEqual({ running: 0, queued: 0 });
  }, 60_000);
});
