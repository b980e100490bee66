/**
 * The refusal rules of rollup routing (route.ts): each says why a rollup cannot answer a leaf
 * exactly as the base tables would, as a sentence for the audit record, or undefined when it can.
 * Routing tries every usable rollup and keeps the reasons of those that cannot answer.
 */
import type { SemanticGraph } from '../definitions/graph.js';
import type { Grain } from '../definitions/schema.js';
import { collectRefs, type Expression } from '../query/expression.js';
import { parseReference, type TimeSpec } from '../query/references.js';
import { formatTime, parseTime, truncate } from '../query/time.js';
import type { Plan, Shift } from '../planner/plan.js';
import { baseGrain, type Bounds, nests } from '../planner/time.js';
import { type BuiltRollup, measurePartColumn } from './types.js';

/**
 * Why a rollup's per-bucket values of a cumulative metric cannot give its coarser periods: they
 * are read off values at the base grain (a day, baseGrain), which must be the rollup's grain;
 * only Tally's reading (the period's own days) is derived, and only over generated periods.
 */
export function coarserPeriodProblem(graph: SemanticGraph, plan: Plan, r: BuiltRollup, grains: Grain[]): string | undefined {
  if (graph.semantics !== 'tally') return `is kept per ${r.grain}; with semantics: metricflow a coarser period reads the first or last day that has rows, which routing does not derive`;
  const base = baseGrain(plan.timeKeys.map((k) => k.time));
  if (base !== r.grain) return `is kept per ${r.grain}; metric_time at ${grains.join(', ')} is read off values per ${base}`;
  if (graph.timeSpines.has(base)) return `is kept per ${r.grain}; the base reads the days of each period from the time spine table, which the rollup store does not hold`;
  return undefined;
}

/** Types of an exact sum: integers and decimals (DuckDB, Postgres and Trino spellings). */
export const EXACT_SUM = /^(HUGEINT|UHUGEINT|BIGINT|UBIGINT|INTEGER|INT|INT[1248]|SMALLINT|TINYINT|UINTEGER|USMALLINT|UTINYINT|DECIMAL|NUMERIC)\b/i;

/**
 * Why an average measure cannot be re-aggregated exactly from a rollup's sum and count: the base
 * divides its exact sum by its count (average.ts), so the rollup's sum must be exact too (an
 * integer or decimal column; a float sum depends on the order of addition, which differs between
 * the paths, even run to run), and the division must run on the same kind of engine.
 */
export function averageProblem(r: BuiltRollup, measure: string, sameEngine: boolean): string | undefined {
  const column = measurePartColumn(measure, 'sum');
  const type = r.columnTypes?.[column];
  if (type === undefined) return `its record does not say the type of ${column}, so an average from it cannot be proven exact`;
  if (!EXACT_SUM.test(type.trim())) return `the sum of '${measure}' is a ${type}: a float sum depends on the order of addition, so an average from it is not the base's to the last bit`;
  if (!sameEngine) return `its store is another kind of engine than the base tables', which may convert the sum of '${measure}' to a double differently in the last bit`;
  return undefined;
}

/** What every route needs: no offsets, the same time zone, a range aligned to the grain and covered. */
export function commonProblem(plan: Plan, r: BuiltRollup, bounds: Bounds, shifts: Shift[]): string | undefined {
  if (shifts.length) return 'the leaf is read through an offset (another period), which routing does not follow';
  if (plan.timeZone !== r.timeZone) return `its buckets are cut in ${r.timeZone}; the request is in ${plan.timeZone}`;
  if (!bounds.start || !bounds.end) return `the request has no complete time range (from and to): the rollup holds ${coveredText(r)}, the base tables may hold more`;
  for (const [what, at] of [['starts', bounds.start], ['ends', bounds.end]] as const) {
    if (truncate(at, r.grain).getTime() !== at.getTime()) return `the range ${what} at ${formatTime(at)}, not at the start of a ${r.grain} (the rollup's grain)`;
  }
  if (!r.coveredFrom || !r.coveredTo) return 'it holds no rows yet';
  const from = wallClock(r.coveredFrom);
  const to = wallClock(r.coveredTo);
  if (!from || !to) return `its covered range (${r.coveredFrom}, ${r.coveredTo}) is not readable`;
  if (bounds.start < from || bounds.end > to) return `the range [${formatTime(bounds.start)}, ${formatTime(bounds.end)}) is not within ${coveredText(r)}`;
  // Source rows known to have changed since the build (src/rollups/verify.ts): the base tables answer.
  const { start, end } = bounds;
  const stale = r.stale?.find((s) => end > (wallClock(s.start) ?? start) && (s.end === undefined || start < (wallClock(s.end) ?? end)));
  if (stale) return `its rows from ${stale.start}${stale.end ? ` to ${stale.end}` : ' on'} are stale (${stale.reason}); the base tables answer until it is rebuilt`;
  return undefined;
}

/**
 * Why a filter cannot be evaluated on a rollup's columns: each reference must be one of its
 * dimensions, or metric_time at a grain made of whole buckets of the rollup's.
 */
export function filterProblem(graph: SemanticGraph, filter: Expression, r: BuiltRollup, dimensions: string[]): string | undefined {
  for (const { ref: text } of collectRefs(filter)) {
    const ref = parseReference(graph, text);
    if (ref.kind === 'metric_time') {
      const g = grainOf(ref.time);
      if (!g) return `a filter reads '${text}', finer than its ${r.grain} buckets (name a grain: metric_time.${r.grain})`;
      if (!nests(r.grain, g)) return `a filter reads '${text}', which is not made of whole ${r.grain}s`;
    } else if (ref.kind === 'metric') {
      return `a filter reads the metric '${text}', which no rollup column holds`;
    } else if (!dimensions.includes(text)) {
      return `a filter reads '${text}', which is not one of its dimensions (${dimensions.join(', ') || 'none'})`;
    }
  }
  return undefined;
}

export function grainOf(spec: TimeSpec | undefined): Grain | undefined {
  return spec?.kind === 'grain' ? spec.grain : undefined;
}

/** A covered-range bound ('2025-01-01', '2025-01-01T00:00:00Z') as the wall-clock time it names. */
export function wallClock(text: string): Date | undefined {
  const plain = text.replace('T', ' ').replace(/(\.\d+)?(Z|[+-]\d\d:?\d\d)?$/, '');
  try {
    return parseTime(plain, 'covered range');
  } catch {
    return undefined;
  }
}

export function coveredText(r: BuiltRollup): string {
  return r.coveredFrom && r.coveredTo ? `[${r.coveredFrom}, ${r.coveredTo})` : 'no rows';
}
