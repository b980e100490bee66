/**
 * Typed GraphQL filter input → the filter expression tree. Values become literals in the tree;
 * nothing is turned back into filter text, so nothing a client sends is parsed as code.
 */
import { GraphQLError } from 'graphql';
import type { Expression } from '../query/expression.js';
import { parseTime } from '../query/time.js';
import { TallyError } from '../errors.js';

export interface FilterShape {
  /** GraphQL field name → entity and its filterable dimensions (GraphQL field → reference). */
  entities: Map<string, { entity: string; dims: Map<string, { ref: string; type: 'categorical' | 'time' | 'key' }> }>;
}

type Conditions = Record<string, unknown>;
export interface FilterInput {
  and?: FilterInput[] | null;
  or?: FilterInput[] | null;
  not?: FilterInput | null;
  metricTime?: Conditions | null;
  [entity: string]: unknown;
}

const ref = (text: string): Expression => ({ kind: 'ref', ref: text, position: 0 });
const str = (value: string): Expression => ({ kind: 'literal', literal: { kind: 'string', value } });

const INT64_MAX = 9223372036854775807n;

/** and / or / not nest at most this deep in a typed filter. */
const MAX_NESTING = 32;

export function typedFilter(input: FilterInput, shape: FilterShape, depth = 0): Expression {
  if (depth > MAX_NESTING) throw new TallyError('INVALID_FILTER', `the filter nests and / or / not more than ${MAX_NESTING} deep; flatten it (in: [...] instead of nested or)`);
  const parts: Expression[] = [];
  for (const [key, value] of Object.entries(input)) {
    if (value === null || value === undefined) continue;
    if (key === 'and' || key === 'or') {
      const list = (value as FilterInput[]).map((f) => typedFilter(f, shape, depth + 1));
      if (list.length) parts.push(list.length === 1 ? list[0] : { kind: key, args: list });
    } else if (key === 'not') {
      parts.push({ kind: 'not', arg: typedFilter(value as FilterInput, shape, depth + 1) });
    } else if (key === 'metricTime') {
      parts.push(...conditions('metric_time', 'time', value as Conditions));
    } else {
      const entity = shape.entities.get(key);
      if (!entity) throw new GraphQLError(`unknown filter field '${key}'`, { extensions: { code: 'INVALID_FILTER' } });
      for (const [dimField, conds] of Object.entries(value as Record<string, Conditions | null>)) {
        const dim = entity.dims.get(dimField);
        if (!dim || !conds) continue;
        parts.push(...conditions(dim.ref, dim.type, conds));
      }
    }
  }
  if (parts.length === 0) return { kind: 'literal', literal: { kind: 'boolean', value: true } };
  return parts.length === 1 ? parts[0] : { kind: 'and', args: parts };
}

function conditions(reference: string, type: 'categorical' | 'time' | 'key', conds: Conditions): Expression[] {
  const grain = type === 'time' && typeof conds.grain === 'string' ? conds.grain : undefined;
  if (grain !== undefined && !['hour', 'day', 'week', 'month', 'quarter', 'year'].includes(grain)) {
    throw new TallyError('INVALID_FILTER', `'${grain}' is not a grain; use hour, day, week, month, quarter or year`);
  }
  const target = ref(grain ? `${reference}.${grain}` : reference);
  const value = (v: unknown): Expression => {
    const text = String(v);
    if (type === 'time') parseTime(text, `a filter on ${reference}`);
    if (type === 'key' && /^-?\d+$/.test(text)) {
      // Integer keys are BIGINT: a literal beyond it would fail in the engine, not here.
      const n = BigInt(text);
      if (n > INT64_MAX || n < -INT64_MAX - 1n) throw new TallyError('INVALID_FILTER', `the key ${text.length > 30 ? `${text.slice(0, 30)}…` : text} on ${reference} is beyond the 64-bit integers keys are; no row has it, so remove the condition`);
      return { kind: 'literal', literal: { kind: 'number', text } };
    }
    return str(text);
  };
  const out: Expression[] = [];
  for (const [op, v] of Object.entries(conds)) {
    if (v === null || v === undefined || op === 'grain') continue;
    switch (op) {
      case 'equals':
        out.push({ kind: 'comparison', op: '=', left: target, right: value(v) });
        break;
      case 'notEquals':
        out.push({ kind: 'comparison', op: '<>', left: target, right: value(v) });
        break;
      case 'lt':
      case 'lte':
      case 'gt':
      case 'gte':
        out.push({ kind: 'comparison', op: ({ lt: '<', lte: '<=', gt: '>', gte: '>=' } as const)[op], left: target, right: value(v) });
        break;
      case 'in':
      case 'notIn': {
        const list = (v as unknown[]).map(value);
        // IN () is not SQL: an empty list matches nothing (or everything, negated).
        out.push(list.length ? { kind: 'in', arg: target, list, negated: op === 'notIn' } : { kind: 'literal', literal: { kind: 'boolean', value: op === 'notIn' } });
        break;
      }
      case 'between': {
        const pair = v as unknown[];
        if (pair.length !== 2) throw new TallyError('INVALID_FILTER', `between on ${reference} takes two values, [low, high]`);
        out.push({ kind: 'between', arg: target, low: value(pair[0]), high: value(pair[1]), negated: false });
        break;
      }
      case 'contains':
      case 'startsWith':
      case 'endsWith':
        out.push({ kind: 'textMatch', arg: target, value: String(v), at: op === 'contains' ? 'anywhere' : op === 'startsWith' ? 'start' : 'end' });
        break;
      case 'isNull':
        out.push({ kind: 'isNull', arg: target, negated: v === false });
        break;
      default:
        throw new TallyError('INVALID_FILTER', `unknown condition '${op}' on ${reference}`);
    }
  }
  return out;
}
