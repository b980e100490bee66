/**
 * Logical plan → SQL tree. Each plan node becomes one or more named CTEs whose columns are the
 * request's group-by keys plus the node's value; metrics from different models are aggregated
 * on their own and combined on the keys afterwards (never joined fact to fact).
 */
import type { SemanticGraph } from '../definitions/graph.js';
import { GRAIN_ORDER, type Grain, type Window } from '../definitions/schema.js';
import { TallyError } from '../errors.js';
import { add, formatTime, truncate } from '../query/time.js';
import { type Cte, type Select, type SelectColumn, type SqlExpr, type Statement, and, col, num } from '../sql/ast.js';
import { lowerExpression } from './expression.js';
import type { GroupKey, MeasureUse, Plan, PlanNode } from './plan.js';
import { ScanBuilder } from './scan.js';

/** A CTE holding the keys and one value column. */
interface Output {
  cte: string;
  column: string;
}

/** Time bounds a leaf must read, as wall-clock timestamps: [start, end). */
interface Bounds {
  start?: Date;
  end?: Date;
}

const TIME = '__time';
const VALUE = '__value';

export function lowerPlan(graph: SemanticGraph, plan: Plan): Statement {
  return new Lowering(graph, plan).statement();
}

class Lowering {
  private readonly ctes: Cte[] = [];
  /** Nodes already lowered, per time bounds (an offset reads its input over other bounds). */
  private readonly done = new Map<PlanNode, Map<string, Output>>();
  private readonly cteNames = new Set<string>();

  constructor(
    private readonly graph: SemanticGraph,
    private readonly plan: Plan,
  ) {}

  statement(): Statement {
    const plan = this.plan;
    const outputs = plan.outputs.map((o) => ({ ...o, out: this.node(o.node, plan.range) }));
    const spine = plan.timeKey && (plan.fillGaps || outputs.some((o) => o.joinToSpine)) ? this.spineOutput(outputs.map((o) => o.out)) : undefined;

    const inputs = [...outputs.map((o) => o.out), ...(spine ? [spine] : [])];
    const valueOf = (o: (typeof outputs)[number], e: SqlExpr): SqlExpr => (o.fill === undefined ? e : { t: 'coalesce', args: [e, num(o.fill)] });
    let body: Select;
    if (inputs.length === 1) {
      const only = outputs[0];
      body = {
        t: 'select',
        columns: [...this.keyColumns(undefined, true), { expr: valueOf(only, col(undefined, only.out.column)), alias: only.name }],
        from: { t: 'cte', name: only.out.cte },
      };
    } else {
      body = this.combine(inputs, (max) => outputs.map((o) => ({ expr: valueOf(o, max(o.out)), alias: o.name })), true);
    }
    const orderBy = plan.order.length
      ? plan.order.map((o) => ({ expr: col(undefined, this.outputName(o.column)), desc: o.desc }))
      : plan.keys.map((k) => ({ expr: col(undefined, k.text) }));
    body.orderBy = orderBy;
    if (plan.limit !== undefined) body.limit = plan.limit;
    return { ctes: this.ctes, body };
  }

  private outputName(column: string): string {
    return this.plan.keys.find((k) => k.column === column)?.text ?? column;
  }

