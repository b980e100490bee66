/**
 * Logical plan → SQL tree. Each plan node becomes one or more named CTEs whose columns are the
 * request's group-by keys plus the node's value; metrics from different models are aggregated
 * on their own and combined on the keys afterwards (never joined fact to fact).
 */
import type { Measure, SemanticGraph } from '../definitions/graph.js';
import { GRAIN_ORDER, type Grain, type Window } from '../definitions/schema.js';
import { TallyError } from '../errors.js';
import { collectRefs, type Expression } from '../query/expression.js';
import { parseReference } from '../query/references.js';
import { parseRequest } from '../query/request.js';
import { add, formatTime, truncate } from '../query/time.js';
import { type Cte, type FromItem, type OrderItem, type Select, type SelectColumn, type SqlExpr, type Statement, and, col, num } from '../sql/ast.js';
import { lowerExpression } from './expression.js';
import { buildPlan, type Gaps, type GroupKey, type MeasureUse, type Plan, type PlanNode, type Shift } from './plan.js';
import { type ColumnReference, type MetricReference, ScanBuilder } from './scan.js';
import { mapBack, mapForward, relabelShift } from './offsets.js';
import { baseGrain, type Bounds, bucket, customPeriodShift, isExactly, offsetGrain, periods, specGrain, windowCoverageEnd } from './time.js';
import type { TimeSpec } from '../query/references.js';

/** A CTE holding the keys and one value column. */
interface Output {
  cte: string;
  column: string;
  /**
   * What a missing value reads as where this output is used: fill_nulls_with, 0 for an empty count
   * or sum, or for a derived metric its formula over its inputs' fills.
   */
  fill?: SqlExpr;
}

/** CTEs of one statement, shared by the lowering of metrics used in filters. */
interface SharedCtes {
  ctes: Cte[];
  names: Set<string>;
  metricFilters: Map<string, { cte: string; key: string; out: Output }>;
}

const TIME = '__time';
const NULL: SqlExpr = { t: 'literal', value: { kind: 'null' } };
/** Window grains for which coverage is an interval per active period (see coverageEnd). */
const SWEEPABLE = new Set<Grain>(['hour', 'day', 'week', 'month', 'quarter', 'year']);
const VALUE = '__value';

/** What the target dialect needs from the shape of the SQL (see Dialect). */
export interface LowerOptions {
  /** Each sort-based aggregate (median, percentile) in a step of its own: Dialect.sortedAggregatesApart. */
  sortedAggregatesApart?: boolean;
}

/** Sort-based (ordered-set) aggregations. */
const SORTED_AGGREGATES = new Set(['median', 'percentile']);

export function lowerPlan(graph: SemanticGraph, plan: Plan, options: LowerOptions = {}): Statement {
  return new Lowering(graph, plan, undefined, options).statement();
}

class Lowering {
  private readonly ctes: Cte[];
  /** Nodes already lowered, per time bounds and time shifts. */
  private readonly done = new Map<PlanNode, Map<string, Output>>();
  private readonly cteNames: Set<string>;
  private readonly shared: SharedCtes;
  /** Aggregations over the same rows, so that more metrics of one model share one scan. */
  private readonly sharedScans = new Map<string, { scan: ScanBuilder; select: Select; cte: Cte }>();

  constructor(
    private readonly graph: SemanticGraph,
    private readonly plan: Plan,
    shared?: SharedCtes,
    private readonly options: LowerOptions = {},
  ) {
    this.shared = shared ?? { ctes: [], names: new Set(), metricFilters: new Map() };
    this.ctes = this.shared.ctes;
    this.cteNames = this.shared.names;
  }

  statement(): Statement {
    const plan = this.plan;
    if (plan.outputs.length === 0) return this.groupByValues();
    // An offset maps periods to periods; without a time group-by there are none. Name the metric asked, not its input.
    const offset = plan.keys.some((k) => k.time) ? undefined : plan.outputs.find((o) => hasOffset(o.node));
    if (offset) throw new TallyError('INVALID_REQUEST', `metric '${offset.name}' compares periods (an offset), so group it by metric_time, for example metric_time.month`);
    const outputs = plan.outputs.map((o) => ({ ...o, out: this.node(o.node, plan.range) }));
    const spine = plan.fillGaps && plan.timeKeys.length ? this.spineOutput(outputs.map((o) => o.out)) : undefined;

    const inputs = [...outputs.map((o) => o.out), ...(spine ? [spine] : [])];
    let body: Select;
    if (inputs.length === 1) {
      const only = outputs[0];
      body = {
        t: 'select',
        columns: [...this.keyColumns(undefined, true), { expr: filled(only.out, col(undefined, only.out.column)), alias: only.name }],
        from: { t: 'cte', name: only.out.cte },
      };
    } else {
      body = this.combine(inputs, (max) => outputs.map((o) => ({ expr: max(o.out), alias: o.name })), true);
    }
    body.orderBy = this.totalOrder();
    if (plan.limit !== undefined) body.limit = plan.limit;
    return { ctes: this.ctes, body };
  }

  /**
   * The answer's order, total and the same on every engine: the requested order, then the
   * group-by keys not yet named (ascending) to break ties, NULLs last in every direction. Each
   * row has its own combination of keys, so a LIMIT over ties picks the same rows every run.
   */
  private totalOrder(): OrderItem[] {
    const requested = this.plan.order.map((o) => ({ name: this.outputName(o.column), desc: o.desc }));
    const named = new Set(requested.map((o) => o.name));
    const ties = this.plan.keys.filter((k) => !named.has(k.text)).map((k) => ({ name: k.text, desc: false }));
    return [...requested, ...ties].map((o) => ({ expr: col(undefined, o.name), desc: o.desc, nulls: 'last' }));
  }

  private outputName(column: string): string {
    return this.plan.keys.find((k) => k.column === column)?.text ?? column;
  }

  private addCte(preferred: string, query: Select | Statement['body'], comment: string): string {
    // The prefix keeps a step from shadowing a table of the same name (a metric called 'orders').
    let name = `cte_${preferred}`;
    for (let n = 2; this.cteNames.has(name); n++) name = `cte_${preferred}_${n}`;
    this.cteNames.add(name);
    this.ctes.push({ name, query, comment });
    return name;
  }

  /** Key columns read from a CTE (or, with `final`, renamed to the requested references). */
  private keyColumns(table: string | undefined, final = false): SelectColumn[] {
    return this.plan.keys.map((k) => {
      const expr = col(table, k.column);
      if (!final) return { expr, alias: k.column };
      return { expr: isDateKey(k) ? { t: 'castDate', arg: expr } : expr, alias: k.text };
    });
  }

