/**
 * The whole-response cache (src/api/plugins.ts responseCache): an identical request is answered
 * without running anything, by credentials; a kept response carries its key as ETag and a request
 * that names it gets 304; a response with errors is never kept. Truth: the number of statements
 * the engine was asked to run, and the first response's own body.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authSchema } from '../../src/access/auth-config.js';
import { Authenticator, createApiKey } from '../../src/access/authenticate.js';
import { TallyServer } from '../../src/api/server.js';
import type { Engine } from '../../src/engines/engine.js';
import { DuckDBEngine, TallyError } from '../../src/index.js';
import { seedDemoDatabase } from '../../src/seed/demo.js';

const dir = mkdtempSync(join(tmpdir(), 'tally-response-cache-'));
const db = join(dir, 'demo.duckdb');
let engine: DuckDBEngine;
let statements = 0;
let server: TallyServer;
let url: string;
const alice = createApiKey();
const bob = createApiKey();

beforeAll(async () => {
  await seedDemoDatabase(db, { events: 2_000 });
  engine = await DuckDBEngine.open({ path: db, readOnly: true });
  const counting: Engine = {
    name: engine.name,
    dialect: engine.dialect,
    close: async () => {},
    query: (sql, o) => {
      statements += 1;
      return sql.includes('LIMIT 77') ? Promise.reject(new TallyError('ENGINE_ERROR', 'DuckDB: failed on purpose')) : engine.query(sql, o);
    },
  };
  const auth = Authenticator.fromConfig(authSchema.parse({ api_keys: [{ name: 'alice', hash: alice.hash }, { name: 'bob', hash: bob.hash }] }));
  server = new TallyServer({ projectDir: '.', engine: counting, auth, log: () => {} });
  url = await server.listen(0, '127.0.0.1');
});
afterAll(async () => {
  await server?.close();
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

const post = (key: string, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers }, body: JSON.stringify({ query, variables }) });

describe('whole-response cache', () => {
  const document = 'query Q($limit: Int) { query(metrics: ["orders", "revenue"], groupBy: ["user.plan"], limit: $limit) { rows } }';

  it('answers an identical request without running anything, with the same body; other variables or credentials run', async () => {
    const before = statements;
    const first = await post(alice.key, document, { limit: 10 });
    const body = await first.text();
    expect(JSON.parse(body).errors).toBeUndefined();
    expect(statements).toBe(before + 1);
    const second = await post(alice.key, document, { limit: 10 });
    expect(await second.text()).toBe(body);
    expect(statements).toBe(before + 1);
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
    // Another limit is another request; another caller's credentials are another key (its answer
    // comes from the answer cache then, not from alice's response).
    expect((await (await post(alice.key, document, { limit: 11 })).json()).errors).toBeUndefined();
    expect(statements).toBe(before + 2);
    const other = await post(bob.key, document, { limit: 10 });
    expect(await other.text()).toBe(body);
    expect(other.headers.get('etag')).not.toBe(first.headers.get('etag'));
  });

  it('a kept response carries its key as ETag, and If-None-Match with it gets 304 without a body', async () => {
    const first = await post(alice.key, document, { limit: 12 });
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^[0-9a-f]{64}$/);
    expect(first.headers.get('last-modified')).toBeTruthy();
    const before = statements;
    const again = await post(alice.key, document, { limit: 12 }, { 'if-none-match': etag as string });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(statements).toBe(before);
    // A key nobody kept is answered in full.
    const unknown = await post(alice.key, document, { limit: 13 }, { 'if-none-match': 'f'.repeat(64) });
    expect(unknown.status).toBe(200);
    // Authentication still comes first: bad credentials with a kept ETag get 401.
    const stranger = await post(`${alice.key}x`, document, { limit: 12 }, { 'if-none-match': etag as string });
    expect(stranger.status).toBe(401);
  });

  it("304 only for the request the ETag was given for: another document, or another caller's credentials, get the full answer", async () => {
    const first = await post(alice.key, document, { limit: 14 });
    const etag = first.headers.get('etag') as string;
    expect(etag).toMatch(/^[0-9a-f]{64}$/);
    // Another request (a key that has changed: other variables, or after a build or a reload
    // moved the version) is not the kept response: a 304 would tell the client to keep showing
    // the answer it has for something else (or a pre-rebuild answer).
    const otherRequest = await post(alice.key, document, { limit: 15 }, { 'if-none-match': etag });
    expect(otherRequest.status).toBe(200);
    expect((await otherRequest.json()).data.query.rows.length).toBeGreaterThan(0);
    // Bob's request has its own key: alice's ETag says nothing about it.
    const bobs = await post(bob.key, document, { limit: 14 }, { 'if-none-match': etag });
    expect(bobs.status).toBe(200);
    expect(await bobs.text()).toBe(await first.text());
  });

  it('never keeps a response with errors', async () => {
    const before = statements;
    for (let i = 0; i < 2; i++) {
      const failed = (await (await post(alice.key, '{ query(metrics: ["orders"], limit: 77) { rows } }')).json()) as { errors?: { extensions?: { code?: string } }[] };
      expect(failed.errors?.[0]?.extensions?.code).toBe('ENGINE_ERROR');
    }
    expect(statements).toBe(before + 2);
  });
});
