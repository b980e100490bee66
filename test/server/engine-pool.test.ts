/**
 * The embedded engine under a server: a database file replaced under it (as `tally seed` does)
 * is reopened, so the server answers from the same file as the CLI; several connections on one
 * DuckDB instance; memory and thread limits applied; a statement interrupted by its signal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine } from '../../src/engines/duckdb.js';
import { ReopeningEngine } from '../../src/engines/reopening.js';
import { seedDemoDatabase } from '../../src/seed/demo.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tally-engine-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Orders in a file, read by a fresh engine of its own (the independent truth). */
async function ordersIn(file: string): Promise<number> {
  const engine = await DuckDBEngine.open({ path: file, readOnly: true });
  try {
    return Number((await engine.query('SELECT count(*) FROM orders')).rows[0][0]);
  } finally {
    await engine.close();
  }
}

describe('a database file replaced under a running engine', () => {
  it('is reopened: the next query reads the new file, never the deleted one', async () => {
    const file = join(dir, 'demo.duckdb');
    await seedDemoDatabase(file, { events: 2_000 });
    const engine = await ReopeningEngine.open(() => DuckDBEngine.open({ path: file, readOnly: true }), { file });
    try {
      const before = Number((await engine.query('SELECT count(*) FROM orders')).rows[0][0]);
      expect(before).toBe(await ordersIn(file));
      // tally seed writes file.tmp and renames it over the file the engine has open.
      await seedDemoDatabase(file, { events: 20_000 });
      const truth = await ordersIn(file);
      expect(truth).not.toBe(before);
      const after = Number((await engine.query('SELECT count(*) FROM orders')).rows[0][0]);
      expect(after).toBe(truth);
      expect(engine.reopened).toBe(1);
      // Unchanged file: no reopening.
      await engine.query('SELECT 1');
      expect(engine.reopened).toBe(1);
    } finally {
      await engine.close();
    }
  }, 60_000);
});

describe('DuckDB engine', () => {
  it('applies memory_limit and threads, and runs statements on several connections at once', async () => {
    const engine = await DuckDBEngine.open({ path: ':memory:', connections: 3, memoryLimit: '512MB', threads: 2 });
    try {
      expect(await engine.setting('threads')).toBe('2');
      // DuckDB prints the limit in its own units (512MB → 488.2 MiB).
      expect(await engine.setting('memory_limit')).toMatch(/^488\.\d MiB$/);
      // A statement that runs until interrupted holds one connection; another still answers.
      const controller = new AbortController();
      const heavy = engine.query('SELECT count(*) FROM range(1000000000000) a', { signal: controller.signal });
      const order: string[] = [];
      heavy.catch(() => order.push('heavy ended'));
      const cheap = await engine.query('SELECT 42');
      order.push('cheap answered');
      expect(cheap.rows[0][0]).toBe(42);
      controller.abort();
      await expect(heavy).rejects.toMatchObject({ code: 'QUERY_CANCELLED' });
      expect(order).toEqual(['cheap answered', 'heavy ended']);
    } finally {
      await engine.close();
    }
  });

  it('close() interrupts a running statement instead of waiting for it', async () => {
    const engine = await DuckDBEngine.open({ path: ':memory:', connections: 2 });
    const heavy = engine.query('SELECT count(*) FROM range(1000000000000) a').then(
      () => 'answered',
      (e: { code?: string }) => e.code,
    );
    await new Promise((r) => setTimeout(r, 50));
    await engine.close();
    expect(await heavy).toBe('QUERY_CANCELLED');
  });
});
