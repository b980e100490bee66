/**
 * Types a caller's filter against the semantic graph before any SQL exists, and makes it total.
 *
 * Why: a filter that can fail on some rows answers "error" or "no error" about those rows. Engines
 * evaluate predicates in any order (DuckDB pushes filters into scans), so a caller with row
 * filters could learn about rows they may not see from whether their own filter fails. Two rules
 * close that:
 * 1. What is wrong for every row is refused here, with INVALID_FILTER and the column: a text
 *    compared with a number, CASE branches of different types, arithmetic on text, LIKE on a
 *    number, a condition that is not a condition.
 * 2. What could fail on some values becomes total: an operand whose type Tally does not know (a
 *    categorical dimension or an entity key: their column types are the warehouse's) is converted
 *    with a `cast` node where it meets a known type, which the dialects render as a conversion
 *    that gives NULL instead of failing (TRY_CAST and equivalents). Arithmetic operands are
 *    converted to numbers the same way (DuckDB's 64-bit integer arithmetic fails on overflow;
 *    its floating-point arithmetic gives NULL), and division and modulo by zero are NULL in every
 *    dialect (see render.ts).
 *
 * Types: `text`, `number`, `boolean`, `time` (time dimensions and metric_time at a grain),
 * `null` (the NULL literal), a categorical dimension's declared `data_type`, and `unknown`
 * (entities, and categorical dimensions without a `data_type`). A date part
 * (`metric_time.extract_year`) and a metric per entity (`listing.bookings`) are numbers. A time
 * compares with a time or with a date or timestamp written in quotes ('2024-01-31',
 * '2024-01-31 10:00').
 */
import type { SemanticGraph } from '../definitions/graph.js';
import { TallyError } from '../errors.js';
import type { Expression } from './expression.js';
import { parseReference, type Reference } from './references.js';

export type FilterType = 'text' | 'number' | 'boolean' | 'time' | 'null' | 'unknown';
/** The types a value of unknown type can be converted to without failing. */
export type CastTarget = 'text' | 'number' | 'boolean';

const DATE_TEXT = /^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?$/;

interface Typed {
  expr: Expression;
  type: FilterType;
}

/**
 * Checks a caller's filter (`where`, typed API filters) and returns it with conversions inserted
 * where needed. Throws INVALID_FILTER (ill-typed) or UNKNOWN_DIMENSION (a name that is not a
 * dimension; a bare word gets a hint that a text value needs quotes). `text` is the filter as
 * written, for columns in messages; `context` names it (`where`).
 */
export function typecheckFilter(graph: SemanticGraph, expr: Expression, context = 'where'): Expression {
  // Parsed filters are shared, immutable trees (src/query/parse-cache.ts): so are checked ones.
  let checked = checkedByGraph.get(graph);
  if (!checked) checkedByGraph.set(graph, (checked = new WeakMap()));
  const key = `${context}`;
  const hit = checked.get(expr)?.get(key);
  if (hit) return hit;
  const checker = new Checker(graph, context);
  const out = checker.condition(checker.check(expr), 'the filter').expr;
  const byContext = checked.get(expr) ?? new Map<string, Expression>();
  byContext.set(key, out);
  checked.set(expr, byContext);
  return out;
}

const checkedByGraph = new WeakMap<SemanticGraph, WeakMap<Expression, Map<string, Expression>>>();

class Checker {
  constructor(
    private readonly graph: SemanticGraph,
    private readonly context: string,
  ) {}

  private fail(at: Expression, what: string, fix: string): never {
    const column = firstColumn(at);
    throw new TallyError('INVALID_FILTER', `Invalid filter in ${this.context}${column === undefined ? '' : ` at column ${column}`}: ${what}. ${fix}`);
  }

