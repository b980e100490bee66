/**
 * One SQL statement per experiment readout that returns sufficient statistics per variant: the
 * number of units, and per metric the sum and sum of squares of the per-unit values (plus, for
 * ratio metrics, the per-unit numerator and denominator cross-product, and for CUPED the
 * pre-assignment value and its cross-product). No unit-level row leaves the warehouse; the
 * statistics (src/experiments/stats/) work from these sums alone, as GrowthBook's gbstats does.
 *
 * Rows are read through the planner's ScanBuilder (a model's rows, joins derived from entities,
 * metric filters and access-policy row filters), the tree is the SQL AST, and the dialects render
 * it, so experiments spell no SQL of their own.
 */
import type { Measure, SemanticGraph } from '../definitions/graph.js';
import type { Grain } from '../definitions/schema.js';
import { TallyError } from '../errors.js';
import { buildPlan, type MeasureUse, type PlanNode } from '../planner/plan.js';
import { ScanBuilder } from '../planner/scan.js';
import type { Expression } from '../query/expression.js';
import { parseExpressionCached } from '../query/parse-cache.js';
import { parseReference } from '../query/references.js';
import { parseRequest } from '../query/request.js';
import { type Cte, type SelectColumn, type SqlExpr, type Statement, and, col, num } from '../sql/ast.js';
import { type ExperimentDef, experimentWindow } from './schema.js';

/** How a metric becomes one number per unit. */
export type UnitMetric =
  | { kind: 'mean'; metric: string; value: UnitValue }
  /** A ratio of per-unit sums (sum of numerators / sum of denominators), read with the delta method. */
  | { kind: 'ratio'; metric: string; numerator: UnitValue; denominator: UnitValue };

/** One per-unit value: a measure aggregated over the unit's rows after its assignment. */
export interface UnitValue {
  /** CTE and column prefix, unique in the statement. */
  id: string;
  use: MeasureUse;
  /** Conversion metrics: 1 when the unit has any qualifying row, else 0. */
  binary: boolean;
}

/** The compiled readout query and how to read its columns. */
export interface ExperimentQuery {
  statement: Statement;
  metrics: UnitMetric[];
  /** Whether the pre-period (CUPED covariate) columns are present. */
  cuped: boolean;
}

const SUMMABLE = new Set(['sum', 'count', 'count_distinct', 'sum_boolean']);

/**
 * Why a metric has no per-unit value, or undefined when it has one. Per-unit values must add up
 * across a unit's rows; cumulative windows and period offsets are about calendar periods, not units.
 */
export function unitMetricOf(graph: SemanticGraph, metric: string, rowFilters: Expression[] = []): UnitMetric {
  const plan = buildPlan(graph, parseRequest({ metrics: [metric] }), [], rowFilters);
  const node = plan.outputs[0].node;
  let n = 0;
  const value = (node: PlanNode, role: string): UnitValue => {
    const id = `${metric}_${role}`.replace(/[^a-z0-9_]/gi, '_') + `_${n++}`;
    if (node.kind === 'simple') {
      if (!SUMMABLE.has(node.use.measure.agg)) {
        throw new TallyError('UNSUPPORTED', `metric '${node.metric}' aggregates measure '${node.use.measure.name}' with ${node.use.measure.agg}, which does not add up per unit; experiments read sums, counts and distinct counts per unit`);
      }
      return { id, use: node.use, binary: false };
    }
    if (node.kind === 'conversion') return { id, use: node.conversion, binary: true };
    const why =
      node.kind === 'cumulative'
        ? 'is cumulative (a trailing window over calendar periods), which has no per-unit value'
        : node.kind === 'offset'
          ? 'compares calendar periods (an offset), which has no per-unit value'
          : node.kind === 'derived'
            ? 'is derived (a formula over other metrics); experiments read simple, conversion and ratio metrics'
            : 'is a ratio of ratios; a ratio metric in an experiment divides two simple or conversion metrics';
    throw new TallyError('UNSUPPORTED', `metric '${node.metric}' ${why}`);
  };
  if (node.kind === 'ratio') return { kind: 'ratio', metric, numerator: value(node.numerator, 'num'), denominator: value(node.denominator, 'den') };
  return { kind: 'mean', metric, value: value(node, 'value') };
}

const GRAIN_OF: Record<'hour' | 'day' | 'week' | 'month', Grain> = { hour: 'hour', day: 'day', week: 'week', month: 'month' };

function timestamp(text: string): SqlExpr {
  const value = text.length === 10 ? `${text} 00:00:00` : text.replace('T', ' ').padEnd(19, ':00').slice(0, 19);
  return { t: 'literal', value: { kind: 'timestamp', value } };
}

function shifted(arg: SqlExpr, window: string, sign: 1 | -1): SqlExpr {
  const w = experimentWindow(window);
  return { t: 'addInterval', arg, count: sign * w.count, grain: GRAIN_OF[w.unit] };
}

