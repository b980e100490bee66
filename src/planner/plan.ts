/**
 * Request → logical plan: which metric nodes (simple aggregations, cumulative windows,
 * conversions, ratios, derived formulas, offsets) answer the request, with the filters and time
 * shifts each leaf inherits. The plan is plain data; lower/ turns it into SQL, one module per node kind.
 *
 * Over 400 lines on purpose: planning is one recursive walk over the metric kinds (NodeBuilder's
 * metric/make call each other with the filters and shifts passed down, memoised per signature),
 * so a split by kind would scatter one recursion over modules that all import each other.
 */
import type { CustomGrain, Measure, SemanticGraph } from '../definitions/graph.js';
import {
  GRAIN_ORDER,
  type Grain,
  isGrain,
  type MeasureInputDef,
  type MetricDef,
  type MetricInputDef,
  parseWindow,
  type Window,
  windowUnit,
} from '../definitions/schema.js';
import { didYouMean, TallyError } from '../errors.js';
import { type Expression, expressionsKey } from '../query/expression.js';
import { parseExpressionCached } from '../query/parse-cache.js';
import { typecheckFilter } from '../query/typecheck.js';
import { parseReference, type Reference, type TimeSpec } from '../query/references.js';
import type { Request } from '../query/request.js';
import { snapRange } from '../query/time.js';

export interface GroupKey {
  /** The reference as requested; the output column's name. */
  text: string;
  ref: Reference;
  /** Internal column name in the generated SQL. */
  column: string;
  /**
   * For time keys (metric_time and time dimensions): how the time is bucketed. A reference without
   * a grain gets the default one: the metrics' time_granularity (or their time dimensions' grain,
   * at least a day) for metric_time, the dimension's own grain for a time dimension.
   */
  time?: TimeSpec;
}

/** Gaps in a metric's series: filled with a value, and/or one row per period of a time spine. */
export interface Gaps {
  fill?: number;
  /**
   * The fill is an empty sum's 0, to be typed like the sum (a decimal's 0.00, also on engines
   * whose untyped 0 would lose the scale).
   */
  typedZero?: boolean;
  joinToSpine: boolean;
}

export interface MeasureUse {
  measure: Measure;
  filters: Expression[];
}

/** An offset: back by a window, to the start of a grain, or to the same day of an earlier custom period. */
export type Shift = { kind: 'window'; window: Window } | { kind: 'toGrain'; grain: Grain } | { kind: 'customWindow'; custom: CustomGrain; count: number };

interface NodeBase {
  /** Column that holds this node's value; unique in the statement. */
  id: string;
  metric: string;
}

export type PlanNode =
  | (NodeBase & { kind: 'simple'; use: MeasureUse; gaps: Gaps })
  | (NodeBase & { kind: 'cumulative'; use: MeasureUse; window?: Window; grainToDate?: Grain; periodAgg: 'first' | 'last' | 'average'; gaps: Gaps })
  | (NodeBase & {
      kind: 'conversion';
      base: MeasureUse;
      conversion: MeasureUse;
      entity: string;
      window?: Window;
      calculation: 'conversion_rate' | 'conversions';
      /** References equal on the base event and its conversion (e.g. the same session). */
      constantProperties: { base: string; conversion: string }[];
      /** What a group without conversions counts (the conversion measure's fill_nulls_with, or 0 for a count); else it has no value. */
      conversionFill?: number;
      /** Gaps of the metric: join_to_timespine of either input; a count of conversions reads as conversionFill where missing. */
      gaps: Gaps;
    })
  | (NodeBase & { kind: 'ratio'; numerator: PlanNode; denominator: PlanNode })
  | (NodeBase & { kind: 'derived'; expr: Expression; inputs: { alias: string; node: PlanNode }[] })
  | (NodeBase & { kind: 'offset'; input: PlanNode; shift: Shift });

/** A plan node before it is given its column name. */
export type NodeSpec = PlanNode extends infer N ? (N extends PlanNode ? Omit<N, 'id'> : never) : never;

