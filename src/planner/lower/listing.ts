/**
 * A request without metrics, as the catalog and `tally values` ask it: the values (or the rows) of
 * its group-bys, or their smallest and largest values. Dimensions and entities are read from one
 * model that reaches them all; metric_time is read from the time spine (or the request's range).
 */
import { TallyError } from '../../errors.js';
import { collectRefs, type Expression } from '../../query/expression.js';
import { parseReference } from '../../query/references.js';
import { add } from '../../query/time.js';
import { type FromItem, type Select, type SelectColumn, type SqlExpr, type Statement, and, col } from '../../sql/ast.js';
import { lowerExpression } from '../expression.js';
import { type ColumnReference, ScanBuilder } from '../scan.js';
import { baseGrain, bucket, periods } from '../time.js';
import type { Lowering } from './context.js';
import { metricFilter } from './metric-filter.js';
import { ts } from './output.js';

/**
 * A request without metrics: the distinct values of its group-bys. Dimensions and entities are
 * read from one model that reaches them all (preferring the model the first one belongs to);
 * metric_time is read from the time spine, crossed with them.
 */
export function groupByValues(cx: Lowering): Statement {
  const plan = cx.plan;
  const timeKeys = plan.keys.filter((k) => k.ref.kind === 'metric_time');
  const others = plan.keys.filter((k) => k.ref.kind !== 'metric_time');
  const refsOf = (filters: Expression[]): ColumnReference[] =>
    filters.flatMap((w) => collectRefs(w).map((r) => parseReference(cx.graph, r.ref))).flatMap((r): ColumnReference[] => {
      if (r.kind === 'metric_time') return [];
      if (r.kind === 'metric') return [{ kind: 'entity', text: r.entityPath[r.entityPath.length - 1], entityPath: [r.entityPath[r.entityPath.length - 1]] }];
      return [r];
    });
  // Row filters restrict the rows listed; they never add the rows of a model they join (see restrictBy).
  const rowRefs = refsOf(plan.rowFilters);
  const refs = [...others.map((k) => k.ref as ColumnReference), ...refsOf(plan.where.filter((w) => !plan.rowFilters.includes(w)))];
  let scan: ScanBuilder | undefined;
  const keys: SelectColumn[] = [];
  if (refs.length || rowRefs.length) {
    const models = [...cx.graph.models.values()];
    const owns = (m: (typeof models)[number], r: ColumnReference): boolean => {
      const owner = r.entityPath[r.entityPath.length - 1];
      return m.identities.has(owner) && (r.kind === 'entity' ? m.entities.has(owner) : m.dimensions.has(r.dimension));
    };
    // The models the references belong to, in order, then any other model that reaches them. The
    // row filters do not choose the model: the values listed are the same for every caller, less
    // the rows a caller may not see (a model chosen because it reaches the row filters would
    // list something else, such as the brands Korean users bought instead of the brands).
    const chosenBy = refs.length ? refs : rowRefs;
    const candidates = [...new Set([...chosenBy.flatMap((r) => models.filter((m) => owns(m, r))), ...models])];
    let lastError: unknown;
    for (const model of candidates) {
      const candidate = new ScanBuilder(cx.graph, model, 'the group-bys', plan.timeZone);
      candidate.metrics = (ref, s) => metricFilter(cx, ref, s);
      candidate.joinType = 'full';
      try {
        for (const r of refs) candidate.reference(r);
      } catch (e) {
        if (!(e instanceof TallyError)) throw e;
        lastError ??= e;
        continue;
      }
      try {
        candidate.restrictBy(rowRefs);
      } catch (e) {
        if (!(e instanceof TallyError)) throw e;
        if (!refs.length) continue;
        // As a metric whose model does not reach a row filter is refused (src/access/control.ts);
        // the API prefixes 'not allowed: this request cannot be limited to the rows you may see'.
        const listed = plan.keys.filter((k) => k.ref.kind !== 'metric_time').map((k) => `'${k.text}'`).join(', ') || 'the group-bys';
        throw new TallyError(
          'FORBIDDEN',
          `the values of ${listed} are read from model '${model.name}', which does not reach the dimensions of the caller's row filters, so they are not listed`,
        );
      }
      scan = candidate;
      break;
    }
    if (!scan) throw lastError instanceof Error ? lastError : new TallyError('UNKNOWN_DIMENSION', 'no model reaches every group-by');
    for (const k of others) keys.push({ expr: scan.reference(k.ref as ColumnReference).expr, alias: k.column });
  }
  const period = col('period', 'start');
  const where: SqlExpr[] = [];
  let from: FromItem | undefined;
  if (timeKeys.length) {
    const grain = baseGrain(timeKeys.map((k) => k.time));
    if (!cx.graph.timeSpines.has(grain) && !(plan.range.start && plan.range.end)) {
      throw new TallyError('INVALID_REQUEST', `metric_time without metrics is read from a time spine; define one at ${grain} grain (time_spines) or give the request a time range`);
    }
    const start = plan.range.start ? ts(plan.range.start) : period;
    const stop = plan.range.end ? ts(add(plan.range.end, -1, grain)) : period;
    from = periods(cx.graph, grain, 'period', plan.range, { start, stop });
    // The range holds for every row, also those of joined models that no period pairs with.
    if (plan.range.start) where.push({ t: 'binary', op: '>=', left: period, right: ts(plan.range.start) });
    if (plan.range.end) where.push({ t: 'binary', op: '<', left: period, right: ts(plan.range.end) });
    for (const k of timeKeys) keys.push({ expr: bucket(k.time ?? { kind: 'grain', grain }, period), alias: k.column });
  }
  for (const w of plan.where) {
    if (scan) scan.filter(w, timeKeys.length ? period : undefined);
    else
      where.push(
        lowerExpression(w, (text) => {
          const ref = parseReference(cx.graph, text);
          if (ref.kind !== 'metric_time') throw new TallyError('INVALID_FILTER', `'${text}' is not a group-by of this request`);
          return ref.time ? bucket(ref.time, period) : period;
        }),
      );
  }
  if (scan) for (const w of where.splice(0)) scan.condition(w);
  let body: Select;
  const groupBy = plan.distinct ? keys.map((k) => k.expr) : undefined;
  if (scan) {
    // Every period with every row of the model; values of joined models that no row links to appear once.
    if (from) scan.driveBy(from, { t: 'literal', value: { kind: 'boolean', value: true } });
    body = { t: 'select', columns: keys, ...scan.build(), groupBy };
  } else {
    body = { t: 'select', columns: keys, from, where: and(where), groupBy };
  }
  const cte = cx.addCte('group_by_values', body, `the ${plan.distinct ? 'values' : 'rows'} of ${plan.keys.map((k) => k.text).join(', ')}`);
  if (plan.minMax) {
    const columns = cx.keyColumns(undefined, true).flatMap((c) => [
      { expr: { t: 'aggregate', agg: 'min', arg: c.expr } as SqlExpr, alias: `${c.alias}.min` },
      { expr: { t: 'aggregate', agg: 'max', arg: c.expr } as SqlExpr, alias: `${c.alias}.max` },
    ]);
    return { ctes: cx.ctes, body: { t: 'select', columns, from: { t: 'cte', name: cte } } };
  }
  const final: Select = { t: 'select', columns: cx.keyColumns(undefined, true), from: { t: 'cte', name: cte } };
  final.orderBy = cx.totalOrder();
  if (plan.limit !== undefined) final.limit = plan.limit;
  return { ctes: cx.ctes, body: final };
}