  /**
   * `shifts` are the offsets of the metrics above this node, outermost first: each output period
   * reads the input at the period they map it back to.
   */
  node(node: PlanNode, bounds: Bounds, shifts: Shift[] = []): Output {
    const boundsKey = `${bounds.start?.toISOString()}/${bounds.end?.toISOString()}/${JSON.stringify(shifts)}`;
    const existing = this.done.get(node)?.get(boundsKey);
    if (existing) return existing;
    let out: Output;
    switch (node.kind) {
      case 'simple':
        out = this.gaps(node, node.use.measure, this.simple(node, bounds, shifts), bounds);
        break;
      case 'cumulative':
        out = this.gaps(node, node.use.measure, this.cumulative(node, bounds, shifts), bounds);
        break;
      case 'conversion':
        if (shifts.length) throw new TallyError('UNSUPPORTED', `metric '${node.metric}' is a conversion metric; Tally cannot offset it in time yet`);
        out = this.gaps(node, node.base.measure, this.conversion(node, bounds), bounds);
        break;
      case 'ratio': {
        const n = this.node(node.numerator, bounds, shifts);
        const d = this.node(node.denominator, bounds, shifts);
        const query = this.combine([n, d], (max) => [{ expr: { t: 'ratio', numerator: max(n), denominator: max(d) }, alias: node.id }]);
        out = { cte: this.addCte(node.id, query, `${node.metric} = ${node.numerator.metric} / ${node.denominator.metric}`), column: node.id };
        break;
      }
      case 'derived': {
        const inputs = node.inputs.map((i) => ({ alias: i.alias, out: this.node(i.node, bounds, shifts) }));
        const query = this.combine(
          inputs.map((i) => i.out),
          (max) => [
            {
              expr: lowerExpression(node.expr, (ref) => {
                const input = inputs.find((i) => i.alias === ref);
                if (!input) {
                  throw new TallyError('INVALID_DEFINITION', `metric '${node.metric}': its expr names '${ref}', which is not one of its inputs (${inputs.map((i) => i.alias).join(', ')})`);
                }
                return max(input.out);
              }),
              alias: node.id,
            },
          ],
        );
        out = { cte: this.addCte(node.id, query, `${node.metric}: derived from ${inputs.map((i) => i.alias).join(', ')}`), column: node.id };
        // A period or group none of the inputs has reads as the formula over the inputs' fills.
        if (inputs.some((i) => i.out.fill !== undefined)) {
          out.fill = lowerExpression(node.expr, (ref) => inputs.find((i) => i.alias === ref)?.out.fill ?? NULL);
        }
        break;
      }
      case 'offset': {
        const relabel = shifts.length === 0 ? relabelShift(this.graph, this.plan, node) : undefined;
        out = relabel ? this.relabelled(node, relabel, bounds) : this.node(node.input, bounds, [...shifts, node.shift]);
        break;
      }
    }
    if (!this.done.has(node)) this.done.set(node, new Map());
    this.done.get(node)?.set(boundsKey, out);
    return out;
  }

  private relabelled(node: Extract<PlanNode, { kind: 'offset' }>, window: Window, bounds: Bounds): Output {
    const back = (d: Date | undefined): Date | undefined => (d ? add(d, -window.count, window.grain) : undefined);
    const input = this.node(node.input, { start: back(bounds.start), end: back(bounds.end) });
    const query: Select = {
      t: 'select',
      columns: [
        ...this.plan.keys.map((k) => ({ expr: k.time ? ({ t: 'addInterval', arg: col(undefined, k.column), count: window.count, grain: window.grain } as SqlExpr) : col(undefined, k.column), alias: k.column })),
        { expr: col(undefined, input.column), alias: node.id },
      ],
      from: { t: 'cte', name: input.cte },
    };
    return { cte: this.addCte(node.id, query, `${node.metric} moved ${window.count} ${window.grain}(s) later`), column: node.id, fill: input.fill };
  }

  private columnRef(text: string, purpose: string): ColumnReference {
    const ref = parseReference(this.graph, text);
    if (ref.kind !== 'dimension' && ref.kind !== 'entity') throw new TallyError('INVALID_DEFINITION', `${purpose}: '${text}' is not a dimension or an entity`);
    return ref;
  }

  /** The keys that follow a measure's time: metric_time, and its own time dimension through its model. */
  private timeKeysOf(measure: Measure): GroupKey[] {
    const probe = this.newScan(measure, 'probe');
    if (measure.timeDimension) probe.leafTime = { dimension: measure.timeDimension, expr: num(0) };
    return this.plan.keys.filter((k) => probe.isLeafTime(k.ref));
  }

  /** Whether a filter's references can all be resolved from a measure's model. */
  private reaches(measure: Measure, filter: Expression): boolean {
    const probe = this.newScan(measure, 'probe');
    try {
      probe.filter(filter, num(0));
      return true;
    } catch (e) {
      if (e instanceof TallyError) return false;
      throw e;
    }
  }

  private newScan(measure: Measure, purpose: string): ScanBuilder {
    const scan = new ScanBuilder(this.graph, measure.model, purpose, this.plan.timeZone);
    scan.metrics = (ref, s) => this.metricFilter(ref, s);
    return scan;
  }

  /**
   * A leaf scan: rows of the measure's model with the keys resolved and filters applied. With
   * `shifts` the rows are read through a time spine: each period takes the rows at the time its
   * offsets map it back to, and the period is the rows' time from then on.
   */
  private scan(use: MeasureUse, bounds: Bounds, purpose: string, opts: { keys: 'all' | 'without_time' | 'none'; shifts?: Shift[] }): { scan: ScanBuilder; keys: SelectColumn[]; time?: SqlExpr; timeKeys: GroupKey[] } {
    const { measure } = use;
    const scan = this.newScan(measure, purpose);
    let time = measure.timeDimension ? scan.time(measure.timeDimension) : undefined;
    if (measure.timeDimension && time) scan.leafTime = { dimension: measure.timeDimension, expr: time };
    const timeKeys = this.plan.keys.filter((k) => scan.isLeafTime(k.ref));
    const shifts = opts.shifts ?? [];
    if (shifts.length && measure.timeDimension && time) {
      time = this.shiftedTime(scan, time, timeKeys, shifts, bounds, purpose);
      scan.leafTime = { dimension: measure.timeDimension, expr: time };
    }
    const keys: SelectColumn[] = [];
    for (const k of this.plan.keys) {
      if (timeKeys.includes(k)) {
        if (!time) {
          throw new TallyError('INVALID_REQUEST', `${purpose} has no time dimension (measure '${measure.name}'), so it cannot be grouped by ${k.text}`);
        }
        if (opts.keys !== 'all') continue;
        keys.push({ expr: bucket(k.time ?? { kind: 'grain', grain: 'day' }, time), alias: k.column });
      } else if (opts.keys !== 'none') {
        keys.push({ expr: scan.reference(k.ref as ColumnReference).expr, alias: k.column });
      }
    }
    for (const f of use.filters) scan.filter(f, time);
    if (bounds.start || bounds.end) {
      if (!time) throw new TallyError('INVALID_REQUEST', `${purpose} has no time dimension, so it cannot take a time range`);
      if (bounds.start) scan.condition({ t: 'binary', op: '>=', left: time, right: ts(bounds.start) });
      if (bounds.end) scan.condition({ t: 'binary', op: '<', left: time, right: ts(bounds.end) });
    }
    return { scan, keys, time, timeKeys };
  }