export interface Plan {
  keys: GroupKey[];
  /** The metric_time keys (a request may group by several grains of it). */
  timeKeys: GroupKey[];
  /** Metrics, in the order requested; none for a request of group-by values only. */
  outputs: { name: string; node: PlanNode }[];
  /** The request's filters (each metric's leaves carry them too), row filters included. */
  where: Expression[];
  /** Access-policy row filters (also in `where`): they also restrict conversion events and metrics used in filters. */
  rowFilters: Expression[];
  /** Without metrics: the smallest and largest value of each group-by. */
  minMax: boolean;
  /** Without metrics: distinct values (true) or a row per underlying row. */
  distinct: boolean;
  /** Wall-clock range in the request's zone, widened to whole periods: [start, end). */
  range: { start?: Date; end?: Date };
  timeZone: string;
  order: { column: string; desc: boolean }[];
  limit?: number;
  fillGaps: boolean;
}

/**
 * `filters` are structured filters (built by the API from typed input) applied like `where`;
 * `rowFilters` are access-policy row filters, applied like them and wherever else rows are read.
 */
export function buildPlan(graph: SemanticGraph, request: Request, filters: Expression[] = [], rowFilters: Expression[] = []): Plan {
  const keys: GroupKey[] = [];
  const used = new Set<string>();
  for (const text of request.groupBy) {
    if (used.has(text)) throw new TallyError('INVALID_REQUEST', `'${text}' is grouped by twice; list it once`);
    used.add(text);
    const ref = parseReference(graph, text);
    keys.push({ text, ref, column: text.replace(/\./g, '__') });
  }
  for (const k of keys) {
    if (k.ref.kind === 'metric') {
      throw new TallyError('INVALID_REQUEST', `'${k.text}' is a metric per ${k.ref.entityPath.join('.')}; it can filter a request but not group it. Group by '${k.ref.entityPath.join('.')}' and request '${k.ref.metric}'`);
    }
  }
  for (const name of request.metrics) {
    if (!graph.metrics.has(name)) {
      throw new TallyError('UNKNOWN_METRIC', `unknown metric '${name}'.${didYouMean(name, graph.metrics.keys())} Run 'tally list' to see every metric`);
    }
  }
  const metricTimeDefault = defaultMetricTimeGrain(graph, request.metrics);
  for (const k of keys) {
    if (k.ref.kind === 'metric_time') k.time = k.ref.time ?? metricTimeDefault;
    else if (k.ref.kind === 'dimension' && k.ref.isTime) k.time = k.ref.time ?? { kind: 'grain', grain: dimensionGrain(graph, k.ref) };
  }
  const timeKeys = keys.filter((k) => k.ref.kind === 'metric_time');

  // The caller's filters are typed and made total (src/query/typecheck.ts); row filters are the policy's.
  const callerFilters = [...(request.where?.trim() ? [parseExpressionCached(request.where, 'where')] : []), ...filters];
  const where = [...callerFilters.map((f) => typecheckFilter(graph, f)), ...rowFilters];
  const builder = new NodeBuilder(graph);
  const outputs: Plan['outputs'] = [];
  const seen = new Set<string>();
  for (const name of request.metrics) {
    if (seen.has(name)) throw new TallyError('INVALID_REQUEST', `metric '${name}' is requested twice; list it once`);
    seen.add(name);
    outputs.push({ name, node: builder.metric(name, where, name) });
  }

  const columns = new Map<string, string>([...keys.map((k) => [k.text, k.column] as const), ...outputs.map((o) => [o.name, o.name] as const)]);
  const order = request.orderBy.map((text) => {
    const desc = text.startsWith('-');
    const name = desc ? text.slice(1) : text;
    const column = columns.get(name);
    if (!column) {
      throw new TallyError('INVALID_REQUEST', `cannot order by '${name}': order by one of the requested metrics or group-bys (${[...columns.keys()].join(', ')})`);
    }
    return { column, desc };
  });

  // A range is widened to whole periods of the finest metric_time grain requested (without one,
  // of the grain metric_time would default to, so that monthly data is read by whole months).
  const specs = timeKeys.length ? timeKeys.map((k) => k.time) : [metricTimeDefault];
  const grains = specs.map((t) => (t?.kind === 'grain' ? t.grain : t?.kind === 'custom' ? t.custom.spine.grain : 'day'));
  const rangeGrain = grains.reduce<Grain>((a, b) => (GRAIN_ORDER[b] < GRAIN_ORDER[a] ? b : a), grains[0] ?? 'day');
  const range = snapRange(request.from, request.to, rangeGrain);
  if ((request.minMax || !request.distinct) && outputs.length) {
    throw new TallyError('INVALID_REQUEST', `'minMax' and 'distinct' apply to requests of group-by values only; remove the metrics or the option`);
  }
  return { keys, timeKeys, outputs, where, rowFilters, minMax: request.minMax, distinct: request.distinct, range, timeZone: request.timeZone, order, limit: request.limit, fillGaps: request.fillGaps };
}

