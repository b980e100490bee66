/**
 * A cumulative metric: a measure aggregated over a trailing window (WAU = 7 days, MAU = 28 or 30),
 * the grain to date (MTD) or all time, at each period of the base grain; coarser time keys then
 * take the value of the first, the last or the average period of each (period_agg). Semantics are
 * MetricFlow's cumulative metric (its JoinOverTimeRangeNode), except that a coarser grain means
 * the value as of the end of each period unless period_agg says otherwise (see DESIGN.md). The
 * window itself is evaluated by window-join.ts, or for distinct counts over standard windows by
 * distinct-sweep.ts.
 */
import { GRAIN_ORDER, type Grain } from '../../definitions/schema.js';
import { TallyError } from '../../errors.js';
import { collectRefs, type Expression } from '../../query/expression.js';
import { parseReference } from '../../query/references.js';
import { add, truncate } from '../../query/time.js';
import { type FromItem, type Select, type SqlExpr, and, col, num } from '../../sql/ast.js';
import { lowerExpression } from '../expression.js';
import { mapForward } from '../offsets.js';
import type { MeasureUse, PlanNode, Shift } from '../plan.js';
import { baseGrain, type Bounds, bucket, isExactly, periods } from '../time.js';
import type { Lowering } from './context.js';
import { distinctSweep, sweepRowsKey, sweepRowsStart, sweeps } from './distinct-sweep.js';
import { leafScan } from './leaf-scan.js';
import { aggregateOf, conjunctsOf, type Output, TIME, ts, VALUE } from './output.js';
import { lowerSimple } from './simple.js';
import { windowJoin } from './window-join.js';

