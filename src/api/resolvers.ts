/**
 * What the Query fields' resolvers do besides calling ApiContext.run: read a typed query's
 * selection as a request, print cells, give exact metrics as text in the generic query, and
 * the argument shapes.
 */
import {
  type FieldNode,
  type FragmentDefinitionNode,
  getArgumentValues,
  GraphQLError,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from 'graphql';
import type { SemanticGraph } from '../definitions/graph.js';
import type { Grain } from '../definitions/schema.js';
import type { ErrorCode } from '../errors.js';
import type { QueryResult } from '../run.js';
import { pascal } from './names.js';
import type { FilterInput, FilterShape } from './typed-filter.js';

const FLOAT_AGGS = new Set(['average', 'median', 'percentile']);

/** Arguments shared by the typed and the generic query. */
export interface CommonArgs {
  from?: string | null;
  to?: string | null;
  limit?: number | null;
  timeZone: string;
  fillGaps: boolean;
  rollups: boolean;
}
export interface TypedArgs extends CommonArgs {
  filter?: FilterInput | null;
  orderBy?: { metric?: string | null; dimension?: string | null; desc: boolean }[] | null;
}
export interface GenericArgs extends CommonArgs {
  metrics: string[];
  groupBy?: string[] | null;
  where?: string | null;
  orderBy?: string[] | null;
}

/** Whether a metric's values are Float in the API (ratios, derived, rates, averages, percentiles) rather than exact Decimal. */
export function isFloatMetric(graph: SemanticGraph, name: string): boolean {
  const def = graph.metrics.get(name)?.def;
  if (!def) return false;
  if (def.type === 'ratio' || def.type === 'derived') return true;
  if (def.type === 'conversion') return def.calculation === 'conversion_rate';
  const measure = graph.measures.get(typeof def.measure === 'string' ? def.measure : def.measure.name);
  return measure !== undefined && FLOAT_AGGS.has(measure.agg);
}

/** Whether text is a real calendar date written YYYY-MM-DD. */
export function isCalendarDate(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`)) && new Date(`${text}T00:00:00Z`).toISOString().startsWith(text);
}

/**
 * The generic query's rows with every metric the typed query serves as Decimal (counts, sums) as
 * a string of digits, so both forms give `"dau": "544"`, exact beyond 2^53; ratios and averages
 * stay JSON numbers (Float).
 */
export function exactAsText(graph: SemanticGraph, answer: QueryResult): QueryResult {
  const exact = answer.columns.filter((c) => c.role === 'metric' && graph.metrics.has(c.name) && !isFloatMetric(graph, c.name)).map((c) => c.name);
  if (exact.length === 0) return answer;
  const rows = answer.rows.map((row) => {
    const out = { ...row };
    for (const name of exact) out[name] = cellText(row[name]);
    return out;
  });
  return { ...answer, rows };
}

/** A cell as GraphQL prints it: its text, exact for bigints and decimals; null stays null. */
export function cellText(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** A refusal with a stable code, raised by a resolver. */
export function apiError(code: ErrorCode, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

/** The metrics and group-bys a typed query asks for, read from its `rows` selection. */
export function selectionToRequest(info: GraphQLResolveInfo, metricByField: Map<string, string>, shape: FilterShape): { metrics: string[]; groupBy: string[] } {
  const metrics: string[] = [];
  const groupBy: string[] = [];
  const add = (list: string[], v: string): void => {
    if (!list.includes(v)) list.push(v);
  };
  const rowType = info.schema.getType('MetricsRow') as GraphQLObjectType;
  const fields = (set: SelectionSetNode | undefined): FieldNode[] => collectFields(set, info.fragments);
  for (const rows of fields(info.fieldNodes[0].selectionSet).filter((f) => f.name.value === 'rows')) {
    for (const f of fields(rows.selectionSet)) {
      const name = f.name.value;
      if (name === '__typename') continue;
      const metric = metricByField.get(name);
      if (metric) {
        add(metrics, metric);
      } else if (name === 'metricTime') {
        const args = getArgumentValues(rowType.getFields().metricTime, f, info.variableValues) as { grain: Grain };
        add(groupBy, `metric_time.${args.grain}`);
      } else {
        const entity = shape.entities.get(name);
        if (!entity) continue;
        const entityType = info.schema.getType(`${pascal(entity.entity)}Dimensions`) as GraphQLObjectType;
        for (const d of fields(f.selectionSet)) {
          const dim = entity.dims.get(d.name.value);
          if (!dim) continue;
          if (dim.type === 'time') {
            const args = getArgumentValues(entityType.getFields()[d.name.value], d, info.variableValues) as { grain: Grain };
            add(groupBy, `${dim.ref}.${args.grain}`);
          } else add(groupBy, dim.ref);
        }
      }
    }
  }
  if (metrics.length === 0) throw apiError('INVALID_REQUEST', 'select at least one metric field in rows, for example rows { revenue }');
  return { metrics, groupBy };
}

function collectFields(set: SelectionSetNode | undefined, fragments: Record<string, FragmentDefinitionNode>): FieldNode[] {
  const out: FieldNode[] = [];
  for (const s of set?.selections ?? []) {
    if (s.kind === 'Field') out.push(s);
    else if (s.kind === 'InlineFragment') out.push(...collectFields(s.selectionSet, fragments));
    else {
      const fragment = fragments[s.name.value];
      if (fragment) out.push(...collectFields(fragment.selectionSet, fragments));
    }
  }
  return out;
}

