/**
 * Time in the SQL tree: bucketing a time by a grain, a custom grain or a date part, and the
 * sources of periods (a configured time spine table, or a generated series) that cumulative
 * windows, offsets and gap filling run over.
 */
import type { CustomGrain, SemanticGraph } from '../definitions/graph.js';
import { GRAIN_ORDER, type Grain, type Semantics, type Window } from '../definitions/schema.js';
import type { TimeSpec } from '../query/references.js';
import { formatTime } from '../query/time.js';
import type { Shift } from './plan.js';
import { shiftFitsGrain } from './plan.js';
import { and, col, type FromItem, type Select, type SqlExpr } from '../sql/ast.js';

/** A time bucketed as `spec` says. A custom grain is looked up in its time spine. */
export function bucket(spec: TimeSpec, arg: SqlExpr): SqlExpr {
  switch (spec.kind) {
    case 'grain':
      return { t: 'truncate', grain: spec.grain, arg };
    case 'part':
      return { t: 'extract', part: spec.part, arg };
    case 'custom': {
      const { custom } = spec;
      const alias = `spine_${custom.name}`;
      return {
        t: 'subquery',
        query: {
          t: 'select',
          columns: [{ expr: { t: 'castTimestamp', arg: col(alias, custom.column) }, alias: custom.name }],
          from: { t: 'table', name: custom.spine.table, alias },
          where: { t: 'binary', op: '=', left: { t: 'castTimestamp', arg: col(alias, custom.spine.column) }, right: { t: 'truncate', grain: custom.spine.grain, arg } },
        },
      };
    }
  }
}

/** The finest standard grain a spec reads a time at: a custom grain its spine's, a date part a day. */
export function specGrain(spec: TimeSpec): Grain {
  return spec.kind === 'grain' ? spec.grain : spec.kind === 'custom' ? spec.custom.spine.grain : 'day';
}

export function finer(a: Grain, b: Grain): Grain {
  return GRAIN_ORDER[a] <= GRAIN_ORDER[b] ? a : b;
}

/** Whether `spec` is exactly `grain` (so a period of `grain` is its own bucket). */
export function isExactly(spec: TimeSpec | undefined, grain: Grain): boolean {
  return spec?.kind === 'grain' && spec.grain === grain;
}

/**
 * The grain that time-dependent steps run at for these time specs: the finest grain any of them
 * reads, but no coarser than a day (so a month is made of days, and a week of days).
 */
export function baseGrain(specs: (TimeSpec | undefined)[]): Grain {
  return specs.reduce<Grain>((g, s) => (s ? finer(g, specGrain(s)) : g), 'day');
}

/** Whether each period of `coarse` is made of whole periods of `fine` (a quarter of months; not a month of weeks). */
export function nests(fine: Grain, coarse: Grain): boolean {
  if (fine === coarse) return true;
  if (GRAIN_ORDER[fine] > GRAIN_ORDER[coarse]) return false;
  if (GRAIN_ORDER[fine] <= GRAIN_ORDER.day) return true;
  return (fine === 'month' && (coarse === 'quarter' || coarse === 'year')) || (fine === 'quarter' && coarse === 'year');
}

/**
 * The grain an offset maps periods at: the coarsest grain of which every requested period is made
 * and which every offset moves exactly (a month at quarter grain moves months, so March ends up
 * whole in Q2; moving days would clamp March 31 to February 28). An offset to the start of a
 * grain, or a custom calendar, runs at the base grain.
 */
export function offsetGrain(specs: (TimeSpec | undefined)[], shifts: Shift[], semantics: Semantics): Grain {
  const base = baseGrain(specs);
  const grains = specs.map((s) => (s?.kind === 'grain' ? s.grain : undefined));
  const windows = shifts.map((s) => (s.kind === 'window' ? s.window : undefined));
  if (grains.some((g) => g === undefined) || windows.some((w) => w === undefined)) return base;
  const requested = grains as Grain[];
  if (semantics === 'metricflow') {
    // MetricFlow moves whole periods only at a single requested grain, else day by day.
    const single = requested.every((g) => g === requested[0]) ? requested[0] : undefined;
    return single && (windows as Window[]).every((w) => shiftFitsGrain(w, single)) ? single : base;
  }
  const finest = requested.reduce((a, b) => finer(a, b));
  const candidates = (Object.keys(GRAIN_ORDER) as Grain[]).filter((g) => GRAIN_ORDER[g] <= GRAIN_ORDER[finest] && GRAIN_ORDER[g] >= GRAIN_ORDER[base]).sort((a, b) => GRAIN_ORDER[b] - GRAIN_ORDER[a]);
  return candidates.find((g) => requested.every((r) => nests(g, r)) && (windows as Window[]).every((w) => shiftFitsGrain(w, g))) ?? base;
}

/**
 * The first period (of `base`) whose trailing `window` no longer holds `period`: the window of a
 * period p holds the periods from (p + 1) - window to p, so for a fixed-length window this is
 * period + window. A calendar window is not: a month before March 1 is February 1, and January
 * 30 and 31 both leave the window at February 28's successor. It is the period before the first
 * x with x - window >= period + 1: (period + 1) + window, or, where that date was clamped to a
 * month's end, the first day of the following month.
 */
