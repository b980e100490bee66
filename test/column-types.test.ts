/**
 * Column types per dialect (src/sql/dialects/column-types.ts) and the one type without an exact
 * counterpart: Trino's DECIMAL stops at 38 digits, a DuckDB HUGEINT can have 39. Whether a value
 * fits a DECIMAL is checked against DuckDB's own cast; the Trino copier refuses a 39-digit value
 * before anything replaces the table of that name.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrinoEngine } from '../src/engines/trino.js';
import { TallyError } from '../src/errors.js';
import { copyFromDuckDBToTrino } from '../src/seed/trino.js';
import { decimalHolds, postgresColumnType, trinoColumnType } from '../src/sql/dialects/column-types.js';

let instance: DuckDBInstance;
let duck: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  duck = await instance.connect();
});
afterAll(() => {
  duck.closeSync();
  instance.closeSync();
});

/** A TrinoEngine that records the statements it is sent (the copier's only use of the engine). */
function recordingEngine(): { engine: TrinoEngine; statements: string[] } {
  const statements: string[] = [];
  const engine = { query: async (sql: string) => (statements.push(sql), { columns: [], rows: [] }) } as unknown as TrinoEngine;
  return { engine, statements };
}

describe('column types per dialect', () => {
  it('maps the DuckDB types of a described table, and refuses one without a counterpart', async () => {
    await duck.run(`CREATE OR REPLACE TABLE typed (a TINYINT, b UBIGINT, c HUGEINT, d DECIMAL(12, 2), e TIMESTAMP, f INTERVAL)`);
    const types = (await duck.runAndReadAll('DESCRIBE typed')).getRowObjectsJS().map((r) => String(r.column_type));
    expect(types.slice(0, 5).map(postgresColumnType)).toEqual(['SMALLINT', 'NUMERIC(20,0)', 'NUMERIC(39,0)', 'NUMERIC(12,2)', 'TIMESTAMP']);
    expect(types.slice(0, 5).map(trinoColumnType)).toEqual(['TINYINT', 'DECIMAL(20,0)', 'DECIMAL(38,0)', 'DECIMAL(12,2)', 'TIMESTAMP(6)']);
    for (const map of [postgresColumnType, trinoColumnType]) {
      expect(() => map(types[5])).toThrow(TallyError);
      expect(() => map(types[5])).toThrow(/no (Postgres|Trino) column type holds the DuckDB type INTERVAL/);
    }
  });

  it('decimalHolds agrees with DuckDB casting integers to DECIMAL(38,0) and DECIMAL(20,0)', async () => {
    const fits = async (text: string, type: string): Promise<boolean> => {
      try {
        await duck.runAndReadAll(`SELECT CAST('${text}' AS ${type})`);
        return true;
      } catch {
        return false;
      }
    };
    const edges = ['9'.repeat(38), `-${'9'.repeat(38)}`, `1${'0'.repeat(38)}`, '170141183460469231731687303715884105727', `-${'1'.repeat(39)}`, `000${'9'.repeat(38)}`, '0', '18446744073709551615', '99999999999999999999', '100000000000000000000'];
    for (const text of edges) for (const type of ['DECIMAL(38,0)', 'DECIMAL(20,0)']) expect([text, type, decimalHolds(type, text)]).toEqual([text, type, await fits(text, type)]);
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^-?[1-9][0-9]{0,40}$/), async (text) => decimalHolds('DECIMAL(38,0)', text) === (await fits(text, 'DECIMAL(38,0)'))),
      { numRuns: 200, seed: 20261130 },
    );
    // Fractions: digits after the point count against the scale, trailing zeros do not.
    expect([decimalHolds('DECIMAL(12,2)', '9999999999.99'), decimalHolds('DECIMAL(12,2)', '99999999999.99'), decimalHolds('DECIMAL(12,2)', '1.230'), decimalHolds('DECIMAL(12,2)', '1.234')]).toEqual([true, false, true, false]);
  });
});

describe('copying a HUGEINT column to Trino (DECIMAL(38,0))', () => {
  it('sends every value of 38 digits exactly, as a DECIMAL literal', async () => {
    await duck.run(`CREATE OR REPLACE TABLE wide AS SELECT * FROM (VALUES (1, '${'9'.repeat(38)}'::HUGEINT), (2, '-${'9'.repeat(38)}'::HUGEINT), (3, NULL::HUGEINT)) t(id, n)`);
    const { engine, statements } = recordingEngine();
    expect(await copyFromDuckDBToTrino(duck, engine, ['wide'])).toEqual({ wide: 3 });
    expect(statements.find((s) => s.startsWith('CREATE TABLE'))).toBe('CREATE TABLE "wide__tally_loading" ("id" INTEGER, "n" DECIMAL(38,0))');
    const insert = statements.find((s) => s.startsWith('INSERT')) ?? '';
    expect(insert).toContain(`(1, DECIMAL '${'9'.repeat(38)}')`);
    expect(insert).toContain(`(2, DECIMAL '-${'9'.repeat(38)}')`);
    expect(insert).toContain('(3, NULL)');
    expect(statements.at(-1)).toBe('ALTER TABLE "wide__tally_loading" RENAME TO "wide"');
  });

  it('refuses a 39-digit value with UNSUPPORTED naming the column, and leaves the table of that name untouched', async () => {
    const big = '170141183460469231731687303715884105727'; // the largest HUGEINT, 39 digits
    await duck.run(`CREATE OR REPLACE TABLE huge AS SELECT * FROM (VALUES (1, 5::HUGEINT), (2, '${big}'::HUGEINT)) t(id, n)`);
    const { engine, statements } = recordingEngine();
    const copying = copyFromDuckDBToTrino(duck, engine, ['huge']);
    await expect(copying).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    await expect(copyFromDuckDBToTrino(duck, recordingEngine().engine, ['huge'])).rejects.toThrow(`huge.n holds ${big}, which has more digits than Trino's DECIMAL(38,0)`);
    // Nothing was inserted, the half-built copy is dropped, and "huge" itself was never dropped or replaced.
    expect(statements.filter((s) => s.startsWith('INSERT'))).toEqual([]);
    expect(statements.at(-1)).toBe('DROP TABLE IF EXISTS "huge__tally_loading"');
    expect(statements.some((s) => s.includes('"huge"') && !s.includes('huge__tally_loading'))).toBe(false);
  });
});
