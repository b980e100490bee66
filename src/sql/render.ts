/**
 * Renders the SQL tree as text for people: one CTE per step with a comment saying why, one
 * clause per line, stable order. Everything engine-specific is delegated to the dialect.
 */
import type { Cte, FromItem, Join, OrderItem, Query, Select, SqlExpr, SqlLiteral, Statement } from './ast.js';
import type { Dialect } from './dialect.js';
import { TallyError } from '../errors.js';

export function renderStatement(statement: Statement, dialect: Dialect): string {
  const r = new Renderer(dialect);
  // Built by concatenation, which V8 keeps as a rope until the end, rather than by joining arrays
  // at every level (each join copies everything below it again).
  let out = '';
  if (statement.ctes.length > 0) {
    out = 'WITH\n';
    for (let i = 0; i < statement.ctes.length; i++) out += (i > 0 ? ',\n' : '') + r.cte(statement.ctes[i]);
    out += '\n';
  }
  return out + r.query(statement.body, 0) + '\n';
}

const INDENT = '  ';
/** INDENT repeated n times, for the depths a statement reaches. */
const PADS = Array.from({ length: 32 }, (_, n) => INDENT.repeat(n));
const padOf = (depth: number): string => PADS[depth] ?? INDENT.repeat(depth);
/** Expressions that need no parentheses as an operand. */
const ATOMIC = new Set<SqlExpr['t']>(['column', 'literal', 'call', 'coalesce', 'aggregate', 'truncate', 'extract', 'definition', 'castTimestamp', 'castDate', 'castCount', 'tryCast', 'window', 'subquery', 'addInterval', 'nullOf']);
/**
 * Quoted identifiers per dialect: the same few names (CTEs, internal columns, group-by aliases,
 * all from the definitions or the planner) recur in every statement. Bounded, in case a caller
 * sends many distinct valid references.
 */
const quoted = new WeakMap<Dialect, Map<string, string>>();
const QUOTED_MAX = 10_000;
const SIMPLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

class Renderer {
  private readonly ids: Map<string, string>;
  /** Subqueries in FROM already rendered in this statement, with the depth they were rendered at. */
  private readonly items = new Map<FromItem, { depth: number; text: string }>();

  constructor(private readonly d: Dialect) {
    let ids = quoted.get(d);
    if (!ids) quoted.set(d, (ids = new Map()));
    this.ids = ids;
  }

  cte(c: Cte): string {
    const comment = c.comment ? `${INDENT}-- ${c.comment.replace(/\n/g, ' ')}\n` : '';
    return `${comment}${INDENT}${this.id(c.name)} AS (\n${this.query(c.query, 2)}\n${INDENT})`;
  }

  query(q: Query, depth: number): string {
    if (q.t === 'union_all') {
      const pad = padOf(depth);
      const byName = q.byName;
      const positional = byName !== undefined && !this.d.unionByName;
      const separator = byName && !positional ? `\n${pad}UNION ALL BY NAME\n` : `\n${pad}UNION ALL\n`;
      let out = '';
      for (let i = 0; i < q.queries.length; i++) {
        const branch = positional ? padBranch(q.queries[i], byName.columns, i === 0 ? (byName.firstBranchNull ?? {}) : {}) : q.queries[i];
        out += (i > 0 ? separator : '') + this.query(branch, depth);
      }
      return out;
    }
    return this.select(q, depth);
  }

