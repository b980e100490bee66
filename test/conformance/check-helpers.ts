/**
 * The Jinja context MetricFlow's integration harness renders check queries and where filters
 * with (tests_metricflow/integration/test_configured_cases.py, CheckQueryHelpers), spelled for
 * DuckDB the way MetricFlow's DuckDB renderer spells them.
 */
import type { JinjaContext, JinjaValue } from './jinja.js';
import { toText } from './jinja.js';

const GRAINS = ['nanosecond', 'microsecond', 'millisecond', 'second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'];
const DATE_PARTS = ['year', 'quarter', 'month', 'week', 'day', 'dow', 'doy'];

const enumOf = (values: string[]): JinjaValue => Object.fromEntries(values.map((v) => [v.toUpperCase(), v]));

function str(v: JinjaValue | undefined, what: string): string {
  if (typeof v !== 'string') throw new Error(`${what}: expected a string, got ${v === undefined ? 'nothing' : toText(v)}`);
  return v;
}

const castToTs = (expr: string): string => `CAST(${expr} AS TIMESTAMP)`;

/** Python's repr() of a sequence argument (a tuple when omitted, as the helpers' defaults are). */
function reprPath(v: JinjaValue | undefined): string {
  if (v === undefined) return '()';
  if (!Array.isArray(v)) throw new Error('entity_path must be a list');
  return `[${v.map((x) => `'${str(x, 'entity_path')}'`).join(', ')}]`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** `stop` plus one day (dates) or one second (timestamps), in the same format. */
function afterStop(stop: string): string {
  if (stop.length === 10) {
    const d = new Date(`${stop}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + 1);
    return d.toISOString().slice(0, 10);
  }
  const d = new Date(`${stop.replace(' ', 'T')}Z`);
  d.setUTCSeconds(d.getUTCSeconds() + 1);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

function interval(count: number, grain: string): string {
  if (grain === 'quarter') return `INTERVAL ${count * 3} month`;
  return `INTERVAL ${count} ${grain}`;
}

function extractPart(part: string): string {
  return part === 'dow' ? 'isodow' : part;
}

export function checkQueryContext(sourceSchema: string): JinjaContext {
  return {
    source_schema: sourceSchema,
    mf_time_spine_source: `${sourceSchema}.mf_time_spine`,
    double_data_type_name: 'DOUBLE',
    TimeGranularity: enumOf(GRAINS),
    DatePart: enumOf(DATE_PARTS),
    render_time_constraint: (args, kw) => {
      const expr = str(args[0], 'render_time_constraint');
      const start = (args[1] ?? kw.start_time ?? null) as string | null;
      const stop = (args[2] ?? kw.stop_time ?? null) as string | null;
      const parts: string[] = [];
      if (start) parts.push(`${castToTs(expr)} >= ${castToTs(`'${start}'`)}`);
      if (stop) parts.push(`${castToTs(expr)} < ${castToTs(`'${afterStop(stop)}'`)}`);
      if (!parts.length) throw new Error('render_time_constraint needs a start or a stop time');
      return parts.join(' AND ');
    },
    cast_to_ts: (args) => castToTs(`'${str(args[0], 'cast_to_ts')}'`),
    render_date_trunc: (args) => `DATE_TRUNC('${str(args[1], 'granularity')}', ${castToTs(str(args[0], 'render_date_trunc'))})`,
    render_extract: (args) => `EXTRACT(${extractPart(str(args[1], 'date part'))} FROM ${castToTs(str(args[0], 'render_extract'))})`,
    render_date_sub: (args) => `${str(args[0], 'table')}.${str(args[1], 'column')} - ${interval(Number(args[2]), str(args[3], 'granularity'))}`,
    render_date_add: (args) => {
      const grain = str(args[2], 'granularity');
      const count = str(args[1], 'count');
      return grain === 'quarter' ? `${str(args[0], 'date')} + INTERVAL (3 * ${count}) month` : `${str(args[0], 'date')} + INTERVAL (${count}) ${grain}`;
    },
    render_percentile_expr: (args) => {
      const expr = str(args[0], 'render_percentile_expr');
      const p = Number(args[1]);
      const discrete = args[2] === true;
      const approximate = args[3] === true;
      if (approximate && discrete) throw new Error('DuckDB has no approximate discrete percentile');
      if (approximate) return `APPROX_QUANTILE(${expr}, ${p})`;
      return `${discrete ? 'PERCENTILE_DISC' : 'PERCENTILE_CONT'}(${p}) WITHIN GROUP (ORDER BY ${expr})`;
    },
    generate_random_uuid: () => 'GEN_RANDOM_UUID()',
    render_dimension_template: (args, kw) => `{{ Dimension('${str(args[0], 'dimension')}', entity_path=${reprPath(args[1] ?? kw.entity_path)}) }}`,
    render_entity_template: (args, kw) => `{{ Entity('${str(args[0], 'entity')}', entity_path=${reprPath(args[1] ?? kw.entity_path)}) }}`,
    render_metric_template: (args, kw) => `{{ Metric('${str(args[0], 'metric')}', group_by=${toText(args[1] ?? kw.group_by ?? [])}) }}`,
    render_time_dimension_template: (args, kw) => {
      const name = str(args[0], 'time dimension');
      const grain = args[1] ?? kw.time_granularity;
      const path = reprPath(args[2] ?? kw.entity_path);
      return grain ? `{{ TimeDimension('${name}', '${str(grain, 'grain')}', entity_path=${path}) }}` : `{{ TimeDimension('${name}', entity_path=${path}) }}`;
    },
  };
}