/** Filters that can apply to a model's rows (a row filter on a dimension the model cannot reach does not). */
function reachable(graph: SemanticGraph, scanOf: () => ScanBuilder, filters: Expression[]): Expression[] {
  return filters.filter((f) => {
    try {
      scanOf().filter(f, num(0));
      return true;
    } catch (e) {
      if (e instanceof TallyError) return false;
      throw e;
    }
  });
}

/**
 * Builds the readout statement. Units whose rows name more than one variant are left out (they
 * saw both sides); each unit's metric counts rows at or after its assignment, before the end, and
 * within the attribution window when set; with a pre-period, also the rows in that window before
 * the assignment (the CUPED covariate).
 */
export function experimentQuery(graph: SemanticGraph, def: ExperimentDef, rowFilters: Expression[] = []): ExperimentQuery {
  const purpose = `experiment '${def.name}'`;
  const model = graph.models.get(def.assignment.model);
  if (!model) throw new TallyError('INVALID_DEFINITION', `${purpose}: unknown model '${def.assignment.model}'`);
  const variantDim = model.dimensions.get(def.assignment.variant);
  const timeDim = model.dimensions.get(def.assignment.assigned_at);
  if (!variantDim || !timeDim) throw new TallyError('INVALID_DEFINITION', `${purpose}: model '${model.name}' lacks the variant or assignment-time dimension`);

  const start = timestamp(def.start);
  const end = timestamp(def.end);
  const ctes: Cte[] = [];

  // Assignments: one row per unit, its variant and first assignment time.
  const assign = new ScanBuilder(graph, model, purpose, 'UTC');
  const unit = assign.entity(def.assignment.entity);
  const identity = [...model.identities][0];
  if (!identity) throw new TallyError('INVALID_DEFINITION', `${purpose}: model '${model.name}' has no primary entity; give it one (primary_entity: assignment) so its dimensions can be read`);
  const variantExpr = assign.reference({ kind: 'dimension', text: `${identity}.${variantDim.name}`, entityPath: [identity], dimension: variantDim.name, isTime: false }).expr;
  const assignedAt = assign.instant(timeDim);
  if (def.assignment.filter) assign.filter(parseExpressionCached(def.assignment.filter, `assignment filter of ${purpose}`), assignedAt);
  for (const f of reachable(graph, () => new ScanBuilder(graph, model, purpose, 'UTC'), rowFilters)) assign.filter(f, assignedAt);
  assign.condition({ t: 'binary', op: '>=', left: assignedAt, right: start });
  assign.condition({ t: 'binary', op: '<', left: assignedAt, right: end });
  ctes.push({
    name: 'assignment',
    comment: 'One row per unit: its variant and first assignment time (units seen in several variants are left out)',
    query: {
      t: 'select',
      columns: [
        { expr: unit, alias: 'unit' },
        { expr: { t: 'aggregate', agg: 'min', arg: variantExpr }, alias: 'variant' },
        { expr: { t: 'aggregate', agg: 'min', arg: assignedAt }, alias: 'assigned_at' },
      ],
      ...assign.build(),
      groupBy: [unit],
      having: { t: 'binary', op: '=', left: { t: 'aggregate', agg: 'count_distinct', arg: variantExpr }, right: num(1) },
    },
  });

  const metrics = [...new Set([...def.primary_metrics, ...def.guardrail_metrics])].map((m) => unitMetricOf(graph, m, rowFilters));
  const values = metrics.flatMap((m) => (m.kind === 'mean' ? [m.value] : [m.numerator, m.denominator]));
  const cuped = def.pre_period !== undefined;

  for (const v of values) ctes.push(unitValueCte(graph, def, v, rowFilters, end, purpose));

  // Units with every value (0 where the unit had no rows), then the sums per variant.
  const unitColumns: SelectColumn[] = [{ expr: col('a', 'variant'), alias: 'variant' }];
  for (const v of values) {
    const of = (c: string): SqlExpr => {
      const raw: SqlExpr = { t: 'coalesce', args: [col(v.id, c), num(0)] };
      return v.binary ? { t: 'case', branches: [{ when: { t: 'binary', op: '>', left: raw, right: num(0) }, then: num(1) }], otherwise: num(0) } : raw;
    };
    unitColumns.push({ expr: of('value'), alias: v.id });
    if (cuped) unitColumns.push({ expr: of('pre'), alias: `${v.id}_pre` });
  }
  ctes.push({
    name: 'units',
    comment: 'Every assigned unit with its metric values after assignment (0 without rows)',
    query: {
      t: 'select',
      columns: unitColumns,
      from: { t: 'cte', name: 'assignment', alias: 'a' },
      joins: values.map((v) => ({ type: 'left' as const, item: { t: 'cte' as const, name: v.id, alias: v.id }, on: { t: 'binary' as const, op: '=' as const, left: col(v.id, 'unit'), right: col('a', 'unit') } })),
    },
  });

  const sum = (e: SqlExpr): SqlExpr => ({ t: 'aggregate', agg: 'sum', arg: e });
  const times = (a: SqlExpr, b: SqlExpr): SqlExpr => ({ t: 'binary', op: '*', left: a, right: b });
  const u = (c: string): SqlExpr => col('units', c);
  const columns: SelectColumn[] = [
    { expr: u('variant'), alias: 'variant' },
    { expr: { t: 'aggregate', agg: 'count_star' }, alias: 'units' },
  ];
  for (const v of values) {
    columns.push({ expr: sum(u(v.id)), alias: `${v.id}__sum` }, { expr: sum(times(u(v.id), u(v.id))), alias: `${v.id}__sum_squares` });
    if (cuped) {
      const pre = u(`${v.id}_pre`);
      columns.push({ expr: sum(pre), alias: `${v.id}__pre_sum` }, { expr: sum(times(pre, pre)), alias: `${v.id}__pre_sum_squares` }, { expr: sum(times(u(v.id), pre)), alias: `${v.id}__pre_cross` });
    }
  }
  for (const m of metrics) {
    if (m.kind === 'ratio') columns.push({ expr: sum(times(u(m.numerator.id), u(m.denominator.id))), alias: `${m.numerator.id}__cross` });
  }
  return {
    // ORDER BY names the output column: in ORDER BY, Trino resolves "units" to the output column
    // `units` (the COUNT) before the CTE, so "units"."variant" there is refused as not a ROW.
    statement: { ctes, body: { t: 'select', columns, from: { t: 'cte', name: 'units' }, groupBy: [u('variant')], orderBy: [{ expr: col(undefined, 'variant') }] } },
    metrics,
    cuped,
  };
}

