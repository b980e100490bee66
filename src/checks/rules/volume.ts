/**
 * Volume: the number of rows per day of a model's time dimension, judged against the same weekday
 * over the trailing weeks (../anomaly.ts: median ± k × 1.4826 × MAD), for the last complete days
 * before now. A day without rows counts 0, so a load that stopped shows. The warehouse returns one
 * count per day of the window, never rows.
 */
import type { Dimension, Model, SemanticGraph } from '../../definitions/graph.js';
import type { SqlExpr } from '../../sql/ast.js';
import { judgeDays, lastCompleteDays, shiftDay } from '../anomaly.js';
import { countOf, rowObjects, scanOf } from '../rows.js';
import type { Check, CheckContext, Severity } from '../types.js';
import { anomalyOutcome } from './metric-anomaly.js';

export interface AnomalySettings {
  weeks: number;
  sensitivity: number;
  periods: number;
}

export function volumeCheck(graph: SemanticGraph, model: Model, dimension: Dimension, settings: AnomalySettings, options: { severity: Severity; name?: string }): Check {
  const window = (ctx: CheckContext): { days: string[]; first: string; end: string } => {
    const days = lastCompleteDays(ctx.now, settings.periods);
    return { days, first: shiftDay(days[0], -7 * settings.weeks), end: shiftDay(days[days.length - 1], 1) };
  };
  return {
    id: `${model.name}.${options.name ?? 'volume'}`,
    kind: 'volume',
    model: model.name,
    severity: options.severity,
    derived: false,
    description: `rows per day of ${model.name} (by ${dimension.name}) stay within the same weekday's band over ${settings.weeks} weeks (median ± ${settings.sensitivity} × 1.4826 × MAD)`,
    compile(ctx) {
      const { first, end } = window(ctx);
      const scan = scanOf(graph, model, `check of '${model.name}'`);
      const time: SqlExpr = { t: 'castTimestamp', arg: scan.column(dimension.name, dimension.expr) };
      const day: SqlExpr = { t: 'castDate', arg: time };
      scan.condition({ t: 'and', args: [
        { t: 'binary', op: '>=', left: time, right: { t: 'literal', value: { kind: 'timestamp', value: `${first} 00:00:00` } } },
        { t: 'binary', op: '<', left: time, right: { t: 'literal', value: { kind: 'timestamp', value: `${end} 00:00:00` } } },
      ] });
      return {
        ctes: [],
        body: { t: 'select', columns: [{ expr: day, alias: 'day' }, { expr: { t: 'aggregate', agg: 'count_star' }, alias: 'row_count' }], ...scan.build(), groupBy: [day], orderBy: [{ expr: day }] },
      };
    },
    evaluate(result, ctx) {
      const counts = new Map(rowObjects(result).map((r) => [String(r.day).slice(0, 10), Number(countOf(r.row_count))]));
      const { days } = window(ctx);
      const judged = judgeDays(days, (d) => counts.get(d) ?? 0, settings.weeks, settings.sensitivity);
      return anomalyOutcome(judged, `rows of ${model.name}`, ctx);
    },
  };
}