  /**
   * The time of a shifted leaf: periods of a time spine, each joined to the rows at the time its
   * offsets map it to (a period minus the window, or the start of the offset's grain). Periods
   * are the requested grain when every offset is a whole number of it, else the base grain; an
   * offset to the start of a grain then keeps only the periods that start a requested period.
   */
  private shiftedTime(scan: ScanBuilder, rowTime: SqlExpr, timeKeys: GroupKey[], shifts: Shift[], bounds: Bounds, purpose: string): SqlExpr {
    if (timeKeys.length === 0) {
      throw new TallyError('INVALID_REQUEST', `${purpose} compares periods (an offset), so group it by metric_time, for example metric_time.month`);
    }
    const specs = timeKeys.map((k) => k.time);
    const custom = shifts.find((s) => s.kind === 'customWindow');
    if (custom?.kind === 'customWindow') {
      if (shifts.length > 1) throw new TallyError('UNSUPPORTED', `${purpose}: an offset by a custom grain cannot be combined with other offsets yet`);
      const item = customPeriodShift(custom.custom, custom.count, 'period');
      scan.driveBy(item, { t: 'binary', op: '=', left: { t: 'truncate', grain: custom.custom.spine.grain, arg: rowTime }, right: col('period', 'source') });
      return col('period', 'start');
    }
    const grain = offsetGrain(specs, shifts, this.graph.semantics);
    const { min, max } = scan.extent({ t: 'truncate', grain, arg: rowTime });
    const item = periods(this.graph, grain, 'period', bounds, { start: mapForward(shifts, min, 0), stop: mapForward(shifts, max, 1) });
    const period = col('period', 'start');
    scan.driveBy(item, { t: 'binary', op: '=', left: { t: 'truncate', grain, arg: rowTime }, right: mapBack(shifts, period) });
    if (shifts.some((s) => s.kind === 'toGrain')) {
      // Periods finer than every requested grain are kept where they start one of those (as
      // MetricFlow does); with a group-by at the periods' own grain every period is kept, and
      // coarser group-bys are only labels of it.
      const finest = specs.reduce<TimeSpec | undefined>((a, b) => (b && (a === undefined || GRAIN_ORDER[specGrain(b)] < GRAIN_ORDER[specGrain(a)]) ? b : a), undefined);
      const starts = specs.flatMap((s) => (s?.kind === 'grain' && GRAIN_ORDER[s.grain] > GRAIN_ORDER[grain] ? [s.grain] : []));
      if (finest && GRAIN_ORDER[specGrain(finest)] > GRAIN_ORDER[grain] && starts.length) {
        scan.condition({ t: 'or', args: starts.map((g) => ({ t: 'binary', op: '=', left: { t: 'truncate', grain: g, arg: period }, right: period })) });
      }
    }
    return period;
  }

  /**
   * Gaps of a simple or cumulative metric: joined to a time spine, the metric has a row for every
   * period of the time keys (the request's range, and its filters on metric_time, limit the
   * spine); fill_nulls_with gives missing values a number wherever the metric is read.
   */
  private gaps(node: { id: string; metric: string; gaps: Gaps }, measure: Measure, out: Output, bounds: Bounds): Output {
    const withFill = node.gaps.fill === undefined ? out : { ...out, fill: node.gaps.typedZero ? typedZero(out) : num(node.gaps.fill) };
    if (!node.gaps.joinToSpine) return withFill;
    const timeKeys = this.timeKeysOf(measure);
    if (timeKeys.length === 0) return withFill;
    const grain = baseGrain(timeKeys.map((k) => k.time));
    const anchor = timeKeys.find((k) => isExactly(k.time, grain));
    // The requested periods; without a range, those from the first to the last with data.
    const fallback =
      bounds.start && bounds.end
        ? { start: ts(bounds.start), stop: ts(add(bounds.end, -1, grain)) }
        : anchor
          ? { start: bounds.start ? ts(bounds.start) : aggregateOf(out.cte, 'min', anchor.column), stop: bounds.end ? ts(add(bounds.end, -1, grain)) : aggregateOf(out.cte, 'max', anchor.column) }
          : undefined;
    if (!this.graph.timeSpines.has(grain) && !fallback) {
      throw new TallyError('UNSUPPORTED', `metric '${node.metric}' joins to a time spine at ${grain} grain; define one (time_spines) or group by metric_time.${grain}`);
    }
    const period = col('period', 'start');
    const item = periods(this.graph, grain, 'period', bounds, fallback ?? { start: period, stop: period });
    const conjuncts = this.plan.where.flatMap(conjunctsOf);
    const timeFilters = conjuncts.filter((w) => collectRefs(w).every((r) => parseReference(this.graph, r.ref).kind === 'metric_time'));
    // A filter on group-bys alone also holds for the periods the spine adds (whose other keys are NULL).
    const keyOf = (text: string): GroupKey | undefined => this.plan.keys.find((k) => k.text === text);
    const keyFilters = conjuncts.filter((w) => !timeFilters.includes(w) && collectRefs(w).every((r) => keyOf(r.ref)));
    const where = timeFilters.map((f) =>
      lowerExpression(f, (text) => {
        const ref = parseReference(this.graph, text);
        return ref.kind === 'metric_time' && ref.time ? bucket(ref.time, period) : period;
      }),
    );
    const spine: Select = { t: 'select', distinct: true, columns: timeKeys.map((k) => ({ expr: bucket(k.time ?? { kind: 'grain', grain }, period), alias: k.column })), from: item, where: and(where) };
    const query: Select = {
      t: 'select',
      columns: this.plan.keys.map((k) => ({ expr: col(timeKeys.includes(k) ? 'spine' : 'm', k.column), alias: k.column })).concat([{ expr: col('m', out.column), alias: out.column }]),
      from: { t: 'query', query: spine, alias: 'spine' },
      joins: [{ type: 'left', item: { t: 'cte', name: out.cte, alias: 'm' }, on: and(timeKeys.map((k) => ({ t: 'binary', op: '=', left: col('spine', k.column), right: col('m', k.column) }))) }],
      where: and(
        keyFilters.map((f) =>
          lowerExpression(f, (text) => {
            const k = keyOf(text);
            if (!k) throw new Error(`filter reference ${text} is not a key`);
            return col(timeKeys.includes(k) ? 'spine' : 'm', k.column);
          }),
        ),
      ),
    };
    return { ...withFill, cte: this.addCte(`${node.id}_spine`, query, `${node.metric}: one row per ${timeKeys.map((k) => k.text).join(', ')} of the time spine`) };
  }

  private simple(node: Extract<PlanNode, { kind: 'simple' }>, bounds: Bounds, shifts: Shift[] = []): Output {
    const { measure } = node.use;
    if (measure.def.non_additive_dimension) {
      if (shifts.length) throw new TallyError('UNSUPPORTED', `metric '${node.metric}' is semi-additive; Tally cannot offset it in time yet`);
      return this.semiAdditive(node, bounds);
    }
    // Metrics of one model with the same filters read the same rows: one scan serves them all.
    // A sort-based aggregate shares no scan where the dialect allows one per SELECT.
    const apart = this.options.sortedAggregatesApart && SORTED_AGGREGATES.has(measure.agg) ? node.id : undefined;
    const signature = JSON.stringify([measure.model.name, measure.timeDimension?.name, node.use.filters, bounds.start, bounds.end, shifts, apart]);
    const shared = this.sharedScans.get(signature);
    if (shared) {
      shared.select.columns.push({ expr: this.aggregate(measure, shared.scan.measure(measure)), alias: node.id });
      Object.assign(shared.select, shared.scan.build());
      shared.cte.comment = `${shared.cte.comment}; ${node.metric}: ${measure.agg} of ${measure.name}`;
      return { cte: shared.cte.name, column: node.id };
    }
    const { scan, keys } = this.scan(node.use, bounds, `metric '${node.metric}'`, { keys: 'all', shifts });
    const value = this.aggregate(measure, scan.measure(measure));
    const query: Select = {
      t: 'select',
      columns: [...keys, { expr: value, alias: node.id }],
      ...scan.build(),
      groupBy: keys.map((k) => k.expr),
    };
    const name = this.addCte(node.id, query, `${node.metric}: ${measure.agg} of ${measure.model.name}.${measure.name}`);
    const cte = this.ctes.find((c) => c.name === name);
    if (cte) this.sharedScans.set(signature, { scan, select: query, cte });
    return { cte: name, column: node.id };
  }

