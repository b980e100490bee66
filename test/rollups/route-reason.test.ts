/**
 * The refusal reasons routing gives name what the rollup keeps: a sum kept as a finished value
 * (its metric's filter names a column the rollup lacks) is not "a distinct count". Compile-only:
 * the routing decision is made from the build record, before any SQL runs.
 */
import { describe, expect, it } from 'vitest';
import { compileRequest } from '../../src/compile.js';
import { definitionFingerprint } from '../../src/rollups/fingerprint.js';
import type { BuiltRollup } from '../../src/rollups/types.js';
import { exampleWith } from './helpers.js';

const project = exampleWith(`
rollups:
  - name: plain
    metrics: [revenue, dau]
`);

const built: BuiltRollup = {
  name: 'plain',
  table: 'rollup_plain',
  fingerprint: definitionFingerprint(project.graph, 'plain'),
  version: project.version,
  builtAt: '2025-06-01T00:00:00.000Z',
  grain: 'day',
  timeZone: 'UTC',
  dimensions: [],
  measures: [],
  // revenue filters on order.status, which 'plain' does not keep: it is kept finished.
  finishedMetrics: ['revenue', 'dau'],
  coveredFrom: '2025-01-01',
  coveredTo: '2025-07-01',
  partitions: [],
};

function reasonFor(metric: string): string | undefined {
  const compiled = compileRequest(project.graph, { metrics: [metric], groupBy: ['metric_time.month'], from: '2025-01-01', to: '2025-03-31' }, { rollups: { built: [built], fingerprint: (n) => definitionFingerprint(project.graph, n) } });
  return compiled.rollups?.reason;
}

describe('refusal reasons', () => {
  it('calls a finished sum a finished value, and a distinct count a distinct count', () => {
    const sum = reasonFor('revenue');
    expect(sum).toMatch(/plain: a finished value \(the sum 'revenue' as asked alone\) is kept only at exactly its grain \(day\)/);
    expect(sum).not.toMatch(/distinct count/);
    expect(reasonFor('dau')).toMatch(/plain: a distinct count is kept only at exactly its grain \(day\)/);
  });
});
