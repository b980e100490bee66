/**
 * An experiment readout: runs the one sufficient-statistics statement (./query.ts) on an engine,
 * then applies the pure statistics (./stats/) and the agreed criteria (./decision.ts). The answer
 * carries the audit record (SQL, version, lineage) like every other Tally answer.
 */
import type { Cell, Engine } from '../engines/engine.js';
import { TallyError } from '../errors.js';
import { lineageOf, type Lineage } from '../lineage.js';
import type { Project } from '../project.js';
import type { Expression } from '../query/expression.js';
import { dialectByName, type DialectName } from '../sql/dialects/index.js';
import type { Dialect } from '../sql/dialect.js';
import { renderStatement } from '../sql/render.js';
import { decide, type Decision } from './decision.js';
import { preAgreementChanges, type DefinitionChange } from './pre-agreement.js';
import { experimentQuery, type UnitMetric, type UnitValue } from './query.js';
import type { ExperimentDef } from './schema.js';
import { adjustPValues } from './stats/correction.js';
import { type CupedMoments, cupedSummary, cupedTheta, meanSummary, type Moments, ratioSummary, type Summary } from './stats/moments.js';
import { sampleSizePerVariant } from './stats/power.js';
import { sequentialTest } from './stats/sequential.js';
import { sampleRatioMismatch, type SrmResult } from './stats/srm.js';
import { type Effect, welchTTest } from './stats/welch.js';
import { experimentsOf } from './validate.js';

/** Per-variant sufficient statistics as the warehouse returned them (numbers, for the statistics). */
export interface VariantStatistics {
  variant: string;
  units: number;
  /** Per value id: n is `units`; sum, sum of squares, and the optional pre-period and cross sums. */
  values: Record<string, { sum: number; sumSquares: number; preSum?: number; preSumSquares?: number; preCross?: number; cross?: number }>;
}

export interface VariantSummary {
  variant: string;
  units: number;
  /** Planned share of units (normalised split) and the share observed. */
  plannedShare: number;
  observedShare: number;
}

/** One metric compared between one treatment variant and the control. */
export interface MetricResult {
  metric: string;
  role: 'primary' | 'guardrail';
  /** mean: a mean per unit (conversion metrics: a share of units); ratio: a ratio of per-unit sums. */
  kind: 'mean' | 'ratio';
  variant: string;
  control: { units: number; value: number };
  treatment: { units: number; value: number };
  /** treatment − control in the metric's unit. */
  absolute?: Effect;
  /** (treatment − control) / control, a fraction. */
  relative?: Effect;
  /** The relative lift's p-value after the correction across primary metrics (guardrails: uncorrected). */
  adjustedPValue?: number;
  /** CUPED used (with θ), when the experiment has a pre-period. */
  cuped?: { theta: number };
  /** Units per variant needed to detect the minimum effect at the planned power (from the control's variance). */
  unitsNeeded?: number;
  method: 'welch_t' | 'sequential';
}

export interface Readout {
  experiment: ExperimentDef;
  variants: VariantSummary[];
  srm: SrmResult;
  metrics: MetricResult[];
  decision: Decision;
  /** Commits after the start that changed a primary metric or what it computes from. */
  preAgreement: DefinitionChange[];
  sql: string;
  version: string;
  commit?: string;
  lineage: Lineage;
  /** The cumulative effect over time (primary metrics), when asked for with `timelinePoints`. */
  timeline?: TimelinePoint[];
}

/** The relative lift of a primary metric as it stood at `date` (units and rows up to then). */
export interface TimelinePoint {
  date: string;
  metric: string;
  variant: string;
  units: number;
  estimate: number;
  ciLow: number;
  ciHigh: number;
}

export interface ReadoutOptions {
  /** Access-policy row filters: applied to the assignments and to every metric's rows. */
  rowFilters?: Expression[];
  timeoutMs?: number;
  signal?: AbortSignal;
  /** The moment the readout is for (default now): before the end, an inconclusive test keeps running. */
  now?: Date;
  /** Also compute the cumulative effect at this many dates from the start to the end (or now). */
  timelinePoints?: number;
}

