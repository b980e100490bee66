/**
 * Distinct members over trailing windows (WAU, MAU) in time linear in the rows, instead of joining
 * every period to every row of its window: each member's active periods are merged into islands of
 * coverage, the islands' starts and ends are swept into a running count, and each period takes the
 * count in force. The answer is COUNT(DISTINCT) over window-join.ts's join (test/metrics.test.ts
 * checks WAU and MAU against hand-written SQL); a member whose value is NULL counts toward no one.
 */
import { type Grain, type Window } from '../../definitions/schema.js';
import { type FromItem, type Select, type SqlExpr, and, col, num } from '../../sql/ast.js';
import type { GroupKey, PlanNode } from '../plan.js';
import { windowCoverageEnd } from '../time.js';
import type { Lowering } from './context.js';
import { TIME, VALUE } from './output.js';

/** Window grains for which coverage is an interval per active period (see windowCoverageEnd). */
export const SWEEPABLE = new Set<Grain>(['hour', 'day', 'week', 'month', 'quarter', 'year']);

/**
 * Distinct members over trailing windows (WAU, MAU) without joining every period to every row:
 * each member's active periods are merged into islands of coverage, the islands' starts and ends
 * are swept into a running count, and each period takes the count in force.
 */
export function distinctSweep(cx: Lowering, node: Extract<PlanNode, { kind: 'cumulative' }>, rowsCte: string, base: Grain, window: Window, series: FromItem, periodAlias: string, otherKeys: GroupKey[]): Select {
  const keyCols = otherKeys.map((k) => ({ expr: col(undefined, k.column), alias: k.column }));
  const keyExprs = keyCols.map((k) => k.expr);
  const day = col(undefined, '__day');
  const member = col(undefined, '__member');
  const coverageEnd = (arg: SqlExpr): SqlExpr => windowCoverageEnd(arg, window, base);
  const active: Select = {
    t: 'select',
    distinct: true,
    columns: [...keyCols, { expr: col(undefined, VALUE), alias: '__member' }, { expr: { t: 'truncate', grain: base, arg: col(undefined, TIME) }, alias: '__day' }],
    from: { t: 'cte', name: rowsCte },
  };
  const activeCte = cx.addCte(`${node.id}_active`, active, `${node.metric}: each member's active ${base}s`);
  // One pass over each member's active periods finds where its coverage starts (no active
  // period within a window before) and ends (none within a window after): no island numbering.
  const byMember = [...keyExprs, member];
  const neighbours: Select = {
    t: 'select',
    columns: [
      ...keyCols,
      { expr: member, alias: '__member' },
      { expr: day, alias: '__day' },
      { expr: { t: 'window', fn: 'lag', arg: day, partitionBy: byMember, orderBy: [{ expr: day }] }, alias: '__previous' },
      { expr: { t: 'window', fn: 'lead', arg: day, partitionBy: byMember, orderBy: [{ expr: day }] }, alias: '__following' },
    ],
    from: { t: 'cte', name: activeCte },
  };
  const neighboursCte = cx.addCte(`${node.id}_neighbours`, neighbours, `${node.metric}: each active ${base} beside the member's previous and next one`);
  const after = (arg: SqlExpr, than: SqlExpr): SqlExpr => ({ t: 'or', args: [{ t: 'isNull', arg, negated: false }, { t: 'binary', op: '>', left: arg, right: coverageEnd(than) }] });
  // Rows whose member is NULL count toward no one but still make a period present (with 0), as
  // COUNT(DISTINCT …) over them would.
  const edge = (delta: number): Select => ({
    t: 'select',
    columns: [
      ...keyCols,
      { expr: delta > 0 ? day : coverageEnd(day), alias: '__day' },
      { expr: { t: 'case', branches: [{ when: { t: 'isNull', arg: member, negated: false }, then: num(0) }], otherwise: num(delta) }, alias: '__delta' },
      { expr: num(delta), alias: '__presence' },
    ],
    from: { t: 'cte', name: neighboursCte },
    where:
      delta > 0
        ? { t: 'or', args: [{ t: 'isNull', arg: col(undefined, '__previous'), negated: false }, { t: 'binary', op: '>', left: day, right: coverageEnd(col(undefined, '__previous')) }] }
        : after(col(undefined, '__following'), day),
  });
  const changes: Select = {
    t: 'select',
    columns: [
      ...keyCols,
      { expr: day, alias: '__day' },
      { expr: { t: 'aggregate', agg: 'sum', arg: col(undefined, '__delta') }, alias: '__delta' },
      { expr: { t: 'aggregate', agg: 'sum', arg: col(undefined, '__presence') }, alias: '__presence' },
    ],
    from: { t: 'query', alias: 'edges', query: { t: 'union_all', queries: [edge(1), edge(-1)] } },
    groupBy: [...keyExprs, day],
  };
  const running: Select = {
    t: 'select',
    columns: [
      ...keyCols,
      { expr: day, alias: '__day' },
      { expr: { t: 'window', fn: 'sum', arg: col(undefined, '__delta'), partitionBy: keyExprs, orderBy: [{ expr: day }], frame: 'unbounded_to_current' }, alias: '__active' },
      { expr: { t: 'window', fn: 'sum', arg: col(undefined, '__presence'), partitionBy: keyExprs, orderBy: [{ expr: day }], frame: 'unbounded_to_current' }, alias: '__present' },
      { expr: { t: 'window', fn: 'lead', arg: day, partitionBy: keyExprs, orderBy: [{ expr: day }] }, alias: '__next' },
    ],
    from: { t: 'query', query: changes, alias: 'changes' },
  };
  const runningCte = cx.addCte(`${node.id}_running`, running, `${node.metric}: distinct members in force from each change on`);
  const period = col('period', 'start');
  return {
    t: 'select',
    columns: [{ expr: period, alias: periodAlias }, ...otherKeys.map((k) => ({ expr: col('r', k.column), alias: k.column })), { expr: col('r', '__active'), alias: node.id }],
    from: series,
    joins: [
      {
        type: 'inner',
        item: { t: 'cte', name: runningCte, alias: 'r' },
        on: and([
          { t: 'binary', op: '>=', left: period, right: col('r', '__day') },
          { t: 'binary', op: '<', left: period, right: col('r', '__next') },
        ]),
      },
    ],
    where: { t: 'binary', op: '>', left: col('r', '__present'), right: num(0) },
  };
}

