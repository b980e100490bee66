/**
 * dbt metrics → Tally metrics, type by type (simple, cumulative, ratio, derived, conversion), with
 * their inputs, windows and filters (dbt's Jinja filters translated to Tally's filter language by
 * filter.ts). dbt's defaults that differ from Tally's are written out (period_agg: first).
 */
import { FilterTranslationError, translateFilter, translateGroupByName } from './filter.js';
import type { Json, TallyFile } from './translate.js';
import { type At, checkKeys, isObj, listOf, lower, type Obj } from './walk.js';

/** dbt filters (one or a list, ANDed) as one Tally filter; untranslatable ones are reported. */
export function filterText(value: unknown, at: At): string | undefined {
  const texts = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  texts.forEach((t, i) => {
    const tat = Array.isArray(value) ? at.sub(i) : at;
    if (typeof t !== 'string') return tat.report('a filter is a string (SQL with {{ Dimension(…) }} references)');
    try {
      out.push(translateFilter(t));
    } catch (e) {
      if (!(e instanceof FilterTranslationError)) throw e;
      tat.report(e.message);
    }
  });
  if (out.length === 0) return undefined;
  return out.length === 1 ? out[0] : out.map((f) => `(${f})`).join(' AND ');
}

function measureInput(value: unknown, at: At): Json | undefined {
  if (typeof value === 'string') return value;
  if (!isObj(value)) return void at.report('a measure input is a name or a mapping with a name');
  checkKeys(value, at, ['name', 'filter', 'alias', 'fill_nulls_with', 'join_to_timespine']);
  const out: Record<string, Json> = { name: String(value.name) };
  if (value.filter !== undefined && value.filter !== null) {
    const f = filterText(value.filter, at.sub('filter'));
    if (f) out.filter = f;
  }
  if (typeof value.fill_nulls_with === 'number') out.fill_nulls_with = value.fill_nulls_with;
  if (value.join_to_timespine === true) out.join_to_timespine = true;
  return Object.keys(out).length === 1 ? out.name : out;
}

function metricInput(value: unknown, at: At): Json | undefined {
  if (typeof value === 'string') return value;
  if (!isObj(value)) return void at.report('a metric input is a name or a mapping with a name');
  checkKeys(value, at, ['name', 'filter', 'alias', 'offset_window', 'offset_to_grain']);
  const out: Record<string, Json> = { name: String(value.name) };
  if (typeof value.alias === 'string') out.alias = value.alias;
  if (value.filter !== undefined && value.filter !== null) {
    const f = filterText(value.filter, at.sub('filter'));
    if (f) out.filter = f;
  }
  if (value.offset_window !== undefined) out.offset_window = windowText(value.offset_window, at.sub('offset_window')) ?? null;
  if (typeof value.offset_to_grain === 'string') out.offset_to_grain = value.offset_to_grain.toLowerCase();
  return Object.keys(out).length === 1 ? out.name : out;
}

function windowText(value: unknown, at: At): string | undefined {
  if (typeof value !== 'string') return void at.report("a window is text like '7 days'");
  const m = /^\s*(\d+)\s+([A-Za-z_]+)\s*$/.exec(value);
  if (!m) return void at.report(`cannot read the window '${value}'; write a count and a grain, like '7 days'`);
  return `${m[1]} ${m[2].toLowerCase()}`;
}