/** The SQL of a readout, for review without running it. */
export function compileReadout(project: Project, name: string, dialect: Dialect | DialectName = 'duckdb', rowFilters: Expression[] = []): { sql: string; def: ExperimentDef; metrics: UnitMetric[]; cuped: boolean } {
  const found = experimentsOf(project.graph).get(name);
  if (!found) {
    const names = [...experimentsOf(project.graph).keys()];
    throw new TallyError('UNKNOWN_METRIC', `unknown experiment '${name}'; the project has ${names.length ? names.map((n) => `'${n}'`).join(', ') : 'none'}`);
  }
  const d = typeof dialect === 'string' ? dialectByName(dialect) : dialect;
  const q = experimentQuery(project.graph, found.def, rowFilters);
  const header = `-- Tally ${project.graph.version}: experiment ${name}\n`;
  return { sql: header + renderStatement(q.statement, d), def: found.def, metrics: q.metrics, cuped: q.cuped };
}

/** Runs an experiment's readout on an engine. */
export async function readExperiment(project: Project, engine: Engine, name: string, options: ReadoutOptions = {}): Promise<Readout> {
  const compiled = compileReadout(project, name, engine.dialect, options.rowFilters ?? []);
  const result = await engine.query(compiled.sql, { timeoutMs: options.timeoutMs, signal: options.signal });
  const names = result.columns.map((c) => c.name);
  const rows = result.rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]])));
  const stats = rows.map((row) => variantStatistics(row, compiled.metrics, compiled.cuped));
  const now = options.now ?? new Date();
  const readout = analyse(compiled.def, compiled.metrics, stats, now);
  const timeline = options.timelinePoints ? await cumulativeEffect(project, engine, compiled.def, options.timelinePoints, now, options) : undefined;
  return {
    ...readout,
    timeline,
    preAgreement: preAgreementChanges(project, compiled.def),
    sql: compiled.sql,
    version: project.version,
    commit: project.commit,
    lineage: lineageOf(project.graph, [...new Set([...compiled.def.primary_metrics, ...compiled.def.guardrail_metrics])]),
  };
}

/**
 * The readout as it would have stood at `points` dates between the start and the end (or now):
 * each date is one more run of the same statement with the end moved to that date, so only
 * units assigned and rows that happened before it count.
 */
async function cumulativeEffect(project: Project, engine: Engine, def: ExperimentDef, points: number, now: Date, options: ReadoutOptions): Promise<TimelinePoint[]> {
  const day = 86_400_000;
  const start = Date.parse(`${def.start.slice(0, 10)}T00:00:00Z`);
  const stop = Math.min(Date.parse(`${def.end.slice(0, 10)}T00:00:00Z`), now.getTime());
  const count = Math.max(1, Math.min(points, 60));
  const dates = [...new Set(Array.from({ length: count }, (_, i) => new Date(start + Math.ceil(((stop - start) * (i + 1)) / count / day) * day).toISOString().slice(0, 10)))];
  const out: TimelinePoint[] = [];
  for (const date of dates) {
    const at: ExperimentDef = { ...def, end: date };
    const q = experimentQuery(project.graph, at, options.rowFilters ?? []);
    const result = await engine.query(renderStatement(q.statement, engine.dialect), { timeoutMs: options.timeoutMs, signal: options.signal });
    const names = result.columns.map((c) => c.name);
    const stats = result.rows.map((row) => variantStatistics(Object.fromEntries(names.map((n, i) => [n, row[i]])), q.metrics, q.cuped));
    for (const m of analyse(at, q.metrics, stats, now).metrics) {
      if (m.role !== 'primary' || !m.relative) continue;
      out.push({ date, metric: m.metric, variant: m.variant, units: m.control.units + m.treatment.units, estimate: m.relative.estimate, ciLow: m.relative.ci[0], ciHigh: m.relative.ci[1] });
    }
  }
  return out;
}

function toNumber(cell: Cell | undefined): number {
  if (cell === null || cell === undefined) return 0;
  if (typeof cell === 'boolean') return cell ? 1 : 0;
  return Number(cell);
}

/** One result row of the readout statement as numbers. */
export function variantStatistics(row: Record<string, Cell>, metrics: UnitMetric[], cuped: boolean): VariantStatistics {
  const values: VariantStatistics['values'] = {};
  const read = (v: UnitValue): void => {
    values[v.id] = {
      sum: toNumber(row[`${v.id}__sum`]),
      sumSquares: toNumber(row[`${v.id}__sum_squares`]),
      ...(cuped ? { preSum: toNumber(row[`${v.id}__pre_sum`]), preSumSquares: toNumber(row[`${v.id}__pre_sum_squares`]), preCross: toNumber(row[`${v.id}__pre_cross`]) } : {}),
    };
  };
  for (const m of metrics) {
    if (m.kind === 'mean') read(m.value);
    else {
      read(m.numerator);
      read(m.denominator);
      values[m.numerator.id].cross = toNumber(row[`${m.numerator.id}__cross`]);
    }
  }
  return { variant: String(row.variant), units: toNumber(row.units), values };
}

