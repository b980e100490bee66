/**
 * The rows of one measure's model with the joins its references need. Each model is read through
 * a projection of the columns used, named after the definitions (entity, dimension and measure
 * names), so that an analyst's expression is evaluated in its own model's scope and joined
 * columns never collide.
 */
import type { Dimension, JoinHop, Measure, Model, SemanticGraph } from '../definitions/graph.js';
import { GRAIN_ORDER } from '../definitions/schema.js';
import { TallyError } from '../errors.js';
import type { Expression } from '../query/expression.js';
import { parseReference, type Reference, type TimeSpec } from '../query/references.js';
import { type FromItem, type Join, type Select, type SqlExpr, and, col } from '../sql/ast.js';
import { lowerExpression } from './expression.js';
import { resolveFrom } from './joins.js';
import { bucket } from './time.js';

/** A dimension or entity reference (what a scan can resolve itself). */
export type ColumnReference = Extract<Reference, { kind: 'dimension' | 'entity' }>;
/** A metric per entity used in a filter (`listing.bookings`): the caller computes it, the scan joins it. */
export type MetricReference = Extract<Reference, { kind: 'metric' }>;
export type MetricResolver = (ref: MetricReference, scan: ScanBuilder) => SqlExpr;

interface Relation {
  alias: string;
  model: Model;
  /** column name → definition SQL */
  columns: Map<string, string>;
  join?: { parentAlias: string; hop: JoinHop };
}

export class ScanBuilder {
  private readonly relations = new Map<string, Relation>();
  private readonly base: Relation;
  private readonly conditions: SqlExpr[] = [];
  private readonly extraJoins: Join[] = [];
  private driver?: { item: FromItem; on: SqlExpr };
  /**
   * What the measure's time dimension stands for in this scan: usually its own column, but a
   * period of a time spine when the scan is shifted in time (offsets). References to that
   * dimension through the model itself (`booking.ds`) read it, like metric_time does.
   */
  leafTime?: { dimension: Dimension; expr: SqlExpr };
  /** Computes metrics per entity used in filters; without it they are refused. */
  metrics?: MetricResolver;
  /**
   * How joined models meet the rows: `left` keeps the measure's rows as they are; `full` (for
   * listing dimension values) also keeps the joined models' rows that nothing links to.
   */
  joinType: 'left' | 'full' = 'left';
  /** Relations joined only for access-policy row filters: LEFT joined, so they remove rows and never add any. */
  private readonly restricting = new Set<Relation>();

  constructor(
    private readonly graph: SemanticGraph,
    readonly model: Model,
    /** Says whose scan this is in error messages, e.g. "metric 'revenue'". */
    readonly purpose: string,
    private readonly timeZone: string,
  ) {
    this.base = { alias: model.name, model, columns: new Map() };
    this.relations.set('', this.base);
  }

  /** A column of the base model or of a model reached through `hops`. */
  private use(hops: JoinHop[], column: string, sql: string): SqlExpr {
    let parent = this.base;
    let key = '';
    let path = '';
    for (const hop of hops) {
      // Two models can hold the same entity (customer_id): the relation is the entity path and the model.
      key = `${key}.${hop.entity}>${hop.to.name}`;
      path = path ? `${path}.${hop.entity}` : hop.entity;
      let rel = this.relations.get(key);
      if (!rel) {
        let alias = path.replace(/\./g, '__');
        while ([...this.relations.values()].some((r) => r.alias === alias)) alias += '_';
        rel = { alias, model: hop.to, columns: new Map(), join: { parentAlias: parent.alias, hop } };
        this.relations.set(key, rel);
        parent.columns.set(hop.entity, hop.fromExpr);
        rel.columns.set(hop.entity, hop.toExpr);
      }
      parent = rel;
    }
    parent.columns.set(column, sql);
    return col(parent.alias, column);
  }

  /** A column of the base model by name and definition SQL (data checks read entities, dimensions and row conditions). */
  column(name: string, sql: string): SqlExpr {
    return this.use([], name, sql);
  }

  measure(measure: Measure): SqlExpr {
    return this.use([], measure.name, measure.expr);
  }

  entity(name: string): SqlExpr {
    const e = this.model.entities.get(name);
    if (!e) throw new TallyError('INVALID_REQUEST', `${this.purpose}: model '${this.model.name}' has no entity '${name}'`);
    return this.use([], e.name, e.expr);
  }

  /** A time dimension of the base model as wall-clock time in the request's zone. */
  time(dim: Dimension): SqlExpr {
    return this.zoned(this.use([], dim.name, dim.expr));
  }

