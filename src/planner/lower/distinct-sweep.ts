/**
 * Distinct members over trailing windows (WAU, MAU) in time linear in the rows, instead of joining
 * every period to every row of its window: each member's active period opens an interval of
 * coverage that ends at the earlier of the period its window leaves it and the member's next
 * active period; a running sum of +1 at each start and -1 at each end counts the members in force,
 * and each period takes the count in force. The answer is COUNT(DISTINCT) over window-join.ts's
 * join (test/metrics.test.ts checks WAU and MAU against hand-written SQL); a member whose value
 * is NULL counts toward no one.
 *
 * Windows of one measure in one request (WAU and MAU together) share one set of member periods,
 * read once from rows reaching back as far as the widest of them needs; at day grain the periods
 * are dates, which sort and compare faster than timestamps.
 */
import { GRAIN_ORDER, type Grain, type Window } from '../../definitions/schema.js';
import { expressionsKey } from '../../query/expression.js';
import { add, addClamped } from '../../query/time.js';
import { type FromItem, type Select, type SqlExpr, and, col, num } from '../../sql/ast.js';
import type { GroupKey, PlanNode, Shift } from '../plan.js';
import { windowCoverageEnd } from '../time.js';
import type { Lowering } from './context.js';
import { TIME, VALUE } from './output.js';

/** Window grains for which coverage is an interval per active period (see windowCoverageEnd). */
export const SWEEPABLE = new Set<Grain>(['hour', 'day', 'week', 'month', 'quarter', 'year']);

type Cumulative = Extract<PlanNode, { kind: 'cumulative' }>;

/** Whether a cumulative node's window is evaluated by the sweep (a distinct count over a standard trailing window, not shifted). */
export function sweeps(node: Cumulative, base: Grain, shifts: Shift[]): boolean {
  return !shifts.length && node.window !== undefined && node.use.measure.agg === 'count_distinct' && SWEEPABLE.has(node.window.grain) && GRAIN_ORDER[node.window.grain] >= GRAIN_ORDER[base];
}

/**
 * The first row time the sweep of `node` reads, for periods from `start` on: the earliest any
 * sweep over the same measure use in the plan needs (outside offsets), so that they all read the
 * same rows and share one set of member periods (see sweepRowsKey).
 */
export function sweepRowsStart(cx: Lowering, node: Cumulative, base: Grain, start: Date): Date {
  let earliest: Date | undefined;
  for (const n of sweepSiblings(cx, node, base)) {
    const w = n.window as Window;
    const first = addClamped(add(start, 1, base), -w.count, w.grain);
    if (!earliest || first < earliest) earliest = first;
  }
  return earliest ?? start;
}

/** What the rows of a sweep depend on besides its measure use: the plan's keys and the row bounds. */
export function sweepRowsKey(cx: Lowering, node: Cumulative, bounds: { start?: Date; end?: Date }): string {
  const keys = cx.plan.keys.map((k) => k.column).join(',');
  return `sweep-rows|${useKey(node)}|${keys}|${bounds.start?.toISOString()}|${bounds.end?.toISOString()}`;
}

/** The cumulative nodes of the plan (not under an offset) that sweep the same measure use as `node` at `base`. */
function sweepSiblings(cx: Lowering, node: Cumulative, base: Grain): Cumulative[] {
  const key = useKey(node);
  const found: Cumulative[] = [];
  const visit = (n: PlanNode): void => {
    switch (n.kind) {
      case 'cumulative':
        if (n === node || (sweeps(n, base, []) && n.use.measure === node.use.measure && useKey(n) === key)) found.push(n);
        return;
      case 'ratio':
        visit(n.numerator);
        visit(n.denominator);
        return;
      case 'derived':
        for (const i of n.inputs) visit(i.node);
        return;
      default:
        return;
    }
  };
  for (const o of cx.plan.outputs) visit(o.node);
  if (!found.includes(node)) found.push(node);
  return found;
}

const useKeys = new WeakMap<Cumulative, string>();
function useKey(node: Cumulative): string {
  let key = useKeys.get(node);
  if (key === undefined) {
    key = `${node.use.measure.model.name}.${node.use.measure.name}|${expressionsKey(node.use.filters)}`;
    useKeys.set(node, key);
  }
  return key;
}

/**
 * Distinct members over a trailing window at each period of `base`: rows of `rowsCte` (keys,
 * TIME, VALUE) swept into a running count, joined to the periods of `series`.
 */