/**
 * The statistics and the decision from per-variant sufficient statistics: pure, so that tests
 * feed it generated sums and compare with independent implementations.
 */
export function analyse(def: ExperimentDef, metrics: UnitMetric[], stats: VariantStatistics[], now: Date): Pick<Readout, 'experiment' | 'variants' | 'srm' | 'metrics' | 'decision'> {
  const planned = Object.keys(def.split);
  const byVariant = new Map(stats.map((s) => [s.variant, s]));
  const units = planned.map((v) => byVariant.get(v)?.units ?? 0);
  const total = units.reduce((a, b) => a + b, 0);
  const weight = planned.reduce((s, v) => s + def.split[v], 0);
  const srm = sampleRatioMismatch(units, planned.map((v) => def.split[v]));
  const variants = planned.map((v, i) => ({ variant: v, units: units[i], plannedShare: def.split[v] / weight, observedShare: total ? units[i] / total : 0 }));

  const alpha = def.success.alpha;
  const test = def.success.sequential ? sequentialTest : welchTTest;
  const moments = (s: VariantStatistics | undefined, id: string): Moments => ({ n: s?.units ?? 0, sum: s?.values[id]?.sum ?? 0, sumSquares: s?.values[id]?.sumSquares ?? 0 });
  const control = byVariant.get(def.control);
  const results: MetricResult[] = [];
  for (const m of metrics) {
    const role = def.primary_metrics.includes(m.metric) ? 'primary' : 'guardrail';
    let theta: number | undefined;
    const summary = (s: VariantStatistics | undefined): Summary => {
      if (m.kind === 'ratio') return ratioSummary(moments(s, m.numerator.id), moments(s, m.denominator.id), s?.values[m.numerator.id]?.cross ?? 0);
      if (theta === undefined) return meanSummary(moments(s, m.value.id));
      return cupedSummary(cupedOf(s, m.value.id), theta);
    };
    if (m.kind === 'mean' && def.pre_period) theta = cupedTheta(stats.map((s) => cupedOf(s, m.value.id)));
    const c = summary(control);
    for (const variant of planned) {
      if (variant === def.control) continue;
      const t = summary(byVariant.get(variant));
      const relative = test(c, t, { alpha, relative: true });
      const absolute = test(c, t, { alpha, relative: false });
      const unitsNeeded = def.success.minimum_effect > 0 && c.unadjustedMean !== 0 && c.variance > 0
        ? sampleSizePerVariant({ mean: c.unadjustedMean, variance: c.variance, relativeLift: def.success.minimum_effect, alpha, power: def.success.power })
        : undefined;
      results.push({
        metric: m.metric,
        role,
        kind: m.kind,
        variant,
        control: { units: c.n, value: c.unadjustedMean },
        treatment: { units: t.n, value: t.unadjustedMean },
        absolute,
        relative,
        cuped: theta === undefined ? undefined : { theta },
        unitsNeeded,
        method: def.success.sequential ? 'sequential' : 'welch_t',
      });
    }
  }
  // The correction runs across the primary metrics (per variant); guardrails are each a veto.
  for (const variant of planned) {
    const primaries = results.filter((r) => r.role === 'primary' && r.variant === variant && r.relative);
    const adjusted = adjustPValues(primaries.map((r) => r.relative?.pValue ?? 1), def.success.correction);
    primaries.forEach((r, i) => (r.adjustedPValue = adjusted[i]));
    for (const r of results) if (r.role === 'guardrail' && r.variant === variant) r.adjustedPValue = r.relative?.pValue;
  }
  return { experiment: def, variants, srm, metrics: results, decision: decide(def, srm, results, now) };
}

function cupedOf(s: VariantStatistics | undefined, id: string): CupedMoments {
  const v = s?.values[id];
  const n = s?.units ?? 0;
  return { post: { n, sum: v?.sum ?? 0, sumSquares: v?.sumSquares ?? 0 }, pre: { n, sum: v?.preSum ?? 0, sumSquares: v?.preSumSquares ?? 0 }, sumProducts: v?.preCross ?? 0 };
}
