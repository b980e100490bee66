/**
 * Issue 12 §3: authentication before the response cache and before validation; inputs that used
 * to reach the engine and fail there (NUL characters, a range past year 9999, keys beyond int64,
 * JSON numbers beyond 2^53) get typed errors; CORS allows only the configured origins.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Harness, startHarness } from './harness.js';

let h: Harness;
const statements: string[] = [];
beforeAll(async () => {
  h = await startHarness({
    events: 5_000,
    engine: async (db) => {
      const { DuckDBEngine } = await import('../../src/index.js');
      const inner = await DuckDBEngine.open({ path: db, readOnly: true });
      return { name: inner.name, dialect: inner.dialect, close: () => inner.close(), query: (sql, o) => (statements.push(sql), inner.query(sql, o)) };
    },
  });
});
afterAll(async () => h?.close());

const code = (res: { errors?: { extensions?: { code?: string } }[] }): string | undefined => res.errors?.[0]?.extensions?.code;

describe('authentication comes first', () => {
  it('a cached document is not served to a token that has expired since', async () => {
    const token = await h.token({ roles: ['admin'] }, '2s');
    const doc = '{ metrics { rows { orders newUsers } } }';
    const first = await h.gql(doc, undefined, token);
    expect(first.errors).toBeUndefined();
    const ran = statements.length;
    const again = await h.gql(doc, undefined, token);
    expect(again).toEqual(first);
    // The second answer came from the response cache: no statement ran.
    expect(statements.length).toBe(ran);
    // The token's clock moves past its expiry and the server's 5 s tolerance (the cache's TTL is 60 s).
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 10_000);
    try {
      const expired = await h.gql(doc, undefined, token);
      expect(expired.status).toBe(401);
      expect(code(expired)).toBe('UNAUTHENTICATED');
      expect(expired.data).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });

  it('without credentials, an invalid document gets 401 and no validation message (no "Did you mean")', async () => {
    for (const doc of ['{ metrics { rows { revenu } } }', '{ querry }', '{ metrics { rows { orders(x: 1) } } }']) {
      const res = await h.gql(doc);
      expect(res.status).toBe(401);
      expect(code(res)).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(res)).not.toMatch(/Did you mean|revenue|Cannot query/);
    }
    // With credentials, validation answers as before.
    const known = await h.gql('{ metrics { rows { revenu } } }', undefined, h.keys.admin);
    expect(code(known)).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('inputs that the engine would fail on get a typed error before any SQL runs', () => {
  it('a NUL character in a typed text condition, a where filter, a group-by or a date', async () => {
    const before = statements.length;
    const cases: [string, Record<string, unknown>][] = [
      ['query ($v: String) { metrics(filter: { user: { country: { contains: $v } } }) { rows { orders } } }', { v: 'K\u0000R' }],
      ['query ($v: String) { metrics(filter: { user: { country: { startsWith: $v } } }) { rows { orders } } }', { v: '\u0000' }],
      ['query ($v: String) { metrics(filter: { user: { country: { endsWith: $v } } }) { rows { orders } } }', { v: 'R\u0000' }],
      ['query ($v: String) { metrics(filter: { user: { country: { equals: $v } } }) { rows { orders } } }', { v: 'KR\u0000' }],
      ['query ($w: String) { query(metrics: ["orders"], where: $w) { rows } }', { w: "user.country = 'K\u0000R'" }],
    ];
    for (const [doc, variables] of cases) {
      const res = await h.gql(doc, variables, h.keys.admin);
      expect(['INVALID_REQUEST', 'INVALID_FILTER'], JSON.stringify(res)).toContain(code(res));
      expect(res.errors?.[0]?.message).toMatch(/NUL/);
    }
    expect(statements.length).toBe(before);
  });

  it("to: '9999-12-31' at year grain (whose period would end in year 10000) is INVALID_REQUEST; 9998 is served", async () => {
    const before = statements.length;
    const res = await h.gql('{ metrics(from: "2025-01-01", to: "9999-12-31") { rows { metricTime(grain: YEAR) orders } } }', undefined, h.keys.admin);
    expect(code(res)).toBe('INVALID_REQUEST');
    expect(res.errors?.[0]?.message).toMatch(/9999/);
    const generic = await h.gql('{ query(metrics: ["orders"], groupBy: ["metric_time.year"], from: "2025-01-01", to: "9999-12-31") { rows } }', undefined, h.keys.admin);
    expect(code(generic)).toBe('INVALID_REQUEST');
    expect(statements.length).toBe(before);
    const fine = await h.gql<{ metrics: { rows: { orders: string }[] } }>('{ metrics(from: "2025-01-01", to: "9998-12-31") { rows { metricTime(grain: YEAR) orders } } }', undefined, h.keys.admin);
    expect(fine.errors).toBeUndefined();
  });

  it('an integer key beyond int64 is INVALID_FILTER; JSON numbers beyond 2^53 are refused, and the same digits as a string are kept exactly', async () => {
    const before = statements.length;
    const huge = await h.gql('{ metrics(filter: { user: { id: { equals: "99999999999999999999" } } }) { rows { orders } } }', undefined, h.keys.admin);
    expect(code(huge)).toBe('INVALID_FILTER');
    const inList = await h.gql('{ metrics(filter: { user: { id: { in: ["1", "-9223372036854775809"] } } }) { rows { orders } } }', undefined, h.keys.admin);
    expect(code(inList)).toBe('INVALID_FILTER');
    // Raw JSON bodies: 1e400 parses as Infinity, 9007199254740993 as …992.
    const doc = 'query ($id: ID) { metrics(filter: { user: { id: { equals: $id } } }) { rows { orders } } }';
    for (const raw of ['1e400', '9007199254740993']) {
      const response = await fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${h.keys.admin}` }, body: `{"query": ${JSON.stringify(doc)}, "variables": {"id": ${raw}}}` });
      const body = (await response.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
      expect(code(body)).toBe('INVALID_REQUEST');
      expect(body.errors?.[0]?.message).toMatch(/as a string/);
    }
    expect(statements.length).toBe(before);
    const exact = await h.gql<{ metrics: { rows: { orders: string }[]; sql: string } }>('query ($id: ID) { metrics(filter: { user: { id: { equals: $id } } }) { rows { orders } sql } }', { id: '9007199254740993' }, h.keys.admin);
    expect(exact.errors).toBeUndefined();
    expect(exact.data!.metrics.sql).toContain('9007199254740993');
    expect(statements[statements.length - 1]).toContain('9007199254740993');
  });
});

describe('CORS', () => {
  const preflight = (url: string, origin: string): Promise<Response> =>
    fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });

  it('by default answers no other origin: no Access-Control-Allow-Origin, never a reflected one', async () => {
    const pre = await preflight(h.url, 'https://evil.example');
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
    const res = await fetch(h.url, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json', authorization: `Bearer ${h.keys.admin}` }, body: JSON.stringify({ query: '{ catalog { version } }' }) });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows exactly the origins in the setting', async () => {
    const other = await startHarness({ events: 1_000, server: { corsOrigins: ['https://dash.example'] } });
    try {
      const ok = await preflight(other.url, 'https://dash.example');
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://dash.example');
      const evil = await preflight(other.url, 'https://evil.example');
      expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await other.close();
    }
  });
});
