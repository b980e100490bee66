/**
 * Data checks and experiment readouts on Trino (the private cluster of test/setup/trino.ts), over
 * exactly the same rows as on DuckDB (copied column for column into this file's own schema in the
 * memory catalog):
 *  1. every derived and declared check over the fixture with planted faults
 *     (test/helpers/checks-fixture.ts) gives on Trino the status, failing count, checked count,
 *     observed value and sample keys it gives on DuckDB — whose results test/checks.test.ts proves
 *     against hand-written SQL;
 *  2. an experiment readout's per-variant sufficient statistics on Trino equal DuckDB's, column
 *     for column, with and without an access-policy row filter — DuckDB's are proved against
 *     hand-written SQL in test/experiments/sufficient-statistics.test.ts.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine, type Engine, projectFromSources, type Project, TrinoEngine } from '../src/index.js';
import { runChecks, runFailed } from '../src/checks/runner.js';
import type { CheckRun } from '../src/checks/types.js';
import { compileReadout, readExperiment } from '../src/experiments/readout.js';
import { parseExpression } from '../src/query/parse-expression.js';
import { CHECKS_METRICS_YML, CHECKS_MODELS_YML, checksFixtureSql, NOW } from './helpers/checks-fixture.js';
import { FIXTURE_SQL_URL, type Row, sqlRows } from './helpers/fixture-db.js';
import { copyDuckDBSqlToTrino, createSchema } from './helpers/trino-db.js';
import { FX_ASSIGNMENTS, FX_EXPERIMENT } from './experiments/fx-fixture.js';

async function openTrinoWith(label: string, duckdbSql: string): Promise<TrinoEngine> {
  const { url, schema } = await createSchema(label);
  const engine = await TrinoEngine.open({ server: url, catalog: 'memory', schema, user: 'tally' });
  await copyDuckDBSqlToTrino(engine, duckdbSql);
  return engine;
}

async function openDuckDBWith(sql: string): Promise<DuckDBEngine> {
  const engine = await DuckDBEngine.open({ path: ':memory:' });
  await engine.query(sql);
  return engine;
}

describe('data checks on Trino', () => {
  const project: Project = projectFromSources([
    { display: 'metrics/models.yml', text: CHECKS_MODELS_YML },
    { display: 'metrics/metrics.yml', text: CHECKS_METRICS_YML },
  ]);
  let duck: DuckDBEngine;
  let trino: TrinoEngine;
  beforeAll(async () => {
    [duck, trino] = await Promise.all([openDuckDBWith(checksFixtureSql(true)), openTrinoWith('checks', checksFixtureSql(true))]);
  }, 600_000);
  afterAll(async () => {
    await Promise.all([duck?.close(), trino?.close()]);
  });

  const shape = (r: CheckRun['results'][number]): unknown => ({ id: r.id, status: r.status, failing: r.failing, checked: r.checked, observed: r.observed, samples: r.samples, message: r.message });

  it('gives the same results as DuckDB (statuses, counts, observed values, sample keys)', async () => {
    const [onDuck, onTrino] = await Promise.all([runChecks(project.graph, duck, { now: NOW }), runChecks(project.graph, trino, { now: NOW })]);
    // Not vacuous: the planted faults are found, and no check errors on either engine.
    expect(onDuck.results.filter((r) => r.status === 'fail' || r.status === 'warn').length).toBeGreaterThanOrEqual(10);
    expect(onTrino.results.filter((r) => r.status === 'error').map((r) => `${r.id}: ${r.message}`)).toEqual([]);
    expect(onTrino.results.map(shape)).toEqual(onDuck.results.map(shape));
    expect(runFailed(onTrino)).toBe(true);
  });

  it('with a sample limit of 1 and a selection', async () => {
    const options = { now: NOW, sampleLimit: 1, select: ['orders'] };
    const [onDuck, onTrino] = await Promise.all([runChecks(project.graph, duck, options), runChecks(project.graph, trino, options)]);
    expect(onTrino.results.length).toBeGreaterThan(0);
    expect(onTrino.results.map(shape)).toEqual(onDuck.results.map(shape));
  });
});

const EXPERIMENT = FX_EXPERIMENT;
/** DuckDB SQL: the fixture's assignments plus experiment fx (user 3 in both variants, left out). */
const ASSIGN = FX_ASSIGNMENTS.map((statement) => `${statement};`).join('\n');

/** Equal as exact values (integers, decimals digit for digit) or, for doubles, to 1e-12 relative. */
function expectSameValue(actual: unknown, expected: unknown, label: string): void {
  if (typeof expected === 'number' && !Number.isInteger(expected)) {
    expect(typeof actual, label).toBe('number');
    expect(Math.abs((actual as number) - expected), label).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(expected)));
  } else {
    expect(String(actual), label).toBe(String(expected));
  }
}

describe('experiment readouts on Trino', () => {
  let project: Project;
  let duck: DuckDBEngine;
  let trino: TrinoEngine;
  beforeAll(async () => {
    const base = ['metrics/models.yml', 'metrics/metrics.yml'].map((f) => ({ display: f, text: readFileSync(f, 'utf8') }));
    project = projectFromSources([...base, { display: 'metrics/experiments.yml', text: EXPERIMENT }]);
    const sql = `${readFileSync(FIXTURE_SQL_URL, 'utf8')}\n${ASSIGN}`;
    [duck, trino] = await Promise.all([openDuckDBWith(sql), openTrinoWith('experiments', sql)]);
  }, 600_000);
  afterAll(async () => {
    await Promise.all([duck?.close(), trino?.close()]);
  });

  for (const country of [undefined, 'US']) {
    it(`per-variant sufficient statistics equal DuckDB's${country ? `, with a row filter country = ${country}` : ''}`, async () => {
      const filters = country ? [parseExpression(`user.country = '${country}'`)] : [];
      const [onDuck, onTrino] = await Promise.all([sqlRows(duck, compileReadout(project, 'fx', duck.dialect, filters).sql), sqlRows(trino, compileReadout(project, 'fx', trino.dialect, filters).sql)]);
      expect(onDuck.map((r) => r.variant)).toEqual(['control', 'treatment']);
      expect(onTrino.map((r) => r.variant)).toEqual(onDuck.map((r) => r.variant));
      expect(Object.keys(onTrino[0]).sort()).toEqual(Object.keys(onDuck[0]).sort());
      // Not vacuous: units and orders after assignment in both variants.
      for (const r of onDuck) {
        expect(Number(r.units)).toBeGreaterThan(0);
        if (!country) expect(Number(r.orders_value_0__sum)).toBeGreaterThan(0);
      }
      onDuck.forEach((d, i) => {
        for (const [column, value] of Object.entries(d)) expectSameValue(onTrino[i][column], value, `${String(d.variant)} ${column}`);
      });
    });
  }

  it('the readout (estimates, intervals, SRM) is the same on both engines', async () => {
    const now = new Date('2025-02-01T00:00:00Z');
    const [a, b] = await Promise.all([readExperiment(project, duck, 'fx', { now }), readExperiment(project, trino, 'fx', { now })]);
    // Estimates come from the sufficient statistics above; doubles summed in another order may differ in the last bits.
    const rounded = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' ? Number(x.toPrecision(10)) : typeof x === 'bigint' ? String(x) : x)));
    expect(a.metrics.length).toBe(5);
    expect(rounded(b.variants)).toEqual(rounded(a.variants));
    expect(rounded(b.srm)).toEqual(rounded(a.srm));
    expect(rounded(b.metrics)).toEqual(rounded(a.metrics));
    expect(rounded(b.decision)).toEqual(rounded(a.decision));
  });
});