  private select(s: Select, depth: number): string {
    const pad = padOf(depth);
    const inner = pad + INDENT;
    let out = `${pad}SELECT${s.distinct ? ' DISTINCT' : ''}\n`;
    for (let i = 0; i < s.columns.length; i++) {
      const c = s.columns[i];
      const e = this.expr(c.expr, depth + 1);
      out += (i > 0 ? ',\n' : '') + inner + (c.expr.t === 'column' && c.expr.name === c.alias ? e : `${e} AS ${this.id(c.alias)}`);
    }
    if (s.from) out += `\n${pad}FROM ${this.from(s.from, depth)}`;
    if (s.joins) for (const j of s.joins) out += '\n' + pad + this.join(j, depth);
    if (s.where) out += `\n${pad}WHERE ${this.expr(s.where, depth + 1)}`;
    if (s.groupBy && s.groupBy.length > 0) {
      out += `\n${pad}GROUP BY `;
      for (let i = 0; i < s.groupBy.length; i++) out += (i > 0 ? ', ' : '') + this.expr(s.groupBy[i], depth + 1);
    }
    if (s.having) out += `\n${pad}HAVING ${this.expr(s.having, depth + 1)}`;
    if (s.orderBy && s.orderBy.length > 0) out += `\n${pad}ORDER BY ${this.order(s.orderBy, depth)}`;
    if (s.limit !== undefined) out += `\n${pad}LIMIT ${Math.trunc(s.limit)}`;
    return out;
  }

  private order(items: OrderItem[], depth: number): string {
    // NULLS FIRST / LAST is spelled the same in all six dialects (SQL:2003); only the default
    // differs (DuckDB and Trino: last; Postgres, Snowflake, Redshift: last ascending, first
    // descending; BigQuery: first ascending), so an order that must be the same everywhere says it.
    return items.map((o) => `${this.expr(o.expr, depth + 1)}${o.desc ? ' DESC' : ''}${o.nulls ? ` NULLS ${o.nulls.toUpperCase()}` : ''}`).join(', ');
  }

  private join(j: Join, depth: number): string {
    const kind = { inner: 'INNER JOIN', left: 'LEFT JOIN', full: 'FULL OUTER JOIN', cross: 'CROSS JOIN' }[j.type];
    const on = j.on ? ` ON ${this.expr(j.on, depth + 1)}` : '';
    return `${kind} ${this.from(j.item, depth)}${on}`;
  }

  private from(f: FromItem, depth: number): string {
    const pad = padOf(depth);
    switch (f.t) {
      case 'table':
        // Table names are written by analysts in the definitions and used as they wrote them.
        return `${f.name} AS ${this.id(f.alias)}`;
      case 'sql':
        return `(\n${indentText(f.sql.trim(), pad + INDENT)}\n${pad}) AS ${this.id(f.alias)}`;
      case 'query': {
        // The statement's scans share the FROM items of models they read alike: rendered once.
        const done = this.items.get(f);
        if (done?.depth === depth) return done.text;
        const text = `(\n${this.query(f.query, depth + 1)}\n${pad}) AS ${this.id(f.alias)}`;
        this.items.set(f, { depth, text });
        return text;
      }
      case 'cte':
        return f.alias ? `${this.id(f.name)} AS ${this.id(f.alias)}` : this.id(f.name);
      case 'series':
        return this.d.series(this.expr(f.start, depth), this.expr(f.stop, depth), f.grain, this.id(f.alias), this.id(f.column), pad);
    }
  }

  private id(name: string): string {
    let q = this.ids.get(name);
    if (q === undefined) {
      q = this.d.quoteIdentifier(name);
      if (this.ids.size >= QUOTED_MAX) this.ids.clear();
      this.ids.set(name, q);
    }
    return q;
  }

  private literal(l: SqlLiteral): string {
    switch (l.kind) {
      case 'string':
        // A NUL would end the statement early in engines that take C strings (DuckDB), and no
        // engine stores it in text: refused, so that the SQL that runs is the SQL rendered.
        if (l.value.includes('\u0000')) throw new TallyError('INVALID_FILTER', 'a text value contains a NUL character (\\u0000), which databases cannot store or compare; remove it');
        return this.d.stringLiteral(l.value);
      case 'number':
        // The filter language's number shapes (`.5` included); anything else is a bug, never user text.
        if (!/^-?(\d+(\.\d+)?|\.\d+)([eE][-+]?\d+)?$/.test(l.text)) throw new Error(`not a number literal: ${l.text}`);
        return l.text;
      case 'boolean':
        return l.value ? 'TRUE' : 'FALSE';
      case 'null':
        return 'NULL';
      case 'timestamp':
        return this.d.timestampLiteral(l.value);
      case 'date':
        return this.d.dateLiteral(l.value);
    }
  }

