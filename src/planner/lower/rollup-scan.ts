/**
 * A leaf read from a rollup instead of the base tables (issue 18; routing rules in
 * src/rollups/route.ts). The leaf yields what the base leaf yields, a CTE with the request's keys
 * and the node's value, so everything above it (spines, windows, ratios, derived formulas,
 * combining) is the same plan:
 * - parts: the measure's stored parts re-aggregated by the request's keys (SUM of sums and
 *   counts, MIN of minimums, MAX of maximums, an average as average.ts defines it), with the
 *   leaf's filters on the rollup's columns;
 * - a finished metric at exactly the rollup's grain and dimensions: its stored value per row;
 * - a cumulative metric: its stored value per day read by lowerCumulative's own rule
 *   (cumulativeFromPeriodValues): the period's first or last day, or all its days (period_agg),
 *   a day without a row counting as empty.
 */
import { GRAIN_ORDER, type Window } from '../../definitions/schema.js';
import { TallyError } from '../../errors.js';
import { collectRefs } from '../../query/expression.js';
import { add } from '../../query/time.js';
import type { Expression } from '../../query/expression.js';
import { parseReference, type TimeSpec } from '../../query/references.js';
import type { LeafRoute } from '../../rollups/route.js';
import { finishedMetricColumn, finishedPresenceColumn, measurePartColumn, rollupColumnOf, rollupTimeColumn } from '../../rollups/types.js';
import { type Cte, type Select, type SelectColumn, type SqlExpr, and, col } from '../../sql/ast.js';
import { lowerExpression } from '../expression.js';
import { type PlanNode, type Shift, shiftFitsGrain } from '../plan.js';
import { type Bounds, bucket, offsetGrain } from '../time.js';
import type { Lowering } from './context.js';
import { averageOf } from './average.js';
import { cumulativeFromPeriodValues } from './cumulative.js';
import { conjunctsOf, NULL, type Output, ts } from './output.js';

const ROLLUP = 'rollup';

type LeafNode = Extract<PlanNode, { kind: 'simple' | 'cumulative' | 'conversion' }>;

/**
 * The node's output read from a rollup when the lowering routes to rollups and one serves this
 * leaf; undefined otherwise (the caller lowers the base leaf, and the routing records why).
 */
export function rollupLeaf(cx: Lowering, node: LeafNode, bounds: Bounds, shifts: Shift[]): Output | undefined {
  const router = cx.options.rollups;
  if (!router) return undefined;
  const window = node.kind === 'simple' ? relabelWindow(cx, node, shifts) : undefined;
  if (window) {
    // A whole number of the requested periods back: the leaf over the range moved back, its periods relabelled.
    const back: Bounds = { start: bounds.start && add(bounds.start, -window.count, window.grain), end: bounds.end && add(bounds.end, -window.count, window.grain) };
    const out = rollupLeaf(cx, node, back, []);
    return out && relabelled(cx, node, out, window);
  }
  const route = router.route(cx.plan, node, bounds, shifts);
  if (!route) return undefined;
  if (route.kind === 'parts' && node.kind === 'simple') return partsScan(cx, node, route, bounds);
  if (route.kind === 'finished') return route.mode === 'exact' ? finishedScan(cx, node, route, bounds) : finishedPeriods(cx, node, route, bounds);
  throw new TallyError('UNSUPPORTED', `metric '${node.metric}': a ${node.kind} leaf cannot read parts of a rollup`);
}

/** The rollup's time bucket as a timestamp (stored as the planner types metric_time: a DATE or TIMESTAMP). */
function bucketTime(route: LeafRoute): SqlExpr {
  return { t: 'castTimestamp', arg: col(ROLLUP, rollupTimeColumn(route.rollup.grain)) };
}

/**
 * metric_time at `spec` from the rollup's buckets (`time`, a timestamp): a bucket at the rollup's
 * own grain is already its truncation, so it is read as stored, not truncated row by row.
 */
function timeKey(route: LeafRoute, spec: TimeSpec | undefined, time: SqlExpr): SqlExpr {
  return !spec || (spec.kind === 'grain' && spec.grain === route.rollup.grain) ? time : bucket(spec, time);
}

/** The request's keys on the rollup's columns: metric_time bucketed from the rollup's buckets, dimensions as stored. */
function keyColumns(cx: Lowering, route: LeafRoute): SelectColumn[] {
  const time = bucketTime(route);
  return cx.plan.keys.map((k) => ({
    expr: k.ref.kind === 'metric_time' ? timeKey(route, k.time, time) : col(ROLLUP, rollupColumnOf(k.text)),
    alias: k.column,
  }));
}

