/**
 * Numbers as people read them (issue 13): a metric's display format from its definition is used
 * by tables, by CSV with --formatted and by the catalog; JSON and plain CSV keep full precision.
 * Expected strings are written out by hand.
 */
import { graphql } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema } from '../src/api/schema.js';
import { DefinitionError, loadProject, projectFromSources, toCsv, toJson, toTable } from '../src/index.js';
import { displayValue, type DisplayFormat } from '../src/output.js';
import type { QueryResult } from '../src/run.js';

const percent: DisplayFormat = { kind: 'percent', decimals: 1 };
const eur: DisplayFormat = { kind: 'currency', currency: 'EUR' };

function result(columns: [string, string][], rows: QueryResult['rows']): QueryResult {
  return { columns: columns.map(([name, type]) => ({ name, type, role: 'metric' as const })), rows, sql: 'SELECT 1', version: 'v', lineage: { metrics: [], measures: [], models: [], tables: [] } as unknown as QueryResult['lineage'], warnings: [] };
}

describe('display formats', () => {
  it('formats percent, currency and number exactly, at any size', () => {
    expect(displayValue(0.4612, percent)).toBe('46.1%');
    expect(displayValue(0.46149, { kind: 'percent' })).toBe('46.1%');
    expect(displayValue('1234.5', eur)).toBe('€1,234.50');
    expect(displayValue('12345678901234567890.125', eur)).toBe('€12,345,678,901,234,567,890.13');
    expect(displayValue(2n ** 64n + 1n, { kind: 'number' })).toBe('18,446,744,073,709,551,617');
    expect(displayValue(113.05989999999998, { kind: 'number', decimals: 1 })).toBe('113.1');
    expect(displayValue(1500, { kind: 'currency', currency: 'KRW' })).toBe('₩1,500');
  });

  it('without a format shows values as they are, doubles without floating-point noise', () => {
    expect(displayValue(113.05989999999998)).toBe('113.0599');
    expect(displayValue(0.1 + 0.2)).toBe('0.3');
    expect(displayValue(2n ** 64n)).toBe('18446744073709551616');
    expect(displayValue('12345678901234567890.12')).toBe('12345678901234567890.12');
    expect(displayValue(544)).toBe('544');
  });

  it('tables and --formatted CSV use the format; JSON and plain CSV keep full precision', () => {
    const r = result(
      [['stickiness', 'DOUBLE'], ['revenue', 'DECIMAL(38,2)'], ['aov', 'DOUBLE'], ['wau', 'HUGEINT']],
      [{ stickiness: 0.4612345, revenue: '1234567.5', aov: 113.05989999999998, wau: 2n ** 63n }],
    );
    const formats = new Map([['stickiness', percent], ['revenue', eur]]);
    const table = toTable(r, { formats }).split('\n');
    expect(table[2].trim().split(/\s{2,}/)).toEqual(['46.1%', '€1,234,567.50', '113.0599', '9223372036854775808']);
    expect(toCsv(r, { formats, formatted: true })).toBe('stickiness,revenue,aov,wau\n46.1%,"€1,234,567.50",113.0599,9223372036854775808\n');
    expect(toCsv(r, { formats })).toBe('stickiness,revenue,aov,wau\n0.4612345,1234567.5,113.05989999999998,9223372036854775808\n');
    expect(toJson(r)).toContain('"rows":[{"stickiness":0.4612345,"revenue":1234567.5,"aov":113.05989999999998,"wau":9223372036854775808}]');
  });
});

describe('format in definitions', () => {
  const models = `semantic_models:
  - name: orders
    table: orders
    defaults: { agg_time_dimension: ordered_at }
    entities: [{ name: order, type: primary, expr: order_id }]
    dimensions: [{ name: ordered_at, type: time }]
    measures: [{ name: order_amount, agg: sum, expr: amount }]
`;
  const problems = (metric: string): string[] => {
    try {
      projectFromSources([
        { display: 'models.yml', text: models },
        { display: 'm.yml', text: `metrics:\n  - name: revenue\n    type: simple\n    measure: order_amount\n${metric}` },
      ]);
      return [];
    } catch (e) {
      if (e instanceof DefinitionError) return e.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`);
      throw e;
    }
  };

  it('accepts number, percent and a currency with decimals, and refuses anything else with a suggestion', () => {
    expect(problems('    format: percent\n    decimals: 1\n')).toEqual([]);
    expect(problems('    format: { currency: EUR }\n')).toEqual([]);
    expect(problems('    format: percnt\n')).toEqual([`m.yml:5:13: 'format' must be one of "number", "percent", not "percnt". Did you mean 'percent'?`]);
    expect(problems('    format: { currency: EUX }\n')).toEqual(["m.yml:5:25: 'currency': not an ISO 4217 currency code (EUR, USD, KRW, …)"]);
    expect(problems('    format: { curency: EUR }\n')).toEqual(["m.yml:5:15: unknown key 'curency'; did you mean 'currency'? Otherwise remove it"]);
    expect(problems('    decimals: 12\n')).toEqual(["m.yml:5:15: 'decimals' must be at most 10, not 12"]);
  });

  it('the GraphQL catalog serves each metric’s format', async () => {
    const { graph } = loadProject('.');
    const answer = await graphql({ schema: buildSchema(graph), source: '{ catalog { metrics { name format { kind currency decimals } } } }', contextValue: {} });
    expect(answer.errors).toBeUndefined();
    const byName = new Map((answer.data?.catalog as { metrics: { name: string; format: unknown }[] }).metrics.map((m) => [m.name, m.format]));
    expect(byName.get('stickiness')).toEqual({ kind: 'percent', currency: null, decimals: 1 });
    expect(byName.get('revenue')).toEqual({ kind: 'currency', currency: 'USD', decimals: null });
    expect(byName.get('dau')).toBeNull();
  });
});
