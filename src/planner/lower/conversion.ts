/**
 * A conversion metric: base events followed by a conversion event of the same entity (and the
 * same constant properties) within a window; each conversion event is credited to the latest base
 * event before it, then conversions, or conversions / base events, per key. Semantics are
 * MetricFlow's conversion metric (its JoinConversionEventsNode).
 */
import { TallyError } from '../../errors.js';
import { type Select, type SqlExpr, and, col, num } from '../../sql/ast.js';
import type { PlanNode } from '../plan.js';
import type { Bounds } from '../time.js';
import { combine } from './combine.js';
import type { Lowering } from './context.js';
import { leafScan } from './leaf-scan.js';
import { type Output, TIME, ts, VALUE } from './output.js';

export function lowerConversion(cx: Lowering, node: Extract<PlanNode, { kind: 'conversion' }>, bounds: Bounds): Output {
  const purpose = `metric '${node.metric}'`;
  const base = leafScan(cx, node.base, bounds, `${purpose} (base events)`, { keys: 'all' });
  const baseTimeDimension = node.base.measure.timeDimension;
  const convTimeDimension = node.conversion.measure.timeDimension;
  if (!baseTimeDimension || !convTimeDimension) {
    throw new TallyError('INVALID_DEFINITION', `${purpose}: both measures need a time dimension`);
  }
  const baseRows: Select = {
    t: 'select',
    columns: [
      ...base.keys,
      { expr: base.scan.entity(node.entity), alias: '__entity' },
      // Windows are elapsed time (7 days = 168 hours), so events are matched on UTC instants.
      { expr: base.scan.instant(baseTimeDimension), alias: TIME },
      { expr: base.scan.measure(node.base.measure), alias: VALUE },
      ...node.constantProperties.map((p, i) => ({ expr: base.scan.reference(cx.columnRef(p.base, purpose)).expr, alias: `__same_${i}` })),
    ],
    ...base.scan.build(),
  };
  const baseCte = cx.addCte(`${node.id}_base`, baseRows, `${node.metric}: base events (${node.base.measure.name})`);

  const convScan = cx.newScan(node.conversion.measure, `${purpose} (conversion events)`);
  const convTime = convScan.time(convTimeDimension);
  for (const f of node.conversion.filters) convScan.filter(f, convTime);
  // Row filters restrict the conversion events too, wherever their dimensions are reachable from
  // them (the base events, which must reach them, already limit whose conversions count).
  for (const f of cx.plan.rowFilters) if (cx.reaches(node.conversion.measure, f)) convScan.filter(f, convTime);
  if (bounds.start) convScan.condition({ t: 'binary', op: '>=', left: convTime, right: ts(bounds.start) });
  const convEntity = convScan.entity(node.entity);
  const convInstant = convScan.instant(convTimeDimension);
  // Each conversion event needs an identity: the model's primary key where it has one, else a
  // row number (ordered, because some warehouses, Snowflake among them, require an order).
  const primary = [...node.conversion.measure.model.entities.values()].find((e) => e.type === 'primary');
  const eventId: SqlExpr = primary
    ? convScan.entity(primary.name)
    : { t: 'window', fn: 'row_number', partitionBy: [], orderBy: [{ expr: convEntity }, { expr: convInstant }] };
  const convRows: Select = {
    t: 'select',
    columns: [
      { expr: convEntity, alias: '__entity' },
      { expr: convInstant, alias: TIME },
      { expr: convScan.measure(node.conversion.measure), alias: VALUE },
      { expr: eventId, alias: '__event' },
      ...node.constantProperties.map((p, i) => ({ expr: convScan.reference(cx.columnRef(p.conversion, purpose)).expr, alias: `__same_${i}` })),
    ],
    ...convScan.build(),
  };
  const convCte = cx.addCte(`${node.id}_conversion_events`, convRows, `${node.metric}: conversion events (${node.conversion.measure.name}), numbered`);

  const on: SqlExpr[] = [
    { t: 'binary', op: '=', left: col('c', '__entity'), right: col('b', '__entity') },
    { t: 'binary', op: '>=', left: col('c', TIME), right: col('b', TIME) },
    ...node.constantProperties.map((_, i): SqlExpr => ({ t: 'binary', op: '=', left: col('c', `__same_${i}`), right: col('b', `__same_${i}`) })),
  ];
  if (node.window) {
    on.push({ t: 'binary', op: '<=', left: col('c', TIME), right: { t: 'addInterval', arg: col('b', TIME), count: node.window.count, grain: node.window.grain } });
  }
  const matched: Select = {
    t: 'select',
    columns: [
      ...cx.keyColumns('b'),
      { expr: col('c', VALUE), alias: VALUE },
      { expr: { t: 'window', fn: 'row_number', partitionBy: [col('c', '__event')], orderBy: [{ expr: col('b', TIME), desc: true }] }, alias: '__rank' },
    ],
    from: { t: 'cte', name: baseCte, alias: 'b' },
    joins: [{ type: 'inner', item: { t: 'cte', name: convCte, alias: 'c' }, on: and(on) }],
  };
  const matchedCte = cx.addCte(`${node.id}_matched`, matched, `${node.metric}: each conversion event credited to the latest base event before it${node.window ? ` within ${node.window.count} ${node.window.grain}(s)` : ''}`);

  const keyCols = cx.keyColumns(undefined);
  const conversions: Select = {
    t: 'select',
    columns: [...keyCols, { expr: cx.aggregate(node.conversion.measure, col(undefined, VALUE)), alias: '__conversions' }],
    from: { t: 'cte', name: matchedCte },
    where: { t: 'binary', op: '=', left: col(undefined, '__rank'), right: num(1) },
    groupBy: keyCols.map((k) => k.expr),
  };
  const conversionsOut = { cte: cx.addCte(`${node.id}_conversions`, conversions, `${node.metric}: conversions per group`), column: '__conversions' };
  const opportunities: Select = {
    t: 'select',
    columns: [...keyCols, { expr: cx.aggregate(node.base.measure, col(undefined, VALUE)), alias: '__base' }],
    from: { t: 'cte', name: baseCte },
    groupBy: keyCols.map((k) => k.expr),
  };
  const baseOut = { cte: cx.addCte(`${node.id}_opportunities`, opportunities, `${node.metric}: base events per group`), column: '__base' };
  const query = combine(cx, [baseOut, conversionsOut], (max) => {
    const conv: SqlExpr = node.conversionFill === undefined ? max(conversionsOut) : { t: 'coalesce', args: [max(conversionsOut), num(node.conversionFill)] };
    return [{ expr: node.calculation === 'conversions' ? conv : { t: 'ratio', numerator: conv, denominator: max(baseOut) }, alias: node.id }];
  });
  return { cte: cx.addCte(node.id, query, `${node.metric}: ${node.calculation === 'conversions' ? 'conversions' : 'conversions / base events'}`), column: node.id };
}

