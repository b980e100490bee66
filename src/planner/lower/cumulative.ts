/**
 * A cumulative metric: a measure aggregated over a trailing window (WAU = 7 days, MAU = 28 or 30),
 * the grain to date (MTD) or all time, at each period of the base grain; coarser time keys then
 * take one value per period (period_agg). Semantics are MetricFlow's cumulative metric (its
 * JoinOverTimeRangeNode), except that a coarser grain means the value on the period's own last
 * day (or first day; or the mean over all its days), whether or not that day has rows (see
 * DESIGN.md); `semantics: metricflow` keeps MetricFlow's reading, the first or last day that has
 * rows. The window itself is evaluated by window-join.ts, or for distinct counts over standard
 * windows by distinct-sweep.ts.
 */
import { GRAIN_ORDER, type Grain } from '../../definitions/schema.js';
import { TallyError } from '../../errors.js';
import { collectRefs, type Expression } from '../../query/expression.js';
import { parseReference, type TimeSpec } from '../../query/references.js';
import { add, addClamped, truncate } from '../../query/time.js';
import { type FromItem, type Select, type SqlExpr, and, col, eq, num } from '../../sql/ast.js';
import { lowerExpression } from '../expression.js';
import { mapForward } from '../offsets.js';
import type { GroupKey, MeasureUse, PlanNode, Shift } from '../plan.js';
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
  if (!shifts.length && bounds.start && node.window) rowBounds.start = sweep ? sweepRowsStart(cx, node, base, bounds.start) : addClamped(add(bounds.start, 1, base), -node.window.count, node.window.grain);
  if (!shifts.length && bounds.start && node.grainToDate) rowBounds.start = truncate(bounds.start, node.grainToDate);
  // A filter on the time alone picks the periods shown; rows outside it still fall in their windows.
  const { periodFilters, rowFilters } = splitPeriodFilters(cx, node);
  const use: MeasureUse = { ...node.use, filters: rowFilters };
  const { scan, keys, time } = leafScan(cx, use, rowBounds, purpose, { keys: 'without_time' });
  if (!time) throw new Error('cumulative without time');
  const rows: Select = {
    t: 'select',
    columns: [...keys, { expr: time, alias: TIME }, { expr: scan.measure(measure), alias: VALUE }],
    ...scan.build(),
  };
  const rowsComment = `${node.metric}: ${measure.model.name} rows that can fall in a window`;
  const rowsCte = sweep ? cx.sharedCte(sweepRowsKey(cx, node, rowBounds), `${node.id}_rows`, () => rows, rowsComment) : cx.addCte(`${node.id}_rows`, rows, rowsComment);

  // With a single time key at the base grain, the period is that key.
  const direct = timeKeys.length === 1 && isExactly(timeKeys[0].time, base) ? timeKeys[0] : undefined;
  // Tally reads a coarser period on its own first or last day (or all its days, for an average),
  // so the periods run over whole coarser periods; MetricFlow reads the days with rows only.
  const wholePeriods = !direct && cx.graph.semantics === 'tally';
  // At the base grain alone, Tally shows every period of the answer, a day whose window holds no
  // rows included (its empty value: 0 for counts and sums, nothing for an average); with other
  // keys a group shows on the days its window holds rows, as at coarser grains (valueOfPeriod).
  const everyDay = direct !== undefined && otherKeys.length === 0 && !shifts.length && cx.graph.semantics === 'tally';
  // The periods are the requested ones: the range's, or without one, from the first period with
  // data to the last period whose window still holds data. They come from the time spine at the
  // base grain when there is one, else from a generated series.
  const extent = cumulativeExtent(node, rowsCte, base, bounds, shifts, wholePeriods ? wholePeriodGrain(timeKeys, base) : undefined);
  const generated = periods(cx.graph, base, 'period', bounds, extent);
  // Read twice when whole periods are read (the window's days, and each period's first or last day).
  const series: FromItem = wholePeriods || everyDay
    ? { t: 'cte', name: cx.addCte(`${node.id}_days`, { t: 'select', columns: [{ expr: col('period', 'start'), alias: 'start' }], from: generated }, `${node.metric}: the ${base}s of the answer`), alias: 'period' }
    : generated;
  const periodAlias = direct ? direct.column : '__period';
  const windowQuery =
    sweep && node.window
      ? distinctSweep(cx, node, rowsCte, base, node.window, series, periodAlias, otherKeys)
      : windowJoin(cx, node, rowsCte, base, series, periodAlias, otherKeys, shifts);
  const describe = node.window ? `the ${node.window.count} ${node.window.grain}(s) ending at each ${base}` : node.grainToDate ? `the ${node.grainToDate} to date at each ${base}` : `all time up to each ${base}`;
  const period = col('period', 'start');
  const periodConditions = periodConditionsOf(cx, periodFilters, period);
  if (periodConditions.length) windowQuery.where = and([...(windowQuery.where ? [windowQuery.where] : []), ...periodConditions]);
  const windowCte = cx.addCte(direct && !everyDay ? node.id : `${node.id}_by_${base}`, windowQuery, `${node.metric}: ${measure.agg} of ${measure.name} over ${describe}`);
  if (direct && !everyDay) return { cte: windowCte, column: node.id };
  // A spine is not cut to the data's extent by the series' bounds: keep the days of the periods
  // that the extent touches (whole custom-calendar periods, compared as periods).
  const onSpine = (): void => {
    if (cx.graph.timeSpines.has(base)) {
      const custom = timeKeys.find((k) => k.time?.kind === 'custom')?.time;
      const whole = (e: SqlExpr): SqlExpr => (custom ? bucket(custom, e) : e);
      if (!bounds.start) periodConditions.push({ t: 'binary', op: '>=', left: whole(period), right: whole(extent.start) });
      if (!bounds.end) periodConditions.push({ t: 'binary', op: '<=', left: whole(period), right: whole(extent.stop) });
    }
  };
  if (direct) {
    // Every day of the answer with its window's value, NULL (read as the empty value) when empty.
    onSpine();
    const q: Select = {
      t: 'select',
      columns: [{ expr: period, alias: direct.column }, { expr: col('w', node.id), alias: node.id }],
      from: series,
      joins: [{ type: 'left', item: { t: 'cte', name: windowCte, alias: 'w' }, on: eq(col('w', direct.column), period) }],
      where: and(periodConditions),
    };
    return { cte: cx.addCte(node.id, q, `${node.metric}: every ${base} of the answer, its window's value or none`), column: node.id };
  }
  if (wholePeriods) {
    onSpine();
    return valueOfPeriod(cx, node, { windowCte, series, periodConditions, timeKeys, otherKeys, base });
  }

  // MetricFlow's reading: the first or the last day of each period that has a row, or the average
  // of those days.
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
  return { cte: cx.addCte(node.id, q, `${node.metric}: the value on the ${node.periodAgg} ${base} with a value of each ${what}`), column: node.id };
}