  private aggregate(measure: MeasureUse['measure'], arg: SqlExpr): SqlExpr {
    return { t: 'aggregate', agg: measure.agg, arg, percentile: measure.def.percentile, discrete: measure.def.discrete, approximate: measure.def.approximate };
  }

  /** Balances and other semi-additive measures: only the rows at the last (or first) time count. */
  private semiAdditive(node: Extract<PlanNode, { kind: 'simple' }>, bounds: Bounds): Output {
    const { measure } = node.use;
    const nad = measure.def.non_additive_dimension;
    if (!nad) throw new Error('not semi-additive');
    const { scan, keys, timeKeys } = this.scan(node.use, bounds, `metric '${node.metric}'`, { keys: 'all' });
    // The last (or first) time is found per period and window grouping, over every row of the
    // other group-bys, so that all groups are read at the same time (a snapshot, not a last value each).
    const periodKeys = keys.filter((k) => timeKeys.some((t) => t.column === k.alias));
    const dim = measure.model.dimensions.get(nad.name);
    if (!dim) throw new Error(`missing non-additive dimension ${nad.name}`);
    // The snapshot time is read at its declared grain: a daily snapshot's last day, whatever the hour of each row.
    const at: SqlExpr = dim.type === 'time' ? { t: 'truncate', grain: dim.granularity, arg: scan.time(dim) } : scan.time(dim);
    const groupings = nad.window_groupings.map((g) => scan.entity(g));
    const rows: Select = {
      t: 'select',
      columns: [
        ...keys,
        { expr: scan.measure(measure), alias: VALUE },
        { expr: at, alias: TIME },
        { expr: { t: 'window', fn: nad.window_choice === 'max' ? 'max' : 'min', arg: at, partitionBy: [...periodKeys.map((k) => k.expr), ...groupings], orderBy: [] }, alias: '__edge' },
      ],
      ...scan.build(),
    };
    const rowsCte = this.addCte(`${node.id}_rows`, rows, `${node.metric}: rows of ${measure.model.name} with the ${nad.window_choice === 'max' ? 'last' : 'first'} ${nad.name} per group`);
    const keyCols = this.keyColumns(undefined);
    const query: Select = {
      t: 'select',
      columns: [...keyCols, { expr: this.aggregate(measure, col(undefined, VALUE)), alias: node.id }],
      from: { t: 'cte', name: rowsCte },
      where: { t: 'binary', op: '=', left: col(undefined, TIME), right: col(undefined, '__edge') },
      groupBy: keyCols.map((k) => k.expr),
    };
    return { cte: this.addCte(node.id, query, `${node.metric}: ${measure.agg} of ${measure.name} at the ${nad.window_choice === 'max' ? 'last' : 'first'} ${nad.name}`), column: node.id };
  }

  private cumulative(node: Extract<PlanNode, { kind: 'cumulative' }>, bounds: Bounds, shifts: Shift[] = []): Output {
    const { measure } = node.use;
    const purpose = `metric '${node.metric}'`;
    const timeKeys = this.timeKeysOf(measure);
    if (timeKeys.length === 0) {
      if (node.window || node.grainToDate) {
        throw new TallyError('INVALID_REQUEST', `${purpose} accumulates over ${node.window ? `a ${node.window.count}-${node.window.grain} window` : `the ${node.grainToDate} to date`}, so group it by metric_time (for example metric_time.day)`);
      }
      // All-time accumulation without a time axis is the plain aggregate over the range.
      return this.simple({ ...node, kind: 'simple' }, bounds, shifts);
    }
    const otherKeys = this.plan.keys.filter((k) => !timeKeys.includes(k));
    // The window is evaluated per period of the base grain, then coarser time keys take one value per period.
    const base: Grain = baseGrain(timeKeys.map((k) => k.time));
    // Rows before the range still count toward the first windows in it (a shifted window reads other rows).
    const rowBounds: Bounds = shifts.length ? {} : { end: bounds.end };
    if (!shifts.length && bounds.start && node.window) rowBounds.start = add(add(bounds.start, 1, base), -node.window.count, node.window.grain);
    if (!shifts.length && bounds.start && node.grainToDate) rowBounds.start = truncate(bounds.start, node.grainToDate);
    // A filter on the time alone picks the periods shown; rows outside it still fall in their windows.
    const probe = this.newScan(measure, purpose);
    if (measure.timeDimension) probe.leafTime = { dimension: measure.timeDimension, expr: num(0) };
    const conjuncts = node.use.filters.flatMap(conjunctsOf);
    const onTime = (f: Expression): boolean => collectRefs(f).every((r) => probe.isLeafTime(parseReference(this.graph, r.ref)));
    const periodFilters = conjuncts.filter(onTime);
    const use: MeasureUse = { ...node.use, filters: conjuncts.filter((f) => !onTime(f)) };
    const { scan, keys, time } = this.scan(use, rowBounds, purpose, { keys: 'without_time' });
    if (!time) throw new Error('cumulative without time');
    const rows: Select = {
      t: 'select',
      columns: [...keys, { expr: time, alias: TIME }, { expr: scan.measure(measure), alias: VALUE }],
      ...scan.build(),
    };
    const rowsCte = this.addCte(`${node.id}_rows`, rows, `${node.metric}: ${measure.model.name} rows that can fall in a window`);

    // The periods are the requested ones: the range's, or without one, from the first period with
    // data to the last period whose window still holds data. They come from the time spine at the
    // base grain when there is one, else from a generated series.
    const series = this.cumulativePeriods(node, rowsCte, base, bounds, shifts);
    // With a single time key at the base grain, the period is that key.
    const direct = timeKeys.length === 1 && isExactly(timeKeys[0].time, base) ? timeKeys[0] : undefined;
    const periodAlias = direct ? direct.column : '__period';
    const windowQuery =
      !shifts.length && node.window && measure.agg === 'count_distinct' && SWEEPABLE.has(node.window.grain) && GRAIN_ORDER[node.window.grain] >= GRAIN_ORDER[base]
        ? this.distinctSweep(node, rowsCte, base, node.window, series, periodAlias, otherKeys)
        : this.windowJoin(node, rowsCte, base, series, periodAlias, otherKeys, shifts);
    const describe = node.window ? `the ${node.window.count} ${node.window.grain}(s) ending at each ${base}` : node.grainToDate ? `the ${node.grainToDate} to date at each ${base}` : `all time up to each ${base}`;
    if (periodFilters.length) {
      const period = col('period', 'start');
      const conditions = periodFilters.map((f) =>
        lowerExpression(f, (text) => {
          const ref = parseReference(this.graph, text);
          const spec = ref.kind === 'metric_time' || ref.kind === 'dimension' ? ref.time : undefined;
          return spec ? bucket(spec, period) : period;
        }),
      );
      windowQuery.where = and([...(windowQuery.where ? [windowQuery.where] : []), ...conditions]);
    }
    const windowCte = this.addCte(direct ? node.id : `${node.id}_by_${base}`, windowQuery, `${node.metric}: ${measure.agg} of ${measure.name} over ${describe}`);
    if (direct) return { cte: windowCte, column: node.id };

    // Coarser time keys show one value per period: the first, the last or the average of its days.
    const periodKeys = timeKeys.map((k) => ({ expr: bucket(k.time ?? { kind: 'grain', grain: base }, col(undefined, '__period')), alias: k.column }));
    const otherCols = otherKeys.map((k) => ({ expr: col(undefined, k.column), alias: k.column }));
    const partition = [...periodKeys.map((k) => k.expr), ...otherCols.map((k) => k.expr)];
    const what = timeKeys.map((k) => k.text).join(', ');
    if (node.periodAgg === 'average') {
      const q: Select = {
        t: 'select',
        columns: [...periodKeys, ...otherCols, { expr: { t: 'aggregate', agg: 'average', arg: col(undefined, node.id) }, alias: node.id }],
        from: { t: 'cte', name: windowCte },
        groupBy: partition,
      };
      return { cte: this.addCte(node.id, q, `${node.metric}: average of the ${base} values in each ${what}`), column: node.id };
    }
    const ranked: Select = {
      t: 'select',
      columns: [
        ...periodKeys,
        ...otherCols,
        { expr: col(undefined, node.id), alias: node.id },
        { expr: { t: 'window', fn: 'row_number', partitionBy: partition, orderBy: [{ expr: col(undefined, '__period'), desc: node.periodAgg === 'last' }] }, alias: '__rank' },
      ],
      from: { t: 'cte', name: windowCte },
    };
    const q: Select = {
      t: 'select',
      columns: [...this.keyColumns('ranked'), { expr: col('ranked', node.id), alias: node.id }],
      from: { t: 'query', query: ranked, alias: 'ranked' },
      where: { t: 'binary', op: '=', left: col('ranked', '__rank'), right: num(1) },
    };
    return { cte: this.addCte(node.id, q, `${node.metric}: the value on the ${node.periodAgg} ${base} of each ${what}`), column: node.id };
  }

