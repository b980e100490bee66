/**
 * Hostile filter text never reaches SQL unparsed: whatever a user types as a string value is
 * compared as that exact value, checked against a parameterised hand-written query.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine, loadProject, runQuery, TallyError } from '../src/index.js';

let engine: DuckDBEngine;
const project = loadProject('.');

beforeAll(async () => {
  engine = await DuckDBEngine.open({ path: ':memory:' });
  await engine.query(`CREATE TABLE users AS SELECT * FROM (VALUES
    (1::BIGINT, TIMESTAMP '2024-01-01 10:00:00', 'KR', 'free'),
    (2, TIMESTAMP '2024-01-02 10:00:00', 'US', 'pro'),
    (3, TIMESTAMP '2024-01-02 11:00:00', 'x'' OR ''1''=''1', 'free'),
    (4, TIMESTAMP '2024-01-03 11:00:00', 'a"b\\c;--', 'plus')) AS t(user_id, signed_up_at, country, plan)`);
});
afterAll(async () => engine.close());

async function newUsersWhereCountryIs(value: string): Promise<number> {
  const quoted = value.replace(/'/g, "''");
  const result = await runQuery(project, engine, { metrics: ['new_users'], where: `user.country = '${quoted}'` });
  const cell = result.rows[0]?.new_users;
  return cell === null || cell === undefined ? 0 : Number(cell);
}

async function expected(value: string): Promise<number> {
  // Independent: the value is compared as data by DuckDB's own string comparison.
  const hex = Buffer.from(value, 'utf8').toString('hex');
  const r = await engine.query(`SELECT count(*) FROM users WHERE country = decode(from_hex('${hex}'))`);
  return Number(r.rows[0][0]);
}

describe('filter values are data, never SQL', () => {
  it('matches rows whose values look like SQL exactly', async () => {
    expect(await newUsersWhereCountryIs("x' OR '1'='1")).toBe(1);
    expect(await newUsersWhereCountryIs('a"b\\c;--')).toBe(1);
    expect(await newUsersWhereCountryIs("' OR 1=1 --")).toBe(0);
  });

  it('any string value is compared as that value (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.constantFrom("KR", "x' OR '1'='1", "'; DROP TABLE users; --", 'a"b\\c;--')), async (value) => {
        expect(await newUsersWhereCountryIs(value)).toBe(await expected(value));
      }),
      { numRuns: 150 },
    );
    const left = await engine.query('SELECT count(*) FROM users');
    expect(Number(left.rows[0][0])).toBe(4);
  });

  it('arbitrary filter text is refused with a Tally error or runs as a filter, and the data is untouched (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 60 }), async (text) => {
        try {
          await runQuery(project, engine, { metrics: ['new_users'], where: `user.country = 'KR' ${text}` });
        } catch (e) {
          // Refused by the parser, or (for a well-formed filter of the wrong type) by the engine.
          expect(e).toBeInstanceOf(TallyError);
        }
      }),
      { numRuns: 300 },
    );
    const left = await engine.query('SELECT count(*) FROM users');
    expect(Number(left.rows[0][0])).toBe(4);
  });
});
