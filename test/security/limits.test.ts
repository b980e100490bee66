/**
 * Limits that keep one request from hurting the others: GraphQL depth, aliases, cost and size;
 * body size; filter length; a maximum row count (the SQL reads one row more, and an answer over
 * the limit is refused); and a cap on concurrent engine queries with a bounded queue (BUSY).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engines/engine.js';
import { QueryGate } from '../../src/api/limits.js';
import { DuckDBEngine, TallyError } from '../../src/index.js';
import { type Harness, startHarness } from './harness.js';

let h: Harness;
let delayMs = 0;
const statements: string[] = [];

beforeAll(async () => {
  h = await startHarness({
    events: 5_000,
    // A slow engine makes the queue visible.
    engine: async (db) => {
      const inner = await DuckDBEngine.open({ path: db, readOnly: true });
      const slow: Engine = {
        name: inner.name,
        dialect: inner.dialect,
        close: () => inner.close(),
        query: async (sql, o) => {
          statements.push(sql);
          if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
          return inner.query(sql, o);
        },
      };
      return slow;
    },
    server: { limits: { maxRows: 50, maxConcurrentQueries: 2, maxQueuedQueries: 3, maxDepth: 6, maxAliases: 5, maxCost: 100, maxTokens: 600, maxBodyBytes: 20_000, maxFilterLength: 500 }, cache: false },
  });
});
afterAll(async () => h?.close());

const code = (res: { errors?: { extensions?: { code?: string } }[] }): string | undefined => res.errors?.[0]?.extensions?.code;

describe('GraphQL document limits', () => {
  it('refuses documents that are too deep, have too many aliases, cost too much or are too long', async () => {
    const key = h.keys.admin;
    const deep = '{ catalog { metrics { lineage { measures { model } } } } __schema { types { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } } }';
    const aliases = `{ ${Array.from({ length: 8 }, (_, i) => `a${i}: catalog { version }`).join(' ')} }`;
    const costly = `{ ${Array.from({ length: 5 }, (_, i) => `c${i}: catalog { metrics { name type lineage { metric inputs measures { measure agg expr model table } } } }`).join(' ')} }`;
    const long = `{ catalog { ${'version '.repeat(700)} } }`;
    for (const [what, query] of [['aliases', aliases], ['cost', costly], ['tokens', long]] as const) {
      const res = await h.gql(query, undefined, key);
      expect(code(res), what).toBe('REQUEST_TOO_LARGE');
      expect(res.errors?.[0]?.message, what).toMatch(/limit/i);
    }
    const depth = await h.gql('{ catalog { metrics { lineage { measures { model } } } } }', undefined, key);
    expect(depth.errors).toBeUndefined();
    // Introspection is exempt from the depth limit (GraphiQL needs it), not from the others.
    expect(code(await h.gql(deep, undefined, key))).toBeUndefined();
  });

  it('refuses a body over the size limit (413) and a filter over the length limit', async () => {
    const big = await fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${h.keys.admin}` }, body: JSON.stringify({ query: '{ catalog { version } }', variables: { pad: 'x'.repeat(30_000) } }) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code).toBe('REQUEST_TOO_LARGE');
    const where = `user.country IN (${Array.from({ length: 100 }, (_, i) => `'C${i}'`).join(', ')})`;
    const res = await h.gql('query ($w: String) { query(metrics: ["orders"], where: $w) { rows } }', { w: where }, h.keys.admin);
    expect(code(res)).toBe('REQUEST_TOO_LARGE');
    expect(res.errors?.[0]?.message).toMatch(/more than the 500/);
  });
});

describe('answer size', () => {
  it('an answer over the row limit is refused (the SQL asks for one row more); a limit under it is served', async () => {
    const tooMany = await h.gql('{ query(metrics: ["orders"], groupBy: ["metric_time.day"]) { rows } }', undefined, h.keys.admin);
    expect(code(tooMany)).toBe('TOO_MANY_ROWS');
    expect(tooMany.errors?.[0]?.message).toMatch(/more than 50 rows/);
    expect(statements[statements.length - 1]).toMatch(/LIMIT 51\s*$/);
    const limited = await h.gql<{ query: { rows: unknown[] } }>('{ query(metrics: ["orders"], groupBy: ["metric_time.day"], limit: 50) { rows } }', undefined, h.keys.admin);
    expect(limited.errors).toBeUndefined();
    expect(limited.data!.query.rows).toHaveLength(50);
    const fewer = await h.gql<{ query: { rows: unknown[] } }>('{ query(metrics: ["orders"], groupBy: ["metric_time.month"]) { rows } }', undefined, h.keys.admin);
    expect(fewer.errors).toBeUndefined();
    expect(fewer.data!.query.rows.length).toBeLessThanOrEqual(50);
  });
});

describe('concurrent engine queries', () => {
  it('runs at most the cap at once, queues a few more, and refuses the rest with BUSY', async () => {
    delayMs = 1_000;
    try {
      // Distinct requests (no shared runs): 2 run, 3 wait, the other 5 are refused at once.
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => h.gql<{ query: { rows: unknown[] } }>(`{ query(metrics: ["orders"], limit: ${i + 1}) { rows } }`, undefined, h.keys.admin)),
      );
      const busy = answers.filter((a) => code(a) === 'BUSY');
      const served = answers.filter((a) => !a.errors);
      expect(busy.length).toBe(5);
      expect(served.length).toBe(5);
      expect(busy[0].errors?.[0]?.message).toMatch(/busy/);
    } finally {
      delayMs = 0;
    }
    // And serves normally again afterwards.
    expect((await h.gql('{ query(metrics: ["orders"]) { rows } }', undefined, h.keys.admin)).errors).toBeUndefined();
    expect(h.server.gate.stats).toEqual({ running: 0, queued: 0 });
  });

  it('a query that waits in the queue longer than its timeout is refused with BUSY, and the queue moves on', async () => {
    const gate = new QueryGate(1, 5);
    let release!: () => void;
    const first = gate.run(() => new Promise<string>((r) => (release = () => r('first'))));
    const waiting = gate.run(() => Promise.resolve('second'), 50);
    await expect(waiting).rejects.toMatchObject({ code: 'BUSY' });
    const third = gate.run(() => Promise.resolve('third'));
    release();
    expect(await first).toBe('first');
    expect(await third).toBe('third');
    expect(gate.stats).toEqual({ running: 0, queued: 0 });
    await expect(new QueryGate(1, 0).run(() => Promise.reject(new TallyError('ENGINE_ERROR', 'x')))).rejects.toMatchObject({ code: 'ENGINE_ERROR' });
  });
});
