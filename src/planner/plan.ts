/**
 * Request → logical plan: which metric nodes (simple aggregations, cumulative windows,
 * conversions, ratios, derived formulas, offsets) answer the request, with the filters and time
 * shifts each leaf inherits. The plan is plain data; lower.ts turns it into SQL.
 */
import type { Measure, SemanticGraph } from '../definitions/graph.js';
import {
  GRAIN_ORDER,
  type Grain,
  type MeasureInputDef,
  type MetricDef,
  type MetricInputDef,
  parseWindow,
  type Window,
} from '../definitions/schema.js';
import { didYouMean, TallyError } from '../errors.js';
import type { Expression } from '../query/expression.js';
import { parseExpression } from '../query/parse-expression.js';
import { parseReference, type Reference } from '../query/references.js';
import type { Request } from '../query/request.js';
import { snapRange } from '../query/time.js';

export interface GroupKey {
  /** The reference as requested; the output column's name. */
  text: string;
  ref: Reference;
  /** Internal column name in the generated SQL. */
  column: string;
}

export interface MeasureUse {
  measure: Measure;
  filters: Expression[];
}

export type Shift = { kind: 'window'; window: Window } | { kind: 'toGrain'; grain: Grain };

interface NodeBase {
  /** Column that holds this node's value; unique in the statement. */
  id: string;
  metric: string;
}

export type PlanNode =
  | (NodeBase & { kind: 'simple'; use: MeasureUse })
  | (NodeBase & { kind: 'cumulative'; use: MeasureUse; window?: Window; grainToDate?: Grain; periodAgg: 'first' | 'last' | 'average' })
  | (NodeBase & { kind: 'conversion'; base: MeasureUse; conversion: MeasureUse; entity: string; window?: Window; calculation: 'conversion_rate' | 'conversions' })
  | (NodeBase & { kind: 'ratio'; numerator: PlanNode; denominator: PlanNode })
  | (NodeBase & { kind: 'derived'; expr: Expression; inputs: { alias: string; node: PlanNode }[] })
  | (NodeBase & { kind: 'offset'; input: PlanNode; shift: Shift });

/** A plan node before it is given its column name. */
export type NodeSpec = PlanNode extends infer N ? (N extends PlanNode ? Omit<N, 'id'> : never) : never;

export interface Plan {
  keys: GroupKey[];
  /** The metric_time key, when the request groups by time. */
  timeKey?: GroupKey & { grain: Grain };
  outputs: { name: string; node: PlanNode; fill?: number; joinToSpine: boolean }[];
  /** Wall-clock range in the request's zone, widened to whole periods: [start, end). */
  range: { start?: Date; end?: Date };
  timeZone: string;
  order: { column: string; desc: boolean }[];
  limit?: number;
  fillGaps: boolean;
}

