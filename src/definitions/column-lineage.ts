/**
 * Column-level lineage: which base tables and columns an expression over a semantic model reads.
 * Over a `table:` model, a column is that table's column. Over a `sql:` model, each output column
 * of its SELECT is followed back through aliases, joins, WITH clauses, subqueries in FROM and
 * UNION branches to the table columns it is computed from (a SELECT * passes every name through).
 *
 * Reads the model's SQL with node-sql-parser (sql-ast.ts); the SQL was already checked to be one
 * plain SELECT when the graph was built. Results are kept per model: a request's lineage costs a
 * lookup, not a parse.
 */
import type { Model } from './graph.js';
import { columnRef, columnRefs, identifierText, isNode, parseSql, parseSqlExpression, type SqlNode } from './sql-ast.js';

/** A column of a table (or view) in the warehouse; `table` as the definitions name it (`mf.fct_bookings`). */
export interface ColumnRef {
  table: string;
  column: string;
}

/** What a FROM item or a query offers: its output columns, each with the base columns it reads. */
interface Relation {
  /** Output column names in order (UNION branches match by position). */
  order: string[];
  /** Lower-case output name → the base columns it reads. */
  columns: Map<string, ColumnRef[]>;
  /** A name not listed: a table's own column, or one passed through a SELECT *. */
  other?: (name: string) => ColumnRef[] | undefined;
}

const byModel = new WeakMap<Model, { relation: Relation; exprs: Map<string, ColumnRef[]> }>();

/** The base columns that `expr` (an `expr:` of one of `model`'s entities, dimensions or measures) reads, in order of appearance. */
export function columnsOfExpr(model: Model, expr: string): ColumnRef[] {
  let entry = byModel.get(model);
  if (!entry) byModel.set(model, (entry = { relation: modelRelation(model), exprs: new Map() }));
  const hit = entry.exprs.get(expr);
  if (hit) return hit;
  const plain = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(expr);
  const parsed = plain ? undefined : parseSqlExpression(expr);
  const refs = plain ? [{ column: plain[1] }] : parsed ? columnRefs(parsed) : [];
  const relation = entry.relation;
  const out = unique(refs.filter((r) => r.column !== '*').flatMap((r) => lookup(relation, r.column) ?? [{ table: unresolved(model), column: r.column }]));
  entry.exprs.set(expr, out);
  return out;
}

function unresolved(model: Model): string {
  return model.def.table ?? `(sql of model ${model.name})`;
}

function modelRelation(model: Model): Relation {
  if (model.def.table !== undefined) return tableRelation(model.def.table);
  const parsed = parseSql(model.def.sql ?? '');
  const stmt = parsed.ok ? parsed.statements[0] : undefined;
  return stmt ? queryRelation(stmt, new Map()) : { order: [], columns: new Map() };
}

function tableRelation(table: string): Relation {
  return { order: [], columns: new Map(), other: (name) => [{ table, column: name }] };
}

function lookup(relation: Relation, name: string): ColumnRef[] | undefined {
  return relation.columns.get(name.toLowerCase()) ?? relation.other?.(name);
}

/** A SELECT (with its WITH clauses and UNION branches) as a relation. */
function queryRelation(stmt: SqlNode, outerCtes: Map<string, Relation>): Relation {
  const ctes = new Map(outerCtes);
  for (const item of Array.isArray(stmt.with) ? stmt.with : []) {
    if (!isNode(item)) continue;
    const name = identifierText(item.name);
    const body = isNode(item.stmt) && isNode(item.stmt.ast) ? item.stmt.ast : item.stmt;
    if (name && isNode(body)) ctes.set(name.toLowerCase(), queryRelation(body, ctes));
  }
  const relation = selectRelation(stmt, ctes);
  const branches = [relation];
  // UNION / EXCEPT / INTERSECT: the n-th column of each branch feeds the n-th output column.
  for (let next = stmt._next; isNode(next); next = next._next) {
    const branch = selectRelation(next, ctes);
    branches.push(branch);
    relation.order.forEach((name, i) => {
      const other = branch.order[i];
      const refs = other === undefined ? [] : (branch.columns.get(other) ?? []);
      relation.columns.set(name, unique([...(relation.columns.get(name) ?? []), ...refs]));
    });
  }
  if (branches.length > 1 && relation.other) {
    // Branches of SELECT *: a name not listed comes from every branch that has it.
    const own = { ...relation };
    branches[0] = own;
    relation.other = (name) => {
      const refs = unique(branches.flatMap((b) => lookup(b, name) ?? []));
      return refs.length ? refs : undefined;
    };
  }
  return relation;
}

