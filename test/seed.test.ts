import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import { buildSeedSql, DEMO_TABLES, seedDemoDatabase, seedStepName } from '../src/seed/demo.js';
import type { SeedSummary } from '../src/seed/demo.js';

type Row = Record<string, unknown>;

interface OpenDb {
  instance: DuckDBInstance;
  connection: DuckDBConnection;
}

const EVENTS = 5_000;
const SEED = 7;

const EXPECTED_SCHEMA: Record<string, Array<[string, string]>> = {
  users: [
    ['user_id', 'BIGINT'],
    ['signed_up_at', 'TIMESTAMP'],
    ['country', 'VARCHAR'],
    ['plan', 'VARCHAR'],
  ],
  events: [
    ['event_id', 'BIGINT'],
    ['user_id', 'BIGINT'],
    ['occurred_at', 'TIMESTAMP'],
    ['event_type', 'VARCHAR'],
  ],
  orders: [
    ['order_id', 'BIGINT'],
    ['user_id', 'BIGINT'],
    ['ordered_at', 'TIMESTAMP'],
    ['status', 'VARCHAR'],
    ['amount', 'DECIMAL(12,2)'],
  ],
  order_items: [
    ['order_item_id', 'BIGINT'],
    ['order_id', 'BIGINT'],
    ['product_id', 'BIGINT'],
    ['quantity', 'INTEGER'],
    ['unit_price', 'DECIMAL(12,2)'],
  ],
  products: [
    ['product_id', 'BIGINT'],
    ['category', 'VARCHAR'],
    ['brand', 'VARCHAR'],
  ],
  experiment_assignments: [
    ['user_id', 'BIGINT'],
    ['experiment', 'VARCHAR'],
    ['variant', 'VARCHAR'],
    ['assigned_at', 'TIMESTAMP'],
  ],
};

const PRIMARY_KEYS: Record<string, string> = {
  users: 'user_id',
  events: 'event_id',
  orders: 'order_id',
  order_items: 'order_item_id',
  products: 'product_id',
};

const TABLES = Object.keys(EXPECTED_SCHEMA);

let dir = '';
let fileA = '';
let summaryA: SeedSummary;
let dbA: OpenDb;

async function open(file: string): Promise<OpenDb> {
  const instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  return { instance, connection };
}

function close(db: OpenDb): void {
  db.connection.closeSync();
  db.instance.closeSync();
}

async function query(db: OpenDb, sql: string): Promise<Row[]> {
  const reader = await db.connection.runAndReadAll(sql);
  return reader.getRowObjectsJson();
}

async function scalar(db: OpenDb, sql: string): Promise<number> {
  const rows = await query(db, sql);
  const first = rows[0];
  if (first === undefined) throw new Error(`no rows for: ${sql}`);
  return Number(Object.values(first)[0]);
}

/** Order-sensitive content checksum per table (rows serialized in physical order). */
async function checksums(file: string): Promise<Record<string, string>> {
  const db = await open(file);
  try {
    const out: Record<string, string> = {};
    for (const table of TABLES) {
      const rows = await query(
        db,
        `SELECT count(*) || ':' || md5(string_agg(CAST(t AS VARCHAR), chr(10) ORDER BY t.rowid)) AS digest FROM ${table} t`,
      );
      out[table] = String(rows[0]?.digest);
    }
    return out;
  } finally {
    close(db);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tally-seed-'));
  fileA = path.join(dir, 'nested', 'demo.duckdb');
  summaryA = await seedDemoDatabase(fileA, { events: EVENTS, seed: SEED });
  dbA = await open(fileA);
}, 120_000);

