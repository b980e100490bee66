/**
 * Data checks over a fixture with planted faults (test/helpers/checks-fixture.ts) and its clean
 * twin. The specification: every check's failing count and sample keys equal hand-written SQL over
 * the same tables; the clean twin passes everything; Postgres gives the same results as DuckDB;
 * every dialect compiles every check; bad check definitions are refused at file:line:col.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionError, DIALECT_NAMES, dialectByName, DuckDBEngine, type PostgresEngine, projectFromSources, type Project } from '../src/index.js';
import { checkSql, runChecks, runFailed } from '../src/checks/runner.js';
import { projectChecks } from '../src/checks/derive.js';
import type { CheckRun } from '../src/checks/types.js';
import { CHECKS_METRICS_YML, CHECKS_MODELS_YML, checksFixtureSql, NOW } from './helpers/checks-fixture.js';
import { sqlRows, type Row } from './helpers/fixture-db.js';
import { copyDuckDBSql, createDatabase } from './helpers/postgres-db.js';
import { PostgresEngine as PgEngine } from '../src/engines/postgres.js';

const project: Project = projectFromSources([
  { display: 'metrics/models.yml', text: CHECKS_MODELS_YML },
  { display: 'metrics/metrics.yml', text: CHECKS_METRICS_YML },
]);

let faulty: DuckDBEngine;
let clean: DuckDBEngine;
let faultyRun: CheckRun;

beforeAll(async () => {
  faulty = await DuckDBEngine.open({ path: ':memory:' });
  clean = await DuckDBEngine.open({ path: ':memory:' });
  await faulty.query(checksFixtureSql(true));
  await clean.query(checksFixtureSql(false));
  faultyRun = await runChecks(project.graph, faulty, { now: NOW });
});
afterAll(async () => {
  await Promise.all([faulty?.close(), clean?.close()]);
});

const NOW_SQL = "TIMESTAMP '2026-01-10 12:00:00'";

/** Per failing check: the failing rows (or values) by hand, as the samples show them, in key order. */
const EXPECTED: Record<string, { failing: string; samples?: (limit: number) => string }> = {
  'users.unique(user)': {
    failing: 'SELECT count(*) AS n FROM (SELECT user_id FROM users WHERE user_id IS NOT NULL GROUP BY user_id HAVING count(*) > 1)',
    samples: (l) => `SELECT user_id AS "user" FROM users WHERE user_id IS NOT NULL GROUP BY user_id HAVING count(*) > 1 ORDER BY 1 LIMIT ${l}`,
  },
  'users.not_null(user)': {
    failing: 'SELECT count(*) AS n FROM users WHERE user_id IS NULL',
    samples: (l) => `SELECT user_id AS "user" FROM users WHERE user_id IS NULL LIMIT ${l}`,
  },
  'orders.relationship(user->users)': {
    failing: 'SELECT count(*) AS n FROM orders o WHERE o.user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = o.user_id)',
    samples: (l) => `SELECT order_id AS "order", user_id AS "user" FROM orders o WHERE o.user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = o.user_id) ORDER BY 1, 2 LIMIT ${l}`,
  },
  'orders.time_valid(ordered_at)': {
    failing: `SELECT count(*) AS n FROM orders WHERE ordered_at IS NULL OR ordered_at > ${NOW_SQL}`,
    samples: (l) => `SELECT order_id AS "order", ordered_at FROM orders WHERE ordered_at IS NULL OR ordered_at > ${NOW_SQL} ORDER BY 1 LIMIT ${l}`,
  },
  'orders.not_null(channel)': {
    failing: 'SELECT count(*) AS n FROM orders WHERE channel IS NULL',
    samples: (l) => `SELECT order_id AS "order" FROM orders WHERE channel IS NULL ORDER BY 1 LIMIT ${l}`,
  },
  'orders.one_order_per_user_and_time': {
    failing: 'SELECT count(*) AS n FROM (SELECT 1 FROM orders WHERE user_id IS NOT NULL AND ordered_at IS NOT NULL GROUP BY user_id, ordered_at HAVING count(*) > 1)',
    samples: (l) => `SELECT user_id AS "user", ordered_at FROM orders WHERE user_id IS NOT NULL AND ordered_at IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1 ORDER BY 1, 2 LIMIT ${l}`,
  },
  'orders.accepted_values(status)': {
    failing: "SELECT count(*) AS n FROM orders WHERE status IS NOT NULL AND status NOT IN ('placed', 'paid', 'shipped')",
    samples: (l) => `SELECT order_id AS "order", status FROM orders WHERE status IS NOT NULL AND status NOT IN ('placed', 'paid', 'shipped') ORDER BY 1 LIMIT ${l}`,
  },
  'orders.amount_not_negative': {
    failing: 'SELECT count(*) AS n FROM orders WHERE NOT (amount >= 0)',
    samples: (l) => `SELECT order_id AS "order" FROM orders WHERE NOT (amount >= 0) ORDER BY 1 LIMIT ${l}`,
  },
};

