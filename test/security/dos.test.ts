/**
 * Issue 12 §2: one caller cannot stall the others. Answers and time spines too large are refused
 * before any SQL runs; one caller holds at most its share of the engine's slots, so a cheap
 * request from another caller completes while four heavy ones are in flight (shown by the order
 * of events, not by timing); a client that goes away, and the server's shutdown, cancel the
 * statements they were waiting for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, QueryOptions, ResultSet } from '../../src/engines/engine.js';
import { DuckDBEngine } from '../../src/index.js';
import { type Harness, startHarness } from './harness.js';

/** An engine whose statements matching `held` wait until released (or cancelled by their signal). */
interface Held {
  sql: string;
  signal?: AbortSignal;
  release: () => void;
}
let held: Held[] = [];
let holding: RegExp | undefined;
const events: string[] = [];
const statements: string[] = [];

async function holdingEngine(db: string): Promise<Engine> {
  const inner = await DuckDBEngine.open({ path: db, readOnly: true, connections: 4 });
  return {
    name: inner.name,
    dialect: inner.dialect,
    close: () => inner.close(),
    query: async (sql: string, o?: QueryOptions): Promise<ResultSet> => {
      statements.push(sql);
      if (holding?.test(sql)) {
        await new Promise<void>((resolve, reject) => {
          const entry: Held = { sql, signal: o?.signal, release: resolve };
          held.push(entry);
          o?.signal?.addEventListener('abort', () => {
            events.push(`cancelled ${/LIMIT (\d+)/.exec(sql)?.[1]}`);
            reject(Object.assign(new Error('cancelled'), { code: 'QUERY_CANCELLED' }));
          });
        });
      }
      return inner.query(sql, o);
    },
  };
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ events: 5_000, engine: holdingEngine, server: { cache: false } });
});
afterAll(async () => h?.close());

const code = (res: { errors?: { extensions?: { code?: string } }[] }): string | undefined => res.errors?.[0]?.extensions?.code;
const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(check()).toBe(true);
};

describe('answers and spines too large are refused before any SQL runs', () => {
  it('a second-grain fill-gaps series over a century: TOO_EXPENSIVE, saying what to narrow', async () => {
    const before = statements.length;
    const res = await h.gql('{ metrics(from: "1925-01-01", to: "2025-01-01", fillGaps: true) { rows { metricTime(grain: SECOND) orders } } }', undefined, h.keys.admin);
    expect(code(res)).toBe('TOO_EXPENSIVE');
    expect(res.errors?.[0]?.message).toMatch(/second periods.*shorter range.*coarser grain/);
    expect(statements.length).toBe(before);
  });

  it('orders_growth_mom at millisecond grain over one day: TOO_EXPENSIVE (its offset reads a spine)', async () => {
    const before = statements.length;
    const res = await h.gql('{ query(metrics: ["orders_growth_mom"], groupBy: ["metric_time.millisecond"], from: "2025-03-01", to: "2025-03-01") { rows } }', undefined, h.keys.admin);
    expect(code(res)).toBe('TOO_EXPENSIVE');
    expect(res.errors?.[0]?.message).toMatch(/millisecond periods/);
    expect(statements.length).toBe(before);
  });

  it('fill-gaps at hour grain over twenty years is more rows than the server returns: TOO_MANY_ROWS; at day grain it is served', async () => {
    const before = statements.length;
    const res = await h.gql('{ metrics(from: "2005-01-01", to: "2025-01-01", fillGaps: true) { rows { metricTime(grain: HOUR) orders } } }', undefined, h.keys.admin);
    expect(code(res)).toBe('TOO_MANY_ROWS');
    expect(statements.length).toBe(before);
    const days = await h.gql<{ metrics: { rows: unknown[] } }>('{ metrics(from: "2025-01-01", to: "2025-01-31", fillGaps: true) { rows { metricTime(grain: DAY) orders } } }', undefined, h.keys.admin);
    expect(days.errors).toBeUndefined();
    expect(days.data!.metrics.rows).toHaveLength(31);
  });

  it('thirty aliases of the heavy request in one document are all refused, and nothing runs', async () => {
    const before = statements.length;
    const aliases = Array.from({ length: 30 }, (_, i) => `a${i}: metrics(from: "1925-01-01", to: "2025-01-0${1 + (i % 9)}", fillGaps: true) { rows { metricTime(grain: SECOND) orders } }`).join('\n');
    const res = await h.gql(`{ ${aliases} }`, undefined, h.keys.admin);
    expect(res.errors?.length).toBeGreaterThan(0);
    expect(new Set(res.errors!.map((e) => e.extensions?.code))).toEqual(new Set(['TOO_EXPENSIVE']));
    expect(statements.length).toBe(before);
  });
});

