/**
 * The same filter texts (metric filters, row filters, dashboards' filters) come back again and
 * again; parsing one costs tens of microseconds (filter.peggy), about as much as compiling the
 * rest of a simple request. Parsed trees are immutable data, so they are shared (and so are their
 * type-checked forms, see typecheck.ts).
 */
import type { Expression } from './expression.js';
import { parseExpression } from './parse-expression.js';

const MAX_ENTRIES = 2000;
const parsed = new Map<string, Expression>();

export function parseExpressionCached(text: string, context: string): Expression {
  const key = `${context}\0${text}`;
  const hit = parsed.get(key);
  if (hit) return hit;
  const expr = parseExpression(text, { context });
  if (parsed.size >= MAX_ENTRIES) parsed.delete(parsed.keys().next().value as string);
  parsed.set(key, expr);
  return expr;
}