/** The bounds and filters as conditions on the rollup's columns (routing checked every reference). */
function conditions(cx: Lowering, route: LeafRoute, bounds: Bounds, filters: Expression[]): SqlExpr[] {
  const time = bucketTime(route);
  const out: SqlExpr[] = [];
  if (bounds.start) out.push({ t: 'binary', op: '>=', left: time, right: ts(bounds.start) });
  if (bounds.end) out.push({ t: 'binary', op: '<', left: time, right: ts(bounds.end) });
  for (const f of filters.flatMap(conjunctsOf)) {
    out.push(
      lowerExpression(f, (text) => {
        const ref = parseReference(cx.graph, text);
        if (ref.kind === 'metric_time' && ref.time) return bucket(ref.time, time);
        if (ref.kind === 'dimension' || ref.kind === 'entity') return col(ROLLUP, rollupColumnOf(text));
        throw new TallyError('UNSUPPORTED', `'${text}' cannot be read from rollup '${route.rollup.name}'`);
      }),
    );
  }
  return out;
}

function from(route: LeafRoute): Select['from'] {
  return { t: 'table', name: route.rollup.table, alias: ROLLUP };
}

/**
 * Scans of a rollup per statement (keyed by its CTE list): leaves with the same rollup, filters
 * and bounds share one.
 */
const sharedScans = new WeakMap<Cte[], Map<string, PartsScan>>();

/** The column of the rollup's own buckets in a two-level scan's inner step. */
const BUCKET = '__bucket';

/** A measure re-aggregated from its parts; leaves of one rollup with the same filters share one scan. */
function partsScan(cx: Lowering, node: Extract<PlanNode, { kind: 'simple' }>, route: Extract<LeafRoute, { kind: 'parts' }>, bounds: Bounds): Output {
  const { measure } = node.use;
  const part = (p: Part): SqlExpr => col(ROLLUP, measurePartColumn(measure.name, p));
  // The leaf's value from its parts re-aggregated (`read`: SUM of sums and counts, MIN, MAX).
  const valueOf = (read: (p: Part) => SqlExpr): SqlExpr => {
    switch (measure.agg) {
      case 'sum':
        return read('sum');
      case 'count':
        // A sum of counts widens (DuckDB's SUM(BIGINT) is a HUGEINT): typed back as the engine types COUNT.
        return { t: 'castCount', arg: read('count') };
      case 'min':
      case 'max':
        return read(measure.agg);
      case 'average':
        // The base's own formula over the same exact sum and count (average.ts).
        return averageOf(read('sum'), { t: 'castCount', arg: read('count') });
      default:
        throw new TallyError('UNSUPPORTED', `measure '${measure.name}' (${measure.agg}) has no parts in a rollup`);
    }
  };
  const parts: Part[] = [];
  valueOf((p) => (parts.push(p), NULL));
  // A row of the rollup belongs to the measure only where its count of non-null values is not
  // NULL (types.ts); a rollup built without one falls back to a count of the same model's rows,
  // then to the part itself.
  const kept = route.rollup.measures.find((m) => m.name === measure.name);
  const sibling = route.rollup.measures
    .filter((m) => m.parts.includes('count') && cx.graph.measures.get(m.name)?.model === measure.model && cx.graph.measures.get(m.name)?.timeDimension === measure.timeDimension)
    .map((m) => m.name)
    .sort()[0];
  const present = kept?.parts.includes('count') ? part('count') : sibling ? col(ROLLUP, measurePartColumn(sibling, 'count')) : part(route.parts[0]);
  const signature = JSON.stringify([route.rollup.name, node.use.filters, bounds.start, bounds.end, present]);
  let scans = sharedScans.get(cx.ctes);
  if (!scans) sharedScans.set(cx.ctes, (scans = new Map()));
  let scan = scans.get(signature);
  let name: string;
  if (!scan) {
    const where = and([...conditions(cx, route, bounds, node.use.filters), { t: 'isNull', arg: present, negated: true }]);
    const steps = bucketsFirst(cx, route) ? bucketsFirstScan(cx, route, where) : oneStepScan(cx, route, where);
    name = cx.addCte(node.id, steps.query, `${node.metric}: ${measure.agg} of ${measure.name}, re-aggregated from rollup ${route.rollup.name}`);
    const cte = cx.ctes.find((c) => c.name === name);
    scan = { ...steps, cte };
    if (cte) scans.set(signature, scan);
  } else {
    name = scan.cte?.name ?? '';
    if (scan.cte) scan.cte.comment = `${scan.cte.comment}; ${node.metric}: ${measure.agg} of ${measure.name}`;
  }
  const { inner, query } = scan;
  if (inner) {
    // The buckets' parts first (one column per part), then the request's periods from those.
    for (const p of new Set(parts)) inner.columns.push({ expr: { t: 'aggregate', agg: again(p), arg: part(p) }, alias: `${node.id}__${p}` });
    query.columns.push({ expr: valueOf((p) => ({ t: 'aggregate', agg: again(p), arg: col(undefined, `${node.id}__${p}`) })), alias: node.id });
  } else {
    query.columns.push({ expr: valueOf((p) => ({ t: 'aggregate', agg: again(p), arg: part(p) })), alias: node.id });
  }
  return { cte: name, column: node.id };
}

