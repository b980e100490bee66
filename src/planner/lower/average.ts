/**
 * The one definition of an average measure's value, shared by the base lowering (context.ts,
 * Lowering.aggregate) and a rollup's re-aggregated parts (rollup-scan.ts): its sum divided by its
 * count of non-null values, the division in the dialect's 64-bit float (`ratio`: NULL on a count
 * of 0, as AVG over no value). For integer and decimal values the sum is exact on every engine, so
 * both paths divide the same two exact numbers and give the same double, bit for bit; the
 * engine's own AVG divides in its own way (DuckDB's AVG of a DECIMAL is not always the correctly
 * rounded quotient), so it is not used. For float values the sum depends on the order of
 * addition, which no path controls; routing refuses those (src/rollups/route.ts).
 */
import type { SqlExpr } from '../../sql/ast.js';

/** `sum / count` as the average's value (a DOUBLE; NULL when the count is 0). */
export function averageOf(sum: SqlExpr, count: SqlExpr): SqlExpr {
  return { t: 'ratio', numerator: sum, denominator: count };
}

/** An average measure aggregated over the rows of a scan: SUM(value) / COUNT(value). */
export function averageAggregate(arg: SqlExpr): SqlExpr {
  return averageOf({ t: 'aggregate', agg: 'sum', arg }, { t: 'aggregate', agg: 'count', arg });
}
