/**
 * A leaf scan: the rows of a measure's model with the request's keys resolved, the metric's and
 * the request's filters applied, and the time bounds as conditions. Under an offset
 * (offset_window, offset_to_grain; MetricFlow's JoinOverTimeRangeNode / offset semantics) the rows
 * are read through a time spine: each period takes the rows at the time its offsets map it back to.
 */
import { GRAIN_ORDER } from '../../definitions/schema.js';
import { TallyError } from '../../errors.js';
import type { TimeSpec } from '../../query/references.js';
import { type SelectColumn, type SqlExpr, col } from '../../sql/ast.js';
import { mapBack, mapForward } from '../offsets.js';
import type { GroupKey, MeasureUse, Shift } from '../plan.js';
import type { ColumnReference, ScanBuilder } from '../scan.js';
import { type Bounds, bucket, customPeriodShift, offsetGrain, periods, specGrain } from '../time.js';
import type { Lowering } from './context.js';
import { ts } from './output.js';

/** A leaf scan and what it resolved: the key columns it selects, the rows' time, the keys that follow that time. */
export interface LeafScan {
  scan: ScanBuilder;
  keys: SelectColumn[];
  time?: SqlExpr;
  timeKeys: GroupKey[];
}

/**
 * Rows of the measure's model with the keys resolved and filters applied. `keys` says which key
 * columns to select ('without_time' leaves the time keys to the caller). With `shifts` the rows
 * are read through a time spine: each period takes the rows at the time its offsets map it back
 * to, and the period is the rows' time from then on.
 */
export function leafScan(cx: Lowering, use: MeasureUse, bounds: Bounds, purpose: string, opts: { keys: 'all' | 'without_time' | 'none'; shifts?: Shift[] }): LeafScan {
  const { measure } = use;
  const scan = cx.newScan(measure, purpose);
  let time = measure.timeDimension ? scan.time(measure.timeDimension) : undefined;
  if (measure.timeDimension && time) scan.leafTime = { dimension: measure.timeDimension, expr: time };
  const timeKeys = cx.plan.keys.filter((k) => scan.isLeafTime(k.ref));
  const shifts = opts.shifts ?? [];
  if (shifts.length && measure.timeDimension && time) {
    time = shiftedTime(cx, scan, time, timeKeys, shifts, bounds, purpose);
    scan.leafTime = { dimension: measure.timeDimension, expr: time };
  }
  const keys: SelectColumn[] = [];
  for (const k of cx.plan.keys) {
    if (timeKeys.includes(k)) {
      if (!time) {
        throw new TallyError('INVALID_REQUEST', `${purpose} has no time dimension (measure '${measure.name}'), so it cannot be grouped by ${k.text}`);
      }
      if (opts.keys !== 'all') continue;
      keys.push({ expr: bucket(k.time ?? { kind: 'grain', grain: 'day' }, time), alias: k.column });
    } else if (opts.keys !== 'none') {
      keys.push({ expr: scan.reference(k.ref as ColumnReference).expr, alias: k.column });
    }
  }
  for (const f of use.filters) scan.filter(f, time);
  if (bounds.start || bounds.end) {
    if (!time) throw new TallyError('INVALID_REQUEST', `${purpose} has no time dimension, so it cannot take a time range`);
    if (bounds.start) scan.condition({ t: 'binary', op: '>=', left: time, right: ts(bounds.start) });
    if (bounds.end) scan.condition({ t: 'binary', op: '<', left: time, right: ts(bounds.end) });
  }
  return { scan, keys, time, timeKeys };
}

/**
 * The time of a shifted leaf: periods of a time spine, each joined to the rows at the time its
 * offsets map it to (a period minus the window, or the start of the offset's grain). Periods
 * are the requested grain when every offset is a whole number of it, else the base grain; an
 * offset to the start of a grain then keeps only the periods that start a requested period.
 */
function shiftedTime(cx: Lowering, scan: ScanBuilder, rowTime: SqlExpr, timeKeys: GroupKey[], shifts: Shift[], bounds: Bounds, purpose: string): SqlExpr {
  if (timeKeys.length === 0) {
    throw new TallyError('INVALID_REQUEST', `${purpose} compares periods (an offset), so group it by metric_time, for example metric_time.month`);
  }
  const specs = timeKeys.map((k) => k.time);
  const custom = shifts.find((s) => s.kind === 'customWindow');
  if (custom?.kind === 'customWindow') {
    if (shifts.length > 1) throw new TallyError('UNSUPPORTED', `${purpose}: an offset by a custom grain cannot be combined with other offsets yet`);
    const item = customPeriodShift(custom.custom, custom.count, 'period');
    scan.driveBy(item, { t: 'binary', op: '=', left: { t: 'truncate', grain: custom.custom.spine.grain, arg: rowTime }, right: col('period', 'source') });
    return col('period', 'start');
  }
  const grain = offsetGrain(specs, shifts, cx.graph.semantics);
  const { min, max } = scan.extent({ t: 'truncate', grain, arg: rowTime });
  const item = periods(cx.graph, grain, 'period', bounds, { start: mapForward(shifts, min, 0), stop: mapForward(shifts, max, 1) });
  const period = col('period', 'start');
  scan.driveBy(item, { t: 'binary', op: '=', left: { t: 'truncate', grain, arg: rowTime }, right: mapBack(shifts, period) });
  if (shifts.some((s) => s.kind === 'toGrain')) {
    // Periods finer than every requested grain are kept where they start one of those (as
    // MetricFlow does); with a group-by at the periods' own grain every period is kept, and
    // coarser group-bys are only labels of it.
    const finest = specs.reduce<TimeSpec | undefined>((a, b) => (b && (a === undefined || GRAIN_ORDER[specGrain(b)] < GRAIN_ORDER[specGrain(a)]) ? b : a), undefined);
    const starts = specs.flatMap((s) => (s?.kind === 'grain' && GRAIN_ORDER[s.grain] > GRAIN_ORDER[grain] ? [s.grain] : []));
    if (finest && GRAIN_ORDER[specGrain(finest)] > GRAIN_ORDER[grain] && starts.length) {
      scan.condition({ t: 'or', args: starts.map((g) => ({ t: 'binary', op: '=', left: { t: 'truncate', grain: g, arg: period }, right: period })) });
    }
  }
  return period;
}