afterAll(async () => {
  if (dbA) close(dbA);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('seedDemoDatabase', () => {
  it('reports row counts that match the database and scale with events', async () => {
    expect(summaryA.file).toBe(path.resolve(fileA));
    expect(Object.keys(summaryA.tables).sort()).toEqual([...TABLES].sort());
    for (const table of TABLES) {
      expect(await scalar(dbA, `SELECT count(*) FROM ${table}`)).toBe(summaryA.tables[table]);
      expect(summaryA.tables[table]).toBeGreaterThan(0);
    }
    expect(summaryA.tables.events).toBe(EVENTS);
    expect(summaryA.tables.users).toBe(EVENTS / 50);
    expect(summaryA.tables.orders).toBe(EVENTS / 20);
    expect(summaryA.tables.products).toBe(200);
    expect(existsSync(`${fileA}.tmp`)).toBe(false);
    expect(existsSync(`${fileA}.tmp.wal`)).toBe(false);
  });

  it('creates exactly the documented tables, columns and types', async () => {
    const tables = await query(dbA, `SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY table_name`);
    expect(tables.map((t) => t.table_name)).toEqual([...TABLES].sort());
    for (const [table, columns] of Object.entries(EXPECTED_SCHEMA)) {
      const described = await query(dbA, `DESCRIBE ${table}`);
      expect(described.map((c) => [c.column_name, c.column_type]), table).toEqual(columns);
    }
  });

  it('declares and honours primary keys', async () => {
    for (const [table, pk] of Object.entries(PRIMARY_KEYS)) {
      const described = await query(dbA, `DESCRIBE ${table}`);
      expect(described.find((c) => c.column_name === pk)?.key, table).toBe('PRI');
      expect(
        await scalar(dbA, `SELECT count(*) - count(DISTINCT ${pk}) + count(*) FILTER (WHERE ${pk} IS NULL) FROM ${table}`),
        table,
      ).toBe(0);
    }
    // Surrogate keys are dense and stored in key order.
    for (const [table, pk] of Object.entries(PRIMARY_KEYS)) {
      expect(
        await scalar(dbA, `SELECT count(*) FILTER (WHERE ${pk} <> rowid + 1) FROM ${table}`),
        table,
      ).toBe(0);
    }
    expect(await scalar(dbA, `SELECT count(*) - count(DISTINCT (experiment, user_id)) FROM experiment_assignments`)).toBe(0);
  });

  it('contains every event type and order status, and nothing else', async () => {
    const types = await query(dbA, `SELECT DISTINCT event_type FROM events ORDER BY ALL`);
    expect(types.map((r) => r.event_type)).toEqual(['add_to_cart', 'page_view', 'search', 'search_click']);
    const statuses = await query(dbA, `SELECT DISTINCT status FROM orders ORDER BY ALL`);
    expect(statuses.map((r) => r.status)).toEqual(['cancelled', 'paid', 'placed', 'refunded', 'shipped']);
    const plans = await query(dbA, `SELECT DISTINCT plan FROM users ORDER BY ALL`);
    expect(plans.map((r) => r.plan)).toEqual(['free', 'plus', 'pro']);
    expect(await scalar(dbA, `SELECT count(DISTINCT country) FROM users`)).toBeGreaterThanOrEqual(6);
  });

  it('has a plausible search funnel and order status mix', async () => {
    const counts = await query(
      dbA,
      `SELECT count(*) FILTER (WHERE event_type = 'search') AS search,
              count(*) FILTER (WHERE event_type = 'search_click') AS click,
              count(*) FILTER (WHERE event_type = 'add_to_cart') AS cart,
              count(*) FILTER (WHERE event_type = 'page_view') AS views
       FROM events`,
    );
    const c = counts[0] ?? {};
    const search = Number(c.search);
    const click = Number(c.click);
    const cart = Number(c.cart);
    expect(click).toBeLessThan(search);
    expect(click / search).toBeGreaterThan(0.2);
    expect(click / search).toBeLessThan(0.4);
    expect(cart).toBeLessThan(click);
    expect(Number(c.views)).toBeGreaterThan(search);
    const paidOrShipped = await scalar(dbA, `SELECT avg((status IN ('paid', 'shipped'))::INT) FROM orders`);
    expect(paidOrShipped).toBeGreaterThan(0.6);
  });

  it('keeps order amounts equal to the sum of their items', async () => {
    expect(
      await scalar(
        dbA,
        `SELECT count(*) FROM orders o
         LEFT JOIN (SELECT order_id, sum(quantity * unit_price) AS total, count(*) AS n
                    FROM order_items GROUP BY order_id) i USING (order_id)
         WHERE i.total IS NULL OR o.amount <> i.total OR i.n NOT BETWEEN 1 AND 4`,
      ),
    ).toBe(0);
    expect(await scalar(dbA, `SELECT count(*) FROM order_items WHERE quantity < 1 OR unit_price <= 0`)).toBe(0);
    expect(
      await scalar(dbA, `SELECT count(*) FROM order_items WHERE order_id NOT IN (SELECT order_id FROM orders)`),
    ).toBe(0);
    expect(
      await scalar(dbA, `SELECT count(*) FROM order_items WHERE product_id NOT IN (SELECT product_id FROM products)`),
    ).toBe(0);
    expect(await scalar(dbA, `SELECT count(DISTINCT category) FROM products`)).toBe(8);
    expect(await scalar(dbA, `SELECT count(DISTINCT brand) FROM products`)).toBeGreaterThanOrEqual(20);
  });

  it('places all activity after signup and inside 2024-2025', async () => {
    for (const [table, column] of [
      ['events', 'occurred_at'],
      ['orders', 'ordered_at'],
      ['experiment_assignments', 'assigned_at'],
    ] as const) {
      expect(
        await scalar(
          dbA,
          `SELECT count(*) FROM ${table} x LEFT JOIN users u USING (user_id)
           WHERE u.user_id IS NULL OR x.${column} < u.signed_up_at`,
        ),
        table,
      ).toBe(0);
    }
    for (const [table, column] of [
      ['users', 'signed_up_at'],
      ['events', 'occurred_at'],
      ['orders', 'ordered_at'],
      ['experiment_assignments', 'assigned_at'],
    ] as const) {
      expect(
        await scalar(
          dbA,
          `SELECT count(*) FROM ${table}
           WHERE ${column} IS NULL OR ${column} < TIMESTAMP '2024-01-01' OR ${column} >= TIMESTAMP '2026-01-01'`,
        ),
        table,
      ).toBe(0);
    }
  });

  it('looks realistic enough for charts', async () => {
    // growing user base
    const firstYear = await scalar(dbA, `SELECT count(*) FROM users WHERE signed_up_at < TIMESTAMP '2025-01-01'`);
    expect(firstYear).toBeLessThan(summaryA.tables.users - firstYear);
    // weekly seasonality: weekend days differ from weekdays
    const weekendRatio = await scalar(
      dbA,
      `SELECT (count(*) FILTER (WHERE isodow(occurred_at) >= 6) / 2.0)
              / (count(*) FILTER (WHERE isodow(occurred_at) <= 5) / 5.0) FROM events`,
    );
    expect(Math.abs(weekendRatio - 1)).toBeGreaterThan(0.1);
    // activity decays after signup
    const early = await scalar(
      dbA,
      `SELECT count(*) FROM events e JOIN users u USING (user_id)
       WHERE e.occurred_at < u.signed_up_at + INTERVAL 30 DAY`,
    );
    const later = await scalar(
      dbA,
      `SELECT count(*) FROM events e JOIN users u USING (user_id)
       WHERE e.occurred_at >= u.signed_up_at + INTERVAL 30 DAY AND e.occurred_at < u.signed_up_at + INTERVAL 60 DAY`,
    );
    expect(early).toBeGreaterThan(later);
    // some users order within a week of signing up
    expect(
      await scalar(
        dbA,
        `SELECT count(DISTINCT user_id) FROM orders o JOIN users u USING (user_id)
         WHERE o.ordered_at < u.signed_up_at + INTERVAL 7 DAY`,
      ),
    ).toBeGreaterThan(0);
    // experiments: about half of users in checkout_v2, both variants, and a smaller second experiment
    const variants = await query(
      dbA,
      `SELECT experiment, variant, count(*) AS n FROM experiment_assignments GROUP BY ALL ORDER BY ALL`,
    );
    expect(variants.map((v) => `${String(v.experiment)}/${String(v.variant)}`)).toEqual([
      'checkout_v2/control',
      'checkout_v2/treatment',
      'onboarding_tips_v1/control',
      'onboarding_tips_v1/treatment',
      'search_ranking_v1/control',
      'search_ranking_v1/treatment',
    ]);
    const inCheckout = await scalar(dbA, `SELECT count(*) FROM experiment_assignments WHERE experiment = 'checkout_v2'`);
    expect(inCheckout / summaryA.tables.users).toBeGreaterThan(0.35);
    expect(inCheckout / summaryA.tables.users).toBeLessThan(0.65);
    const inSearch = await scalar(dbA, `SELECT count(*) FROM experiment_assignments WHERE experiment = 'search_ranking_v1'`);
    expect(inSearch).toBeLessThan(inCheckout);
  });

  it('is deterministic across runs and thread counts, and depends on the seed', async () => {
    const fileB = path.join(dir, 'b.duckdb');
    const fileC = path.join(dir, 'c.duckdb');
    await seedDemoDatabase(fileB, { events: EVENTS, seed: SEED, threads: 1 });
    await seedDemoDatabase(fileC, { events: EVENTS, seed: SEED + 1, threads: 2 });
    const a = await checksums(fileA);
    const b = await checksums(fileB);
    const c = await checksums(fileC);
    expect(b).toEqual(a);
    expect(c.events).not.toBe(a.events);
    expect(c.orders).not.toBe(a.orders);

    // Re-seeding over an existing file replaces it with identical content.
    await seedDemoDatabase(fileB, { events: EVENTS, seed: SEED, threads: 3 });
    expect(await checksums(fileB)).toEqual(a);
  }, 120_000);

  it('fills every table and category even for tiny datasets', async () => {
    for (const events of [2_000, 1_000, 10]) {
      const file = path.join(dir, `tiny-${events}.duckdb`);
      const summary = await seedDemoDatabase(file, { events, seed: 3 });
      expect(summary.tables.events).toBe(events);
      for (const table of TABLES) expect(summary.tables[table], `${table} @ ${events}`).toBeGreaterThan(0);
      const db = await open(file);
      try {
        expect(await scalar(db, `SELECT count(DISTINCT status) FROM orders`)).toBe(5);
        if (events >= 4) expect(await scalar(db, `SELECT count(DISTINCT event_type) FROM events`)).toBe(4);
        expect(await scalar(db, `SELECT count(DISTINCT experiment) FROM experiment_assignments`)).toBe(3);
      } finally {
        close(db);
      }
    }
  }, 120_000);

  it('rejects invalid options', async () => {
    await expect(seedDemoDatabase(path.join(dir, 'bad.duckdb'), { events: 0 })).rejects.toThrow(RangeError);
    await expect(seedDemoDatabase(path.join(dir, 'bad.duckdb'), { events: 1.5 })).rejects.toThrow(RangeError);
    await expect(seedDemoDatabase(path.join(dir, 'bad.duckdb'), { seed: Number.NaN })).rejects.toThrow(RangeError);
  });
});

describe('seed progress names', () => {
  it('every step names a demo table, a staging table, helpers, setup or cleanup; never a macro such as h64', () => {
    const names = buildSeedSql(1000, 1).map(seedStepName);
    const allowed = new Set<string>([...DEMO_TABLES, 'totals', 'sessions', 'items', 'helpers', 'setup', 'cleanup']);
    expect(names.filter((n) => !allowed.has(n))).toEqual([]);
    // The last steps add keys and drop staging tables: they are not 'setup'.
    expect(names.slice(-6)).toEqual(Array(6).fill('cleanup'));
    expect(names).toContain('events');
    expect(names.filter((n) => n === 'setup')).toHaveLength(1);
  });
});
