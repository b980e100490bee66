/**
 * Operating the server (issue 13): --watch follows atomic saves (a temporary file renamed over
 * the original, as editors do), sees every save and reloads a fixed file; each request is one
 * structured log line without credentials, with the engine's own error text only there; pages
 * and answers are compressed.
 */
import { request as httpRequest } from 'node:http';
import { cpSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authSchema } from '../../src/access/auth-config.js';
import { Authenticator, createApiKey } from '../../src/access/authenticate.js';
import { TallyServer } from '../../src/api/server.js';
import type { Engine } from '../../src/engines/engine.js';
import { DuckDBEngine, TallyError } from '../../src/index.js';
import { seedDemoDatabase } from '../../src/seed/demo.js';

const dir = mkdtempSync(join(tmpdir(), 'tally-ops-'));
const db = join(dir, 'demo.duckdb');
let engine: DuckDBEngine;
beforeAll(async () => {
  await seedDemoDatabase(db, { events: 2_000 });
  engine = await DuckDBEngine.open({ path: db, readOnly: true });
});
afterAll(async () => {
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function gql<T>(url: string, query: string, key?: string): Promise<{ status: number; data?: T; errors?: { message: string; extensions?: { code?: string } }[] }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) }, body: JSON.stringify({ query }) });
  return { status: res.status, ...((await res.json()) as object) };
}