  private reference(e: Extract<Expression, { kind: 'ref' }>): Reference {
    try {
      return parseReference(this.graph, e.ref);
    } catch (err) {
      if (err instanceof TallyError && err.code === 'UNKNOWN_DIMENSION' && !e.ref.includes('.') && !this.graph.metrics.has(e.ref)) {
        // `user.country = KR`: most likely a value without quotes.
        throw new TallyError(
          'UNKNOWN_DIMENSION',
          `${this.context} at column ${e.position}: '${e.ref}' is not a dimension, entity or metric. If it is a text value, put it in single quotes: '${e.ref.replace(/'/g, "''")}'.${/ Did you mean .*$/.exec(err.message)?.[0] ?? ''}`,
        );
      }
      if (err instanceof TallyError && err.code === 'UNKNOWN_DIMENSION') {
        throw new TallyError('UNKNOWN_DIMENSION', `${this.context} at column ${e.position}: ${err.message}`);
      }
      throw err;
    }
  }

  private refType(ref: Reference): FilterType {
    switch (ref.kind) {
      case 'metric_time':
        return ref.time?.kind === 'part' ? 'number' : 'time';
      case 'dimension':
        if (!ref.isTime) return this.declaredType(ref);
        return ref.time?.kind === 'part' ? 'number' : 'time';
      case 'entity':
        return 'unknown';
      case 'metric':
        return 'number';
    }
  }

  /** A categorical dimension's declared `data_type`, where every model that has it agrees. */
  private declaredType(ref: Extract<Reference, { kind: 'dimension' }>): FilterType {
    const owner = ref.entityPath[ref.entityPath.length - 1];
    const types = new Set((this.graph.entityOwners.get(owner) ?? []).map((m) => m.dimensions.get(ref.dimension)?.def.data_type).filter((t) => t !== undefined));
    const declared = [...types];
    return declared.length === 1 && declared[0] !== undefined ? declared[0] : 'unknown';
  }

  check(e: Expression): Typed {
    switch (e.kind) {
      case 'ref':
        return { expr: e, type: this.refType(this.reference(e)) };
      case 'literal': {
        const l = e.literal;
        return { expr: e, type: l.kind === 'string' ? 'text' : l.kind };
      }
      case 'comparison': {
        const [left, right] = this.unify([this.check(e.left), this.check(e.right)], `'${e.op}'`);
        return { expr: { ...e, left: left.expr, right: right.expr }, type: 'boolean' };
      }
      case 'between': {
        const [arg, low, high] = this.unify([this.check(e.arg), this.check(e.low), this.check(e.high)], 'BETWEEN');
        return { expr: { ...e, arg: arg.expr, low: low.expr, high: high.expr }, type: 'boolean' };
      }
      case 'in': {
        const [arg, ...list] = this.unify([this.check(e.arg), ...e.list.map((x) => this.check(x))], 'IN');
        return { expr: { ...e, arg: arg.expr, list: list.map((x) => x.expr) }, type: 'boolean' };
      }
      case 'arithmetic': {
        const left = this.number(this.check(e.left), `'${e.op}'`);
        const right = this.number(this.check(e.right), `'${e.op}'`);
        return { expr: { ...e, left: left.expr, right: right.expr }, type: 'number' };
      }
      case 'negate':
        return { expr: { ...e, arg: this.number(this.check(e.arg), "unary '-'").expr }, type: 'number' };
      case 'and':
      case 'or':
        return { expr: { ...e, args: e.args.map((a) => this.condition(this.check(a), e.kind.toUpperCase()).expr) }, type: 'boolean' };
      case 'not':
        return { expr: { ...e, arg: this.condition(this.check(e.arg), 'NOT').expr }, type: 'boolean' };
      case 'isNull':
        return { expr: { ...e, arg: this.check(e.arg).expr }, type: 'boolean' };
      case 'like': {
        const arg = this.text(this.check(e.arg), e.caseInsensitive ? 'ILIKE' : 'LIKE');
        const pattern = this.text(this.check(e.pattern), e.caseInsensitive ? 'ILIKE' : 'LIKE');
        return { expr: { ...e, arg: arg.expr, pattern: pattern.expr }, type: 'boolean' };
      }
      case 'textMatch':
        return { expr: { ...e, arg: this.text(this.check(e.arg), 'a text match').expr }, type: 'boolean' };
      case 'call':
        return this.call(e);
      case 'case': {
        const branches = e.branches.map((b) => ({ when: this.condition(this.check(b.when), 'WHEN').expr, then: this.check(b.then) }));
        const results = [...branches.map((b) => b.then), ...(e.otherwise ? [this.check(e.otherwise)] : [])];
        const unified = this.unify(results, 'the results of CASE', true);
        const type = resultType(unified);
        const out: Expression = {
          kind: 'case',
          branches: branches.map((b, i) => ({ when: b.when, then: unified[i].expr })),
          ...(e.otherwise ? { otherwise: unified[unified.length - 1].expr } : {}),
        };
        return { expr: out, type };
      }
      case 'cast':
        return { expr: e, type: e.to };
    }
  }