  expr(e: SqlExpr, depth: number): string {
    switch (e.t) {
      case 'column':
        return e.table ? `${this.id(e.table)}.${this.id(e.name)}` : this.id(e.name);
      case 'definition':
        return SIMPLE_NAME.test(e.sql) ? e.sql : `(${e.sql.includes('--') ? `${e.sql}\n` : e.sql})`;
      case 'literal':
        return this.literal(e.value);
      case 'binary': {
        const left = this.operand(e.left, depth);
        const right = this.operand(e.right, depth);
        // Division and modulo by zero are NULL in every dialect, as ratios are (never an error).
        if (e.op === '/' || e.op === '%') {
          const divisor = nonZero(e.right) ? right : `NULLIF(${right}, 0)`;
          if (e.op === '/') return this.d.divide ? this.d.divide(left, divisor) : `${left} / ${divisor}`;
          return this.d.modulo ? this.d.modulo(left, divisor) : `${left} % ${divisor}`;
        }
        return `${left} ${e.op} ${right}`;
      }
      case 'and':
      case 'or':
        return e.args.map((a) => this.operand(a, depth)).join(e.t === 'and' ? ' AND ' : ' OR ');
      case 'not':
        return `NOT ${this.operand(e.arg, depth)}`;
      case 'negate':
        return `-${this.operand(e.arg, depth)}`;
      case 'in':
        return `${this.operand(e.arg, depth)} ${e.negated ? 'NOT IN' : 'IN'} (${e.list.map((x) => this.expr(x, depth)).join(', ')})`;
      case 'between':
        return `${this.operand(e.arg, depth)} ${e.negated ? 'NOT BETWEEN' : 'BETWEEN'} ${this.operand(e.low, depth)} AND ${this.operand(e.high, depth)}`;
      case 'like': {
        const arg = this.operand(e.arg, depth);
        const pattern = this.d.likeBackslashEscapes ? this.literalBackslashes(e.pattern, depth) : this.operand(e.pattern, depth);
        const options = { negated: e.negated, caseInsensitive: e.caseInsensitive };
        if (this.d.like) return this.d.like(arg, pattern, options);
        return `${arg} ${e.negated ? 'NOT ' : ''}${e.caseInsensitive ? 'ILIKE' : 'LIKE'} ${pattern}`;
      }
      case 'textMatch': {
        const arg = this.expr(e.arg, depth);
        const value = this.d.stringLiteral(e.value);
        if (this.d.textMatch) return this.d.textMatch(arg, value, e.at);
        if (e.at === 'anywhere') return `POSITION(${value} IN ${arg}) > 0`;
        const length = `CHAR_LENGTH(${value})`;
        return e.at === 'start' ? `SUBSTRING(${arg}, 1, ${length}) = ${value}` : `SUBSTRING(${arg}, CHAR_LENGTH(${arg}) - ${length} + 1) = ${value}`;
      }
      case 'isNull':
        return `${this.operand(e.arg, depth)} IS ${e.negated ? 'NOT ' : ''}NULL`;
      case 'case': {
        const parts = e.branches.map((b) => `WHEN ${this.expr(b.when, depth)} THEN ${this.expr(b.then, depth)}`);
        if (e.otherwise) parts.push(`ELSE ${this.expr(e.otherwise, depth)}`);
        return `CASE ${parts.join(' ')} END`;
      }
      case 'call': {
        if (!/^[a-z_][a-z0-9_]*$/.test(e.fn)) throw new Error(`not a function name: ${e.fn}`);
        const args = e.args.map((a) => this.expr(a, depth));
        return this.d.call?.(e.fn, args) ?? `${e.fn.toUpperCase()}(${args.join(', ')})`;
      }
      case 'coalesce':
        return `COALESCE(${e.args.map((a) => this.expr(a, depth)).join(', ')})`;
      case 'aggregate':
        return this.d.aggregate(e.agg, e.arg ? this.expr(e.arg, depth) : undefined, {
          filter: e.filter ? this.expr(e.filter, depth) : undefined,
          percentile: e.percentile,
          discrete: e.discrete,
          approximate: e.approximate,
        });
      case 'ratio':
        return this.d.ratio(this.operand(e.numerator, depth), this.operand(e.denominator, depth));
      case 'truncate':
        return this.d.truncate(e.grain, this.expr(e.arg, depth));
      case 'extract':
        return this.d.extract ? this.d.extract(e.part, this.expr(e.arg, depth)) : `EXTRACT(${e.part === 'dow' ? 'isodow' : e.part} FROM ${this.expr(e.arg, depth)})`;
      case 'toZone':
        return this.d.toZone(e.zone, this.expr(e.arg, depth));
      case 'addInterval':
        return `(${this.d.addInterval(this.operand(e.arg, depth), e.count, e.grain)})`;
      case 'castTimestamp':
        return this.d.castTimestamp(this.expr(e.arg, depth));
      case 'tryCast':
        return this.d.tryCast(this.expr(e.arg, depth), e.to);
      case 'castDate':
        return this.d.castDate(this.expr(e.arg, depth));
      case 'castCount':
        return `CAST(${this.expr(e.arg, depth)} AS ${this.d.countType ?? 'BIGINT'})`;
      case 'window': {
        const fn = e.fn.toUpperCase();
        const arg = (e.arg ? this.expr(e.arg, depth) : '') + (e.offset !== undefined && e.arg ? `, ${Math.trunc(e.offset)}` : '');
        const over: string[] = [];
        if (e.partitionBy.length) over.push(`PARTITION BY ${e.partitionBy.map((p) => this.expr(p, depth)).join(', ')}`);
        if (e.orderBy.length) over.push(`ORDER BY ${this.order(e.orderBy, depth)}`);
        if (e.frame === 'unbounded_to_current') over.push('ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW');
        return `${fn}(${arg}) OVER (${over.join(' ')})`;
      }
      case 'subquery':
        return `(\n${this.query(e.query, depth + 1)}\n${padOf(depth)})`;
      case 'nullOf':
        return this.d.typedNull ? this.d.typedNull(`(SELECT ${this.id(e.column)} FROM ${this.id(e.cte)} WHERE FALSE)`) : 'NULL';
    }
  }

