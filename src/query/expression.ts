/**
 * The small expression language shared by request filters, metric filters and derived-metric
 * formulas. It is plain data: parsed from text by `parseExpression`, checked against the semantic
 * graph by the resolver, and lowered to the SQL AST by the planner. Nothing in it is SQL text.
 */

/** A number literal keeps its source text so that decimals and big integers stay exact. */
export type Literal =
  | { kind: 'string'; value: string }
  | { kind: 'number'; text: string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' };

export type ComparisonOperator = '=' | '<>' | '<' | '<=' | '>' | '>=';
export type ArithmeticOperator = '+' | '-' | '*' | '/' | '%';

/** Functions a user may call; everything else is refused by the parser. */
export const ALLOWED_FUNCTIONS = [
  'lower',
  'upper',
  'trim',
  'length',
  'abs',
  'round',
  'floor',
  'ceil',
  'coalesce',
  'nullif',
  'greatest',
  'least',
] as const;
export type AllowedFunction = (typeof ALLOWED_FUNCTIONS)[number];

export type Expression =
  /** A dotted reference as written: `user.country`, `metric_time.month`, `revenue` (derived formulas). */
  | { kind: 'ref'; ref: string; position: number }
  | { kind: 'literal'; literal: Literal }
  | { kind: 'comparison'; op: ComparisonOperator; left: Expression; right: Expression }
  | { kind: 'arithmetic'; op: ArithmeticOperator; left: Expression; right: Expression }
  | { kind: 'negate'; arg: Expression }
  | { kind: 'and'; args: Expression[] }
  | { kind: 'or'; args: Expression[] }
  | { kind: 'not'; arg: Expression }
  | { kind: 'in'; arg: Expression; list: Expression[]; negated: boolean }
  | { kind: 'between'; arg: Expression; low: Expression; high: Expression; negated: boolean }
  | { kind: 'like'; arg: Expression; pattern: Expression; negated: boolean; caseInsensitive: boolean }
  | { kind: 'isNull'; arg: Expression; negated: boolean }
  | { kind: 'call'; fn: AllowedFunction; args: Expression[] }
  | { kind: 'case'; branches: { when: Expression; then: Expression }[]; otherwise?: Expression }
  /** Substring tests built by the typed API filters (no LIKE wildcards to escape). */
  | { kind: 'textMatch'; arg: Expression; value: string; at: 'anywhere' | 'start' | 'end' }
  /**
   * A conversion that gives NULL where the value does not convert (never an error). Never parsed
   * from text: inserted by the type checker (src/query/typecheck.ts) around operands whose type
   * Tally does not know, so that a caller's filter cannot fail on data.
   */
  | { kind: 'cast'; arg: Expression; to: 'text' | 'number' | 'boolean' };

/** Every reference in an expression, in order of appearance. */
export function collectRefs(expr: Expression, out: { ref: string; position: number }[] = []): { ref: string; position: number }[] {
  switch (expr.kind) {
    case 'ref':
      out.push({ ref: expr.ref, position: expr.position });
      break;
    case 'literal':
      break;
    case 'comparison':
    case 'arithmetic':
      collectRefs(expr.left, out);
      collectRefs(expr.right, out);
      break;
    case 'negate':
    case 'not':
    case 'isNull':
      collectRefs(expr.arg, out);
      break;
    case 'and':
    case 'or':
      for (const a of expr.args) collectRefs(a, out);
      break;
    case 'in':
      collectRefs(expr.arg, out);
      for (const a of expr.list) collectRefs(a, out);
      break;
    case 'between':
      collectRefs(expr.arg, out);
      collectRefs(expr.low, out);
      collectRefs(expr.high, out);
      break;
    case 'like':
      collectRefs(expr.arg, out);
      collectRefs(expr.pattern, out);
      break;
    case 'textMatch':
    case 'cast':
      collectRefs(expr.arg, out);
      break;
    case 'call':
      for (const a of expr.args) collectRefs(a, out);
      break;
    case 'case':
      for (const b of expr.branches) {
        collectRefs(b.when, out);
        collectRefs(b.then, out);
      }
      if (expr.otherwise) collectRefs(expr.otherwise, out);
      break;
  }
  return out;
}

/** Keys already computed, per expression object (expressions are plain data, never changed once built). */
const keys = new WeakMap<Expression, string>();

/**
 * A string that is equal for equal expressions and different otherwise: the expression's JSON,
 * computed once per expression object. The planner keys its memos by it (one plan node per metric
 * and filters), so that many metrics under the same filters do not serialise them again each.
 */
export function expressionKey(e: Expression): string {
  let key = keys.get(e);
  if (key === undefined) {
    key = JSON.stringify(e);
    keys.set(e, key);
  }
  return key;
}

/** The key of a list of expressions: the same string as JSON.stringify(list). */
export function expressionsKey(list: readonly Expression[]): string {
  let out = '[';
  for (let i = 0; i < list.length; i++) out += (i > 0 ? ',' : '') + expressionKey(list[i]);
  return out + ']';
}
