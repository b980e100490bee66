/**
 * Freshness: how long ago the newest row of a model happened, against its time dimension
 * (`freshness: { warn_after: 6 hours, error_after: 1 day }`), as dbt's source freshness measures
 * it (max of a time column against now). The newest time is also each answer's "data as of".
 */
import type { Dimension, Model, SemanticGraph } from '../../definitions/graph.js';
import { instantOf, rowObjects, scanOf, timestampText } from '../rows.js';
import type { Check, Severity } from '../types.js';

export interface FreshnessLimits {
  /** Milliseconds of age after which the check warns / fails. */
  warnAfterMs?: number;
  errorAfterMs?: number;
  /** As written, for messages. */
  warnAfter?: string;
  errorAfter?: string;
}

export function freshnessCheck(graph: SemanticGraph, model: Model, dimension: Dimension, limits: FreshnessLimits): Check {
  const severity: Severity = limits.errorAfterMs !== undefined ? 'error' : 'warn';
  return {
    id: `${model.name}.freshness(${dimension.name})`,
    kind: 'freshness',
    model: model.name,
    severity,
    derived: false,
    description: `the newest ${dimension.name} of ${model.name} is ${[limits.warnAfter && `under ${limits.warnAfter} old (warn)`, limits.errorAfter && `under ${limits.errorAfter} old (error)`].filter(Boolean).join(', ')}`,
    compile() {
      const scan = scanOf(graph, model, `check of '${model.name}'`);
      const time = scan.column(dimension.name, dimension.expr);
      return { ctes: [], body: { t: 'select', columns: [{ expr: { t: 'aggregate', agg: 'max', arg: { t: 'castTimestamp', arg: time } }, alias: 'latest' }], ...scan.build() } };
    },
    evaluate(result, ctx) {
      const latest = instantOf(rowObjects(result)[0]?.latest);
      if (!latest) return { failed: true, failing: 0n, samples: [], message: `${model.name} has no rows with a ${dimension.name}` };
      const age = ctx.now.getTime() - latest.getTime();
      const tooOld = (limit: number | undefined): boolean => limit !== undefined && age > limit;
      const error = tooOld(limits.errorAfterMs);
      const warn = tooOld(limits.warnAfterMs);
      return {
        failed: error || warn,
        // A freshness check past only warn_after warns even when it also has error_after.
        ...(error ? {} : warn ? { severity: 'warn' as const } : {}),
        failing: 0n,
        observed: timestampText(latest),
        samples: [],
        message: `newest ${dimension.name} is ${timestampText(latest)} UTC, ${ageText(age)} old${error ? ` (error after ${limits.errorAfter})` : warn ? ` (warn after ${limits.warnAfter})` : ''}`,
      };
    },
  };
}

/** An age in the largest whole unit that fits: `3 days`, `5 hours`, `12 minutes`. */
export function ageText(ms: number): string {
  const units: [string, number][] = [['day', 86_400_000], ['hour', 3_600_000], ['minute', 60_000], ['second', 1000]];
  for (const [unit, size] of units) {
    if (Math.abs(ms) >= size) {
      const n = Math.floor(ms / size);
      return `${n} ${unit}${n === 1 ? '' : 's'}`;
    }
  }
  return `${Math.max(0, Math.round(ms))} ms`;
}

/** `6 hours` → milliseconds (the schema admits milliseconds to weeks, fixed lengths). */
export function durationMs(text: string): number {
  const m = /^\s*(\d+)\s+([a-z]+?)s?\s*$/i.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  const size: Record<string, number> = { millisecond: 1, second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000 };
  const unit = m[2].toLowerCase();
  const s = size[unit];
  if (s === undefined) throw new Error(`not a duration unit: ${unit}`);
  return Number(m[1]) * s;
}