  /** A time dimension as the stored UTC instant, for elapsed-time comparisons that DST must not bend. */
  instant(dim: Dimension): SqlExpr {
    return { t: 'castTimestamp', arg: this.use([], dim.name, dim.expr) };
  }

  zoned(arg: SqlExpr): SqlExpr {
    const ts: SqlExpr = { t: 'castTimestamp', arg };
    return this.timeZone === 'UTC' ? ts : { t: 'toZone', zone: this.timeZone, arg: ts };
  }

  /** Whether a reference is the measure's own time dimension (which follows metric_time). */
  isLeafTime(ref: Reference): boolean {
    if (ref.kind === 'metric_time') return true;
    if (ref.kind !== 'dimension' || !ref.isTime || !this.leafTime) return false;
    try {
      const resolved = resolveFrom(this.graph, this.model, ref, this.purpose);
      return resolved.hops.length === 0 && resolved.dimension === this.leafTime.dimension;
    } catch {
      return false;
    }
  }

  /**
   * Resolves references that only row filters use: the relations they add are LEFT joined whatever
   * `joinType` says, so that a caller with row filters sees the rows an unrestricted caller sees
   * on data holding only the allowed rows (a FULL join would add the joined model's own rows).
   */
  restrictBy(refs: ColumnReference[]): void {
    const before = new Set(this.relations.values());
    for (const r of refs) this.reference(r);
    for (const rel of this.relations.values()) if (!before.has(rel)) this.restricting.add(rel);
  }

  /** A dimension or entity reference (not metric_time) resolved from the base model. */
  reference(ref: ColumnReference): { expr: SqlExpr; dimension?: Dimension } {
    const resolved = resolveFrom(this.graph, this.model, ref, this.purpose);
    if (resolved.dimension) {
      if (resolved.dimension.type === 'time') {
        const spec: TimeSpec = (ref.kind === 'dimension' ? ref.time : undefined) ?? { kind: 'grain', grain: resolved.dimension.granularity };
        const own = resolved.hops.length === 0 && this.leafTime?.dimension === resolved.dimension ? this.leafTime.expr : undefined;
        const time = own ?? this.zoned(this.use(resolved.hops, resolved.column, resolved.dimension.expr));
        return { expr: bucket(spec, time), dimension: resolved.dimension };
      }
      return { expr: this.use(resolved.hops, resolved.column, resolved.dimension.expr), dimension: resolved.dimension };
    }
    const entity = resolved.model.entities.get(resolved.column);
    if (!entity) throw new Error(`entity ${resolved.column} vanished from ${resolved.model.name}`);
    return { expr: this.use(resolved.hops, entity.name, entity.expr) };
  }

  /** Adds a filter; `metricTime` says what metric_time means for this scan (undefined: it has none). */
  filter(expr: Expression, metricTime: SqlExpr | undefined): void {
    this.conditions.push(
      lowerExpression(expr, (text) => {
        const ref = parseReference(this.graph, text);
        if (ref.kind === 'metric_time') {
          if (!metricTime) {
            throw new TallyError('INVALID_FILTER', `${this.purpose} has no time dimension, so a filter on '${text}' cannot apply to it`);
          }
          return ref.time ? bucket(ref.time, metricTime) : metricTime;
        }
        if (ref.kind === 'metric') {
          if (!this.metrics) throw new TallyError('INVALID_FILTER', `'${text}' (metric '${ref.metric}' per ${ref.entityPath.join('.')}) cannot be used in this filter`);
          return this.metrics(ref, this);
        }
        return this.reference(ref).expr;
      }),
    );
  }

  condition(expr: SqlExpr): void {
    this.conditions.push(expr);
  }

  /** Joins another relation (a metric computed per entity) to these rows. */
  join(join: Join): void {
    this.extraJoins.push(join);
  }

  /**
   * Reads the rows through `item` (a time spine): FROM item INNER JOIN the model's rows ON `on`,
   * so that each row is repeated for every period it maps to.
   */
  driveBy(item: FromItem, on: SqlExpr): void {
    this.driver = { item, on };
  }

  /** MIN and MAX of an expression over the model's rows alone (no joins, no filters). */
  extent(expr: SqlExpr): { min: SqlExpr; max: SqlExpr } {
    const of = (agg: 'min' | 'max'): SqlExpr => ({
      t: 'subquery',
      query: { t: 'select', columns: [{ expr: { t: 'aggregate', agg, arg: expr }, alias: agg }], from: this.relationItem(this.base) },
    });
    return { min: of('min'), max: of('max') };
  }