/** One metric into `out`; a type Tally has not, or an input it cannot read, is reported instead. */
export function metric(value: unknown, at: At, out: TallyFile): void {
  if (!isObj(value)) return at.report('a metric is a mapping');
  checkKeys(value, at, ['name', 'description', 'label', 'type', 'type_params', 'filter', 'time_granularity', 'config']);
  const type = lower(value.type);
  const metric: Obj = { name: value.name };
  if (typeof value.description === 'string') metric.description = value.description.trim();
  if (typeof value.label === 'string') metric.label = value.label;
  const owner = isObj(value.config) && isObj(value.config.meta) ? value.config.meta.owner : undefined;
  if (typeof owner === 'string') metric.owner = owner;
  metric.type = type;
  if (value.filter !== undefined && value.filter !== null) {
    const f = filterText(value.filter, at.sub('filter'));
    if (f) metric.filter = f;
  }
  if (typeof value.time_granularity === 'string') metric.time_granularity = value.time_granularity.toLowerCase();
  const tp = isObj(value.type_params) ? value.type_params : {};
  const tat = at.sub('type_params');
  switch (type) {
    case 'simple': {
      checkKeys(tp, tat, ['measure', 'fill_nulls_with', 'join_to_timespine']);
      const measure = measureInput(tp.measure, tat.sub('measure'));
      if (measure === undefined) return;
      metric.measure = measure;
      if (typeof tp.fill_nulls_with === 'number') metric.fill_nulls_with = tp.fill_nulls_with;
      if (tp.join_to_timespine === true) metric.join_to_timespine = true;
      break;
    }
    case 'cumulative': {
      checkKeys(tp, tat, ['measure', 'window', 'grain_to_date', 'cumulative_type_params', 'fill_nulls_with', 'join_to_timespine']);
      const measure = measureInput(tp.measure, tat.sub('measure'));
      if (measure === undefined) return;
      metric.measure = measure;
      const cp = isObj(tp.cumulative_type_params) ? tp.cumulative_type_params : {};
      if (isObj(tp.cumulative_type_params)) checkKeys(cp, tat.sub('cumulative_type_params'), ['window', 'grain_to_date', 'period_agg']);
      const window = cp.window ?? tp.window;
      if (window !== undefined && window !== null) metric.window = windowText(window, tat.sub(cp.window !== undefined ? 'cumulative_type_params' : 'window'));
      const gtd = lower(cp.grain_to_date ?? tp.grain_to_date);
      if (gtd) metric.grain_to_date = gtd;
      // dbt's default is the first day's value; Tally's is the last, so the default is written out.
      metric.period_agg = lower(cp.period_agg) ?? 'first';
      if (typeof tp.fill_nulls_with === 'number') metric.fill_nulls_with = tp.fill_nulls_with;
      break;
    }
    case 'ratio': {
      checkKeys(tp, tat, ['numerator', 'denominator']);
      const n = metricInput(tp.numerator, tat.sub('numerator'));
      const d = metricInput(tp.denominator, tat.sub('denominator'));
      if (n === undefined || d === undefined) return;
      metric.numerator = n;
      metric.denominator = d;
      break;
    }
    case 'derived': {
      checkKeys(tp, tat, ['expr', 'metrics']);
      if (typeof tp.expr !== 'string') return tat.sub('expr').report("a derived metric needs 'expr'");
      metric.expr = tp.expr.trim();
      metric.metrics = listOf(tp.metrics, tat.sub('metrics'), (m, mat) => {
        const input = metricInput(m, mat);
        return input === undefined ? undefined : typeof input === 'string' ? { name: input } : (input as Obj);
      }).map((m) => (Object.keys(m).length === 1 ? m.name : m)) as Obj[];
      break;
    }
    case 'conversion': {
      checkKeys(tp, tat, ['conversion_type_params']);
      const cp = isObj(tp.conversion_type_params) ? tp.conversion_type_params : undefined;
      const cat = tat.sub('conversion_type_params');
      if (!cp) return cat.report("a conversion metric needs 'conversion_type_params'");
      checkKeys(cp, cat, ['base_measure', 'conversion_measure', 'entity', 'calculation', 'window', 'constant_properties']);
      const base = measureInput(cp.base_measure, cat.sub('base_measure'));
      const conv = measureInput(cp.conversion_measure, cat.sub('conversion_measure'));
      if (base === undefined || conv === undefined) return;
      metric.entity = cp.entity;
      metric.base_measure = base;
      metric.conversion_measure = conv;
      if (cp.window !== undefined && cp.window !== null) metric.window = windowText(cp.window, cat.sub('window'));
      const calc = lower(cp.calculation);
      if (calc) metric.calculation = calc;
      if (Array.isArray(cp.constant_properties)) {
        metric.constant_properties = cp.constant_properties.map((p: unknown, i) => {
          const pat = cat.sub('constant_properties', i);
          if (!isObj(p)) return void pat.report('a constant property has base_property and conversion_property');
          checkKeys(p, pat, ['base_property', 'conversion_property']);
          return { base_property: translateGroupByName(String(p.base_property)), conversion_property: translateGroupByName(String(p.conversion_property)) };
        }).filter((p) => p !== undefined);
      }
      break;
    }
    default:
      at.sub('type').report(`metric type '${String(value.type)}' is not simple, ratio, derived, cumulative or conversion`);
      return;
  }
  out.metrics.push(metric);
}
