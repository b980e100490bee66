/**
 * Offsets in time: how an output period maps back to the period it reads (and forward, for the
 * periods a series must cover), and when an offset instead moves whole periods of a computed
 * metric (a cumulative metric's value as of a month's end, to the next month).
 */
import type { SemanticGraph } from '../definitions/graph.js';
import { GRAIN_ORDER, type Window } from '../definitions/schema.js';
import { TallyError } from '../errors.js';
import type { SqlExpr } from '../sql/ast.js';
import { type Plan, type PlanNode, type Shift, shiftFitsGrain } from './plan.js';

/**
 * An offset of a cumulative metric by a calendar window at a grain where the window moves whole
 * periods one to one (a month at month or quarter grain): the metric's value of each period,
 * computed as that period asks (its value at the period's end by default), is moved to the
 * period `window` later. Day by day, February 29 would read January 29 and miss January 30.
 */
export function relabelShift(graph: SemanticGraph, plan: Plan, node: Extract<PlanNode, { kind: 'offset' }>): Window | undefined {
  if (graph.semantics !== 'tally' || node.input.kind !== 'cumulative' || node.shift.kind !== 'window') return undefined;
  const timed = plan.keys.filter((k) => k.time !== undefined);
  const key = timed[0];
  if (timed.length !== 1 || key.ref.kind !== 'metric_time' || key.time?.kind !== 'grain') return undefined;
  const grain = key.time.grain;
  const window = node.shift.window;
  const calendar = GRAIN_ORDER[window.grain] >= GRAIN_ORDER.month;
  if (GRAIN_ORDER[grain] <= GRAIN_ORDER.day || !shiftFitsGrain(window, grain) || (calendar && GRAIN_ORDER[grain] < GRAIN_ORDER.month)) return undefined;
  return window;
}

/** The period an output period reads, through offsets (outermost first). */
export function mapBack(shifts: Shift[], period: SqlExpr): SqlExpr {
  return shifts.reduce<SqlExpr>((x, s) => {
    if (s.kind === 'window') return { t: 'addInterval', arg: x, count: -s.window.count, grain: s.window.grain };
    if (s.kind === 'toGrain') return { t: 'truncate', grain: s.grain, arg: x };
    throw new TallyError('UNSUPPORTED', `an offset by a custom grain (${s.custom.name}) cannot be combined with a cumulative metric or other offsets yet`);
  }, period);
}

/** The earliest (extra 0) or latest (extra 1) output period that reads a period, through offsets. */
export function mapForward(shifts: Shift[], x: SqlExpr, extra: number): SqlExpr {
  return [...shifts].reverse().reduce<SqlExpr>((v, s) => {
    if (s.kind === 'window') return { t: 'addInterval', arg: v, count: s.window.count, grain: s.window.grain };
    if (s.kind === 'toGrain') return extra ? { t: 'addInterval', arg: v, count: extra, grain: s.grain } : v;
    throw new TallyError('UNSUPPORTED', `an offset by a custom grain (${s.custom.name}) cannot be combined with other offsets yet`);
  }, x);
}