export function lowerCumulative(cx: Lowering, node: Extract<PlanNode, { kind: 'cumulative' }>, bounds: Bounds, shifts: Shift[] = []): Output {
  const { measure } = node.use;
  const purpose = `metric '${node.metric}'`;
  const timeKeys = cx.timeKeysOf(measure);
  if (timeKeys.length === 0) {
    if (node.window || node.grainToDate) {
      throw new TallyError('INVALID_REQUEST', `${purpose} accumulates over ${node.window ? `a ${node.window.count}-${node.window.grain} window` : `the ${node.grainToDate} to date`}, so group it by metric_time (for example metric_time.day)`);
    }
    // All-time accumulation without a time axis is the plain aggregate over the range.
    return lowerSimple(cx, { ...node, kind: 'simple' }, bounds, shifts);
  }
  const otherKeys = cx.plan.keys.filter((k) => !timeKeys.includes(k));
  // The window is evaluated per period of the base grain, then coarser time keys take one value per period.
  const base: Grain = baseGrain(timeKeys.map((k) => k.time));
  // Rows before the range still count toward the first windows in it (a shifted window reads other rows).
  const rowBounds: Bounds = shifts.length ? {} : { end: bounds.end };
  // Sweeps of one measure use share their rows, reaching back as far as the widest window needs.
  const sweep = sweeps(node, base, shifts);
  if (!shifts.length && bounds.start && node.window) rowBounds.start = sweep ? sweepRowsStart(cx, node, base, bounds.start) : add(add(bounds.start, 1, base), -node.window.count, node.window.grain);
  if (!shifts.length && bounds.start && node.grainToDate) rowBounds.start = truncate(bounds.start, node.grainToDate);
  // A filter on the time alone picks the periods shown; rows outside it still fall in their windows.
  const probe = cx.newScan(measure, purpose);
  if (measure.timeDimension) probe.leafTime = { dimension: measure.timeDimension, expr: num(0) };
  const conjuncts = node.use.filters.flatMap(conjunctsOf);
  const onTime = (f: Expression): boolean => collectRefs(f).every((r) => probe.isLeafTime(parseReference(cx.graph, r.ref)));
  const periodFilters = conjuncts.filter(onTime);
  const use: MeasureUse = { ...node.use, filters: conjuncts.filter((f) => !onTime(f)) };
  const { scan, keys, time } = leafScan(cx, use, rowBounds, purpose, { keys: 'without_time' });
  if (!time) throw new Error('cumulative without time');
  const rows: Select = {
    t: 'select',
    columns: [...keys, { expr: time, alias: TIME }, { expr: scan.measure(measure), alias: VALUE }],
    ...scan.build(),
  };
  const rowsComment = `${node.metric}: ${measure.model.name} rows that can fall in a window`;
  const rowsCte = sweep ? cx.sharedCte(sweepRowsKey(cx, node, rowBounds), `${node.id}_rows`, () => rows, rowsComment) : cx.addCte(`${node.id}_rows`, rows, rowsComment);

  // The periods are the requested ones: the range's, or without one, from the first period with
  // data to the last period whose window still holds data. They come from the time spine at the
  // base grain when there is one, else from a generated series.
  const series = cumulativePeriods(cx, node, rowsCte, base, bounds, shifts);
  // With a single time key at the base grain, the period is that key.
  const direct = timeKeys.length === 1 && isExactly(timeKeys[0].time, base) ? timeKeys[0] : undefined;
  const periodAlias = direct ? direct.column : '__period';
  const windowQuery =
    sweep && node.window
      ? distinctSweep(cx, node, rowsCte, base, node.window, series, periodAlias, otherKeys)
      : windowJoin(cx, node, rowsCte, base, series, periodAlias, otherKeys, shifts);
  const describe = node.window ? `the ${node.window.count} ${node.window.grain}(s) ending at each ${base}` : node.grainToDate ? `the ${node.grainToDate} to date at each ${base}` : `all time up to each ${base}`;
  if (periodFilters.length) {
    const period = col('period', 'start');
    const conditions = periodFilters.map((f) =>
      lowerExpression(f, (text) => {
        const ref = parseReference(cx.graph, text);
        const spec = ref.kind === 'metric_time' || ref.kind === 'dimension' ? ref.time : undefined;
        return spec ? bucket(spec, period) : period;
      }),
    );
    windowQuery.where = and([...(windowQuery.where ? [windowQuery.where] : []), ...conditions]);
  }
  const windowCte = cx.addCte(direct ? node.id : `${node.id}_by_${base}`, windowQuery, `${node.metric}: ${measure.agg} of ${measure.name} over ${describe}`);
  if (direct) return { cte: windowCte, column: node.id };

  // Coarser time keys show one value per period: the first, the last or the average of its days.
  const periodKeys = timeKeys.map((k) => ({ expr: bucket(k.time ?? { kind: 'grain', grain: base }, col(undefined, '__period')), alias: k.column }));
  const otherCols = otherKeys.map((k) => ({ expr: col(undefined, k.column), alias: k.column }));
  const partition = [...periodKeys.map((k) => k.expr), ...otherCols.map((k) => k.expr)];
  const what = timeKeys.map((k) => k.text).join(', ');
  if (node.periodAgg === 'average') {
    const q: Select = {
      t: 'select',
      columns: [...periodKeys, ...otherCols, { expr: { t: 'aggregate', agg: 'average', arg: col(undefined, node.id) }, alias: node.id }],
      from: { t: 'cte', name: windowCte },
      groupBy: partition,
    };
    return { cte: cx.addCte(node.id, q, `${node.metric}: average of the ${base} values in each ${what}`), column: node.id };
  }
  const ranked: Select = {
    t: 'select',
    columns: [
      ...periodKeys,
      ...otherCols,
      { expr: col(undefined, node.id), alias: node.id },
      { expr: { t: 'window', fn: 'row_number', partitionBy: partition, orderBy: [{ expr: col(undefined, '__period'), desc: node.periodAgg === 'last' }] }, alias: '__rank' },
    ],
    from: { t: 'cte', name: windowCte },
  };
  const q: Select = {
    t: 'select',
    columns: [...cx.keyColumns('ranked'), { expr: col('ranked', node.id), alias: node.id }],
    from: { t: 'query', query: ranked, alias: 'ranked' },
    where: { t: 'binary', op: '=', left: col('ranked', '__rank'), right: num(1) },
  };
  return { cte: cx.addCte(node.id, q, `${node.metric}: the value on the ${node.periodAgg} ${base} of each ${what}`), column: node.id };
}


/**
 * The periods a cumulative metric is shown at: the range's at the base grain, or without one,
 * from the first period with data to the last whose window still holds it (the window's length
 * on; the end of its grain for a grain-to-date; the last row's period for all time), each
 * through the offsets above the metric.
 */
function cumulativePeriods(cx: Lowering, node: Extract<PlanNode, { kind: 'cumulative' }>, rowsCte: string, base: Grain, bounds: Bounds, shifts: Shift[]): FromItem {
  const lo: SqlExpr = { t: 'truncate', grain: base, arg: aggregateOf(rowsCte, 'min') };
  const hi: SqlExpr = { t: 'truncate', grain: base, arg: aggregateOf(rowsCte, 'max') };
  let last: SqlExpr = hi;
  if (node.window) last = { t: 'addInterval', arg: { t: 'addInterval', arg: hi, count: node.window.count, grain: node.window.grain }, count: -1, grain: base };
  else if (node.grainToDate && GRAIN_ORDER[node.grainToDate] > GRAIN_ORDER[base]) {
    last = { t: 'addInterval', arg: { t: 'addInterval', arg: { t: 'truncate', grain: node.grainToDate, arg: hi }, count: 1, grain: node.grainToDate }, count: -1, grain: base };
  }
  const start = bounds.start ? ts(bounds.start) : mapForward(shifts, lo, 0);
  const stop = bounds.end ? ts(add(bounds.end, -1, base)) : mapForward(shifts, last, 1);
  return periods(cx.graph, base, 'period', bounds, { start, stop });
}

