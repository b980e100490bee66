/**
 * Deprecated metrics: the definition names a replacement that must exist (file:line:col when it
 * does not); using the metric still answers, and warns in the library, the CLI (stderr) and the
 * GraphQL API (`warnings`, `@deprecated`, the catalog).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { printSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSchema } from '../src/api/schema.js';
import { TallyServer } from '../src/api/server.js';
import { compileRequest, DefinitionError, DuckDBEngine, loadProject, projectFromSources } from '../src/index.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tally-deprecation-'));
const project = join(dir, 'project');
const db = join(dir, 'orders.duckdb');

const DEPRECATED = `metrics:
  - name: gross_revenue
    type: simple
    description: Old name for revenue.
    measure: order_amount
    filter: "order.status IN ('paid', 'shipped')"
    deprecated:
      replacement: revenue
      reason: Renamed to revenue.
  - name: gross_revenue_per_order
    type: ratio
    numerator: gross_revenue
    denominator: paid_orders
`;
const WARNING = "metric 'gross_revenue' is deprecated; use 'revenue' instead: Renamed to revenue.";
const INDIRECT = "metric 'gross_revenue_per_order' is computed from deprecated metric 'gross_revenue'; use 'revenue' instead: Renamed to revenue.";

async function tally(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/tally.js', '--project', project, ...args]);
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

beforeAll(async () => {
  cpSync('metrics', join(project, 'metrics'), { recursive: true });
  writeFileSync(join(project, 'metrics', 'deprecated.yml'), DEPRECATED);
  const engine = await DuckDBEngine.open({ path: db });
  await engine.query(`CREATE TABLE orders AS SELECT * FROM (VALUES
    (1, 1, TIMESTAMP '2025-01-05 10:00:00', 'paid', 10.50::DECIMAL(12,2)),
    (2, 1, TIMESTAMP '2025-01-20 10:00:00', 'refunded', 4.00::DECIMAL(12,2)),
    (3, 2, TIMESTAMP '2025-02-02 10:00:00', 'shipped', 7.25::DECIMAL(12,2))) t(order_id, user_id, ordered_at, status, amount)`);
  await engine.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('deprecated metrics', () => {
  it('must name a replacement that exists, reported at file:line:col', () => {
    const sources = [
      { display: 'metrics/models.yml', text: readFileSync('metrics/models.yml', 'utf8') },
      { display: 'metrics/old.yml', text: 'metrics:\n  - name: old\n    type: simple\n    measure: order_amount\n    deprecated:\n      replacement: revenu\n      reason: Use revenue.\n  - name: revenue\n    type: simple\n    measure: order_amount\n' },
    ];
    expect(() => projectFromSources(sources)).toThrow(DefinitionError);
    try {
      projectFromSources(sources);
    } catch (e) {
      expect((e as DefinitionError).problems).toEqual([{ file: 'metrics/old.yml', line: 6, col: 20, message: "unknown metric 'revenu'. Did you mean 'revenue'?" }]);
    }
    const noReason = [sources[0], { display: 'metrics/old.yml', text: 'metrics:\n  - { name: old, type: simple, measure: order_amount, deprecated: { replacement: old } }\n' }];
    const problems = (() => {
      try {
        projectFromSources(noReason);
        return [];
      } catch (e) {
        return (e as DefinitionError).problems.map((p) => p.message);
      }
    })();
    expect(problems).toEqual(["'reason' is required here; add it"]);
  });

  it('still compiles, and the compiled query says what to use instead', () => {
    const { graph } = loadProject(project);
    expect(compileRequest(graph, { metrics: ['gross_revenue'] }).warnings).toEqual([WARNING]);
    expect(compileRequest(graph, { metrics: ['gross_revenue_per_order'] }).warnings).toEqual([INDIRECT]);
    expect(compileRequest(graph, { metrics: ['gross_revenue', 'gross_revenue_per_order'] }).warnings).toEqual([WARNING]);
    expect(compileRequest(graph, { metrics: ['revenue'] }).warnings).toEqual([]);
  });

  it('tally compile and tally query warn on stderr and still answer', async () => {
    const compiled = await tally('compile', '-m', 'gross_revenue');
    expect(compiled.code).toBe(0);
    expect(compiled.stderr).toBe(`warning: ${WARNING}\n`);
    expect(compiled.stdout).toContain('SELECT');
    const queried = await tally('query', '-m', 'gross_revenue', '-g', 'metric_time.month', '--db', db, '--format', 'csv');
    expect(queried.code).toBe(0);
    // Then the data health of the answer: the fixture's orders stop on 2 February, inside the last month.
    expect(queried.stderr).toBe(`warning: ${WARNING}\nwarning: the month 2025-02-01 is incomplete: 'orders' has data only up to 2025-02-02 10:00:00 UTC\n`);
    expect(queried.stdout).toBe('metric_time.month,gross_revenue\n2025-01-01,10.50\n2025-02-01,7.25\n');
    const clean = await tally('compile', '-m', 'revenue');
    expect(clean.stderr).toBe('');
  });

  it('the GraphQL API marks the field @deprecated, lists it in the catalog and warns in the answer', async () => {
    expect(printSchema(buildSchema(loadProject(project).graph))).toContain('grossRevenue: Decimal @deprecated(reason: "use \'revenue\' instead: Renamed to revenue.")');
    const engine = await DuckDBEngine.open({ path: db, readOnly: true });
    const server = new TallyServer({ projectDir: project, engine, log: () => {} });
    const url = await server.listen(0, '127.0.0.1');
    const gql = async <T>(query: string): Promise<T> =>
      ((await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) })).json()) as { data: T }).data;
    try {
      const typed = await gql<{ metrics: { rows: unknown[]; warnings: string[] } }>('{ metrics { rows { metricTime(grain: MONTH) grossRevenue } warnings } }');
      expect(typed.metrics.warnings).toEqual([WARNING]);
      expect(typed.metrics.rows).toEqual([
        { metricTime: '2025-01-01', grossRevenue: '10.50' },
        { metricTime: '2025-02-01', grossRevenue: '7.25' },
      ]);
      const generic = await gql<{ query: { warnings: string[] } }>('{ query(metrics: ["gross_revenue_per_order"]) { warnings } }');
      expect(generic.query.warnings).toEqual([INDIRECT]);
      const clean = await gql<{ metrics: { warnings: string[] } }>('{ metrics { rows { revenue } warnings } }');
      expect(clean.metrics.warnings).toEqual([]);

      const introspection = await gql<{ __type: { fields: { name: string; isDeprecated: boolean; deprecationReason: string | null }[] } }>(
        '{ __type(name: "MetricsRow") { fields(includeDeprecated: true) { name isDeprecated deprecationReason } } }',
      );
      expect(introspection.__type.fields.find((f) => f.name === 'grossRevenue')).toEqual({ name: 'grossRevenue', isDeprecated: true, deprecationReason: "use 'revenue' instead: Renamed to revenue." });
      expect(introspection.__type.fields.find((f) => f.name === 'revenue')?.isDeprecated).toBe(false);

      const catalog = await gql<{ catalog: { metrics: { name: string; deprecated: unknown }[] } }>('{ catalog { metrics { name deprecated { reason replacement } } } }');
      expect(catalog.catalog.metrics.find((m) => m.name === 'gross_revenue')?.deprecated).toEqual({ reason: 'Renamed to revenue.', replacement: 'revenue' });
      expect(catalog.catalog.metrics.find((m) => m.name === 'revenue')?.deprecated).toBeNull();
    } finally {
      await server.close();
      await engine.close();
    }
  });
});
