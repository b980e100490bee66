/**
 * The shared context of lowering one logical plan to SQL: the statement's CTEs and their names,
 * the memo of nodes already lowered (per time bounds and offsets), leaf scans that several metrics
 * share, and the few questions every node module asks (key columns, a new scan of a measure's
 * model). Node modules (one per plan node kind, beside this file) build SQL over it; which module
 * lowers which node is decided in index.ts, given to the context as its `visit` function, so that
 * nothing here depends on a node module.
 */
import type { Measure, SemanticGraph } from '../../definitions/graph.js';
import { TallyError } from '../../errors.js';
import type { Expression } from '../../query/expression.js';
import { parseReference } from '../../query/references.js';
import { type Cte, type OrderItem, type Select, type SelectColumn, type SqlExpr, type Statement, col, num } from '../../sql/ast.js';
import type { GroupKey, MeasureUse, Plan, PlanNode, Shift } from '../plan.js';
import { type ColumnReference, type Projections, ScanBuilder } from '../scan.js';
import type { Bounds } from '../time.js';
import type { RollupRouter } from '../../rollups/route.js';
import { averageAggregate } from './average.js';
import { metricFilter } from './metric-filter.js';
import { isDateKey, type Output } from './output.js';

/** CTEs of one statement, shared by the lowering of metrics used in filters. */
export interface SharedCtes {
  ctes: Cte[];
  names: Set<string>;
  metricFilters: Map<string, { cte: string; key: string; out: Output }>;
  /** CTEs shared by key (see Lowering.sharedCte). */
  byKey: Map<string, string>;
  /** Model projections shared by the statement's scans (see ScanBuilder.projections). */
  projections: Projections;
}

/** What the target dialect needs from the shape of the SQL (see Dialect). */
export interface LowerOptions {
  /** Each sort-based aggregate (median, percentile) in a step of its own: Dialect.sortedAggregatesApart. */
  sortedAggregatesApart?: boolean;
  /** Route leaves to rollups where one serves them (src/rollups/route.ts; leaves in rollup-scan.ts). */
  rollups?: RollupRouter;
}

/** Lowers one node (not memoised: `Lowering.node` memoises and calls it). */
export type Visit = (cx: Lowering, node: PlanNode, bounds: Bounds, shifts: Shift[]) => Output;

export class Lowering {
  readonly ctes: Cte[];
  /** Nodes already lowered, per time bounds and time shifts. */
  private readonly done = new Map<PlanNode, Map<string, Output>>();
  private readonly cteNames: Set<string>;
  readonly shared: SharedCtes;
  /** Aggregations over the same rows, so that more metrics of one model share one scan. */
  readonly sharedScans = new Map<string, { scan: ScanBuilder; select: Select; cte: Cte }>();

  constructor(
    readonly graph: SemanticGraph,
    readonly plan: Plan,
    private readonly visit: Visit,
    shared?: SharedCtes,
    readonly options: LowerOptions = {},
  ) {
    this.shared = shared ?? { ctes: [], names: new Set(), metricFilters: new Map(), byKey: new Map(), projections: new Map() };
    this.ctes = this.shared.ctes;
    this.cteNames = this.shared.names;
  }

  /** A context for another plan (a metric used in a filter) that adds to this statement's CTEs. */
  forPlan(plan: Plan): Lowering {
    return new Lowering(this.graph, plan, this.visit, this.shared, this.options);
  }

  /**
   * A node's output, lowered once per bounds and shifts. `shifts` are the offsets of the metrics
   * above this node, outermost first: each output period reads the input at the period they map
   * it back to.
   */
  node(node: PlanNode, bounds: Bounds, shifts: Shift[] = []): Output {
    const boundsKey = `${bounds.start?.getTime()}/${bounds.end?.getTime()}/${shifts.length ? JSON.stringify(shifts) : ''}`;
    const existing = this.done.get(node)?.get(boundsKey);
    if (existing) return existing;
    const out = this.visit(this, node, bounds, shifts);
    if (!this.done.has(node)) this.done.set(node, new Map());
    this.done.get(node)?.set(boundsKey, out);
    return out;
  }