export function distinctSweep(cx: Lowering, node: Cumulative, rowsCte: string, base: Grain, window: Window, series: FromItem, periodAlias: string, otherKeys: GroupKey[]): Select {
  const keyCols = otherKeys.map((k) => ({ expr: col(undefined, k.column), alias: k.column }));
  const keyExprs = keyCols.map((k) => k.expr);
  const day = col(undefined, '__day');
  const member = col(undefined, '__member');
  // At day grain a period is a DATE; its window's end is computed on a timestamp and cast back.
  const dates = base === 'day';
  const coverageEnd = (arg: SqlExpr): SqlExpr =>
    dates ? { t: 'castDate', arg: windowCoverageEnd({ t: 'castTimestamp', arg }, window, base) } : windowCoverageEnd(arg, window, base);
  const asTime = (arg: SqlExpr): SqlExpr => (dates ? { t: 'castTimestamp', arg } : arg);

  // Each member's active periods, beside its next one: shared by every window over these rows.
  const activeCte = cx.sharedCte(`sweep-active|${rowsCte}|${base}`, `${node.id}_active`, () => {
    const periodsOf: Select = {
      t: 'select',
      distinct: true,
      columns: [
        ...keyCols,
        { expr: col(undefined, VALUE), alias: '__member' },
        { expr: dates ? { t: 'castDate', arg: col(undefined, TIME) } : { t: 'truncate', grain: base, arg: col(undefined, TIME) }, alias: '__day' },
      ],
      from: { t: 'cte', name: rowsCte },
    };
    return {
      t: 'select',
      columns: [
        ...keyCols,
        { expr: member, alias: '__member' },
        { expr: day, alias: '__day' },
        { expr: { t: 'window', fn: 'lead', arg: day, partitionBy: [...keyExprs, member], orderBy: [{ expr: day }] }, alias: '__next' },
      ],
      from: { t: 'query', query: periodsOf, alias: 'active' },
    };
  }, `${node.use.measure.name}: each member's active ${base}s, beside the member's next one`);

  // +1 where a member's active period opens its interval; -1 where the interval ends: at the
  // earlier of the period its window leaves it and the member's next active period. Rows whose
  // member is NULL count toward no one but still make a period present (with 0), as
  // COUNT(DISTINCT …) over them would.
  const delta = (d: number): SqlExpr => ({ t: 'case', branches: [{ when: { t: 'isNull', arg: member, negated: false }, then: num(0) }], otherwise: num(d) });
  const until = col(undefined, '__until');
  const next = col(undefined, '__next');
  // The starts are the same for every window: counted per period once.
  const opensCte = cx.sharedCte(`sweep-opens|${activeCte}`, `${node.id}_opens`, () => ({
    t: 'select',
    columns: [
      ...keyCols,
      { expr: day, alias: '__day' },
      { expr: { t: 'aggregate', agg: 'sum', arg: delta(1) }, alias: '__delta' },
      { expr: { t: 'aggregate', agg: 'count_star' }, alias: '__presence' },
    ],
    from: { t: 'cte', name: activeCte },
    groupBy: [...keyExprs, day],
  }), `${node.use.measure.name}: members whose interval opens at each ${base} (any window)`);
  const opens: Select = {
    t: 'select',
    columns: [...keyCols, { expr: day, alias: '__day' }, { expr: col(undefined, '__delta'), alias: '__delta' }, { expr: col(undefined, '__presence'), alias: '__presence' }],
    from: { t: 'cte', name: opensCte },
  };
  const ends: Select = {
    t: 'select',
    columns: [
      ...keyCols,
      { expr: { t: 'case', branches: [{ when: { t: 'binary', op: '<', left: next, right: until }, then: next }], otherwise: until }, alias: '__day' },
      { expr: delta(-1), alias: '__delta' },
      { expr: num(-1), alias: '__presence' },
    ],
    from: {
      t: 'query',
      alias: 'spans',
      query: { t: 'select', columns: [...keyCols, { expr: member, alias: '__member' }, { expr: next, alias: '__next' }, { expr: coverageEnd(day), alias: '__until' }], from: { t: 'cte', name: activeCte } },
    },
  };
  const changes: Select = {
    t: 'select',
    columns: [
      ...keyCols,
      { expr: day, alias: '__day' },
      { expr: { t: 'aggregate', agg: 'sum', arg: col(undefined, '__delta') }, alias: '__delta' },
      { expr: { t: 'aggregate', agg: 'sum', arg: col(undefined, '__presence') }, alias: '__presence' },
    ],
    from: { t: 'query', alias: 'edges', query: { t: 'union_all', queries: [opens, ends] } },
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
    // The running sum of ±1 is typed as a sum (DuckDB: HUGEINT, Postgres: NUMERIC); a count of
    // members is typed as COUNT(DISTINCT …) types it, as on the window-join path and for dau.
    columns: [{ expr: period, alias: periodAlias }, ...otherKeys.map((k) => ({ expr: col('r', k.column), alias: k.column })), { expr: { t: 'castCount', arg: col('r', '__active') }, alias: node.id }],
    from: series,
    joins: [
      {
        type: 'inner',
        item: { t: 'cte', name: runningCte, alias: 'r' },
        on: and([
          { t: 'binary', op: '>=', left: period, right: asTime(col('r', '__day')) },
          { t: 'binary', op: '<', left: period, right: asTime(col('r', '__next')) },
        ]),
      },
    ],
    where: { t: 'binary', op: '>', left: col('r', '__present'), right: num(0) },
  };
}
