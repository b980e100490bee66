/** Lowers the user-facing expression language to the SQL tree, resolving each reference. */
import type { Expression, Literal } from '../query/expression.js';
import type { SqlExpr, SqlLiteral } from '../sql/ast.js';

export function lowerExpression(expr: Expression, resolve: (ref: string, position: number) => SqlExpr): SqlExpr {
  const go = (e: Expression): SqlExpr => lowerExpression(e, resolve);
  switch (expr.kind) {
    case 'ref':
      return resolve(expr.ref, expr.position);
    case 'literal':
      return { t: 'literal', value: literal(expr.literal) };
    case 'comparison':
      return { t: 'binary', op: expr.op, left: go(expr.left), right: go(expr.right) };
    case 'arithmetic':
      return { t: 'binary', op: expr.op, left: go(expr.left), right: go(expr.right) };
    case 'negate':
      return { t: 'negate', arg: go(expr.arg) };
    case 'and':
    case 'or':
      return { t: expr.kind, args: expr.args.map(go) };
    case 'not':
      return { t: 'not', arg: go(expr.arg) };
    case 'in':
      return { t: 'in', arg: go(expr.arg), list: expr.list.map(go), negated: expr.negated };
    case 'between':
      return { t: 'between', arg: go(expr.arg), low: go(expr.low), high: go(expr.high), negated: expr.negated };
    case 'like':
      return { t: 'like', arg: go(expr.arg), pattern: go(expr.pattern), negated: expr.negated, caseInsensitive: expr.caseInsensitive };
    case 'isNull':
      return { t: 'isNull', arg: go(expr.arg), negated: expr.negated };
    case 'call':
      return expr.fn === 'coalesce' ? { t: 'coalesce', args: expr.args.map(go) } : { t: 'call', fn: expr.fn, args: expr.args.map(go) };
    case 'textMatch':
      return { t: 'textMatch', arg: go(expr.arg), value: expr.value, at: expr.at };
    case 'cast':
      return { t: 'tryCast', arg: go(expr.arg), to: expr.to };
    case 'case':
      return {
        t: 'case',
        branches: expr.branches.map((b) => ({ when: go(b.when), then: go(b.then) })),
        otherwise: expr.otherwise ? go(expr.otherwise) : undefined,
      };
  }
}

function literal(l: Literal): SqlLiteral {
  return l;
}