/** The result's columns in order: the group-bys as requested (or their minimum and maximum), then the metrics. */
export function outputColumns(plan: Plan): { name: string; role: 'dimension' | 'metric' }[] {
  const keys = plan.minMax ? plan.keys.flatMap((k) => [`${k.text}.min`, `${k.text}.max`]) : plan.keys.map((k) => k.text);
  return [...keys.map((name) => ({ name, role: 'dimension' as const })), ...plan.outputs.map((o) => ({ name: o.name, role: 'metric' as const }))];
}

function inputOption(input: MeasureInputDef | undefined, key: 'fill_nulls_with' | 'join_to_timespine'): number | boolean | undefined {
  return input && typeof input !== 'string' ? input[key] : undefined;
}

function gapsOf(graph: SemanticGraph, def: MetricDef, measure: Measure): Gaps {
  const input = def.type === 'simple' || def.type === 'cumulative' ? def.measure : undefined;
  const fill = (def.type === 'simple' || def.type === 'cumulative' ? def.fill_nulls_with : undefined) ?? inputOption(input, 'fill_nulls_with');
  const joinToSpine = (def.type === 'simple' && def.join_to_timespine === true) || inputOption(input, 'join_to_timespine') === true;
  const explicit = typeof fill === 'number' ? fill : undefined;
  return { fill: emptyValue(graph, measure, explicit), typedZero: explicit === undefined && measure.agg === 'sum' && graph.semantics === 'tally', joinToSpine };
}

/** Aggregations whose value over no rows is 0 (COUNT's own, and the sum of nothing). */
const ZERO_WHEN_EMPTY = new Set<Measure['agg']>(['count', 'count_distinct', 'sum', 'sum_boolean']);

/**
 * What a measure reads as in a group or period of the answer that has no rows: its
 * fill_nulls_with when it has one, else 0 for counts and sums (unless the project keeps
 * MetricFlow's null, `semantics: metricflow`), else nothing (NULL: no average of no rows).
 */
export function emptyValue(graph: SemanticGraph, measure: Measure, fillNullsWith: number | undefined): number | undefined {
  if (fillNullsWith !== undefined) return fillNullsWith;
  return graph.semantics === 'tally' && ZERO_WHEN_EMPTY.has(measure.agg) ? 0 : undefined;
}

/** The grain of a time dimension reference without one: the dimension's own. */
function dimensionGrain(graph: SemanticGraph, ref: Extract<Reference, { kind: 'dimension' }>): Grain {
  const owner = ref.entityPath[ref.entityPath.length - 1];
  for (const m of graph.entityOwners.get(owner) ?? []) {
    const d = m.dimensions.get(ref.dimension);
    if (d?.type === 'time') return d.granularity;
  }
  return 'day';
}

/** The measures a metric aggregates, through ratios and derived formulas. */
export function leafMeasures(graph: SemanticGraph, name: string, seen = new Set<string>()): Measure[] {
  const metric = graph.metrics.get(name);
  if (!metric || seen.has(name)) return [];
  seen.add(name);
  const def = metric.def;
  const measure = (input: MeasureInputDef): Measure[] => {
    const m = graph.measures.get(typeof input === 'string' ? input : input.name);
    return m ? [m] : [];
  };
  const sub = (input: MetricInputDef): Measure[] => leafMeasures(graph, typeof input === 'string' ? input : input.name, seen);
  switch (def.type) {
    case 'simple':
    case 'cumulative':
      return measure(def.measure);
    case 'conversion':
      return measure(def.base_measure);
    case 'ratio':
      return [...sub(def.numerator), ...sub(def.denominator)];
    case 'derived':
      return def.metrics.flatMap(sub);
  }
}

/**
 * metric_time without a grain: each metric's time_granularity, or else the grain of its time
 * dimensions (the coarsest of them, but no finer than a day); the coarsest over the metrics, so
 * that every metric can be shown at it.
 */