/**
 * The leaf's filters split as the base applies them: those on the time alone (metric_time, the
 * measure's own time dimension) pick the periods shown, the others restrict the rows read.
 */
export function splitPeriodFilters(cx: Lowering, node: Extract<PlanNode, { kind: 'cumulative' }>): { periodFilters: Expression[]; rowFilters: Expression[] } {
  const { measure } = node.use;
  const probe = cx.newScan(measure, `metric '${node.metric}'`);
  if (measure.timeDimension) probe.leafTime = { dimension: measure.timeDimension, expr: num(0) };
  const conjuncts = node.use.filters.flatMap(conjunctsOf);
  const onTime = (f: Expression): boolean => collectRefs(f).every((r) => probe.isLeafTime(parseReference(cx.graph, r.ref)));
  return { periodFilters: conjuncts.filter(onTime), rowFilters: conjuncts.filter((f) => !onTime(f)) };
}

/** Filters on the time alone as conditions on a base period (`period`, a timestamp). */
function periodConditionsOf(cx: Lowering, filters: Expression[], period: SqlExpr): SqlExpr[] {
  return filters.map((f) =>
    lowerExpression(f, (text) => {
      const ref = parseReference(cx.graph, text);
      const spec = ref.kind === 'metric_time' || ref.kind === 'dimension' ? ref.time : undefined;
      return spec ? bucket(spec, period) : period;
    }),
  );
}