export function windowCoverageEnd(period: SqlExpr, window: Window, base: Grain): SqlExpr {
  const months: Partial<Record<Grain, number>> = { month: 1, quarter: 3, year: 12 };
  const perWindow = months[window.grain];
  if (perWindow === undefined) return { t: 'addInterval', arg: period, count: window.count, grain: window.grain };
  const next: SqlExpr = { t: 'addInterval', arg: period, count: 1, grain: base };
  const moved: SqlExpr = { t: 'addInterval', arg: next, count: perWindow * window.count, grain: 'month' };
  const clamped: SqlExpr = { t: 'binary', op: '<>', left: { t: 'extract', part: 'day', arg: moved }, right: { t: 'extract', part: 'day', arg: next } };
  const first: SqlExpr = { t: 'case', branches: [{ when: clamped, then: { t: 'addInterval', arg: { t: 'truncate', grain: 'month', arg: moved }, count: 1, grain: 'month' } }], otherwise: moved };
  return { t: 'addInterval', arg: first, count: -1, grain: base };
}

export interface Bounds {
  start?: Date;
  end?: Date;
}

/**
 * One row per period of `grain`, as column `start` of `alias`: the configured time spine at that
 * grain within `bounds`, or else a series from `fallback.start` to `fallback.stop` (inclusive).
 */
export function periods(graph: SemanticGraph, grain: Grain, alias: string, bounds: Bounds, fallback: { start: SqlExpr; stop: SqlExpr }): FromItem {
  const spine = graph.timeSpines.get(grain);
  if (spine) {
    const start: SqlExpr = { t: 'castTimestamp', arg: col('spine', spine.column) };
    const conditions: SqlExpr[] = [];
    if (bounds.start) conditions.push({ t: 'binary', op: '>=', left: start, right: ts(bounds.start) });
    if (bounds.end) conditions.push({ t: 'binary', op: '<', left: start, right: ts(bounds.end) });
    return {
      t: 'query',
      alias,
      query: { t: 'select', columns: [{ expr: start, alias: 'start' }], from: { t: 'table', name: spine.table, alias: 'spine' }, where: and(conditions) },
    };
  }
  return { t: 'series', start: fallback.start, stop: fallback.stop, grain, alias, column: 'start' };
}

export function ts(date: Date): SqlExpr {
  return { t: 'literal', value: { kind: 'timestamp', value: formatTime(date) } };
}

/**
 * Days of a custom calendar moved `count` custom periods ahead: the n-th day of a period maps to
 * the n-th day of the period `count` later (its last day when that period is shorter), and the
 * days of the last periods to NULL. Columns: `source` (a day) and `start` (the day it moves to).
 */
export function customPeriodShift(custom: CustomGrain, count: number, alias: string): FromItem {
  const spine = custom.spine;
  const day: SqlExpr = { t: 'castTimestamp', arg: col(undefined, spine.column) };
  const period: SqlExpr = { t: 'castTimestamp', arg: col(undefined, custom.column) };
  const days: Select = {
    t: 'select',
    columns: [
      { expr: day, alias: 'day' },
      { expr: period, alias: 'period' },
      { expr: { t: 'window', fn: 'row_number', partitionBy: [period], orderBy: [{ expr: day }] }, alias: 'position' },
    ],
    from: { t: 'table', name: spine.table, alias: 'spine' },
  };
  const sizes: Select = {
    t: 'select',
    columns: [
      { expr: col(undefined, 'period'), alias: 'period' },
      { expr: { t: 'aggregate', agg: 'count_star' }, alias: 'size' },
    ],
    from: { t: 'query', query: days, alias: 'days' },
    groupBy: [col(undefined, 'period')],
  };
  const later: Select = {
    t: 'select',
    columns: [
      { expr: col(undefined, 'period'), alias: 'period' },
      { expr: { t: 'window', fn: 'lead', arg: col(undefined, 'period'), offset: count, partitionBy: [], orderBy: [{ expr: col(undefined, 'period') }] }, alias: 'later' },
      { expr: { t: 'window', fn: 'lead', arg: col(undefined, 'size'), offset: count, partitionBy: [], orderBy: [{ expr: col(undefined, 'period') }] }, alias: 'later_size' },
    ],
    from: { t: 'query', query: sizes, alias: 'sizes' },
  };
  return {
    t: 'query',
    alias,
    query: {
      t: 'select',
      columns: [
        { expr: col('d', 'day'), alias: 'source' },
        { expr: col('t', 'day'), alias: 'start' },
      ],
      from: { t: 'query', query: days, alias: 'd' },
      joins: [
        { type: 'inner', item: { t: 'query', query: later, alias: 'p' }, on: { t: 'binary', op: '=', left: col('p', 'period'), right: col('d', 'period') } },
        {
          type: 'left',
          item: { t: 'query', query: days, alias: 't' },
          on: and([
            { t: 'binary', op: '=', left: col('t', 'period'), right: col('p', 'later') },
            { t: 'binary', op: '=', left: col('t', 'position'), right: { t: 'call', fn: 'least', args: [col('d', 'position'), col('p', 'later_size')] } },
          ]),
        },
      ],
    },
  };
}
