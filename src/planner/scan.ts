/**
 * The rows of one measure's model with the joins its references need. Each model is read through
 * a projection of the columns used, named after the definitions (entity, dimension and measure
 * names), so that an analyst's expression is evaluated in its own model's scope and joined
 * columns never collide.
 */
import type { Dimension, JoinHop, Measure, Model, SemanticGraph } from '../definitions/graph.js';
import { TallyError } from '../errors.js';
import type { Expression } from '../query/expression.js';
import { parseReference, type Reference } from '../query/references.js';
import { type FromItem, type Join, type Select, type SqlExpr, and, col } from '../sql/ast.js';
import { lowerExpression } from './expression.js';
import { resolveFrom } from './joins.js';

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
    for (const hop of hops) {
      key = key ? `${key}.${hop.entity}` : hop.entity;
      let rel = this.relations.get(key);
      if (!rel) {
        let alias = key.replace(/\./g, '__');
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

  /** A dimension or entity reference (not metric_time) resolved from the base model. */
  reference(ref: Exclude<Reference, { kind: 'metric_time' }>): { expr: SqlExpr; dimension?: Dimension } {
    const resolved = resolveFrom(this.graph, this.model, ref, this.purpose);
    if (resolved.dimension) {
      const expr = this.use(resolved.hops, resolved.column, resolved.dimension.expr);
      if (resolved.dimension.type === 'time') {
        const zoned = this.zoned(expr);
        const grain = ref.kind === 'dimension' ? (ref.grain ?? resolved.dimension.granularity) : resolved.dimension.granularity;
        return { expr: { t: 'truncate', grain, arg: zoned }, dimension: resolved.dimension };
      }
      return { expr, dimension: resolved.dimension };
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
          return ref.grain ? { t: 'truncate', grain: ref.grain, arg: metricTime } : metricTime;
        }
        return this.reference(ref).expr;
      }),
    );
  }

  condition(expr: SqlExpr): void {
    this.conditions.push(expr);
  }

  /** FROM, joins and WHERE for a SELECT over these rows. */
  build(): Pick<Select, 'from' | 'joins' | 'where'> {
    const joins: Join[] = [];
    for (const rel of this.relations.values()) {
      if (!rel.join) continue;
      const { parentAlias, hop } = rel.join;
      joins.push({
        type: 'left',
        item: this.relationItem(rel),
        on: { t: 'binary', op: '=', left: col(parentAlias, hop.entity), right: col(rel.alias, hop.entity) },
      });
    }
    return { from: this.relationItem(this.base), joins, where: and(this.conditions) };
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