/**
 * A cumulative metric at coarser periods read off its finished values per base period (a
 * rollup's days, src/planner/lower/rollup-scan.ts) by the rule lowerCumulative applies to the
 * window's values (valueOfPeriod, the same code): `dailyValues` yields `__period` (a base period,
 * as a timestamp), the other keys by column and the metric's value, one row per group and period
 * whose window holds rows (a period without one reads as empty). The periods are the answer's
 * base periods over `bounds` (both ends; a generated series: the caller refuses time spine
 * tables), cut by the filters on the time alone, as in the base.
 */
export function cumulativeFromPeriodValues(cx: Lowering, node: Extract<PlanNode, { kind: 'cumulative' }>, bounds: Required<Bounds>, dailyValues: Select, source: string): Output {
  const timeKeys = cx.timeKeysOf(node.use.measure);
  const otherKeys = cx.plan.keys.filter((k) => !timeKeys.includes(k));
  const base: Grain = baseGrain(timeKeys.map((k) => k.time));
  const generated = periods(cx.graph, base, 'period', bounds, { start: ts(bounds.start), stop: ts(add(bounds.end, -1, base)) });
  const series: FromItem = { t: 'cte', name: cx.addCte(`${node.id}_days`, { t: 'select', columns: [{ expr: col('period', 'start'), alias: 'start' }], from: generated }, `${node.metric}: the ${base}s of the answer`), alias: 'period' };
  const period = col('period', 'start');
  const periodConditions = periodConditionsOf(cx, splitPeriodFilters(cx, node).periodFilters, period);
  const windowCte = cx.addCte(`${node.id}_by_${base}`, dailyValues, `${node.metric}: its value at each ${base}, from ${source}`);
  const direct = timeKeys.length === 1 && isExactly(timeKeys[0].time, base) ? timeKeys[0] : undefined;
  if (!direct) return valueOfPeriod(cx, node, { windowCte, series, periodConditions, timeKeys, otherKeys, base });
  // At the base grain as lowerCumulative answers it: alone, every period of the answer (a period
  // without a row empty); with other keys, the rows there are.
  const w = (c: string): SqlExpr => col('w', c);
  const q: Select = otherKeys.length
    ? { t: 'select', columns: [...otherKeys.map((k) => ({ expr: w(k.column), alias: k.column })), { expr: w('__period'), alias: direct.column }, { expr: w(node.id), alias: node.id }], from: { t: 'cte', name: windowCte, alias: 'w' } }
    : {
        t: 'select',
        columns: [{ expr: period, alias: direct.column }, { expr: w(node.id), alias: node.id }],
        from: series,
        joins: [{ type: 'left', item: { t: 'cte', name: windowCte, alias: 'w' }, on: eq(w('__period'), period) }],
        where: and(periodConditions),
      };
  return { cte: cx.addCte(node.id, q, `${node.metric}: every ${base} of the answer, its value or none`), column: node.id };
}

/** What valueOfPeriod reads: the window's values per base period, and the periods they are shown at. */
interface PeriodReading {
  /** The window's values: `__period` (a base period), the other keys, and the metric's column. */
  windowCte: string;
  /** The base periods of the answer, as `period.start`. */
  series: FromItem;
  /** Conditions on `period.start` that pick the periods shown (filters on the time alone). */
  periodConditions: SqlExpr[];
  timeKeys: GroupKey[];
  otherKeys: GroupKey[];
  base: Grain;
}