function defaultMetricTimeGrain(graph: SemanticGraph, metrics: string[]): TimeSpec {
  // The same few metric lists are asked all day: their default grain is kept per graph.
  let known = defaultGrains.get(graph);
  if (!known) defaultGrains.set(graph, (known = new Map()));
  const key = metrics.join(',');
  let spec = known.get(key);
  if (!spec) {
    spec = defaultMetricTimeGrainUncached(graph, metrics);
    if (known.size >= 10_000) known.clear();
    known.set(key, spec);
  }
  return spec;
}
const defaultGrains = new WeakMap<SemanticGraph, Map<string, TimeSpec>>();

function defaultMetricTimeGrainUncached(graph: SemanticGraph, metrics: string[]): TimeSpec {
  const specs: TimeSpec[] = [];
  for (const name of metrics) {
    const def = graph.metrics.get(name)?.def;
    if (!def) continue;
    const configured = def.time_granularity;
    if (configured && isGrain(configured)) {
      specs.push({ kind: 'grain', grain: configured });
      continue;
    }
    const custom = configured ? graph.customGrains.get(configured) : undefined;
    if (custom) {
      specs.push({ kind: 'custom', custom });
      continue;
    }
    const grains = leafMeasures(graph, name).flatMap((m) => (m.timeDimension ? [m.timeDimension.granularity] : []));
    const coarsest = grains.reduce<Grain>((a, b) => (GRAIN_ORDER[b] > GRAIN_ORDER[a] ? b : a), 'day');
    specs.push({ kind: 'grain', grain: coarsest });
  }
  const order = (s: TimeSpec): number => (s.kind === 'grain' ? GRAIN_ORDER[s.grain] : s.kind === 'custom' ? GRAIN_ORDER[s.custom.spine.grain] + 0.5 : GRAIN_ORDER.day);
  return specs.reduce<TimeSpec | undefined>((a, b) => (a === undefined || order(b) > order(a) ? b : a), undefined) ?? { kind: 'grain', grain: 'day' };
}

class NodeBuilder {
  private readonly ids = new Set<string>();
  private readonly bySignature = new Map<string, PlanNode>();

  constructor(private readonly graph: SemanticGraph) {}

  private id(preferred: string): string {
    let id = preferred;
    for (let n = 2; this.ids.has(id); n++) id = `${preferred}_${n}`;
    this.ids.add(id);
    return id;
  }

  /** One node per distinct (metric, filters, shifts): a metric used twice is computed once. */
  private memo(signature: string, make: () => NodeSpec, preferred: string): PlanNode {
    const existing = this.bySignature.get(signature);
    if (existing) return existing;
    const node = { ...make(), id: this.id(preferred) } as PlanNode;
    this.bySignature.set(signature, node);
    return node;
  }

  metric(name: string, filters: Expression[], preferred: string): PlanNode {
    const metric = this.graph.metrics.get(name);
    if (!metric) throw new TallyError('UNKNOWN_METRIC', `unknown metric '${name}'`);
    const def = metric.def;
    const own = def.filter ? [parseDefinitionFilter(def.filter, name)] : [];
    const all = [...filters, ...own];
    const signature = all.length ? `${name}\0${expressionsKey(all)}` : name;
    return this.memo(signature, () => this.make(def, all), preferred);
  }

