/**
 * Uniqueness of a key (one column or several): no value occurs on more than one row. Derived for
 * every primary and unique entity, since Tally's joins rely on those keys being unique (a
 * duplicated users.user_id would multiply every metric joined through users); declared with
 * `unique: [columns]`. Counts the key values that occur more than once (dbt's `unique` test
 * counts the same); rows where a key column is NULL are left to not_null.
 */
import type { Model, SemanticGraph } from '../../definitions/graph.js';
import { and, col, type SqlExpr } from '../../sql/ast.js';
import { countOf, failingCount, failingOf, sampleText, scanOf } from '../rows.js';
import type { Check, CheckContext, Severity } from '../types.js';

export function uniqueCheck(graph: SemanticGraph, model: Model, columns: { name: string; sql: string }[], options: { severity: Severity; derived: boolean; name?: string }): Check {
  const names = columns.map((c) => c.name);
  const shown = columns.map((c) => (c.sql === c.name ? c.name : `${c.name} (${c.sql})`)).join(', ');
  return {
    id: `${model.name}.${options.name ?? `unique(${names.join(',')})`}`,
    kind: 'unique',
    model: model.name,
    severity: options.severity,
    derived: options.derived,
    description: `${shown} ${columns.length > 1 ? 'are unique together' : 'is unique'} in ${model.name}`,
    compile(ctx: CheckContext) {
      const scan = scanOf(graph, model, `check of '${model.name}'`);
      const keys = columns.map((c) => scan.column(c.name, c.sql));
      scan.condition(and(keys.map((k): SqlExpr => ({ t: 'isNull', arg: k, negated: true }))) as SqlExpr);
      const countStar: SqlExpr = { t: 'aggregate', agg: 'count_star' };
      return {
        ctes: [],
        body: {
          t: 'select',
          columns: [...names.map((n) => ({ expr: col('duplicates', n), alias: n })), { expr: col('duplicates', 'occurrences'), alias: 'occurrences' }, { expr: failingCount(), alias: 'failing' }],
          from: {
            t: 'query',
            alias: 'duplicates',
            query: {
              t: 'select',
              columns: [...keys.map((k, i) => ({ expr: k, alias: names[i] })), { expr: countStar, alias: 'occurrences' }],
              ...scan.build(),
              groupBy: keys,
              having: { t: 'binary', op: '>', left: countStar, right: { t: 'literal', value: { kind: 'number', text: '1' } } },
            },
          },
          orderBy: names.map((n) => ({ expr: col('duplicates', n) })),
          limit: ctx.sampleLimit,
        },
      };
    },
    evaluate(result) {
      const { failing, samples, rows } = failingOf(result, ['occurrences']);
      const worst = rows.reduce((m, r) => (countOf(r.occurrences) > m ? countOf(r.occurrences) : m), 0n);
      return {
        failed: failing > 0n,
        failing,
        samples,
        message: failing > 0n ? `${failing} value${failing === 1n ? '' : 's'} of ${names.join(', ')} ${failing === 1n ? 'occurs' : 'occur'} more than once in ${model.name} (up to ${worst} times among the samples)${sampleText(samples)}` : `${names.join(', ')} is unique`,
      };
    },
  };
}
