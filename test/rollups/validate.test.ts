/**
 * `rollups:` definitions: problems at file:line:col with what to do, and the expansion of metrics
 * into the measure parts and finished metrics a rollup keeps (README, "Rollups": what is kept).
 */
import { describe, expect, it } from 'vitest';
import { DefinitionError } from '../../src/errors.js';
import { exampleWith } from './helpers.js';

function problemsOf(text: string): string[] {
  try {
    exampleWith(text);
  } catch (e) {
    if (e instanceof DefinitionError) return e.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`);
    throw e;
  }
  return [];
}

describe('rollup validation', () => {
  it('names an unknown metric at its position, with the nearest name', () => {
    expect(problemsOf('rollups:\n  - name: r\n    metrics: [orders, revenu]\n')).toEqual([
      "metrics/test-rollups.yml:3:23: unknown metric 'revenu'. Did you mean 'revenue' or 'revenue_mtd' or 'revenue_growth_mom'? A rollup keeps metrics defined under 'metrics'",
    ]);
  });

  it('names an unknown dimension, with the nearest reference', () => {
    const [problem] = problemsOf('rollups:\n  - name: r\n    metrics: [orders]\n    dimensions: [user.countri]\n');
    expect(problem).toMatch(/^metrics\/test-rollups\.yml:4:18: .*'user\.countri'.*user\.country/);
  });

  it('refuses a partition finer than the grain, and weeks in months', () => {
    expect(problemsOf('rollups:\n  - name: r\n    metrics: [orders]\n    grain: month\n    partition: day\n')).toEqual([
      "metrics/test-rollups.yml:5:16: partition 'day' is finer than the grain 'month'; a partition holds whole periods of the grain, so use partition: month or coarser",
    ]);
    expect(problemsOf('rollups:\n  - name: r\n    metrics: [orders]\n    grain: week\n    partition: month\n')).toEqual([
      'metrics/test-rollups.yml:5:16: a month does not hold whole weeks; with grain: week use partition: week',
    ]);
  });

  it('refuses a dimension that a kept measure cannot reach', () => {
    expect(problemsOf('rollups:\n  - name: r\n    metrics: [searches]\n    dimensions: [order.status]\n')).toEqual([
      expect.stringMatching(/^metrics\/test-rollups\.yml:4:18: dimension 'order\.status' cannot be reached from measure 'searches' \(model 'events'\)/),
    ]);
  });

  it('refuses an unknown time zone and a broken cron schedule', () => {
    expect(problemsOf("rollups:\n  - name: r\n    metrics: [orders]\n    time_zone: Mars/Base\n    refresh: { schedule: '61 * * * *' }\n")).toEqual([
      "metrics/test-rollups.yml:4:16: unknown time zone 'Mars/Base'; use an IANA name such as 'UTC' or 'Europe/Berlin'",
      expect.stringMatching(/^metrics\/test-rollups\.yml:5:26: '61 \* \* \* \*' is not a cron expression/),
    ]);
  });
});

describe('rollup expansion', () => {
  it('keeps parts where filters name kept dimensions, finished values otherwise', () => {
    const project = exampleWith(
      [
        'rollups:',
        '  - name: with_status',
        '    metrics: [revenue, orders, average_order_value, revenue_growth_mom]',
        '    dimensions: [order.status, user.country]',
        '  - name: without_status',
        '    metrics: [revenue, orders, search_ctr, dau, mau]',
        '    dimensions: [user.country]',
        '    grain: month',
        '    partition: year',
        '    refresh: { trailing: 3 }',
      ].join('\n'),
    );
    const a = project.graph.rollups.get('with_status');
    expect(a?.measures).toEqual([
      { name: 'order_amount', parts: ['sum', 'count'] },
      { name: 'order_count', parts: ['count'] },
    ]);
    expect(a?.finishedMetrics).toEqual(['revenue_growth_mom']);
    expect(a?.refresh).toEqual({ onFreshness: true, trailingPartitions: 1 });
    expect(a?.source).toEqual({ file: 'metrics/test-rollups.yml', line: 2, col: 5 });
    const b = project.graph.rollups.get('without_status');
    // revenue filters on order.status, which this rollup does not keep: its value is kept finished.
    expect(b?.measures).toEqual([
      { name: 'order_count', parts: ['count'] },
      { name: 'search_clicks', parts: ['sum', 'count'] },
      { name: 'searches', parts: ['sum', 'count'] },
    ]);
    expect(b?.finishedMetrics).toEqual(['revenue', 'dau', 'mau']);
    expect(b).toMatchObject({ grain: 'month', partition: 'year', timeZone: 'UTC', refresh: { trailingPartitions: 3 } });
  });
});