  /**
   * The periods a cumulative metric is shown at: the range's at the base grain, or without one,
   * from the first period with data to the last whose window still holds it (the window's length
   * on; the end of its grain for a grain-to-date; the last row's period for all time), each
   * through the offsets above the metric.
   */
  private cumulativePeriods(node: Extract<PlanNode, { kind: 'cumulative' }>, rowsCte: string, base: Grain, bounds: Bounds, shifts: Shift[]): FromItem {
    const lo: SqlExpr = { t: 'truncate', grain: base, arg: aggregateOf(rowsCte, 'min') };
    const hi: SqlExpr = { t: 'truncate', grain: base, arg: aggregateOf(rowsCte, 'max') };
    let last: SqlExpr = hi;
    if (node.window) last = { t: 'addInterval', arg: { t: 'addInterval', arg: hi, count: node.window.count, grain: node.window.grain }, count: -1, grain: base };
    else if (node.grainToDate && GRAIN_ORDER[node.grainToDate] > GRAIN_ORDER[base]) {
      last = { t: 'addInterval', arg: { t: 'addInterval', arg: { t: 'truncate', grain: node.grainToDate, arg: hi }, count: 1, grain: node.grainToDate }, count: -1, grain: base };
    }
    const start = bounds.start ? ts(bounds.start) : mapForward(shifts, lo, 0);
    const stop = bounds.end ? ts(add(bounds.end, -1, base)) : mapForward(shifts, last, 1);
    return periods(this.graph, base, 'period', bounds, { start, stop });
  }

  /** Any aggregation over a window: each period joined to the rows that fall in its window. */
  private windowJoin(node: Extract<PlanNode, { kind: 'cumulative' }>, rowsCte: string, base: Grain, series: FromItem, periodAlias: string, otherKeys: GroupKey[], shifts: Shift[]): Select {
    const output = col('period', 'start');
    // A shifted window ends at the period its offsets map the output period back to.
    const period = mapBack(shifts, output);
    const nextPeriod: SqlExpr = { t: 'addInterval', arg: period, count: 1, grain: base };
    const rowTime = col('r', TIME);
    const conditions: SqlExpr[] = [{ t: 'binary', op: '<', left: rowTime, right: nextPeriod }];
    if (node.window) {
      conditions.push({ t: 'binary', op: '>=', left: rowTime, right: { t: 'addInterval', arg: nextPeriod, count: -node.window.count, grain: node.window.grain } });
    } else if (node.grainToDate) {
      conditions.push({ t: 'binary', op: '>=', left: rowTime, right: { t: 'truncate', grain: node.grainToDate, arg: period } });
    }
    return {
      t: 'select',
      columns: [
        { expr: output, alias: periodAlias },
        ...otherKeys.map((k) => ({ expr: col('r', k.column), alias: k.column })),
        { expr: this.aggregate(node.use.measure, col('r', VALUE)), alias: node.id },
      ],
      from: series,
      joins: [{ type: 'inner', item: { t: 'cte', name: rowsCte, alias: 'r' }, on: and(conditions) }],
      groupBy: [output, ...otherKeys.map((k) => col('r', k.column))],
    };
  }

  /**
   * Distinct members over trailing windows (WAU, MAU) without joining every period to every row:
   * each member's active periods are merged into islands of coverage, the islands' starts and ends
   * are swept into a running count, and each period takes the count in force.
   */
  private distinctSweep(node: Extract<PlanNode, { kind: 'cumulative' }>, rowsCte: string, base: Grain, window: Window, series: FromItem, periodAlias: string, otherKeys: GroupKey[]): Select {
    const keyCols = otherKeys.map((k) => ({ expr: col(undefined, k.column), alias: k.column }));
    const keyExprs = keyCols.map((k) => k.expr);
    const day = col(undefined, '__day');
    const member = col(undefined, '__member');
    const coverageEnd = (arg: SqlExpr): SqlExpr => windowCoverageEnd(arg, window, base);
    const active: Select = {
      t: 'select',
      distinct: true,
      columns: [...keyCols, { expr: col(undefined, VALUE), alias: '__member' }, { expr: { t: 'truncate', grain: base, arg: col(undefined, TIME) }, alias: '__day' }],
      from: { t: 'cte', name: rowsCte },
    };
    const activeCte = this.addCte(`${node.id}_active`, active, `${node.metric}: each member's active ${base}s`);
    // One pass over each member's active periods finds where its coverage starts (no active
    // period within a window before) and ends (none within a window after): no island numbering.
    const byMember = [...keyExprs, member];
    const neighbours: Select = {
      t: 'select',
      columns: [
        ...keyCols,
        { expr: member, alias: '__member' },
        { expr: day, alias: '__day' },
        { expr: { t: 'window', fn: 'lag', arg: day, partitionBy: byMember, orderBy: [{ expr: day }] }, alias: '__previous' },
        { expr: { t: 'window', fn: 'lead', arg: day, partitionBy: byMember, orderBy: [{ expr: day }] }, alias: '__following' },
      ],
      from: { t: 'cte', name: activeCte },
    };
    const neighboursCte = this.addCte(`${node.id}_neighbours`, neighbours, `${node.metric}: each active ${base} beside the member's previous and next one`);
    const after = (arg: SqlExpr, than: SqlExpr): SqlExpr => ({ t: 'or', args: [{ t: 'isNull', arg, negated: false }, { t: 'binary', op: '>', left: arg, right: coverageEnd(than) }] });
    // Rows whose member is NULL count toward no one but still make a period present (with 0), as
    // COUNT(DISTINCT …) over them would.
    const edge = (delta: number): Select => ({
      t: 'select',
      columns: [
        ...keyCols,
        { expr: delta > 0 ? day : coverageEnd(day), alias: '__day' },
        { expr: { t: 'case', branches: [{ when: { t: 'isNull', arg: member, negated: false }, then: num(0) }], otherwise: num(delta) }, alias: '__delta' },
        { expr: num(delta), alias: '__presence' },
      ],
      from: { t: 'cte', name: neighboursCte },
      where:
        delta > 0
          ? { t: 'or', args: [{ t: 'isNull', arg: col(undefined, '__previous'), negated: false }, { t: 'binary', op: '>', left: day, right: coverageEnd(col(undefined, '__previous')) }] }
          : after(col(undefined, '__following'), day),
    });
    const changes: Select = {
      t: 'select',
      columns: [
        ...keyCols,
        { expr: day, alias: '__day' },
        { expr: { t: 'aggregate', agg: 'sum', arg: col(undefined, '__delta') }, alias: '__delta' },
        { expr: { t: 'aggregate', agg: 'sum', arg: col(undefined, '__presence') }, alias: '__presence' },
      ],
      from: { t: 'query', alias: 'edges', query: { t: 'union_all', queries: [edge(1), edge(-1)] } },
      groupBy: [...keyExprs, day],
    };
    const running: Select = {
      t: 'select',
      columns: [
        ...keyCols,
        { expr: day, alias: '__day' },
        { expr: { t: 'window', fn: 'sum', arg: col(undefined, '__delta'), partitionBy: keyExprs, orderBy: [{ expr: day }], frame: 'unbounded_to_current' }, alias: '__active' },
        { expr: { t: 'window', fn: 'sum', arg: col(undefined, '__presence'), partitionBy: keyExprs, orderBy: [{ expr: day }], frame: 'unbounded_to_current' }, alias: '__present' },
        { expr: { t: 'window', fn: 'lead', arg: day, partitionBy: keyExprs, orderBy: [{ expr: day }] }, alias: '__next' },
      ],
      from: { t: 'query', query: changes, alias: 'changes' },
    };
    const runningCte = this.addCte(`${node.id}_running`, running, `${node.metric}: distinct members in force from each change on`);
    const period = col('period', 'start');
    return {
      t: 'select',
      columns: [{ expr: period, alias: periodAlias }, ...otherKeys.map((k) => ({ expr: col('r', k.column), alias: k.column })), { expr: col('r', '__active'), alias: node.id }],
      from: series,
      joins: [
        {
          type: 'inner',
          item: { t: 'cte', name: runningCte, alias: 'r' },
          on: and([
            { t: 'binary', op: '>=', left: period, right: col('r', '__day') },
            { t: 'binary', op: '<', left: period, right: col('r', '__next') },
          ]),
        },
      ],
      where: { t: 'binary', op: '>', left: col('r', '__present'), right: num(0) },
    };
  }