  /** FROM, joins and WHERE for a SELECT over these rows. */
  build(): Pick<Select, 'from' | 'joins' | 'where'> {
    // Conditions first: they may add columns to any relation's projection.
    const conditions = new Map<Relation, SqlExpr[]>();
    for (const rel of this.relations.values()) {
      if (!rel.join) continue;
      const { parentAlias, hop } = rel.join;
      const on: SqlExpr[] = [{ t: 'binary', op: '=', left: col(parentAlias, hop.entity), right: col(rel.alias, hop.entity) }];
      conditions.set(rel, [...on, ...this.partitionConditions(rel), ...this.validityConditions(rel)]);
    }
    const joins: Join[] = [...conditions].map(([rel, on]) => ({ type: this.restricting.has(rel) ? 'left' : this.joinType, item: this.relationItem(rel), on: and(on) }));
    joins.push(...this.extraJoins);
    const baseItem = this.relationItem(this.base);
    if (this.driver) {
      return { from: this.driver.item, joins: [{ type: 'inner', item: baseItem, on: this.driver.on }, ...joins], where: and(this.conditions) };
    }
    return { from: baseItem, joins, where: and(this.conditions) };
  }

  /**
   * Models partitioned alike (a partition dimension of the same name) are joined partition to
   * partition: a joined model's partition matches the nearest model on its join path that has it.
   */
  private partitionConditions(rel: Relation): SqlExpr[] {
    const out: SqlExpr[] = [];
    for (const d of rel.model.dimensions.values()) {
      if (!d.def.is_partition) continue;
      let ancestor = this.parentOf(rel);
      while (ancestor && !ancestor.model.dimensions.get(d.name)?.def.is_partition) ancestor = this.parentOf(ancestor);
      const theirs = ancestor?.model.dimensions.get(d.name);
      if (!ancestor || !theirs) continue;
      ancestor.columns.set(d.name, theirs.expr);
      rel.columns.set(d.name, d.expr);
      const grain = GRAIN_ORDER[d.granularity] >= GRAIN_ORDER[theirs.granularity] ? d.granularity : theirs.granularity;
      const at = (alias: string): SqlExpr => ({ t: 'truncate', grain, arg: { t: 'castTimestamp', arg: col(alias, d.name) } });
      out.push({ t: 'binary', op: '=', left: d.type === 'time' ? at(ancestor.alias) : col(ancestor.alias, d.name), right: d.type === 'time' ? at(rel.alias) : col(rel.alias, d.name) });
    }
    return out;
  }

  private parentOf(rel: Relation): Relation | undefined {
    const parent = rel.join?.parentAlias;
    return parent === undefined ? undefined : [...this.relations.values()].find((r) => r.alias === parent);
  }

  /**
   * A slowly changing dimension (a model with validity start and end) is joined to the version
   * valid at the time of the measure's row: start <= time < end, where a NULL end is open.
   */
  private validityConditions(rel: Relation): SqlExpr[] {
    const dims = [...rel.model.dimensions.values()];
    const start = dims.find((d) => d.def.validity === 'start');
    const end = dims.find((d) => d.def.validity === 'end');
    if (!start && !end) return [];
    if (!this.leafTime) {
      throw new TallyError('INVALID_REQUEST', `${this.purpose} joins '${rel.model.name}', whose rows are valid over time, but has no time to pick a version with`);
    }
    const time = bucket({ kind: 'grain', grain: this.leafTime.dimension.granularity }, this.leafTime.expr);
    const out: SqlExpr[] = [];
    const column = (d: Dimension): SqlExpr => {
      rel.columns.set(d.name, d.expr);
      return this.zoned(col(rel.alias, d.name));
    };
    if (start) out.push({ t: 'binary', op: '>=', left: time, right: column(start) });
    if (end) {
      const e = column(end);
      out.push({ t: 'or', args: [{ t: 'binary', op: '<', left: time, right: e }, { t: 'isNull', arg: e, negated: false }] });
    }
    return out;
  }

  private relationItem(rel: Relation): FromItem {
    const columns = [...rel.columns.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, sql]) => ({ name, sql }));
    if (columns.length === 0) columns.push({ name: '_row', sql: '1' });
    const source: FromItem = rel.model.def.table
      ? { t: 'table', name: rel.model.def.table, alias: 'source' }
      : { t: 'sql', sql: rel.model.def.sql ?? '', alias: 'source' };
    return {
      t: 'query',
      alias: rel.alias,
      query: {
        t: 'select',
        columns: columns.map((c) => ({
          expr: { t: 'definition', sql: c.sql },
          alias: c.name,
        })),
        from: source,
      },
    };
  }
}