  private make(def: MetricDef, filters: Expression[]): NodeSpec {
    const use = (input: MeasureInputDef): MeasureUse => {
      const name = typeof input === 'string' ? input : input.name;
      const measure = this.graph.measures.get(name);
      if (!measure) throw new TallyError('UNKNOWN_METRIC', `metric '${def.name}' uses unknown measure '${name}'`);
      const extra = typeof input !== 'string' && input.filter ? [parseDefinitionFilter(input.filter, def.name)] : [];
      return { measure, filters: [...filters, ...extra] };
    };
    switch (def.type) {
      case 'simple':
        {
        const u = use(def.measure);
        return { kind: 'simple', metric: def.name, use: u, gaps: gapsOf(this.graph, def, u.measure) };
      }
      case 'cumulative': {
        const u = use(def.measure);
        return {
          kind: 'cumulative',
          metric: def.name,
          use: u,
          window: def.window ? standardWindow(def.window, def.name) : undefined,
          grainToDate: def.grain_to_date,
          periodAgg: def.period_agg,
          gaps: gapsOf(this.graph, def, u.measure),
        };
      }
      case 'conversion':
        return {
          kind: 'conversion',
          metric: def.name,
          base: use(def.base_measure),
          // The request's filter describes the base events; the conversion events keep their own.
          conversion: { ...use(def.conversion_measure), filters: typeof def.conversion_measure !== 'string' && def.conversion_measure.filter ? [parseDefinitionFilter(def.conversion_measure.filter, def.name)] : [] },
          entity: def.entity,
          window: def.window ? standardWindow(def.window, def.name) : undefined,
          calculation: def.calculation,
          constantProperties: def.constant_properties.map((p) => ({ base: p.base_property, conversion: p.conversion_property })),
          conversionFill: emptyValue(this.graph, use(def.conversion_measure).measure, inputOption(def.conversion_measure, 'fill_nulls_with') as number | undefined),
          gaps: {
            fill: def.calculation === 'conversions' ? emptyValue(this.graph, use(def.conversion_measure).measure, inputOption(def.conversion_measure, 'fill_nulls_with') as number | undefined) : undefined,
            joinToSpine: inputOption(def.base_measure, 'join_to_timespine') === true || inputOption(def.conversion_measure, 'join_to_timespine') === true,
          },
        };
      case 'ratio':
        return {
          kind: 'ratio',
          metric: def.name,
          numerator: this.input(def.name, def.numerator, filters),
          denominator: this.input(def.name, def.denominator, filters),
        };
      case 'derived':
        return {
          kind: 'derived',
          metric: def.name,
          expr: parseDefinitionFilter(def.expr, def.name),
          inputs: def.metrics.map((input) => ({
            alias: typeof input === 'string' ? input : (input.alias ?? input.name),
            node: this.input(def.name, input, filters),
          })),
        };
    }
  }

  private offsetWindow(text: string, metric: string): Shift {
    const { count, unit } = windowUnit(text);
    const custom = this.graph.customGrains.get(unit);
    return custom ? { kind: 'customWindow', custom, count } : { kind: 'window', window: standardWindow(text, metric) };
  }

  private input(parent: string, input: MetricInputDef, filters: Expression[]): PlanNode {
    const name = typeof input === 'string' ? input : input.name;
    const extra = typeof input !== 'string' && input.filter ? [parseDefinitionFilter(input.filter, parent)] : [];
    const node = this.metric(name, [...filters, ...extra], name);
    if (typeof input === 'string' || (!input.offset_window && !input.offset_to_grain)) return node;
    const shift: Shift = input.offset_window ? this.offsetWindow(input.offset_window, parent) : { kind: 'toGrain', grain: input.offset_to_grain as Grain };
    const signature = JSON.stringify({ offset: node.id, shift });
    const label = input.alias ?? `${name}_offset`;
    return this.memo(signature, () => ({ kind: 'offset', metric: name, input: node, shift }), label);
  }

}

/** Whether moving a period start of `grain` by `window` lands on another period start. */
export function shiftFitsGrain(window: Window, grain: Grain): boolean {
  const months: Partial<Record<Grain, number>> = { month: 1, quarter: 3, year: 12 };
  const ms: Partial<Record<Grain, number>> = { millisecond: 1, second: 1e3, minute: 6e4, hour: 3.6e6, day: 8.64e7, week: 6.048e8 };
  const wm = months[window.grain];
  const gm = months[grain];
  if (gm !== undefined) return wm !== undefined && (wm * window.count) % gm === 0;
  if (wm !== undefined) return GRAIN_ORDER[grain] <= GRAIN_ORDER.day;
  return ((ms[window.grain] ?? 0) * window.count) % (ms[grain] ?? 1) === 0;
}

/** A window of a standard grain; windows of custom grains are not supported yet. */
function standardWindow(text: string, metric: string): Window {
  const window = parseWindow(text);
  if (!window) throw new TallyError('UNSUPPORTED', `metric '${metric}': a window of '${text}' counts periods of a custom grain, which Tally does not support yet; use a standard grain (days, weeks, months…)`);
  return window;
}

function parseDefinitionFilter(text: string, metric: string): Expression {
  try {
    return parseExpressionCached(text, `metric '${metric}'`);
  } catch (e) {
    if (e instanceof TallyError) throw new TallyError('INVALID_DEFINITION', `metric '${metric}': ${e.message}`);
    throw e;
  }
}