  private call(e: Extract<Expression, { kind: 'call' }>): Typed {
    const args = e.args.map((a) => this.check(a));
    const what = `${e.fn}()`;
    switch (e.fn) {
      case 'lower':
      case 'upper':
      case 'trim':
        return { expr: { ...e, args: args.map((a) => this.text(a, what).expr) }, type: 'text' };
      case 'length':
        return { expr: { ...e, args: args.map((a) => this.text(a, what).expr) }, type: 'number' };
      case 'abs':
      case 'floor':
      case 'ceil':
      case 'round':
        if (e.fn === 'round' && e.args[1] !== undefined && !(e.args[1].kind === 'literal' && e.args[1].literal.kind === 'number' && /^\d{1,2}$/.test(e.args[1].literal.text))) {
          this.fail(e.args[1], 'round() takes the number of decimals as a whole number written out (0 to 99)', 'Write round(x, 2)');
        }
        return { expr: { ...e, args: args.map((a, i) => (i === 0 ? this.number(a, what).expr : a.expr)) }, type: 'number' };
      case 'coalesce':
      case 'nullif':
      case 'greatest':
      case 'least': {
        const unified = this.unify(args, what, true);
        return { expr: { ...e, args: unified.map((a) => a.expr) }, type: resultType(unified) };
      }
    }
  }

  /** A condition: boolean, or an operand of unknown type converted to boolean. */
  condition(t: Typed, where: string): Typed {
    if (t.type === 'boolean' || t.type === 'null') return t;
    if (t.type === 'unknown') return { expr: cast(t.expr, 'boolean'), type: 'boolean' };
    return this.fail(t.expr, `${where} needs a condition, but this is a ${t.type} value`, "Compare it with something, as in user.country = 'KR'");
  }

  private number(t: Typed, where: string): Typed {
    if (t.type === 'null') return t;
    if (t.type === 'number' || t.type === 'unknown') return alreadyTotalNumber(t.expr) ? t : { expr: cast(t.expr, 'number'), type: 'number' };
    return this.fail(t.expr, `${where} needs numbers, but this is a ${t.type} value`, 'Use arithmetic on numeric values only; compare text with = or LIKE');
  }

  /**
   * Text operands (LIKE, lower(), text matches). One of unknown type stays as it is: converting
   * any value to text cannot fail, and a function or LIKE that does not take its column type
   * fails for every row alike (the engine's binder refuses it before reading data).
   */
  private text(t: Typed, where: string): Typed {
    if (t.type === 'text' || t.type === 'null') return t;
    if (t.type === 'unknown') return { expr: t.expr, type: 'text' };
    return this.fail(t.expr, `${where} needs text, but this is a ${t.type} value`, "Apply it to text values, as in lower(user.country) = 'kr'");
  }

