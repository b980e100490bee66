/**
 * Saved queries (`saved_queries:` in the definitions) run as requests: a request naming one takes
 * its metrics, group-bys, order and limit where it gives none of its own, and both filters hold.
 */
import type { SemanticGraph } from '../definitions/graph.js';
import { didYouMean, TallyError } from '../errors.js';
import type { Request } from './request.js';

export function resolveSavedQuery(graph: SemanticGraph, request: Request): Request {
  if (!request.savedQuery) return request;
  const saved = graph.savedQueries.get(request.savedQuery);
  if (!saved) {
    throw new TallyError('INVALID_REQUEST', `unknown saved query '${request.savedQuery}'.${didYouMean(request.savedQuery, graph.savedQueries.keys())}`);
  }
  const q = saved.def;
  const filters = [q.where, request.where].filter((w): w is string => w !== undefined && w.trim() !== '');
  if (!request.metrics.length && !q.metrics.length && !request.groupBy.length && !q.group_by.length) {
    throw new TallyError('INVALID_REQUEST', `saved query '${q.name}' names no metrics and no group-bys, and neither does the request`);
  }
  return {
    ...request,
    savedQuery: undefined,
    metrics: request.metrics.length ? request.metrics : q.metrics,
    groupBy: request.groupBy.length ? request.groupBy : q.group_by,
    where: filters.length > 1 ? filters.map((f) => `(${f})`).join(' AND ') : filters[0],
    orderBy: request.orderBy.length ? request.orderBy : q.order_by,
    limit: request.limit ?? q.limit,
  };
}