  private conversion(node: Extract<PlanNode, { kind: 'conversion' }>, bounds: Bounds): Output {
    const purpose = `metric '${node.metric}'`;
    const base = this.scan(node.base, bounds, `${purpose} (base events)`, { keys: 'all' });
    const baseTimeDimension = node.base.measure.timeDimension;
    const convTimeDimension = node.conversion.measure.timeDimension;
    if (!baseTimeDimension || !convTimeDimension) {
      throw new TallyError('INVALID_DEFINITION', `${purpose}: both measures need a time dimension`);
    }
    const baseRows: Select = {
      t: 'select',
      columns: [
        ...base.keys,
        { expr: base.scan.entity(node.entity), alias: '__entity' },
        // Windows are elapsed time (7 days = 168 hours), so events are matched on UTC instants.
        { expr: base.scan.instant(baseTimeDimension), alias: TIME },
        { expr: base.scan.measure(node.base.measure), alias: VALUE },
        ...node.constantProperties.map((p, i) => ({ expr: base.scan.reference(this.columnRef(p.base, purpose)).expr, alias: `__same_${i}` })),
      ],
      ...base.scan.build(),
    };
    const baseCte = this.addCte(`${node.id}_base`, baseRows, `${node.metric}: base events (${node.base.measure.name})`);

    const convScan = this.newScan(node.conversion.measure, `${purpose} (conversion events)`);
    const convTime = convScan.time(convTimeDimension);
    for (const f of node.conversion.filters) convScan.filter(f, convTime);
    // Row filters restrict the conversion events too, wherever their dimensions are reachable from
    // them (the base events, which must reach them, already limit whose conversions count).
    for (const f of this.plan.rowFilters) if (this.reaches(node.conversion.measure, f)) convScan.filter(f, convTime);
    if (bounds.start) convScan.condition({ t: 'binary', op: '>=', left: convTime, right: ts(bounds.start) });
    const convEntity = convScan.entity(node.entity);
    const convInstant = convScan.instant(convTimeDimension);
    // Each conversion event needs an identity: the model's primary key where it has one, else a
    // row number (ordered, because some warehouses, Snowflake among them, require an order).
    const primary = [...node.conversion.measure.model.entities.values()].find((e) => e.type === 'primary');
    const eventId: SqlExpr = primary
      ? convScan.entity(primary.name)
      : { t: 'window', fn: 'row_number', partitionBy: [], orderBy: [{ expr: convEntity }, { expr: convInstant }] };
    const convRows: Select = {
      t: 'select',
      columns: [
        { expr: convEntity, alias: '__entity' },
        { expr: convInstant, alias: TIME },
        { expr: convScan.measure(node.conversion.measure), alias: VALUE },
        { expr: eventId, alias: '__event' },
        ...node.constantProperties.map((p, i) => ({ expr: convScan.reference(this.columnRef(p.conversion, purpose)).expr, alias: `__same_${i}` })),
      ],
      ...convScan.build(),
    };
    const convCte = this.addCte(`${node.id}_conversion_events`, convRows, `${node.metric}: conversion events (${node.conversion.measure.name}), numbered`);

    const on: SqlExpr[] = [
      { t: 'binary', op: '=', left: col('c', '__entity'), right: col('b', '__entity') },
      { t: 'binary', op: '>=', left: col('c', TIME), right: col('b', TIME) },
      ...node.constantProperties.map((_, i): SqlExpr => ({ t: 'binary', op: '=', left: col('c', `__same_${i}`), right: col('b', `__same_${i}`) })),
    ];
    if (node.window) {
      on.push({ t: 'binary', op: '<=', left: col('c', TIME), right: { t: 'addInterval', arg: col('b', TIME), count: node.window.count, grain: node.window.grain } });
    }
    const matched: Select = {
      t: 'select',
      columns: [
        ...this.keyColumns('b'),
        { expr: col('c', VALUE), alias: VALUE },
        { expr: { t: 'window', fn: 'row_number', partitionBy: [col('c', '__event')], orderBy: [{ expr: col('b', TIME), desc: true }] }, alias: '__rank' },
      ],
      from: { t: 'cte', name: baseCte, alias: 'b' },
      joins: [{ type: 'inner', item: { t: 'cte', name: convCte, alias: 'c' }, on: and(on) }],
    };
    const matchedCte = this.addCte(`${node.id}_matched`, matched, `${node.metric}: each conversion event credited to the latest base event before it${node.window ? ` within ${node.window.count} ${node.window.grain}(s)` : ''}`);

    const keyCols = this.keyColumns(undefined);
    const conversions: Select = {
      t: 'select',
      columns: [...keyCols, { expr: this.aggregate(node.conversion.measure, col(undefined, VALUE)), alias: '__conversions' }],
      from: { t: 'cte', name: matchedCte },
      where: { t: 'binary', op: '=', left: col(undefined, '__rank'), right: num(1) },
      groupBy: keyCols.map((k) => k.expr),
    };
    const conversionsOut = { cte: this.addCte(`${node.id}_conversions`, conversions, `${node.metric}: conversions per group`), column: '__conversions' };
    const opportunities: Select = {
      t: 'select',
      columns: [...keyCols, { expr: this.aggregate(node.base.measure, col(undefined, VALUE)), alias: '__base' }],
      from: { t: 'cte', name: baseCte },
      groupBy: keyCols.map((k) => k.expr),
    };
    const baseOut = { cte: this.addCte(`${node.id}_opportunities`, opportunities, `${node.metric}: base events per group`), column: '__base' };
    const query = this.combine([baseOut, conversionsOut], (max) => {
      const conv: SqlExpr = node.conversionFill === undefined ? max(conversionsOut) : { t: 'coalesce', args: [max(conversionsOut), num(node.conversionFill)] };
      return [{ expr: node.calculation === 'conversions' ? conv : { t: 'ratio', numerator: conv, denominator: max(baseOut) }, alias: node.id }];
    });
    return { cte: this.addCte(node.id, query, `${node.metric}: ${node.calculation === 'conversions' ? 'conversions' : 'conversions / base events'}`), column: node.id };
  }