/** `filters` are structured filters (built by the API from typed input) applied like `where`. */
export function buildPlan(graph: SemanticGraph, request: Request, filters: Expression[] = []): Plan {
  const keys: GroupKey[] = [];
  const used = new Set<string>();
  for (const text of request.groupBy) {
    if (used.has(text)) throw new TallyError('INVALID_REQUEST', `'${text}' is grouped by twice; list it once`);
    used.add(text);
    const ref = parseReference(graph, text);
    keys.push({ text, ref, column: text.replace(/\./g, '__') });
  }
  const timeKeys = keys.filter((k) => k.ref.kind === 'metric_time');
  if (timeKeys.length > 1) {
    throw new TallyError('INVALID_REQUEST', `group by one grain of metric_time at a time (got ${timeKeys.map((k) => k.text).join(', ')})`);
  }
  const timeKey = timeKeys[0]
    ? { ...timeKeys[0], grain: (timeKeys[0].ref.kind === 'metric_time' && timeKeys[0].ref.grain) || 'day' }
    : undefined;

  const where = [...(request.where?.trim() ? [parseExpression(request.where, { context: 'where' })] : []), ...filters];
  const builder = new NodeBuilder(graph, timeKey?.grain);
  const outputs: Plan['outputs'] = [];
  const seen = new Set<string>();
  for (const name of request.metrics) {
    if (seen.has(name)) throw new TallyError('INVALID_REQUEST', `metric '${name}' is requested twice; list it once`);
    seen.add(name);
    const metric = graph.metrics.get(name);
    if (!metric) {
      throw new TallyError('UNKNOWN_METRIC', `unknown metric '${name}'.${didYouMean(name, graph.metrics.keys())} Run 'tally list' to see every metric`);
    }
    const node = builder.metric(name, where, name);
    const def = metric.def;
    const measureInput = def.type === 'simple' ? def.measure : undefined;
    const fill = (def.type === 'simple' || def.type === 'cumulative' ? def.fill_nulls_with : undefined) ?? inputOption(measureInput, 'fill_nulls_with');
    const joinToSpine = (def.type === 'simple' && def.join_to_timespine) || inputOption(measureInput, 'join_to_timespine') === true;
    outputs.push({ name, node, fill: typeof fill === 'number' ? fill : undefined, joinToSpine });
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

  const range = snapRange(request.from, request.to, timeKey?.grain ?? 'day');
  return { keys, timeKey, outputs, range, timeZone: request.timeZone, order, limit: request.limit, fillGaps: request.fillGaps };
}

function inputOption(input: MeasureInputDef | undefined, key: 'fill_nulls_with' | 'join_to_timespine'): number | boolean | undefined {
  return input && typeof input !== 'string' ? input[key] : undefined;
}

class NodeBuilder {
  private readonly ids = new Set<string>();
  private readonly bySignature = new Map<string, PlanNode>();

  constructor(
    private readonly graph: SemanticGraph,
    private readonly timeGrain: Grain | undefined,
  ) {}

  private id(preferred: string, signature: string): string {
    let id = preferred;
    for (let n = 2; this.ids.has(id); n++) id = `${preferred}_${n}`;
    this.ids.add(id);
    void signature;
    return id;
  }

  /** One node per distinct (metric, filters, shifts): a metric used twice is computed once. */
  private memo(signature: string, make: () => NodeSpec, preferred: string): PlanNode {
    const existing = this.bySignature.get(signature);
    if (existing) return existing;
    const node = { ...make(), id: this.id(preferred, signature) } as PlanNode;
    this.bySignature.set(signature, node);
    return node;
  }

  metric(name: string, filters: Expression[], preferred: string): PlanNode {
    const metric = this.graph.metrics.get(name);
    if (!metric) throw new TallyError('UNKNOWN_METRIC', `unknown metric '${name}'`);
    const def = metric.def;
    const own = def.filter ? [parseDefinitionFilter(def.filter, name)] : [];
    const all = [...filters, ...own];
    const signature = JSON.stringify({ name, all });
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
        return { kind: 'simple', metric: def.name, use: use(def.measure) };
      case 'cumulative':
        return {
          kind: 'cumulative',
          metric: def.name,
          use: use(def.measure),
          window: def.window ? parseWindow(def.window) : undefined,
          grainToDate: def.grain_to_date,
          periodAgg: def.period_agg,
        };
      case 'conversion':
        return {
          kind: 'conversion',
          metric: def.name,
          base: use(def.base_measure),
          // The request's filter describes the base events; the conversion events keep their own.
          conversion: { ...use(def.conversion_measure), filters: typeof def.conversion_measure !== 'string' && def.conversion_measure.filter ? [parseDefinitionFilter(def.conversion_measure.filter, def.name)] : [] },
          entity: def.entity,
          window: def.window ? parseWindow(def.window) : undefined,
          calculation: def.calculation,
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

  private input(parent: string, input: MetricInputDef, filters: Expression[]): PlanNode {
    const name = typeof input === 'string' ? input : input.name;
    const extra = typeof input !== 'string' && input.filter ? [parseDefinitionFilter(input.filter, parent)] : [];
    const node = this.metric(name, [...filters, ...extra], name);
    if (typeof input === 'string' || (!input.offset_window && !input.offset_to_grain)) return node;
    const shift: Shift = input.offset_window
      ? { kind: 'window', window: parseWindow(input.offset_window) }
      : { kind: 'toGrain', grain: input.offset_to_grain as Grain };
    this.checkShift(parent, shift);
    const signature = JSON.stringify({ offset: node.id, shift });
    const label = input.alias ?? `${name}_offset`;
    return this.memo(signature, () => ({ kind: 'offset', metric: name, input: node, shift }), label);
  }

  private checkShift(parent: string, shift: Shift): void {
    const grain = this.timeGrain;
    if (!grain) {
      throw new TallyError('INVALID_REQUEST', `metric '${parent}' compares periods (an offset), so group it by metric_time, for example metric_time.month`);
    }
    if (shift.kind === 'toGrain') {
      if (GRAIN_ORDER[shift.grain] < GRAIN_ORDER[grain]) {
        throw new TallyError('UNSUPPORTED', `metric '${parent}' looks back to the start of the ${shift.grain}, which is finer than the requested grain '${grain}'; query it at ${shift.grain} grain or finer`);
      }
      return;
    }
    if (!shiftFitsGrain(shift.window, grain)) {
      throw new TallyError('UNSUPPORTED', `metric '${parent}' is offset by ${shift.window.count} ${shift.window.grain}(s), which is not a whole number of ${grain}s; query it at a grain the offset is a multiple of (for example metric_time.${shift.window.grain})`);
    }
  }
}

/** Whether moving a period start of `grain` by `window` lands on another period start. */
function shiftFitsGrain(window: Window, grain: Grain): boolean {
  const months = { month: 1, quarter: 3, year: 12 } as Record<Grain, number | undefined>;
  const days = { day: 1, week: 7 } as Record<Grain, number | undefined>;
  if (grain === 'hour') return true;
  if (grain === 'day') return window.grain !== 'hour';
  if (grain === 'week') return window.grain === 'week' || (window.grain === 'day' && window.count % 7 === 0);
  const wm = months[window.grain];
  const gm = months[grain];
  if (days[window.grain] !== undefined || window.grain === 'hour') return false;
  return wm !== undefined && gm !== undefined && (wm * window.count) % gm === 0;
}

function parseDefinitionFilter(text: string, metric: string): Expression {
  try {
    return parseExpression(text, { context: `metric '${metric}'` });
  } catch (e) {
    if (e instanceof TallyError) throw new TallyError('INVALID_DEFINITION', `metric '${metric}': ${e.message}`);
    throw e;
  }
}