  private addCte(preferred: string, query: Select | Statement['body'], comment: string): string {
    // The prefix keeps a step from shadowing a table of the same name (a metric called 'orders').
    let name = `cte_${preferred}`;
    for (let n = 2; this.cteNames.has(name); n++) name = `${preferred}_${n}`;
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

  private node(node: PlanNode, bounds: Bounds): Output {
    const boundsKey = `${bounds.start?.toISOString()}/${bounds.end?.toISOString()}`;
    const existing = this.done.get(node)?.get(boundsKey);
    if (existing) return existing;
    let out: Output;
    switch (node.kind) {
      case 'simple':
        out = this.simple(node, bounds);
        break;
      case 'cumulative':
        out = this.cumulative(node, bounds);
        break;
      case 'conversion':
        out = this.conversion(node, bounds);
        break;
      case 'ratio': {
        const n = this.node(node.numerator, bounds);
        const d = this.node(node.denominator, bounds);
        const query = this.combine([n, d], (max) => [{ expr: { t: 'ratio', numerator: max(n), denominator: max(d) }, alias: node.id }]);
        out = { cte: this.addCte(node.id, query, `${node.metric} = ${node.numerator.metric} / ${node.denominator.metric}`), column: node.id };
        break;
      }
      case 'derived': {
        const inputs = node.inputs.map((i) => ({ alias: i.alias, out: this.node(i.node, bounds) }));
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
        break;
      }
      case 'offset':
        out = this.offset(node, bounds);
        break;
    }
    if (!this.done.has(node)) this.done.set(node, new Map());
    this.done.get(node)?.set(boundsKey, out);
    return out;
  }

  /** A leaf scan: rows of the measure's model with the keys resolved and filters applied. */
  private scan(use: MeasureUse, bounds: Bounds, purpose: string, opts: { timeKey: 'truncated' | 'omit' }): { scan: ScanBuilder; keys: SelectColumn[]; time?: SqlExpr } {
    const { measure } = use;
    const scan = new ScanBuilder(this.graph, measure.model, purpose, this.plan.timeZone);
    const time = measure.timeDimension ? scan.time(measure.timeDimension) : undefined;
    const keys: SelectColumn[] = [];
    for (const k of this.plan.keys) {
      if (k.ref.kind === 'metric_time') {
        if (!time) {
          throw new TallyError('INVALID_REQUEST', `${purpose} has no time dimension (measure '${measure.name}'), so it cannot be grouped by ${k.text}`);
        }
        if (opts.timeKey === 'omit') continue;
        keys.push({ expr: { t: 'truncate', grain: this.plan.timeKey?.grain ?? 'day', arg: time }, alias: k.column });
      } else {
        keys.push({ expr: scan.reference(k.ref).expr, alias: k.column });
      }
    }
    for (const f of use.filters) scan.filter(f, time);
    if (bounds.start || bounds.end) {
      if (!time) throw new TallyError('INVALID_REQUEST', `${purpose} has no time dimension, so it cannot take a time range`);
      if (bounds.start) scan.condition({ t: 'binary', op: '>=', left: time, right: ts(bounds.start) });
      if (bounds.end) scan.condition({ t: 'binary', op: '<', left: time, right: ts(bounds.end) });
    }
    return { scan, keys, time };
  }

  private simple(node: Extract<PlanNode, { kind: 'simple' }>, bounds: Bounds): Output {
    const { measure } = node.use;
    if (measure.def.non_additive_dimension) return this.semiAdditive(node, bounds);
    const { scan, keys } = this.scan(node.use, bounds, `metric '${node.metric}'`, { timeKey: 'truncated' });
    const value = this.aggregate(measure, scan.measure(measure));
    const query: Select = {
      t: 'select',
      columns: [...keys, { expr: value, alias: node.id }],
      ...scan.build(),
      groupBy: keys.map((k) => k.expr),
    };
    return { cte: this.addCte(node.id, query, `${node.metric}: ${measure.agg} of ${measure.model.name}.${measure.name}`), column: node.id };
  }

  private aggregate(measure: MeasureUse['measure'], arg: SqlExpr): SqlExpr {
    return { t: 'aggregate', agg: measure.agg, arg, percentile: measure.def.percentile, discrete: measure.def.discrete };
  }

  /** Balances and other semi-additive measures: only the rows at the last (or first) time count. */
  private semiAdditive(node: Extract<PlanNode, { kind: 'simple' }>, bounds: Bounds): Output {
    const { measure } = node.use;
    const nad = measure.def.non_additive_dimension;
    if (!nad) throw new Error('not semi-additive');
    const { scan, keys } = this.scan(node.use, bounds, `metric '${node.metric}'`, { timeKey: 'truncated' });
    const dim = measure.model.dimensions.get(nad.name);
    if (!dim) throw new Error(`missing non-additive dimension ${nad.name}`);
    const at = scan.time(dim);
    const groupings = nad.window_groupings.map((g) => scan.entity(g));
    const rows: Select = {
      t: 'select',
      columns: [
        ...keys,
        { expr: scan.measure(measure), alias: VALUE },
        { expr: at, alias: TIME },
        { expr: { t: 'window', fn: nad.window_choice === 'max' ? 'max' : 'min', arg: at, partitionBy: [...keys.map((k) => k.expr), ...groupings], orderBy: [] }, alias: '__edge' },
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

  private cumulative(node: Extract<PlanNode, { kind: 'cumulative' }>, bounds: Bounds): Output {
    const { measure } = node.use;
    const grain = this.plan.timeKey?.grain;
    const purpose = `metric '${node.metric}'`;
    if (!grain) {
      if (node.window || node.grainToDate) {
        throw new TallyError('INVALID_REQUEST', `${purpose} accumulates over ${node.window ? `a ${node.window.count}-${node.window.grain} window` : `the ${node.grainToDate} to date`}, so group it by metric_time (for example metric_time.day)`);
      }
      // All-time accumulation without a time axis is the plain aggregate over the range.
      return this.simple({ ...node, kind: 'simple' }, bounds);
    }
    // The window is evaluated per period of the base grain, then a coarser grain takes one value per period.
    const base: Grain = GRAIN_ORDER[grain] <= GRAIN_ORDER.day ? grain : 'day';
    // Rows before the range still count toward the first windows in it.
    const rowBounds: Bounds = { end: bounds.end };
    if (bounds.start && node.window) rowBounds.start = add(add(bounds.start, 1, base), -node.window.count, node.window.grain);
    if (bounds.start && node.grainToDate) rowBounds.start = truncate(bounds.start, node.grainToDate);
    const { scan, keys, time } = this.scan(node.use, rowBounds, purpose, { timeKey: 'omit' });
    if (!time) throw new Error('cumulative without time');
    const rows: Select = {
      t: 'select',
      columns: [...keys, { expr: time, alias: TIME }, { expr: scan.measure(measure), alias: VALUE }],
      ...scan.build(),
    };
    const rowsCte = this.addCte(`${node.id}_rows`, rows, `${node.metric}: ${measure.model.name} rows that can fall in a window`);

    const period = col('period', 'start');
    const nextPeriod: SqlExpr = { t: 'addInterval', arg: period, count: 1, grain: base };
    const rowTime = col('r', TIME);
    const conditions: SqlExpr[] = [{ t: 'binary', op: '<', left: rowTime, right: nextPeriod }];
    if (node.window) {
      conditions.push({ t: 'binary', op: '>=', left: rowTime, right: { t: 'addInterval', arg: nextPeriod, count: -node.window.count, grain: node.window.grain } });
    } else if (node.grainToDate) {
      conditions.push({ t: 'binary', op: '>=', left: rowTime, right: { t: 'truncate', grain: node.grainToDate, arg: period } });
    }
    const minTime: SqlExpr = { t: 'truncate', grain: base, arg: aggregateOf(rowsCte, 'min') };
    const spineStart = bounds.start ? ts(bounds.start) : minTime;
    const spineStop: SqlExpr = { t: 'truncate', grain: base, arg: aggregateOf(rowsCte, 'max') };
    const otherKeys = this.plan.keys.filter((k) => k.ref.kind !== 'metric_time');
    const timeColumn = this.plan.timeKey?.column ?? 'metric_time';
    const windowQuery: Select = {
      t: 'select',
      columns: [
        { expr: period, alias: base === grain ? timeColumn : '__period' },
        ...otherKeys.map((k) => ({ expr: col('r', k.column), alias: k.column })),
        { expr: this.aggregate(measure, col('r', VALUE)), alias: node.id },
      ],
      from: { t: 'series', start: spineStart, stop: spineStop, grain: base, alias: 'period', column: 'start' },
      joins: [{ type: 'inner', item: { t: 'cte', name: rowsCte, alias: 'r' }, on: and(conditions) }],
      groupBy: [period, ...otherKeys.map((k) => col('r', k.column))],
    };
    const describe = node.window ? `the ${node.window.count} ${node.window.grain}(s) ending at each ${base}` : node.grainToDate ? `the ${node.grainToDate} to date at each ${base}` : `all time up to each ${base}`;
    const windowCte = this.addCte(base === grain ? node.id : `${node.id}_by_${base}`, windowQuery, `${node.metric}: ${measure.agg} of ${measure.name} over ${describe}`);
    if (base === grain) return { cte: windowCte, column: node.id };

    // A coarser grain shows one value per period: the first, the last or the average of its days.
    const periodKey: SqlExpr = { t: 'truncate', grain, arg: col(undefined, '__period') };
    const partition = [periodKey, ...otherKeys.map((k) => col(undefined, k.column))];
    if (node.periodAgg === 'average') {
      const q: Select = {
        t: 'select',
        columns: [{ expr: periodKey, alias: timeColumn }, ...otherKeys.map((k) => ({ expr: col(undefined, k.column), alias: k.column })), { expr: { t: 'aggregate', agg: 'average', arg: col(undefined, node.id) }, alias: node.id }],
        from: { t: 'cte', name: windowCte },
        groupBy: partition,
      };
      return { cte: this.addCte(node.id, q, `${node.metric}: average of the daily values in each ${grain}`), column: node.id };
    }
    const ranked: Select = {
      t: 'select',
      columns: [
        { expr: periodKey, alias: timeColumn },
        ...otherKeys.map((k) => ({ expr: col(undefined, k.column), alias: k.column })),
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
    return { cte: this.addCte(node.id, q, `${node.metric}: the value on the ${node.periodAgg} ${base} of each ${grain}`), column: node.id };
  }

  private conversion(node: Extract<PlanNode, { kind: 'conversion' }>, bounds: Bounds): Output {
    const purpose = `metric '${node.metric}'`;
    const base = this.scan(node.base, bounds, `${purpose} (base events)`, { timeKey: 'truncated' });
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
      ],
      ...base.scan.build(),
    };
    const baseCte = this.addCte(`${node.id}_base`, baseRows, `${node.metric}: base events (${node.base.measure.name})`);

    const convScan = new ScanBuilder(this.graph, node.conversion.measure.model, `${purpose} (conversion events)`, this.plan.timeZone);
    const convTime = convScan.time(convTimeDimension);
    for (const f of node.conversion.filters) convScan.filter(f, convTime);
    if (bounds.start) convScan.condition({ t: 'binary', op: '>=', left: convTime, right: ts(bounds.start) });
    const convRows: Select = {
      t: 'select',
      columns: [
        { expr: convScan.entity(node.entity), alias: '__entity' },
        { expr: convScan.instant(convTimeDimension), alias: TIME },
        { expr: convScan.measure(node.conversion.measure), alias: VALUE },
        { expr: { t: 'window', fn: 'row_number', partitionBy: [], orderBy: [] }, alias: '__event' },
      ],
      ...convScan.build(),
    };
    const convCte = this.addCte(`${node.id}_conversion_events`, convRows, `${node.metric}: conversion events (${node.conversion.measure.name}), numbered`);

    const on: SqlExpr[] = [
      { t: 'binary', op: '=', left: col('c', '__entity'), right: col('b', '__entity') },
      { t: 'binary', op: '>=', left: col('c', TIME), right: col('b', TIME) },
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
      const conv: SqlExpr = { t: 'coalesce', args: [max(conversionsOut), num(0)] };
      return [{ expr: node.calculation === 'conversions' ? conv : { t: 'ratio', numerator: conv, denominator: max(baseOut) }, alias: node.id }];
    });
    return { cte: this.addCte(node.id, query, `${node.metric}: ${node.calculation === 'conversions' ? 'conversions' : 'conversions / base events'}`), column: node.id };
  }

  private offset(node: Extract<PlanNode, { kind: 'offset' }>, bounds: Bounds): Output {
    const timeKey = this.plan.timeKey;
    if (!timeKey) throw new TallyError('INVALID_REQUEST', `metric '${node.metric}' with an offset needs metric_time in the group-by`);
    const shift = node.shift;
    const inputBounds: Bounds =
      shift.kind === 'window'
        ? { start: bounds.start && sub(bounds.start, shift.window), end: bounds.end && sub(bounds.end, shift.window) }
        : { start: bounds.start && truncate(bounds.start, shift.grain), end: bounds.end };
    const input = this.node(node.input, inputBounds);
    const t = col('spine', 'start');
    const inputTime = col('i', timeKey.column);
    const grain = timeKey.grain;
    const lo = aggregateOf(input.cte, 'min', timeKey.column);
    const hi = aggregateOf(input.cte, 'max', timeKey.column);
    const spineStart: SqlExpr = shift.kind === 'window' ? { t: 'addInterval', arg: lo, count: shift.window.count, grain: shift.window.grain } : lo;
    const spineStop: SqlExpr = shift.kind === 'window' ? { t: 'addInterval', arg: hi, count: shift.window.count, grain: shift.window.grain } : { t: 'addInterval', arg: hi, count: 1, grain: shift.grain };
    const on: SqlExpr =
      shift.kind === 'window'
        ? { t: 'binary', op: '=', left: inputTime, right: { t: 'addInterval', arg: t, count: -shift.window.count, grain: shift.window.grain } }
        : { t: 'binary', op: '=', left: inputTime, right: { t: 'truncate', grain: shift.grain, arg: t } };
    const where: SqlExpr[] = [];
    if (bounds.start) where.push({ t: 'binary', op: '>=', left: t, right: ts(bounds.start) });
    if (bounds.end) where.push({ t: 'binary', op: '<', left: t, right: ts(bounds.end) });
    const query: Select = {
      t: 'select',
      columns: this.plan.keys
        .map((k): SelectColumn => (k.ref.kind === 'metric_time' ? { expr: t, alias: k.column } : { expr: col('i', k.column), alias: k.column }))
        .concat([{ expr: col('i', input.column), alias: node.id }]),
      from: { t: 'series', start: spineStart, stop: spineStop, grain, alias: 'spine', column: 'start' },
      joins: [{ type: 'inner', item: { t: 'cte', name: input.cte, alias: 'i' }, on }],
      where: and(where),
    };
    const what = shift.kind === 'window' ? `${shift.window.count} ${shift.window.grain}(s) earlier` : `at the start of the ${shift.grain}`;
    return { cte: this.addCte(node.id, query, `${node.metric} ${what}`), column: node.id };
  }

  /** One row per period of the time key, crossed with the other keys seen, so series have no gaps. */
  private spineOutput(outputs: Output[]): Output {
    const timeKey = this.plan.timeKey;
    if (!timeKey) throw new Error('spine without time');
    const union: Select[] = outputs.map((o) => ({ t: 'select', columns: this.keyColumns(undefined), from: { t: 'cte', name: o.cte } }));
    const seenCte = this.addCte('observed_keys', { t: 'union_all', queries: union }, 'every key combination the metrics produced');
    const start = this.plan.range.start ? ts(this.plan.range.start) : aggregateOf(seenCte, 'min', timeKey.column);
    const stop = this.plan.range.end ? ts(add(this.plan.range.end, -1, timeKey.grain)) : aggregateOf(seenCte, 'max', timeKey.column);
    const others = this.plan.keys.filter((k) => k.ref.kind !== 'metric_time');
    const query: Select = {
      t: 'select',
      columns: this.plan.keys.map((k) => ({ expr: k.ref.kind === 'metric_time' ? col('spine', 'start') : col('k', k.column), alias: k.column })),
      from: { t: 'series', start, stop, grain: timeKey.grain, alias: 'spine', column: 'start' },
      joins: others.length
        ? [{ type: 'cross', item: { t: 'query', alias: 'k', query: { t: 'select', distinct: true, columns: others.map((k) => ({ expr: col(undefined, k.column), alias: k.column })), from: { t: 'cte', name: seenCte } } } }]
        : [],
    };
    return { cte: this.addCte('time_spine', query, `one row per ${timeKey.grain} so that the series has no gaps`), column: '' };
  }

  /**
   * Puts several CTEs side by side on the keys: UNION ALL then GROUP BY, which matches NULL keys
   * and needs no join; each input has one row per key, so MAX picks its value.
   */
  private combine(inputs: Output[], outputs: (max: (o: Output) => SqlExpr) => SelectColumn[], final = false): Select {
    const valueColumns = inputs.filter((o) => o.column !== '').map((o) => `${o.cte}.${o.column}`);
    const columnName = (o: Output): string => `__v${valueColumns.indexOf(`${o.cte}.${o.column}`)}`;
    const branches: Select[] = inputs.map((o) => ({
      t: 'select',
      columns: [
        ...this.keyColumns(undefined),
        ...valueColumns.map((v, i) => ({
          expr: v === `${o.cte}.${o.column}` ? col(undefined, o.column) : ({ t: 'literal', value: { kind: 'null' } } as SqlExpr),
          alias: `__v${i}`,
        })),
      ],
      from: { t: 'cte', name: o.cte },
    }));
    const keyCols = this.keyColumns('combined', final);
    return {
      t: 'select',
      columns: [...keyCols, ...outputs((o) => ({ t: 'aggregate', agg: 'max', arg: col('combined', columnName(o)) }))],
      from: { t: 'query', alias: 'combined', query: { t: 'union_all', queries: branches } },
      groupBy: this.plan.keys.map((k) => col('combined', k.column)),
    };
  }
}

function isDateKey(k: GroupKey): boolean {
  const grain = k.ref.kind === 'metric_time' ? (k.ref.grain ?? 'day') : k.ref.kind === 'dimension' && k.ref.isTime ? (k.ref.grain ?? 'day') : undefined;
  return grain !== undefined && grain !== 'hour';
}

function ts(date: Date): SqlExpr {
  return { t: 'literal', value: { kind: 'timestamp', value: formatTime(date) } };
}

function sub(date: Date, window: Window): Date {
  return add(date, -window.count, window.grain);
}

function aggregateOf(cte: string, fn: 'min' | 'max', column = TIME): SqlExpr {
  return {
    t: 'subquery',
    query: { t: 'select', columns: [{ expr: { t: 'aggregate', agg: fn, arg: col(undefined, column) }, alias: fn }], from: { t: 'cte', name: cte } },
  };
}