  /** A LIKE pattern in which a backslash stands for itself, where the dialect's default escape is `\`. */
  private literalBackslashes(pattern: SqlExpr, depth: number): string {
    if (pattern.t === 'literal' && pattern.value.kind === 'string') return this.d.stringLiteral(pattern.value.value.replace(/\\/g, '\\\\'));
    return `REPLACE(${this.expr(pattern, depth)}, ${this.d.stringLiteral('\\')}, ${this.d.stringLiteral('\\\\')})`;
  }

  /** An operand of an operator: parenthesised unless it is atomic. */
  private operand(e: SqlExpr, depth: number): string {
    const s = this.expr(e, depth);
    return ATOMIC.has(e.t) ? s : `(${s})`;
  }
}

/** Whether a divisor can never be 0: a non-zero number literal, or NULLIF(x, 0) written out. */
function nonZero(e: SqlExpr): boolean {
  if (e.t === 'literal') return e.value.kind === 'number' && Number(e.value.text) !== 0;
  return e.t === 'call' && e.fn === 'nullif' && e.args[1]?.t === 'literal' && e.args[1].value.kind === 'number' && Number(e.args[1].value.text) === 0;
}

/** A branch of a by-name union spelled positionally: every column in order, NULL where absent. */
function padBranch(branch: Query, columns: string[], nulls: Record<string, SqlExpr>): Query {
  if (branch.t !== 'select') throw new Error('a by-name union takes SELECT branches');
  const own = new Map(branch.columns.map((c) => [c.alias, c]));
  return {
    ...branch,
    columns: columns.map((alias) => own.get(alias) ?? { expr: nulls[alias] ?? { t: 'literal', value: { kind: 'null' } }, alias }),
  };
}

function indentText(text: string, pad: string): string {
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}