/** A stored part of a measure. */
type Part = 'sum' | 'count' | 'min' | 'max';

/** How a part re-aggregates: sums and counts add up, minimums and maximums take MIN / MAX again. */
function again(p: Part): 'sum' | 'min' | 'max' {
  return p === 'min' || p === 'max' ? p : 'sum';
}

/** A parts scan (its leaves add their values): `query` is the CTE's, `inner` its first step when it has two. */
interface PartsScan {
  query: Select;
  inner?: Select;
  cte?: Cte;
}

/** One step: the rollup's rows grouped by the request's keys. */
function oneStepScan(cx: Lowering, route: LeafRoute, where: SqlExpr | undefined): PartsScan {
  const keys = keyColumns(cx, route);
  return { query: { t: 'select', columns: [...keys], from: from(route), where, groupBy: keys.map((k) => k.expr) } };
}

/**
 * Two steps: the rollup's buckets by the request's dimensions (fewer rows than the rollup), then
 * their periods. Truncating every stored row to its period costs more than a second, small
 * aggregation (issue 18: revenue by month over a year of a daily rollup, 14k rows against 365).
 */
function bucketsFirstScan(cx: Lowering, route: LeafRoute, where: SqlExpr | undefined): PartsScan {
  const dims = cx.plan.keys.filter((k) => k.ref.kind !== 'metric_time').map((k) => ({ expr: col(ROLLUP, rollupColumnOf(k.text)), alias: k.column }));
  const stored = col(ROLLUP, rollupTimeColumn(route.rollup.grain));
  const inner: Select = { t: 'select', columns: [{ expr: stored, alias: BUCKET }, ...dims], from: from(route), where, groupBy: [stored, ...dims.map((d) => d.expr)] };
  const time: SqlExpr = { t: 'castTimestamp', arg: col('buckets', BUCKET) };
  const keys = cx.plan.keys.map((k) => ({ expr: k.ref.kind === 'metric_time' ? timeKey(route, k.time, time) : col('buckets', k.column), alias: k.column }));
  const query: Select = { t: 'select', columns: [...keys], from: { t: 'query', query: inner, alias: 'buckets' }, groupBy: keys.map((k) => k.expr) };
  return { query, inner };
}

/**
 * Whether a parts scan adds up the rollup's buckets by the request's dimensions before bucketing
 * them into the request's periods: when some metric_time key is not the rollup's own grain (it is
 * computed per row) and the request keeps fewer dimensions than the rollup (so the first step
 * has fewer rows than the rollup).
 */
function bucketsFirst(cx: Lowering, route: LeafRoute): boolean {
  const bucketed = cx.plan.keys.some((k) => k.ref.kind === 'metric_time' && k.time && !(k.time.kind === 'grain' && k.time.grain === route.rollup.grain));
  const dims = new Set(cx.plan.keys.filter((k) => k.ref.kind !== 'metric_time').map((k) => rollupColumnOf(k.text)));
  return bucketed && route.rollup.dimensions.some((d) => !dims.has(rollupColumnOf(d)));
}

/**
 * The rows that hold the metric's own answer (`present__<metric>`): a row can exist for other
 * metrics only, and the metric's own row can hold a NULL value.
 */
function withValue(where: SqlExpr[], node: LeafNode): SqlExpr | undefined {
  return and([...where, { t: 'isNull', arg: col(ROLLUP, finishedPresenceColumn(node.metric)), negated: true }]);
}

