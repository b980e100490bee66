import type { AggregationType, Grain } from '../../definitions/schema.js';
import type { Dialect } from '../dialect.js';

const quote = (s: string): string => `'${s.replace(/'/g, "''")}'`;

export const duckdb: Dialect = {
  name: 'duckdb',
  unionByName: true,
  quoteIdentifier: (name) => `"${name.replace(/"/g, '""')}"`,
  stringLiteral: quote,
  timestampLiteral: (v) => `TIMESTAMP ${quote(v)}`,
  dateLiteral: (v) => `DATE ${quote(v)}`,
  // DuckDB's 'week' is the ISO week, starting on Monday.
  truncate: (grain, arg) => `date_trunc(${quote(grain)}, ${arg})`,
  extract: (part, arg) => `EXTRACT(${part === 'dow' ? 'isodow' : part} FROM ${arg})`,
  toZone: (zone, arg) => `((${arg}) AT TIME ZONE 'UTC') AT TIME ZONE ${quote(zone)}`,
  addInterval: (arg, count, grain) =>
    count >= 0 ? `${arg} + INTERVAL ${count} ${grain.toUpperCase()}` : `${arg} - INTERVAL ${-count} ${grain.toUpperCase()}`,
  castTimestamp: (arg) => `CAST(${arg} AS TIMESTAMP)`,
  tryCast: (arg, to) => `TRY_CAST(${arg} AS ${to === 'text' ? 'VARCHAR' : to === 'number' ? 'DOUBLE' : 'BOOLEAN'})`,
  castDate: (arg) => `CAST(${arg} AS DATE)`,
  aggregate: (agg: AggregationType | 'count_star', arg, { filter, percentile, discrete, approximate }) => {
    const f = filter ? ` FILTER (WHERE ${filter})` : '';
    switch (agg) {
      case 'count_star':
        return `COUNT(*)${f}`;
      case 'sum':
        return `SUM(${arg})${f}`;
      case 'count':
        return `COUNT(${arg})${f}`;
      case 'count_distinct':
        return `COUNT(DISTINCT ${arg})${f}`;
      case 'average':
        return `AVG(${arg})${f}`;
      case 'min':
        return `MIN(${arg})${f}`;
      case 'max':
        return `MAX(${arg})${f}`;
      case 'median':
        return `MEDIAN(${arg})${f}`;
      case 'percentile':
        if (approximate) return `APPROX_QUANTILE(${arg}, ${percentile})${f}`;
        return `${discrete ? 'QUANTILE_DISC' : 'QUANTILE_CONT'}(${arg}, ${percentile})${f}`;
      case 'sum_boolean':
        return `SUM(CAST(${arg} AS INTEGER))${f}`;
    }
  },
  ratio: (n, d) => `CAST(${n} AS DOUBLE) / NULLIF(${d}, 0)`,
  textMatch: (arg, value, at) => `${at === 'anywhere' ? 'contains' : at === 'start' ? 'starts_with' : 'ends_with'}(${arg}, ${value})`,
  series: (start, stop, grain: Grain, alias, column) =>
    `generate_series(${start}, ${stop}, INTERVAL 1 ${grain.toUpperCase()}) AS ${alias}(${column})`,
  // DuckDB (1.5) bit-packs 128-bit integers (HUGEINT, DECIMAL wider than 18 digits) so that a scan
  // decodes them slowly: SUM over 26k rows of a DECIMAL(38,2) rollup column took 10-14 ms, 0.9 ms
  // stored uncompressed (issue 18, bench/rollups.ts). Rollup tables are small; the space is no matter.
  fastScanStorage: (type) => (HUGE.test(type) ? 'USING COMPRESSION uncompressed' : undefined),
};

/** DuckDB types stored as 128-bit integers. */
const HUGE = /^\s*(U?HUGEINT|INT128|(?:DECIMAL|NUMERIC)\s*\(\s*(19|[2-3]\d)\s*(,\s*\d+\s*)?\))\s*$/i;
