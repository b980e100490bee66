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
import { type FromItem, type Join, type Select, type SelectColumn, type SqlExpr, and, col } from '../sql/ast.js';
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
  /** Relations joined from this one, by the hop's entity and then the model it reaches. */
  children?: Map<string, Map<string, Relation>>;
}

const collator = new Intl.Collator();

/**
 * The order of a projection's columns: the same as `a.localeCompare(b)` (the default collation),
 * computed directly for the names definitions use (lower-case letters, digits and `_`, where
 * that collation is `_` < digits < letters, character by character, a prefix first), and by the
 * collator for any other name.
 */
export function byName(a: string, b: string): number {
  const n = a.length > b.length ? a.length : b.length;
  let order = 0;
  for (let i = 0; i < n; i++) {
    const x = i < a.length ? collationRank(a.charCodeAt(i)) : -1;
    const y = i < b.length ? collationRank(b.charCodeAt(i)) : -1;
    if ((x < 0 && i < a.length) || (y < 0 && i < b.length)) return collator.compare(a, b);
    if (order === 0 && x !== y) order = x < y ? -1 : 1;
  }
  return order;
}

/** A model's projection built for a scan: its columns (name and definition SQL) and the FROM item. */
interface Projection {
  columns: [string, string][];
  item: FromItem;
}
/** Projections of a statement by alias, then model name (see ScanBuilder.projections). */
export type Projections = Map<string, Map<string, Projection[]>>;

/** Names sorted by `byName` in place (an insertion sort: projections have a few columns, and Array#sort allocates). */
function sortedByName(names: string[]): string[] {
  for (let i = 1; i < names.length; i++) {
    const name = names[i];
    let j = i - 1;
    for (; j >= 0 && byName(names[j], name) > 0; j--) names[j + 1] = names[j];
    names[j + 1] = name;
  }
  return names;
}

/** 0 for `_`, then digits, then lower-case letters; -1 for any other character. */
function collationRank(c: number): number {
  if (c >= 97 && c <= 122) return c - 86; // a-z: 11..36
  if (c >= 48 && c <= 57) return c - 47; // 0-9: 1..10
  return c === 95 ? 0 : -1;
}

/** What a model's dimensions say about how it is joined (read once per model: definitions do not change). */
interface JoinTraits {
  partitions: Dimension[];
  validityStart?: Dimension;
  validityEnd?: Dimension;
}
const joinTraits = new WeakMap<Model, JoinTraits>();
function joinTraitsOf(model: Model): JoinTraits {
  let traits = joinTraits.get(model);
  if (!traits) {
    const dims = [...model.dimensions.values()];
    traits = { partitions: dims.filter((d) => d.def.is_partition), validityStart: dims.find((d) => d.def.validity === 'start'), validityEnd: dims.find((d) => d.def.validity === 'end') };
    joinTraits.set(model, traits);
  }
  return traits;
}

export class ScanBuilder {
  /** Every relation in the order it was first used, the base model first. */
  private readonly relations: Relation[] = [];
  /** The relations by alias (aliases are unique in a scan). */
  private readonly aliases = new Map<string, Relation>();
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
  /**
   * Projections already built for other scans of the same statement, by model, alias and columns:
   * a dimension model joined by many metrics' scans is one FROM item (rendered once). Absent: each
   * scan builds its own.
   */
  projections?: Projections;
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
    this.relations.push(this.base);
    this.aliases.set(this.base.alias, this.base);
  }

  /** A column of the base model or of a model reached through `hops`. */
  private use(hops: JoinHop[], column: string, sql: string): SqlExpr {
    let parent = this.base;
    let path = '';
    for (const hop of hops) {
      // Two models can hold the same entity (customer_id): the relation is the entity path and the model.
      path = path ? `${path}.${hop.entity}` : hop.entity;
      let byModel = parent.children?.get(hop.entity);
      if (!byModel) (parent.children ??= new Map()).set(hop.entity, (byModel = new Map()));
      let rel = byModel.get(hop.to.name);
      if (!rel) {
        let alias = path.replace(/\./g, '__');
        while (this.aliases.has(alias)) alias += '_';
        rel = { alias, model: hop.to, columns: new Map(), join: { parentAlias: parent.alias, hop } };
        byModel.set(hop.to.name, rel);
        this.relations.push(rel);
        this.aliases.set(alias, rel);
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
    const before = this.relations.length;
    for (const r of refs) this.reference(r);
    for (const rel of this.relations.slice(before)) this.restricting.add(rel);
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
    const conditions: SqlExpr[][] = [];
    for (const rel of this.relations) {
      if (!rel.join) continue;
      const { parentAlias, hop } = rel.join;
      const on: SqlExpr[] = [{ t: 'binary', op: '=', left: col(parentAlias, hop.entity), right: col(rel.alias, hop.entity) }];
      on.push(...this.partitionConditions(rel), ...this.validityConditions(rel));
      conditions.push(on);
    }
    const joins: Join[] = [];
    for (let i = 1; i < this.relations.length; i++) {
      const rel = this.relations[i];
      joins.push({ type: this.restricting.has(rel) ? 'left' : this.joinType, item: this.relationItem(rel), on: and(conditions[i - 1]) });
    }
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
    for (const d of joinTraitsOf(rel.model).partitions) {
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
    return parent === undefined ? undefined : this.aliases.get(parent);
  }

  /**
   * A slowly changing dimension (a model with validity start and end) is joined to the version
   * valid at the time of the measure's row: start <= time < end, where a NULL end is open.
   */
  private validityConditions(rel: Relation): SqlExpr[] {
    const { validityStart: start, validityEnd: end } = joinTraitsOf(rel.model);
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
    let alike: Projection[] | undefined;
    if (this.projections) {
      let byModel = this.projections.get(rel.alias);
      if (!byModel) this.projections.set(rel.alias, (byModel = new Map()));
      alike = byModel.get(rel.model.name);
      if (!alike) byModel.set(rel.model.name, (alike = []));
      // The same columns with the same definitions (in any order: the projection sorts them).
      for (const p of alike) {
        if (p.columns.length === rel.columns.size && p.columns.every(([name, sql]) => rel.columns.get(name) === sql)) return p.item;
      }
    }
    const names = sortedByName([...rel.columns.keys()]);
    const columns: SelectColumn[] = names.map((name) => ({ expr: { t: 'definition', sql: rel.columns.get(name) as string }, alias: name }));
    if (columns.length === 0) columns.push({ expr: { t: 'definition', sql: '1' }, alias: '_row' });
    const source: FromItem = rel.model.def.table
      ? { t: 'table', name: rel.model.def.table, alias: 'source' }
      : { t: 'sql', sql: rel.model.def.sql ?? '', alias: 'source' };
    const item: FromItem = { t: 'query', alias: rel.alias, query: { t: 'select', columns, from: source } };
    alike?.push({ columns: [...rel.columns], item });
    return item;
  }

}