  /**
   * Operands that meet (compared, listed, or alternative results): their known types must agree,
   * and operands of unknown type are converted to that type. Even next to a text literal: an
   * engine converts the literal to the column's type only when it reads a row (`user = 'KR'` fails
   * on DuckDB only where there are rows), so the column is converted to text instead, which never
   * fails (and costs nothing where the column is text already).
   */
  private unify(items: Typed[], where: string, results = false): Typed[] {
    const known = items.filter((t) => t.type !== 'unknown' && t.type !== 'null');
    let target: FilterType | undefined;
    for (const t of known) {
      if (target === undefined || target === t.type) {
        target = t.type;
        continue;
      }
      // A time and a date written in quotes.
      const [time, other] = target === 'time' ? [undefined, t] : t.type === 'time' ? [t, undefined] : [undefined, undefined];
      if (!results && (time || other)) {
        const textSide = other ?? known.find((k) => k.type === 'text');
        if (textSide && isDateLiteral(textSide.expr)) {
          target = 'time';
          continue;
        }
      }
      const first = known.find((k) => k.type === target) ?? known[0];
      if (!results && [target, t.type].includes('time') && [target, t.type].includes('text')) {
        this.fail(first.expr, `${where} compares a time with text that is not a date`, "Write dates as '2024-01-31' or '2024-01-31 10:00:00'");
      }
      const mismatch = results ? `${where} mix ${target} and ${t.type} values` : `${where} compares a ${target} value with a ${t.type} value`;
      const fix =
        target === 'text' || t.type === 'text'
          ? `Compare like with like: text values are written in single quotes ('KR'), numbers without (42)`
          : 'Compare values of one type';
      this.fail(first === t ? t.expr : first.expr, mismatch, fix);
    }
    if (target === 'time') {
      for (const t of known) {
        if (t.type === 'text' && !isDateLiteral(t.expr)) this.fail(t.expr, `${where} compares a time with text that is not a date`, "Write dates as '2024-01-31' or '2024-01-31 10:00:00'");
      }
      return items.map((t) => (t.type === 'unknown' ? this.fail(t.expr, `${where} compares a time with a value of unknown type`, "Compare times with times or with dates in quotes, as in metric_time.day >= '2024-01-01'") : t));
    }
    if (target === undefined) {
      // Only unknown types (and NULL): compared as text, which every value converts to.
      return items.map((t) => (t.type === 'unknown' ? { expr: cast(t.expr, 'text'), type: 'text' } : t));
    }
    const to = target as CastTarget;
    return items.map((t) => {
      if (t.type !== 'unknown') return t;
      return { expr: cast(t.expr, to), type: to };
    });
  }
}

function resultType(items: Typed[]): FilterType {
  const known = items.find((t) => t.type !== 'null' && t.type !== 'unknown');
  return known ? known.type : items.some((t) => t.type === 'unknown') ? 'unknown' : 'null';
}

function cast(expr: Expression, to: CastTarget): Expression {
  return { kind: 'cast', arg: expr, to };
}

/**
 * Whether arithmetic on `e` is already floating-point (or a constant): a literal, arithmetic and
 * conversions made here, and the numeric functions applied to them. Anything else (a column, an
 * integer-valued function such as length()) is converted, so that integer overflow cannot fail.
 */
function alreadyTotalNumber(e: Expression): boolean {
  switch (e.kind) {
    case 'literal':
    case 'arithmetic':
    case 'negate':
    case 'cast':
      return true;
    case 'call':
      return ['abs', 'floor', 'ceil', 'round'].includes(e.fn) && e.args[0] !== undefined && alreadyTotalNumber(e.args[0]);
    default:
      return false;
  }
}

function isDateLiteral(e: Expression): boolean {
  return e.kind === 'literal' && e.literal.kind === 'string' && DATE_TEXT.test(e.literal.value);
}

/** The column of the first reference in an expression, to point messages somewhere. */
function firstColumn(e: Expression): number | undefined {
  switch (e.kind) {
    case 'ref':
      return e.position;
    case 'literal':
      return undefined;
    case 'comparison':
    case 'arithmetic':
      return firstColumn(e.left) ?? firstColumn(e.right);
    case 'negate':
    case 'not':
    case 'isNull':
    case 'textMatch':
    case 'cast':
      return firstColumn(e.arg);
    case 'and':
    case 'or':
    case 'call':
      return e.args.map(firstColumn).find((c) => c !== undefined);
    case 'in':
      return [e.arg, ...e.list].map(firstColumn).find((c) => c !== undefined);
    case 'between':
      return [e.arg, e.low, e.high].map(firstColumn).find((c) => c !== undefined);
    case 'like':
      return firstColumn(e.arg) ?? firstColumn(e.pattern);
    case 'case':
      return [...e.branches.flatMap((b) => [b.when, b.then]), ...(e.otherwise ? [e.otherwise] : [])].map(firstColumn).find((c) => c !== undefined);
  }
}
