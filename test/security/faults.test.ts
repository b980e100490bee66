/**
 * The engine fails while requests run: the test Postgres server is stopped (abruptly, as a crash
 * would) and started again, and a DuckDB file becomes unreadable and then readable again. Requests
 * in the meantime fail with ENGINE_UNAVAILABLE (never a crash, never a wrong answer), and the
 * server recovers by itself once the engine is back.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TallyServer } from '../../src/api/server.js';
import { ReopeningEngine } from '../../src/engines/reopening.js';
import { DuckDBEngine, PostgresEngine, seedPostgres } from '../../src/index.js';
import { seedDemoDatabase } from '../../src/seed/demo.js';
import { type PostgresServer, startPostgres } from '../helpers/postgres-server.js';
import { gql } from './harness.js';

const BY_COUNTRY = '{ query(metrics: ["orders"], groupBy: ["user.country"]) { rows } }';
type Outcome = 'right' | 'wrong' | string;

/** Sends requests one after another (from `streams` clients) until stopped; records each outcome. */
function requestStream(url: string, expected: string, streams = 3): { outcomes: Outcome[]; stop: () => Promise<void> } {
  const outcomes: Outcome[] = [];
  let running = true;
  const loops = Array.from({ length: streams }, async () => {
    while (running) {
      const res = await gql<{ query: { rows: unknown[] } }>(url, BY_COUNTRY);
      if (res.errors) outcomes.push(res.errors[0].extensions?.code ?? 'NO_CODE');
      else outcomes.push(JSON.stringify(res.data!.query.rows) === expected ? 'right' : 'wrong');
      await new Promise((r) => setTimeout(r, 5));
    }
  });
  return {
    outcomes,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function until(check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Postgres stopped and restarted while requests run', () => {
  let pgs: PostgresServer;
  let engine: PostgresEngine;
  let server: TallyServer;
  let url: string;

  beforeAll(async () => {
    // A cluster of this test's own: stopping the shared one would break the other test files.
    pgs = await startPostgres();
    engine = await PostgresEngine.open({ connectionString: pgs.url, maxConnections: 4 });
    await seedPostgres(engine, { events: 5_000 });
    server = new TallyServer({ projectDir: '.', engine, cache: false, timeoutMs: 20_000, log: () => {} });
    url = await server.listen(0, '127.0.0.1');
  }, 180_000);
  afterAll(async () => {
    await server?.close();
    await engine?.close().catch(() => undefined);
    pgs?.stop();
  });

  it('fails with ENGINE_UNAVAILABLE while it is down, and answers rightly again once it is back', async () => {
    const truth = await engine.query('SELECT u.country, count(*) FROM orders o JOIN users u ON u.user_id = o.user_id GROUP BY 1 ORDER BY 1');
    // Counts in the API are Decimal strings (typed and generic query alike).
    const expected = JSON.stringify(truth.rows.map((r) => ({ 'user.country': r[0], orders: String(r[1]) })));
    const stream = requestStream(url, expected);
    await until(() => stream.outcomes.filter((o) => o === 'right').length >= 10);

    // A statement running when the server goes down fails as unavailable too.
    const inFlight = engine.query('SELECT pg_sleep(5)').then(
      () => 'finished',
      (e: { code?: string }) => e.code ?? 'unknown',
    );
    await new Promise((r) => setTimeout(r, 200));
    pgs.halt();
    expect(await inFlight).toBe('ENGINE_UNAVAILABLE');
    const downAt = stream.outcomes.length;
    await until(() => stream.outcomes.slice(downAt).filter((o) => o === 'ENGINE_UNAVAILABLE').length >= 10);

    pgs.resume();
    const upAt = stream.outcomes.length;
    await until(() => stream.outcomes.slice(upAt).filter((o) => o === 'right').length >= 10);
    await stream.stop();

    const tally = (list: Outcome[]): Record<string, number> => list.reduce<Record<string, number>>((acc, o) => ((acc[o] = (acc[o] ?? 0) + 1), acc), {});
    console.log(`postgres fault: ${JSON.stringify({ before: tally(stream.outcomes.slice(0, downAt)), down: tally(stream.outcomes.slice(downAt, upAt)), after: tally(stream.outcomes.slice(upAt)) })}`);
    // Never a wrong answer, never an error other than "unavailable".
    expect(stream.outcomes.filter((o) => o !== 'right' && o !== 'ENGINE_UNAVAILABLE')).toEqual([]);
    // Once back, the last answers are all right (the pool reconnected by itself).
    expect(stream.outcomes.slice(-5)).toEqual(['right', 'right', 'right', 'right', 'right']);
    expect(server.gate.stats).toEqual({ running: 0, queued: 0 });
  }, 120_000);
});

describe('a DuckDB file that becomes unreadable', () => {
  let dir: string;
  let engine: ReopeningEngine;
  let server: TallyServer;
  let url: string;
  let db: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tally-fault-'));
    db = join(dir, 'demo.duckdb');
    await seedDemoDatabase(join(dir, 'seed.duckdb'), { events: 5_000 });
    copyFileSync(join(dir, 'seed.duckdb'), db);
    engine = await ReopeningEngine.open(() => DuckDBEngine.open({ path: db, readOnly: true, mustExist: true }));
    server = new TallyServer({ projectDir: '.', engine, cache: false, log: () => {} });
    url = await server.listen(0, '127.0.0.1');
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await engine?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails with ENGINE_UNAVAILABLE while the file cannot be read, and reopens it once it can', async () => {
    const ok = await gql<{ query: { rows: { orders: string }[] } }>(url, '{ query(metrics: ["orders"]) { rows } }');
    const orders = ok.data!.query.rows[0].orders;
    expect(Number(orders)).toBeGreaterThan(0);
    const bytes = readFileSync(db);

    // The file is truncated under the running server (a botched copy, a full disk…).
    truncateSync(db, 0);
    const broken = await gql(url, '{ query(metrics: ["dau", "searches"], groupBy: ["metric_time.day"]) { rows } }');
    expect(broken.errors?.[0]?.extensions?.code).toBe('ENGINE_UNAVAILABLE');
    expect(broken.errors?.[0]?.message).toMatch(/retry shortly/);
    // While it stays unreadable (empty, then garbage), every request says so; none crashes the server.
    for (const content of [Buffer.alloc(0), Buffer.from('not a database'.repeat(1000))]) {
      writeFileSync(db, content);
      const res = await gql(url, '{ query(metrics: ["orders"]) { rows } }');
      expect(res.errors?.[0]?.extensions?.code).toBe('ENGINE_UNAVAILABLE');
    }

    // The file is back: the next request reopens it and answers rightly.
    writeFileSync(db, bytes);
    const again = await gql<{ query: { rows: { orders: string }[] } }>(url, '{ query(metrics: ["orders"]) { rows } }');
    expect(again.errors).toBeUndefined();
    expect(again.data!.query.rows[0].orders).toBe(orders);
    const dau = await gql<{ query: { rows: unknown[] } }>(url, '{ query(metrics: ["dau"], groupBy: ["metric_time.day"]) { rows } }');
    expect(dau.errors).toBeUndefined();
    expect(dau.data!.query.rows.length).toBeGreaterThan(10);
  }, 60_000);
});