/** One SELECT's output columns, resolved against its FROM items. */
function selectRelation(stmt: SqlNode, ctes: Map<string, Relation>): Relation {
  const sources = new Map<string, Relation>();
  for (const item of Array.isArray(stmt.from) ? stmt.from : []) {
    if (!isNode(item)) continue;
    const alias = identifierText(item.as);
    if (typeof item.table === 'string') {
      const qualified = [item.db, item.schema, item.table].filter((p): p is string => typeof p === 'string' && p !== '').join('.');
      const cte = qualified === item.table ? ctes.get(item.table.toLowerCase()) : undefined;
      sources.set((alias ?? item.table).toLowerCase(), cte ?? tableRelation(qualified));
    } else if (isNode(item.expr) && isNode(item.expr.ast) && alias) {
      sources.set(alias.toLowerCase(), queryRelation(item.expr.ast, ctes));
    }
  }
  const list = [...sources.values()];
  const resolve = (ref: { table?: string; column: string }): ColumnRef[] => {
    if (ref.table !== undefined) {
      const source = sources.get(ref.table.toLowerCase());
      return (source && lookup(source, ref.column)) ?? [];
    }
    if (list.length === 1) return lookup(list[0], ref.column) ?? [];
    // Several sources: the one that lists the name, or the only one that can hold any name.
    const listing = list.filter((s) => s.columns.has(ref.column.toLowerCase()));
    if (listing.length === 1) return listing[0].columns.get(ref.column.toLowerCase()) ?? [];
    const open = list.filter((s) => s.other);
    if (open.length === 1) return lookup(open[0], ref.column) ?? [];
    // Ambiguous without the warehouse's schema: name every table it may come from.
    const tables = unique(open.flatMap((s) => s.other?.(ref.column) ?? [])).map((c) => c.table);
    return tables.length ? [{ table: tables.join(' or '), column: ref.column }] : [];
  };

  const order: string[] = [];
  const columns = new Map<string, ColumnRef[]>();
  const stars: Relation[] = [];
  for (const item of Array.isArray(stmt.columns) ? stmt.columns : []) {
    if (!isNode(item) || !isNode(item.expr)) continue;
    const ref = columnRef(item.expr);
    if (ref?.column === '*') {
      const source = ref.table !== undefined ? sources.get(ref.table.toLowerCase()) : undefined;
      stars.push(...(source ? [source] : ref.table === undefined ? list : []));
      continue;
    }
    const name = identifierText(item.as) ?? ref?.column;
    if (name === undefined) continue;
    order.push(name.toLowerCase());
    columns.set(name.toLowerCase(), unique(columnRefs(item.expr).flatMap(resolve)));
  }
  const other =
    stars.length === 0
      ? undefined
      : (name: string): ColumnRef[] | undefined => {
          const listing = stars.find((s) => s.columns.has(name.toLowerCase()));
          if (listing) return listing.columns.get(name.toLowerCase());
          return stars.length === 1 ? stars[0].other?.(name) : resolve({ column: name });
        };
  return { order, columns, other };
}

function unique(refs: ColumnRef[]): ColumnRef[] {
  const seen = new Set<string>();
  return refs.filter((r) => {
    const key = `${r.table}\0${r.column}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