function unitValueCte(graph: SemanticGraph, def: ExperimentDef, v: UnitValue, rowFilters: Expression[], end: SqlExpr, purpose: string): Cte {
  const measure: Measure = v.use.measure;
  const what = `${purpose}, metric measure '${measure.name}'`;
  if (!measure.timeDimension) throw new TallyError('UNSUPPORTED', `${what} has no time dimension, so it cannot be counted after each unit's assignment`);
  const scan = new ScanBuilder(graph, measure.model, what, 'UTC');
  const time = scan.instant(measure.timeDimension);
  let unitExpr: SqlExpr;
  try {
    const ref = parseReference(graph, def.assignment.entity);
    if (ref.kind !== 'entity') throw new TallyError('INVALID_DEFINITION', `'${def.assignment.entity}' is not an entity`);
    unitExpr = scan.reference(ref).expr;
  } catch (e) {
    if (!(e instanceof TallyError)) throw e;
    throw new TallyError('INVALID_DEFINITION', `${what}: model '${measure.model.name}' does not reach the unit entity '${def.assignment.entity}' (${e.message})`);
  }
  const rowFilterSet = new Set(rowFilters);
  for (const f of v.use.filters) if (!rowFilterSet.has(f)) scan.filter(f, time);
  for (const f of reachable(graph, () => new ScanBuilder(graph, measure.model, what, 'UTC'), rowFilters)) scan.filter(f, time);
  scan.join({ type: 'inner', item: { t: 'cte', name: 'assignment', alias: 'a' }, on: { t: 'binary', op: '=', left: unitExpr, right: col('a', 'unit') } });
  const assignedAt = col('a', 'assigned_at');
  const from = def.pre_period ? shifted(assignedAt, def.pre_period, -1) : assignedAt;
  scan.condition({ t: 'binary', op: '>=', left: time, right: from });
  scan.condition({ t: 'binary', op: '<', left: time, right: end });
  const after: SqlExpr[] = [{ t: 'binary', op: '>=', left: time, right: assignedAt }];
  if (def.attribution_window) after.push({ t: 'binary', op: '<', left: time, right: shifted(assignedAt, def.attribution_window, 1) });
  const value = scan.measure(measure);
  const agg = measure.agg === 'count_distinct' ? 'count_distinct' : measure.agg === 'count' ? 'count' : measure.agg === 'sum_boolean' ? 'sum_boolean' : 'sum';
  const columns: SelectColumn[] = [
    { expr: col('a', 'unit'), alias: 'unit' },
    { expr: { t: 'aggregate', agg, arg: value, filter: and(after) }, alias: 'value' },
  ];
  if (def.pre_period) columns.push({ expr: { t: 'aggregate', agg, arg: value, filter: { t: 'binary', op: '<', left: time, right: assignedAt } }, alias: 'pre' });
  return {
    name: v.id,
    comment: `Measure '${measure.name}' per unit after assignment${def.pre_period ? ' (and in the pre-period, for CUPED)' : ''}`,
    query: { t: 'select', columns, ...scan.build(), groupBy: [col('a', 'unit')] },
  };
}