  /**
   * One row per period of metric_time, crossed with the other keys seen, so series have no gaps.
   * The periods are those of the finest metric_time grain; coarser ones are read off them.
   */
  private spineOutput(outputs: Output[]): Output {
    const grains = this.plan.timeKeys.flatMap((k) => (k.time?.kind === 'grain' ? [{ key: k, grain: k.time.grain }] : []));
    const finest = grains.reduce<(typeof grains)[number] | undefined>((a, b) => (a === undefined || GRAIN_ORDER[b.grain] < GRAIN_ORDER[a.grain] ? b : a), undefined);
    if (!finest) throw new TallyError('UNSUPPORTED', 'filling gaps needs metric_time at a standard grain (day, week, month…)');
    const timeKey = finest.key;
    const union: Select[] = outputs.map((o) => ({ t: 'select', columns: this.keyColumns(undefined), from: { t: 'cte', name: o.cte } }));
    const seenCte = this.addCte('observed_keys', { t: 'union_all', queries: union }, 'every key combination the metrics produced');
    const start = this.plan.range.start ? ts(this.plan.range.start) : aggregateOf(seenCte, 'min', timeKey.column);
    const stop = this.plan.range.end ? ts(add(this.plan.range.end, -1, finest.grain)) : aggregateOf(seenCte, 'max', timeKey.column);
    const others = this.plan.keys.filter((k) => k.ref.kind !== 'metric_time');
    const query: Select = {
      t: 'select',
      distinct: this.plan.timeKeys.length > 1,
      columns: this.plan.keys.map((k) => ({ expr: k.ref.kind === 'metric_time' ? bucket(k.time ?? { kind: 'grain', grain: finest.grain }, col('spine', 'start')) : col('k', k.column), alias: k.column })),
      from: { t: 'series', start, stop, grain: finest.grain, alias: 'spine', column: 'start' },
      joins: others.length
        ? [{ type: 'cross', item: { t: 'query', alias: 'k', query: { t: 'select', distinct: true, columns: others.map((k) => ({ expr: col(undefined, k.column), alias: k.column })), from: { t: 'cte', name: seenCte } } } }]
        : [],
    };
    return { cte: this.addCte('time_spine', query, `one row per ${finest.grain} so that the series has no gaps`), column: '' };
  }

  /**
   * A metric per entity used in a filter (`listing.bookings > 2`): the metric grouped by the
   * entity, computed once per statement, left-joined to the rows on that entity.
   */
  private metricFilter(ref: MetricReference, scan: ScanBuilder): SqlExpr {
    let computed = this.shared.metricFilters.get(ref.text);
    if (!computed) {
      const request = parseRequest({ metrics: [ref.metric], groupBy: [ref.entityPath.join('.')], timeZone: this.plan.timeZone });
      // The metric is computed over the rows the caller may see, like every other metric.
      const plan = buildPlan(this.graph, request, [], this.plan.rowFilters);
      const out = new Lowering(this.graph, plan, this.shared, this.options).node(plan.outputs[0].node, {});
      computed = { cte: out.cte, key: plan.keys[0].column, out };
      this.shared.metricFilters.set(ref.text, computed);
    }
    const entity = ref.entityPath[ref.entityPath.length - 1];
    const on = scan.reference({ kind: 'entity', text: entity, entityPath: [entity] }).expr;
    const alias = `${ref.text.replace(/\./g, '__')}`;
    scan.join({ type: 'left', item: { t: 'cte', name: computed.cte, alias }, on: { t: 'binary', op: '=', left: col(alias, computed.key), right: on } });
    return filled(computed.out, col(alias, computed.out.column));
  }

  /**
   * A request without metrics: the distinct values of its group-bys. Dimensions and entities are
   * read from one model that reaches them all (preferring the model the first one belongs to);
   * metric_time is read from the time spine, crossed with them.
   */
  private groupByValues(): Statement {
    const plan = this.plan;
    const timeKeys = plan.keys.filter((k) => k.ref.kind === 'metric_time');
    const others = plan.keys.filter((k) => k.ref.kind !== 'metric_time');
    const refsOf = (filters: Expression[]): ColumnReference[] =>
      filters.flatMap((w) => collectRefs(w).map((r) => parseReference(this.graph, r.ref))).flatMap((r): ColumnReference[] => {
        if (r.kind === 'metric_time') return [];
        if (r.kind === 'metric') return [{ kind: 'entity', text: r.entityPath[r.entityPath.length - 1], entityPath: [r.entityPath[r.entityPath.length - 1]] }];
        return [r];
      });
    // Row filters restrict the rows listed; they never add the rows of a model they join (see restrictBy).
    const rowRefs = refsOf(plan.rowFilters);
    const refs = [...others.map((k) => k.ref as ColumnReference), ...refsOf(plan.where.filter((w) => !plan.rowFilters.includes(w)))];
    let scan: ScanBuilder | undefined;
    const keys: SelectColumn[] = [];
    if (refs.length || rowRefs.length) {
      const models = [...this.graph.models.values()];
      const owns = (m: (typeof models)[number], r: ColumnReference): boolean => {
        const owner = r.entityPath[r.entityPath.length - 1];
        return m.identities.has(owner) && (r.kind === 'entity' ? m.entities.has(owner) : m.dimensions.has(r.dimension));
      };
      // The models the references belong to, in order, then any other model that reaches them.
      const candidates = [...new Set([...[...refs, ...rowRefs].flatMap((r) => models.filter((m) => owns(m, r))), ...models])];
      let lastError: unknown;
      for (const model of candidates) {
        const candidate = new ScanBuilder(this.graph, model, 'the group-bys', plan.timeZone);
        candidate.metrics = (ref, s) => this.metricFilter(ref, s);
        candidate.joinType = 'full';
        try {
          for (const r of refs) candidate.reference(r);
          candidate.restrictBy(rowRefs);
          scan = candidate;
          break;
        } catch (e) {
          if (!(e instanceof TallyError)) throw e;
          lastError ??= e;
        }
      }
      if (!scan) throw lastError instanceof Error ? lastError : new TallyError('UNKNOWN_DIMENSION', 'no model reaches every group-by');
      for (const k of others) keys.push({ expr: scan.reference(k.ref as ColumnReference).expr, alias: k.column });
    }
    const period = col('period', 'start');
    const where: SqlExpr[] = [];
    let from: FromItem | undefined;
    if (timeKeys.length) {
      const grain = baseGrain(timeKeys.map((k) => k.time));
      if (!this.graph.timeSpines.has(grain) && !(plan.range.start && plan.range.end)) {
        throw new TallyError('INVALID_REQUEST', `metric_time without metrics is read from a time spine; define one at ${grain} grain (time_spines) or give the request a time range`);
      }
      const start = plan.range.start ? ts(plan.range.start) : period;
      const stop = plan.range.end ? ts(add(plan.range.end, -1, grain)) : period;
      from = periods(this.graph, grain, 'period', plan.range, { start, stop });
      // The range holds for every row, also those of joined models that no period pairs with.
      if (plan.range.start) where.push({ t: 'binary', op: '>=', left: period, right: ts(plan.range.start) });
      if (plan.range.end) where.push({ t: 'binary', op: '<', left: period, right: ts(plan.range.end) });
      for (const k of timeKeys) keys.push({ expr: bucket(k.time ?? { kind: 'grain', grain }, period), alias: k.column });
    }
    for (const w of plan.where) {
      if (scan) scan.filter(w, timeKeys.length ? period : undefined);
      else
        where.push(
          lowerExpression(w, (text) => {
            const ref = parseReference(this.graph, text);
            if (ref.kind !== 'metric_time') throw new TallyError('INVALID_FILTER', `'${text}' is not a group-by of this request`);
            return ref.time ? bucket(ref.time, period) : period;
          }),
        );
    }
    if (scan) for (const w of where.splice(0)) scan.condition(w);
    let body: Select;
    const groupBy = plan.distinct ? keys.map((k) => k.expr) : undefined;
    if (scan) {
      // Every period with every row of the model; values of joined models that no row links to appear once.
      if (from) scan.driveBy(from, { t: 'literal', value: { kind: 'boolean', value: true } });
      body = { t: 'select', columns: keys, ...scan.build(), groupBy };
    } else {
      body = { t: 'select', columns: keys, from, where: and(where), groupBy };
    }
    const cte = this.addCte('group_by_values', body, `the ${plan.distinct ? 'values' : 'rows'} of ${plan.keys.map((k) => k.text).join(', ')}`);
    if (plan.minMax) {
      const columns = this.keyColumns(undefined, true).flatMap((c) => [
        { expr: { t: 'aggregate', agg: 'min', arg: c.expr } as SqlExpr, alias: `${c.alias}.min` },
        { expr: { t: 'aggregate', agg: 'max', arg: c.expr } as SqlExpr, alias: `${c.alias}.max` },
      ]);
      return { ctes: this.ctes, body: { t: 'select', columns, from: { t: 'cte', name: cte } } };
    }
    const final: Select = { t: 'select', columns: this.keyColumns(undefined, true), from: { t: 'cte', name: cte } };
    final.orderBy = this.totalOrder();
    if (plan.limit !== undefined) final.limit = plan.limit;
    return { ctes: this.ctes, body: final };
  }

