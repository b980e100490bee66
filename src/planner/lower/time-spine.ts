/**
 * Time spines: a metric joined to one (join_to_timespine, MetricFlow's JoinToTimeSpineNode) so it
 * has a row for every period of its time keys, with fill_nulls_with (or an empty count's or sum's
 * 0) for the periods without rows; and the request's `fillGaps`, one row per period of metric_time
 * crossed with the other keys seen, so that a series has no gaps.
 */
import type { Measure } from '../../definitions/graph.js';
import { GRAIN_ORDER } from '../../definitions/schema.js';
import { TallyError } from '../../errors.js';
import { collectRefs } from '../../query/expression.js';
import { parseReference } from '../../query/references.js';
import { add } from '../../query/time.js';
import { type Select, and, col, num } from '../../sql/ast.js';
import { lowerExpression } from '../expression.js';
import type { Gaps, GroupKey } from '../plan.js';
import { baseGrain, type Bounds, bucket, isExactly, periods } from '../time.js';
import type { Lowering } from './context.js';
import { aggregateOf, conjunctsOf, type Output, ts, typedZero } from './output.js';

/**
 * Gaps of a simple or cumulative metric: joined to a time spine, the metric has a row for every
 * period of the time keys (the request's range, and its filters on metric_time, limit the
 * spine); fill_nulls_with gives missing values a number wherever the metric is read.
 */
export function joinToSpine(cx: Lowering, node: { id: string; metric: string; gaps: Gaps }, measure: Measure, out: Output, bounds: Bounds): Output {
  const withFill = node.gaps.fill === undefined ? out : { ...out, fill: node.gaps.typedZero ? typedZero(out) : num(node.gaps.fill) };
  if (!node.gaps.joinToSpine) return withFill;
  const timeKeys = cx.timeKeysOf(measure);
  if (timeKeys.length === 0) return withFill;
  const grain = baseGrain(timeKeys.map((k) => k.time));
  const anchor = timeKeys.find((k) => isExactly(k.time, grain));
  // The requested periods; without a range, those from the first to the last with data.
  const fallback =
    bounds.start && bounds.end
      ? { start: ts(bounds.start), stop: ts(add(bounds.end, -1, grain)) }
      : anchor
        ? { start: bounds.start ? ts(bounds.start) : aggregateOf(out.cte, 'min', anchor.column), stop: bounds.end ? ts(add(bounds.end, -1, grain)) : aggregateOf(out.cte, 'max', anchor.column) }
        : undefined;
  if (!cx.graph.timeSpines.has(grain) && !fallback) {
    throw new TallyError('UNSUPPORTED', `metric '${node.metric}' joins to a time spine at ${grain} grain; define one (time_spines) or group by metric_time.${grain}`);
  }
  const period = col('period', 'start');
  const item = periods(cx.graph, grain, 'period', bounds, fallback ?? { start: period, stop: period });
  const conjuncts = cx.plan.where.flatMap(conjunctsOf);
  const timeFilters = conjuncts.filter((w) => collectRefs(w).every((r) => parseReference(cx.graph, r.ref).kind === 'metric_time'));
  // A filter on group-bys alone also holds for the periods the spine adds (whose other keys are NULL).
  const keyOf = (text: string): GroupKey | undefined => cx.plan.keys.find((k) => k.text === text);
  const keyFilters = conjuncts.filter((w) => !timeFilters.includes(w) && collectRefs(w).every((r) => keyOf(r.ref)));
  const where = timeFilters.map((f) =>
    lowerExpression(f, (text) => {
      const ref = parseReference(cx.graph, text);
      return ref.kind === 'metric_time' && ref.time ? bucket(ref.time, period) : period;
    }),
  );
  const spine: Select = { t: 'select', distinct: true, columns: timeKeys.map((k) => ({ expr: bucket(k.time ?? { kind: 'grain', grain }, period), alias: k.column })), from: item, where: and(where) };
  const query: Select = {
    t: 'select',
    columns: cx.plan.keys.map((k) => ({ expr: col(timeKeys.includes(k) ? 'spine' : 'm', k.column), alias: k.column })).concat([{ expr: col('m', out.column), alias: out.column }]),
    from: { t: 'query', query: spine, alias: 'spine' },
    joins: [{ type: 'left', item: { t: 'cte', name: out.cte, alias: 'm' }, on: and(timeKeys.map((k) => ({ t: 'binary', op: '=', left: col('spine', k.column), right: col('m', k.column) }))) }],
    where: and(
      keyFilters.map((f) =>
        lowerExpression(f, (text) => {
          const k = keyOf(text);
          if (!k) throw new Error(`filter reference ${text} is not a key`);
          return col(timeKeys.includes(k) ? 'spine' : 'm', k.column);
        }),
      ),
    ),
  };
  return { ...withFill, cte: cx.addCte(`${node.id}_spine`, query, `${node.metric}: one row per ${timeKeys.map((k) => k.text).join(', ')} of the time spine`) };
}


/**
 * One row per period of metric_time, crossed with the other keys seen, so series have no gaps.
 * The periods are those of the finest metric_time grain; coarser ones are read off them.
 */
export function requestSpine(cx: Lowering, outputs: Output[]): Output {
  const grains = cx.plan.timeKeys.flatMap((k) => (k.time?.kind === 'grain' ? [{ key: k, grain: k.time.grain }] : []));
  const finest = grains.reduce<(typeof grains)[number] | undefined>((a, b) => (a === undefined || GRAIN_ORDER[b.grain] < GRAIN_ORDER[a.grain] ? b : a), undefined);
  if (!finest) throw new TallyError('UNSUPPORTED', 'filling gaps needs metric_time at a standard grain (day, week, month…)');
  const timeKey = finest.key;
  const union: Select[] = outputs.map((o) => ({ t: 'select', columns: cx.keyColumns(undefined), from: { t: 'cte', name: o.cte } }));
  const seenCte = cx.addCte('observed_keys', { t: 'union_all', queries: union }, 'every key combination the metrics produced');
  const start = cx.plan.range.start ? ts(cx.plan.range.start) : aggregateOf(seenCte, 'min', timeKey.column);
  const stop = cx.plan.range.end ? ts(add(cx.plan.range.end, -1, finest.grain)) : aggregateOf(seenCte, 'max', timeKey.column);
  const others = cx.plan.keys.filter((k) => k.ref.kind !== 'metric_time');
  const query: Select = {
    t: 'select',
    distinct: cx.plan.timeKeys.length > 1,
    columns: cx.plan.keys.map((k) => ({ expr: k.ref.kind === 'metric_time' ? bucket(k.time ?? { kind: 'grain', grain: finest.grain }, col('spine', 'start')) : col('k', k.column), alias: k.column })),
    from: { t: 'series', start, stop, grain: finest.grain, alias: 'spine', column: 'start' },
    joins: others.length
      ? [{ type: 'cross', item: { t: 'query', alias: 'k', query: { t: 'select', distinct: true, columns: others.map((k) => ({ expr: col(undefined, k.column), alias: k.column })), from: { t: 'cte', name: seenCte } } } }]
      : [],
  };
  return { cte: cx.addCte('time_spine', query, `one row per ${finest.grain} so that the series has no gaps`), column: '' };
}