async function count(engine: DuckDBEngine, sql: string): Promise<bigint> {
  const [row] = await sqlRows(engine, sql);
  return BigInt(row.n as number);
}

describe('data checks on the faulty twin', () => {
  it('each row-level check: failing count and sample keys equal hand-written SQL', async () => {
    for (const [id, expected] of Object.entries(EXPECTED)) {
      const result = faultyRun.results.find((r) => r.id === id);
      expect(result, id).toBeDefined();
      const want = await count(faulty, expected.failing);
      expect(want, `${id}: the hand-written SQL finds the planted fault`).toBeGreaterThan(0n);
      expect(result?.failing, id).toBe(want);
      expect(result?.status, id).toBe(result?.severity === 'error' ? 'fail' : 'warn');
      if (expected.samples) expect(result?.samples, id).toEqual(await sqlRows(faulty, expected.samples(5)));
    }
  });

  it('the orphan check reports its share of the rows with a key', async () => {
    const r = faultyRun.results.find((x) => x.id === 'orders.relationship(user->users)');
    expect(r?.checked).toBe(await count(faulty, 'SELECT count(user_id) AS n FROM orders'));
    expect(r?.message).toMatch(/3 rows of orders have a user not in users \(18\.8% of 16 rows/);
  });

  it('samples are capped by the sample limit, the count is not', async () => {
    const run = await runChecks(project.graph, faulty, { now: NOW, sampleLimit: 1, select: ['orders'] });
    const r = run.results.find((x) => x.id === 'orders.relationship(user->users)');
    expect(r?.samples).toEqual(await sqlRows(faulty, EXPECTED['orders.relationship(user->users)'].samples?.(1) ?? ''));
    expect(r?.failing).toBe(3n);
  });

  it('row_count and freshness measure the whole model', async () => {
    const rowCount = faultyRun.results.find((r) => r.id === 'orders.row_count');
    expect(rowCount?.observed).toBe(String(await count(faulty, 'SELECT count(*) AS n FROM orders')));
    expect(rowCount?.status).toBe('fail');
    const fresh = faultyRun.results.find((r) => r.id === 'shipments.freshness(shipped_at)');
    const [latest] = await sqlRows(faulty, 'SELECT CAST(max(shipped_at) AS VARCHAR) AS t FROM shipments');
    expect(fresh?.observed).toBe(latest.t);
    expect(fresh?.status).toBe('fail'); // 2 days and 1 hour old: past error_after (1 day)
    expect(fresh?.message).toContain('2 days old');
  });

  it('checks that find nothing pass, and the run fails the pipeline', () => {
    const failing = faultyRun.results.filter((r) => r.status !== 'pass').map((r) => r.id).sort();
    expect(failing).toEqual([...Object.keys(EXPECTED), 'orders.row_count', 'shipments.freshness(shipped_at)'].sort());
    expect(faultyRun.results.every((r) => r.status !== 'error')).toBe(true);
    expect(runFailed(faultyRun)).toBe(true);
  });

  it('--select takes models and metrics (their input models); unknown names suggest the nearest', async () => {
    const run = await runChecks(project.graph, faulty, { now: NOW, select: ['revenue'] });
    expect(new Set(run.results.map((r) => r.model))).toEqual(new Set(['orders']));
    await expect(runChecks(project.graph, faulty, { now: NOW, select: ['order'] })).rejects.toThrow(/Did you mean 'orders'/);
  });

  it('freshness warns between warn_after and error_after', async () => {
    const run = await runChecks(project.graph, clean, { now: new Date('2026-01-10T20:00:00Z'), select: ['shipments'] });
    const fresh = run.results.find((r) => r.kind === 'freshness');
    expect(fresh?.status).toBe('warn'); // 9 hours old
    expect(runFailed(run)).toBe(false);
  });
});

describe('data checks on the clean twin', () => {
  it('every check passes', async () => {
    const run = await runChecks(project.graph, clean, { now: NOW });
    expect(run.results.length).toBe(projectChecks(project.graph).checks.length);
    expect(run.results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.message}`)).toEqual([]);
    expect(runFailed(run)).toBe(false);
  });
});

describe('data checks on Postgres', () => {
  let pg: PostgresEngine;
  beforeAll(async () => {
    pg = await PgEngine.open({ connectionString: await createDatabase('checks') });
    await copyDuckDBSql(pg, checksFixtureSql(true));
  });
  afterAll(async () => {
    await pg?.close();
  });

  it('gives the same results as DuckDB (counts, samples, observed values)', async () => {
    const run = await runChecks(project.graph, pg, { now: NOW });
    const shape = (r: CheckRun['results'][number]): unknown => ({ id: r.id, status: r.status, failing: r.failing, checked: r.checked, observed: r.observed, samples: r.samples });
    expect(run.results.map(shape)).toEqual(faultyRun.results.map(shape));
  });
});

describe('check SQL in every dialect', () => {
  it('compiles every check for every dialect, with sample LIMITs', () => {
    const ctx = { graph: project.graph, now: NOW, sampleLimit: 5 };
    for (const name of DIALECT_NAMES) {
      for (const check of projectChecks(project.graph).checks) {
        const sql = checkSql(check, ctx, dialectByName(name));
        expect(sql, `${name} ${check.id}`).toMatch(/SELECT/);
        if (['unique', 'not_null', 'relationship', 'accepted_values', 'expression', 'time_valid'].includes(check.kind)) expect(sql).toMatch(/LIMIT 5/);
      }
    }
  });
});

describe('declared checks are validated like every definition', () => {
  const load = (checks: string): unknown => {
    try {
      projectFromSources([{ display: 'metrics/models.yml', text: CHECKS_MODELS_YML.replace('      - { not_null: [channel], severity: warn }\n', checks) }]);
      return undefined;
    } catch (e) {
      return e instanceof DefinitionError ? e.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`).join('\n') : e;
    }
  };

  it('an unknown column names the nearest', () => {
    expect(load('      - { not_null: [chanel] }\n')).toMatch(/^metrics\/models\.yml:27:22: 'chanel' is not an entity or dimension of model 'orders'\. Did you mean 'channel'\?/);
  });
  it('a check with two kinds, an unknown severity, a DDL expression', () => {
    expect(load('      - { not_null: [channel], unique: [order] }\n')).toMatch(/exactly one of/);
    expect(load('      - { not_null: [channel], severity: fatal }\n')).toMatch(/severity/);
    expect(load('      - { expression: "1; DROP TABLE orders" }\n')).toMatch(/:27:23: check of model 'orders': 'expression' is not one SQL expression/);
  });
  it('freshness names a time dimension and sensible limits', () => {
    const bad = CHECKS_MODELS_YML.replace('freshness: { warn_after: 6 hours, error_after: 1 day }', 'freshness: { warn_after: 2 days, error_after: 1 day, time_dimension: shiped_at }');
    expect(() => projectFromSources([{ display: 'm.yml', text: bad }])).toThrow(/'shiped_at' is not a time dimension of model 'shipments'\. Did you mean 'shipped_at'\?/);
    const fuzzy = CHECKS_MODELS_YML.replace('warn_after: 6 hours', 'warn_after: soon');
    expect(() => projectFromSources([{ display: 'm.yml', text: fuzzy }])).toThrow(/a duration is a count and a unit/);
  });
});

export type { Row };