/** Saves a file the way editors do: write a temporary file beside it, then rename it over the original. */
function atomicSave(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

const until = async (check: () => boolean | Promise<boolean>): Promise<boolean> => {
  for (let i = 0; i < 200; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
};

describe('tally serve --watch', () => {
  it('sees every atomic save, keeps serving the last valid version on a broken one, and reloads the fixed file', async () => {
    const project = join(dir, 'watched');
    cpSync('metrics', join(project, 'metrics'), { recursive: true });
    const file = join(project, 'metrics', 'extra.yml');
    writeFileSync(file, 'metrics:\n  - { name: extra_0, type: simple, measure: order_count }\n');
    const lines: string[] = [];
    const s = new TallyServer({ projectDir: project, engine, watch: true, log: (l) => lines.push(l) });
    const url = await s.listen(0, '127.0.0.1');
    const names = async (): Promise<string[]> => ((await gql<{ catalog: { metrics: { name: string }[] } }>(url, '{ catalog { metrics { name } } }')).data?.catalog.metrics ?? []).map((m) => m.name);
    try {
      expect(await names()).toContain('extra_0');
      for (let i = 1; i <= 3; i++) {
        atomicSave(file, `metrics:\n  - { name: extra_${i}, type: simple, measure: order_count }\n`);
        expect(await until(async () => (await names()).includes(`extra_${i}`)), `save ${i}`).toBe(true);
        expect(await names()).not.toContain(`extra_${i - 1}`);
      }
      const version = s.project.version;
      atomicSave(file, 'metrics:\n  - { name: broken, type: simple, measure: nope }\n');
      expect(await until(() => s.reloadProblem !== undefined)).toBe(true);
      expect(s.reloadProblem).toMatch(/extra\.yml:2:\d+: unknown measure 'nope'/);
      expect(s.project.version).toBe(version);
      expect(await names()).toContain('extra_3');
      atomicSave(file, 'metrics:\n  - { name: fixed, type: simple, measure: order_count }\n');
      expect(await until(async () => (await names()).includes('fixed'))).toBe(true);
      expect(s.reloadProblem).toBeUndefined();
      // The fixed metric answers what hand-written SQL says.
      const typed = await gql<{ metrics: { rows: { fixed: string }[] } }>(url, '{ metrics { rows { fixed } } }');
      expect(typed.data!.metrics.rows[0].fixed).toBe(String((await engine.query('SELECT count(*) FROM orders')).rows[0][0]));
    } finally {
      await s.close();
    }
  }, 60_000);
});

describe('request log', () => {
  it('one JSON line per request: id, caller name, metrics, rows, engine and total time, cache hit, error code; never the key; engine text only in the log', async () => {
    const lines: string[] = [];
    const { key, hash } = createApiKey();
    const auth = Authenticator.fromConfig(authSchema.parse({ api_keys: [{ name: 'dashboards', hash }] }));
    // An engine whose failure text holds a value the caller may not see.
    const failing: Engine = {
      name: engine.name,
      dialect: engine.dialect,
      close: async () => {},
      query: (sql, o) => (sql.includes('LIMIT 77') ? Promise.reject(new TallyError('ENGINE_ERROR', "DuckDB: Could not convert string 'secret-plan' to INT32")) : engine.query(sql, o)),
    };
    const s = new TallyServer({ projectDir: '.', engine: failing, auth, log: (l) => lines.push(l) });
    const url = await s.listen(0, '127.0.0.1');
    try {
      const ok = await gql<{ query: { rows: unknown[] } }>(url, '{ query(metrics: ["orders", "revenue"], groupBy: ["user.country"]) { rows } }', key);
      expect(ok.errors).toBeUndefined();
      await gql(url, '{ query(metrics: ["orders", "revenue"], groupBy: ["user.country"]) { rows } }', key);
      const failed = await gql(url, '{ query(metrics: ["orders"], limit: 77) { rows } }', key);
      expect(failed.errors?.[0]?.extensions?.code).toBe('ENGINE_ERROR');
      expect(JSON.stringify(failed)).not.toContain('secret-plan');
      await gql(url, '{ catalog { version } }', `${key}x`);
      await until(() => lines.filter((l) => l.includes('"msg":"request"')).length >= 4);
      const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
      expect(logged).toHaveLength(4);
      const [first, second, third, fourth] = logged;
      expect(first).toMatchObject({ caller: 'dashboards', metrics: ['orders', 'revenue'], rows: ok.data!.query.rows.length, cacheHit: false, status: 200, statements: 1 });
      expect(typeof first.requestId).toBe('string');
      expect(first.engineMs).toBeGreaterThanOrEqual(0);
      expect(first.totalMs).toBeGreaterThanOrEqual(first.engineMs as number);
      expect(second).toMatchObject({ caller: 'dashboards', cacheHit: true });
      expect(second.requestId).not.toBe(first.requestId);
      expect(third).toMatchObject({ error: 'ENGINE_ERROR' });
      expect(String(third.engineError)).toContain('secret-plan');
      expect(fourth).toMatchObject({ error: 'UNAUTHENTICATED', status: 401 });
      expect(lines.join('\n')).not.toContain(key.slice(6));
    } finally {
      await s.close();
    }
  });
});

describe('compression', () => {
  /** Status, content-encoding and body bytes on the wire (no automatic decompression). */
  const raw = (url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; encoding?: string; bytes: Buffer }> =>
    new Promise((resolve, reject) => {
      const req = httpRequest(url, { method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, encoding: res.headers['content-encoding'], bytes: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end(body);
    });

  it('GraphiQL, the catalog assets and API answers are gzip-compressed for clients that accept it', async () => {
    const s = new TallyServer({ projectDir: '.', engine, log: () => {} });
    const url = await s.listen(0, '127.0.0.1');
    try {
      const page = await raw(url, 'GET', { accept: 'text/html', 'accept-encoding': 'gzip' });
      const plain = await raw(url, 'GET', { accept: 'text/html' });
      expect(page.encoding).toBe('gzip');
      expect(plain.encoding).toBeUndefined();
      expect(gunzipSync(page.bytes).equals(plain.bytes)).toBe(true);
      expect(page.bytes.length).toBeLessThan(plain.bytes.length / 2);
      // The catalog's script (the page itself is under the 1 KB worth compressing).
      const catalog = await raw(url.replace(/graphql$/, 'assets/app.js'), 'GET', { 'accept-encoding': 'gzip' });
      expect(catalog.status).toBe(200);
      expect(catalog.encoding).toBe('gzip');
      const body = JSON.stringify({ query: '{ query(metrics: ["orders"], groupBy: ["metric_time.day"]) { rows } }' });
      const api = await raw(url, 'POST', { 'content-type': 'application/json', 'accept-encoding': 'gzip', 'content-length': String(Buffer.byteLength(body)) }, body);
      expect(api.encoding).toBe('gzip');
      const answer = JSON.parse(gunzipSync(api.bytes).toString()) as { data: { query: { rows: { orders: string | number }[] } } };
      const truth = await engine.query('SELECT count(*) FROM orders');
      expect(answer.data.query.rows.reduce((a, r) => a + Number(r.orders), 0)).toBe(Number(truth.rows[0][0]));
    } finally {
      await s.close();
    }
  });
});