  /**
   * The answer's order, total and the same on every engine: the requested order, then the
   * group-by keys not yet named (ascending) to break ties, NULLs last in every direction. Each
   * row has its own combination of keys, so a LIMIT over ties picks the same rows every run.
   */
  totalOrder(): OrderItem[] {
    const requested = this.plan.order.map((o) => ({ name: this.outputName(o.column), desc: o.desc }));
    const named = new Set(requested.map((o) => o.name));
    const ties = this.plan.keys.filter((k) => !named.has(k.text)).map((k) => ({ name: k.text, desc: false }));
    return [...requested, ...ties].map((o) => ({ expr: col(undefined, o.name), desc: o.desc, nulls: 'last' }));
  }

  /** The name of the output column for a plan column (a key's requested reference, or a metric). */
  private outputName(column: string): string {
    return this.plan.keys.find((k) => k.column === column)?.text ?? column;
  }

  addCte(preferred: string, query: Select | Statement['body'], comment: string): string {
    // The prefix keeps a step from shadowing a table of the same name (a metric called 'orders').
    let name = `cte_${preferred}`;
    for (let n = 2; this.cteNames.has(name); n++) name = `cte_${preferred}_${n}`;
    this.cteNames.add(name);
    this.ctes.push({ name, query, comment });
    return name;
  }

  /**
   * A CTE that several nodes share: built (and named after `preferred`) by the first that asks for
   * `key`, and the same name for every later one. The key must say everything `build` depends on.
   */
  sharedCte(key: string, preferred: string, build: () => Select, comment: string): string {
    const existing = this.shared.byKey.get(key);
    if (existing) return existing;
    const name = this.addCte(preferred, build(), comment);
    this.shared.byKey.set(key, name);
    return name;
  }

  /** Key columns read from a CTE (or, with `final`, renamed to the requested references). */
  keyColumns(table: string | undefined, final = false): SelectColumn[] {
    return this.plan.keys.map((k) => {
      const expr = col(table, k.column);
      if (!final) return { expr, alias: k.column };
      return { expr: isDateKey(k) ? { t: 'castDate', arg: expr } : expr, alias: k.text };
    });
  }

  columnRef(text: string, purpose: string): ColumnReference {
    const ref = parseReference(this.graph, text);
    if (ref.kind !== 'dimension' && ref.kind !== 'entity') throw new TallyError('INVALID_DEFINITION', `${purpose}: '${text}' is not a dimension or an entity`);
    return ref;
  }

  /** The keys that follow a measure's time: metric_time, and its own time dimension through its model. */
  timeKeysOf(measure: Measure): GroupKey[] {
    const probe = this.newScan(measure, 'probe');
    if (measure.timeDimension) probe.leafTime = { dimension: measure.timeDimension, expr: num(0) };
    return this.plan.keys.filter((k) => probe.isLeafTime(k.ref));
  }

  /** Whether a filter's references can all be resolved from a measure's model. */
  reaches(measure: Measure, filter: Expression): boolean {
    const probe = this.newScan(measure, 'probe');
    try {
      probe.filter(filter, num(0));
      return true;
    } catch (e) {
      if (e instanceof TallyError) return false;
      throw e;
    }
  }

  /** A scan of a measure's model whose filters may name metrics per entity (see metric-filter.ts). */
  newScan(measure: Measure, purpose: string): ScanBuilder {
    const scan = new ScanBuilder(this.graph, measure.model, purpose, this.plan.timeZone);
    scan.metrics = (ref, s) => metricFilter(this, ref, s);
    scan.projections = this.shared.projections;
    return scan;
  }

  /** A measure's aggregation over `arg`, with its percentile options; an average as its sum over its count (average.ts). */
  aggregate(measure: MeasureUse['measure'], arg: SqlExpr): SqlExpr {
    if (measure.agg === 'average') return averageAggregate(arg);
    return { t: 'aggregate', agg: measure.agg, arg, percentile: measure.def.percentile, discrete: measure.def.discrete, approximate: measure.def.approximate };
  }
}