/**
 * Tally's reading of a cumulative metric at a coarser grain (DESIGN.md): the value on the
 * period's last day (period_agg last, the default) or its first day (first), or the average over
 * all its days (average), where a day whose window holds no rows counts as the metric's empty
 * value (0 for counts and sums, its fill_nulls_with; nothing for an average). The day is the
 * period's, not the last day that happens to have rows: WAU for a month whose last 7 days are
 * empty is 0. Without other keys every period of the answer has a row; with other keys, each
 * group that has a value on some day of the period (its value on the last day may then be
 * empty, read as 0 by the fill of empty values).
 */
function valueOfPeriod(cx: Lowering, node: Extract<PlanNode, { kind: 'cumulative' }>, r: PeriodReading): Output {
  const period = col('period', 'start');
  const timeSpec = (k: GroupKey): TimeSpec => k.time ?? { kind: 'grain', grain: r.base };
  const what = r.timeKeys.map((k) => k.text).join(', ');
  const value = col('w', node.id);
  const fill = node.gaps.fill;
  const emptyDay: SqlExpr | undefined = fill === undefined ? undefined : num(fill);
  // Each period of the time keys with the day it is read on (or its number of days, for an average).
  const ends: Select = {
    t: 'select',
    columns: [
      ...r.timeKeys.map((k) => ({ expr: bucket(timeSpec(k), period), alias: k.column })),
      node.periodAgg === 'average'
        ? { expr: { t: 'aggregate', agg: 'count_star' }, alias: '__days' }
        : { expr: { t: 'aggregate', agg: node.periodAgg === 'first' ? 'min' : 'max', arg: period }, alias: '__at' },
    ],
    from: r.series,
    where: and(r.periodConditions),
    groupBy: r.timeKeys.map((k) => bucket(timeSpec(k), period)),
  };
  const endsCte = cx.addCte(
    `${node.id}_periods`,
    ends,
    node.periodAgg === 'average' ? `${node.metric}: the ${r.base}s of each ${what}` : `${node.metric}: the ${node.periodAgg} ${r.base} of each ${what}`,
  );
  const keyColumns = cx.plan.keys.map((k) => ({ expr: col(r.timeKeys.includes(k) ? 'e' : 'w', k.column), alias: k.column }));
  const describe = node.periodAgg === 'average' ? `average of the values on every ${r.base}` : `the value on the ${node.periodAgg} ${r.base}`;
  let q: Select;
  if (r.otherKeys.length === 0 && node.periodAgg !== 'average') {
    q = {
      t: 'select',
      columns: [...keyColumns, { expr: value, alias: node.id }],
      from: { t: 'cte', name: endsCte, alias: 'e' },
      joins: [{ type: 'left', item: { t: 'cte', name: r.windowCte, alias: 'w' }, on: eq(col('w', '__period'), col('e', '__at')) }],
    };
  } else if (r.otherKeys.length === 0) {
    // Every day of the period, with its window's value or the empty value.
    const day = col('day', 'start');
    const days: Select = { t: 'select', columns: [{ expr: period, alias: 'start' }], from: r.series, where: and(r.periodConditions) };
    q = {
      t: 'select',
      columns: [
        ...r.timeKeys.map((k) => ({ expr: bucket(timeSpec(k), day), alias: k.column })),
        { expr: { t: 'aggregate', agg: 'average', arg: emptyDay ? { t: 'coalesce', args: [value, emptyDay] } : value }, alias: node.id },
      ],
      from: { t: 'query', query: days, alias: 'day' },
      joins: [{ type: 'left', item: { t: 'cte', name: r.windowCte, alias: 'w' }, on: eq(col('w', '__period'), day) }],
      groupBy: r.timeKeys.map((k) => bucket(timeSpec(k), day)),
    };
  } else {
    // Each group with a value on some day of the period: its value on the period's first or last
    // day (NULL when that day's window is empty), or its average over all the period's days.
    const sameDay = eq(col('w', '__period'), col('e', '__at'));
    let aggregate: SqlExpr;
    if (node.periodAgg !== 'average') {
      aggregate = { t: 'aggregate', agg: 'max', arg: { t: 'case', branches: [{ when: sameDay, then: value }] } };
    } else if (emptyDay) {
      const missing: SqlExpr = { t: 'binary', op: '-', left: col('e', '__days'), right: { t: 'aggregate', agg: 'count_star' } };
      const total: SqlExpr = {
        t: 'binary',
        op: '+',
        left: { t: 'aggregate', agg: 'sum', arg: { t: 'coalesce', args: [value, emptyDay] } },
        right: { t: 'binary', op: '*', left: missing, right: emptyDay },
      };
      aggregate = { t: 'binary', op: '/', left: total, right: col('e', '__days') };
    } else {
      aggregate = { t: 'aggregate', agg: 'average', arg: value };
    }
    q = {
      t: 'select',
      columns: [...keyColumns, { expr: aggregate, alias: node.id }],
      from: { t: 'cte', name: r.windowCte, alias: 'w' },
      joins: [{ type: 'inner', item: { t: 'cte', name: endsCte, alias: 'e' }, on: and(r.timeKeys.map((k) => eq(bucket(timeSpec(k), col('w', '__period')), col('e', k.column)))) }],
      groupBy: [...keyColumns.map((c) => c.expr), ...(node.periodAgg === 'average' ? [col('e', '__days')] : [])],
    };
  }
  return { cte: cx.addCte(node.id, q, `${node.metric}: ${describe} of each ${what}`), column: node.id };
}