/** A finished metric at exactly the rollup's grain and dimensions: one stored value per row. */
function finishedScan(cx: Lowering, node: LeafNode, route: Extract<LeafRoute, { kind: 'finished' }>, bounds: Bounds): Output {
  const query: Select = {
    t: 'select',
    columns: [...keyColumns(cx, route), { expr: col(ROLLUP, finishedMetricColumn(node.metric)), alias: node.id }],
    from: from(route),
    where: withValue(conditions(cx, route, bounds, cx.plan.where), node),
  };
  return { cte: cx.addCte(node.id, query, `${node.metric}: finished values from rollup ${route.rollup.name}`), column: node.id };
}

/**
 * A cumulative metric from its stored value per day and group, read by the base's own rule
 * (cumulativeFromPeriodValues, cumulative.ts): at coarser periods the value on each period's
 * first or last day, or the average over all its days; by day alone every day of the answer; a
 * day the rollup holds no row for counts as empty (its window held no rows), as in the base.
 */
function finishedPeriods(cx: Lowering, node: LeafNode, route: Extract<LeafRoute, { kind: 'finished' }>, bounds: Bounds): Output {
  if (node.kind !== 'cumulative' || !bounds.start || !bounds.end) throw new TallyError('UNSUPPORTED', `metric '${node.metric}' is kept only at the rollup's grain`);
  const timeKeys = cx.timeKeysOf(node.use.measure);
  const values: Select = {
    t: 'select',
    columns: [
      ...cx.plan.keys.filter((k) => !timeKeys.includes(k)).map((k) => ({ expr: col(ROLLUP, rollupColumnOf(k.text)), alias: k.column })),
      { expr: bucketTime(route), alias: '__period' },
      { expr: col(ROLLUP, finishedMetricColumn(node.metric)), alias: node.id },
    ],
    from: from(route),
    where: withValue(conditions(cx, route, bounds, cx.plan.where), node),
  };
  return cumulativeFromPeriodValues(cx, node, { start: bounds.start, end: bounds.end }, values, `rollup ${route.rollup.name}`);
}

/**
 * The offset of a simple metric's leaf when it moves whole periods of the only time key: then the
 * base reads, for each period, the rows of the period the window maps it back to (leaf-scan.ts,
 * through a generated series of periods, inner-joined to the rows), which is the leaf over the
 * range moved back with its periods moved forward. Not where periods come from a time spine table
 * (which may lack some), where a filter names metric_time (the base applies it to the later
 * period), or where a dimension's version depends on the time (validity): those fall through.
 */
function relabelWindow(cx: Lowering, node: Extract<PlanNode, { kind: 'simple' }>, shifts: Shift[]): Window | undefined {
  const shift = shifts.length === 1 ? shifts[0] : undefined;
  if (shift?.kind !== 'window' || cx.graph.semantics !== 'tally') return undefined;
  const timed = cx.plan.keys.filter((k) => k.time !== undefined);
  const key = timed[0];
  if (timed.length !== 1 || key.ref.kind !== 'metric_time' || key.time?.kind !== 'grain') return undefined;
  const grain = key.time.grain;
  const window = shift.window;
  if (!shiftFitsGrain(window, grain) || (GRAIN_ORDER[window.grain] >= GRAIN_ORDER.month && GRAIN_ORDER[grain] < GRAIN_ORDER.month)) return undefined;
  if (offsetGrain([key.time], shifts, cx.graph.semantics) !== grain || cx.graph.timeSpines.has(grain)) return undefined;
  if (node.use.filters.some((f) => collectRefs(f).some((r) => r.ref === 'metric_time' || r.ref.startsWith('metric_time.')))) return undefined;
  if ([...cx.graph.models.values()].some((m) => [...m.dimensions.values()].some((d) => d.def.validity))) return undefined;
  return window;
}

/** An output with its time key moved `window` later. */
function relabelled(cx: Lowering, node: LeafNode, out: Output, window: Window): Output {
  const query: Select = {
    t: 'select',
    columns: [
      ...cx.plan.keys.map((k) => ({ expr: k.time ? ({ t: 'addInterval', arg: col(undefined, k.column), count: window.count, grain: window.grain } as SqlExpr) : col(undefined, k.column), alias: k.column })),
      { expr: col(undefined, out.column), alias: node.id },
    ],
    from: { t: 'cte', name: out.cte },
  };
  return { cte: cx.addCte(`${node.id}_moved`, query, `${node.metric} moved ${window.count} ${window.grain}(s) later`), column: node.id };
}