describe('a fair share of the engine', () => {
  it('a cheap request from another caller completes while four heavy ones from one caller are in flight', async () => {
    held = [];
    events.length = 0;
    holding = /LIMIT 100[1-4]\b/;
    try {
      const heavy = [1, 2, 3, 4].map((i) =>
        h.gql(`{ query(metrics: ["orders"], groupBy: ["metric_time.day"], limit: ${1000 + i}) { rows } }`, undefined, h.keys.admin).then((r) => {
          events.push(`heavy ${i} answered`);
          return r;
        }),
      );
      // The heavy caller holds its share (3 of the 4 slots); its fourth request waits.
      await until(() => held.length === 3 && h.server.gate.stats.queued === 1);
      const cheap = await h.gql<{ query: { rows: { new_users: string | number }[] } }>('{ query(metrics: ["new_users"]) { rows } }', undefined, h.keys.analyst);
      events.push('cheap answered');
      expect(cheap.errors).toBeUndefined();
      const truth = await h.engine.query('SELECT count(*) FROM users');
      expect(Number(cheap.data!.query.rows[0].new_users)).toBe(Number(truth.rows[0][0]));
      expect(events).toEqual(['cheap answered']);
      for (const entry of held) entry.release();
      await until(() => held.length === 4);
      held[3].release();
      const answers = await Promise.all(heavy);
      for (const a of answers) expect(a.errors).toBeUndefined();
      expect(events[0]).toBe('cheap answered');
      expect(events.filter((e) => e.startsWith('heavy'))).toHaveLength(4);
    } finally {
      holding = undefined;
      for (const entry of held) entry.release();
    }
    expect(h.server.gate.stats).toEqual({ running: 0, queued: 0 });
  });

  it('one document of four heavy aliases holds only its share too: a cheap request from another caller completes meanwhile', async () => {
    held = [];
    events.length = 0;
    holding = /LIMIT 101[1-4]\b/;
    try {
      const aliases = [1, 2, 3, 4].map((i) => `h${i}: query(metrics: ["orders"], groupBy: ["metric_time.day"], limit: ${1010 + i}) { rows }`).join('\n');
      const heavy = h.gql(`{ ${aliases} }`, undefined, h.keys.admin).then((r) => (events.push('heavy document answered'), r));
      await until(() => held.length === 3 && h.server.gate.stats.queued === 1);
      const cheap = await h.gql('{ query(metrics: ["new_users"]) { rows } }', undefined, h.keys.finance);
      events.push('cheap answered');
      expect(cheap.errors).toBeUndefined();
      for (const entry of held) entry.release();
      await until(() => held.length === 4);
      held[3].release();
      expect((await heavy).errors).toBeUndefined();
      expect(events).toEqual(['cheap answered', 'heavy document answered']);
    } finally {
      holding = undefined;
      for (const entry of held) entry.release();
    }
  });

  it('a client that disconnects cancels its statement, and its slot is freed', async () => {
    held = [];
    events.length = 0;
    holding = /LIMIT 1005\b/;
    try {
      const controller = new AbortController();
      const request = fetch(h.url, {
        method: 'POST',
        signal: controller.signal,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${h.keys.admin}` },
        body: JSON.stringify({ query: '{ query(metrics: ["orders"], groupBy: ["metric_time.day"], limit: 1005) { rows } }' }),
      }).catch((e: Error) => e.name);
      await until(() => held.length === 1);
      controller.abort();
      expect(await request).toBe('AbortError');
      await until(() => events.includes('cancelled 1005'));
      expect(held[0].signal?.aborted).toBe(true);
      await until(() => h.server.gate.stats.running === 0);
    } finally {
      holding = undefined;
    }
  });

  it("the server's shutdown cancels running statements instead of waiting for them", async () => {
    const other = await startHarness({ events: 1_000, engine: holdingEngine, server: { cache: false } });
    held = [];
    events.length = 0;
    holding = /LIMIT 1006\b/;
    try {
      const answer = other.gql('{ query(metrics: ["orders"], groupBy: ["metric_time.day"], limit: 1006) { rows } }', undefined, other.keys.admin).catch((e: Error) => e);
      await until(() => held.length === 1);
      await other.server.close();
      expect(events).toContain('cancelled 1006');
      await answer;
    } finally {
      holding = undefined;
      await other.engine.close();
    }
  });
});