/**
 * The grain whose whole periods the base periods are extended to when they come from a generated
 * series: the finest standard grain among the coarser time keys (every period of a combination
 * of time keys lies inside one period of each, so any one of them covers them all).
 */
function wholePeriodGrain(timeKeys: GroupKey[], base: Grain): Grain | undefined {
  const grains = timeKeys.flatMap((k) => (k.time?.kind === 'grain' && GRAIN_ORDER[k.time.grain] > GRAIN_ORDER[base] ? [k.time.grain] : []));
  return grains.sort((a, b) => GRAIN_ORDER[a] - GRAIN_ORDER[b])[0];
}

/**
 * The first and last periods (of `base`) a cumulative metric is shown at: the range's, or without
 * one, from the first period with data to the last whose window still holds it (the window's
 * length on; the end of its grain for a grain-to-date; the last row's period for all time), each
 * through the offsets above the metric; without a range, widened to whole periods of `whole`
 * (the coarser grain the answer reads on its first or last day).
 */
function cumulativeExtent(node: Extract<PlanNode, { kind: 'cumulative' }>, rowsCte: string, base: Grain, bounds: Bounds, shifts: Shift[], whole: Grain | undefined): { start: SqlExpr; stop: SqlExpr } {
  const lo: SqlExpr = { t: 'truncate', grain: base, arg: aggregateOf(rowsCte, 'min') };
  const hi: SqlExpr = { t: 'truncate', grain: base, arg: aggregateOf(rowsCte, 'max') };
  let last: SqlExpr = hi;
  if (node.window) last = { t: 'addInterval', arg: { t: 'addInterval', arg: hi, count: node.window.count, grain: node.window.grain }, count: -1, grain: base };
  else if (node.grainToDate && GRAIN_ORDER[node.grainToDate] > GRAIN_ORDER[base]) {
    last = { t: 'addInterval', arg: { t: 'addInterval', arg: { t: 'truncate', grain: node.grainToDate, arg: hi }, count: 1, grain: node.grainToDate }, count: -1, grain: base };
  }
  const wholeStart = (e: SqlExpr): SqlExpr => (whole ? { t: 'truncate', grain: whole, arg: e } : e);
  const wholeStop = (e: SqlExpr): SqlExpr => (whole ? { t: 'addInterval', arg: { t: 'addInterval', arg: { t: 'truncate', grain: whole, arg: e }, count: 1, grain: whole }, count: -1, grain: base } : e);
  const start = bounds.start ? ts(bounds.start) : wholeStart(mapForward(shifts, lo, 0));
  const stop = bounds.end ? ts(add(bounds.end, -1, base)) : wholeStop(mapForward(shifts, last, 1));
  return { start, stop };
}
