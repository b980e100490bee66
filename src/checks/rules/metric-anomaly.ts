/**
 * Anomaly check on a metric (`anomaly:` on a metric): its daily values, computed by compiling an
 * ordinary Tally request (metric by metric_time.day over the window, gaps filled) through the
 * planner, judged against the same weekday over the trailing weeks (../anomaly.ts: median ±
 * k × 1.4826 × MAD) for the last complete days before now.
 */
import type { SemanticGraph } from '../../definitions/graph.js';
import { compileRequest } from '../../compile.js';
import { type DayJudgement, judgeDays, lastCompleteDays, shiftDay } from '../anomaly.js';
import { rowObjects } from '../rows.js';
import type { Check, CheckContext, Outcome, Severity } from '../types.js';
import type { AnomalySettings } from './volume.js';

export function metricAnomalyCheck(graph: SemanticGraph, metric: string, model: string, settings: AnomalySettings, options: { severity: Severity }): Check {
  const window = (ctx: CheckContext): { days: string[]; first: string; last: string } => {
    const days = lastCompleteDays(ctx.now, settings.periods);
    return { days, first: shiftDay(days[0], -7 * settings.weeks), last: days[days.length - 1] };
  };
  return {
    id: `${metric}.anomaly`,
    kind: 'anomaly',
    model,
    metric,
    severity: options.severity,
    derived: false,
    description: `daily ${metric} stays within the same weekday's band over ${settings.weeks} weeks (median ± ${settings.sensitivity} × 1.4826 × MAD)`,
    compile(ctx) {
      const { first, last } = window(ctx);
      return compileRequest(graph, { metrics: [metric], groupBy: ['metric_time.day'], from: first, to: last, fillGaps: true }).statement;
    },
    evaluate(result, ctx) {
      const values = new Map<string, number>();
      for (const r of rowObjects(result)) {
        const v = r[metric];
        if (v !== null && v !== undefined) values.set(String(r['metric_time.day']).slice(0, 10), Number(v));
      }
      const judged = judgeDays(window(ctx).days, (d) => values.get(d), settings.weeks, settings.sensitivity);
      return anomalyOutcome(judged, metric, ctx);
    },
  };
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Anomalous days as a check outcome: their number, each as a sample with its band. */
export function anomalyOutcome(judged: DayJudgement[], what: string, ctx: CheckContext): Outcome {
  const bad = judged.filter((j) => j.anomalous);
  const round = (n: number): number => Number(n.toPrecision(12));
  const samples = bad.slice(0, ctx.sampleLimit).map((j) => ({ day: j.day, value: round(j.value), median: round(j.band?.centre ?? NaN), low: round(j.band?.low ?? NaN), high: round(j.band?.high ?? NaN) }));
  const last = judged[judged.length - 1];
  const text = (j: DayJudgement): string => `${j.day} (${WEEKDAYS[new Date(`${j.day}T00:00:00Z`).getUTCDay()]}): ${round(j.value)} outside ${round(j.band?.low ?? NaN)} to ${round(j.band?.high ?? NaN)} (median ${round(j.band?.centre ?? NaN)})`;
  return {
    failed: bad.length > 0,
    failing: BigInt(bad.length),
    checked: BigInt(judged.filter((j) => j.band).length),
    observed: last && Number.isFinite(last.value) ? String(round(last.value)) : undefined,
    samples,
    message: bad.length ? `${bad.length} day${bad.length === 1 ? '' : 's'} of ${what} outside the band learnt from the same weekday: ${bad.slice(0, ctx.sampleLimit).map(text).join('; ')}` : `${what} within the band on ${judged.filter((j) => j.band).length} of ${judged.length} days judged`,
  };
}