  /**
   * Puts several CTEs side by side on the keys: UNION ALL then GROUP BY, which matches NULL keys
   * and needs no join; each input has one row per key, so MAX picks its value.
   */
  private combine(inputs: Output[], outputs: (max: (o: Output) => SqlExpr) => SelectColumn[], final = false): Select {
    // Values that one CTE already holds side by side need no combining.
    if (inputs.every((o) => o.column !== '' && o.cte === inputs[0].cte)) {
      return { t: 'select', columns: [...this.keyColumns(undefined, final), ...outputs((o) => filled(o, col(undefined, o.column)))], from: { t: 'cte', name: inputs[0].cte } };
    }
    const valueColumns = inputs.filter((o) => o.column !== '').map((o) => `${o.cte}.${o.column}`);
    const columnName = (o: Output): string => `__v${valueColumns.indexOf(`${o.cte}.${o.column}`)}`;
    // The first branch's NULLs carry the type of the value they stand for: Postgres and Redshift
    // resolve a UNION's column types pairwise, and NULL with NULL would become text.
    const missingValue = (v: string, branch: number): SqlExpr => {
      const owner = inputs.find((o) => `${o.cte}.${o.column}` === v);
      return branch === 0 && owner ? { t: 'nullOf', cte: owner.cte, column: owner.column } : NULL;
    };
    // Each branch names only its own value; the union fills the others with NULL by name, so the
    // SQL grows with the number of metrics, not with its square.
    const branches: Select[] = inputs.map((o) => ({
      t: 'select',
      columns: [...this.keyColumns(undefined), ...(o.column === '' ? [] : [{ expr: col(undefined, o.column), alias: columnName(o) }])],
      from: { t: 'cte', name: o.cte },
    }));
    const columns = [...this.plan.keys.map((k) => k.column), ...valueColumns.map((_, i) => `__v${i}`)];
    const firstBranchNull = Object.fromEntries(valueColumns.map((v, i) => [`__v${i}`, missingValue(v, 0)]));
    const keyCols = this.keyColumns('combined', final);
    return {
      t: 'select',
      columns: [...keyCols, ...outputs((o) => filled(o, { t: 'aggregate', agg: 'max', arg: col('combined', columnName(o)) }))],
      from: { t: 'query', alias: 'combined', query: { t: 'union_all', queries: branches, byName: { columns, firstBranchNull } } },
      groupBy: this.plan.keys.map((k) => col('combined', k.column)),
    };
  }
}

/** Whether a metric reads another period anywhere in its inputs. */
function hasOffset(node: PlanNode): boolean {
  switch (node.kind) {
    case 'offset':
      return true;
    case 'ratio':
      return hasOffset(node.numerator) || hasOffset(node.denominator);
    case 'derived':
      return node.inputs.some((i) => hasOffset(i.node));
    default:
      return false;
  }
}

/** Whether a key's values are whole days (shown as dates) rather than times or numbers. */
function isDateKey(k: GroupKey): boolean {
  const t = k.time;
  if (!t || t.kind === 'part') return false;
  const grain = t.kind === 'grain' ? t.grain : t.custom.spine.grain;
  return GRAIN_ORDER[grain] >= GRAIN_ORDER.day;
}

/** The parts of a filter that must all hold (its top-level AND). */
function conjunctsOf(e: Expression): Expression[] {
  return e.kind === 'and' ? e.args.flatMap(conjunctsOf) : [e];
}

/**
 * 0 of the type of an output's values: an empty sum of decimals is 0.00 on every engine (a bare
 * 0 would be an integer where the engine does not carry the decimal's scale, as on Postgres).
 */
function typedZero(o: Output): SqlExpr {
  const sample: SqlExpr = { t: 'subquery', query: { t: 'select', columns: [{ expr: { t: 'aggregate', agg: 'max', arg: col(undefined, o.column) }, alias: 'sample' }], from: { t: 'cte', name: o.cte } } };
  return { t: 'coalesce', args: [{ t: 'binary', op: '*', left: num(0), right: sample }, num(0)] };
}

/** A value read from an output, with its fill_nulls_with where it has one. */
function filled(o: Output, value: SqlExpr): SqlExpr {
  return o.fill === undefined ? value : { t: 'coalesce', args: [value, o.fill] };
}

function ts(date: Date): SqlExpr {
  return { t: 'literal', value: { kind: 'timestamp', value: formatTime(date) } };
}

function aggregateOf(cte: string, fn: 'min' | 'max', column = TIME): SqlExpr {
  return {
    t: 'subquery',
    query: { t: 'select', columns: [{ expr: { t: 'aggregate', agg: fn, arg: col(undefined, column) }, alias: fn }], from: { t: 'cte', name: cte } },
  };
}
