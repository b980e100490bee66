/**
 * dbt semantic objects → Tally definitions. Each dbt key is either mapped, dropped with a warning
 * when it only matters to dbt (exports, config, labels of entities…), or reported as an error when
 * Tally would compute something different without it.
 *
 * Both spellings are read: dbt projects (`semantic_models:`, `metrics:`, `saved_queries:` lists,
 * `model: ref('…')`, time spines configured on models) and MetricFlow's manifests
 * (`semantic_model:`, `metric:`, `saved_query:`, `project_configuration:` documents with
 * `node_relation`).
 */
import { FilterTranslationError, translateFilter, translateGroupByName, translateObjectCall } from './filter.js';
import type { DbtDocument, ImportProblem, YamlPath } from './source.js';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type Obj = Record<string, unknown>;

/** Tally definitions for one output file, in the order they are written. */
export interface TallyFile {
  time_spines: Obj[];
  semantic_models: Obj[];
  metrics: Obj[];
  saved_queries: Obj[];
}

export interface TranslateOptions {
  /** Values for `$name` placeholders in relations, e.g. { source_schema: 'analytics' }. */
  vars: Record<string, string>;
  /** Schema to put in front of `ref('model')` relations. */
  schema?: string;
}

const TALLY_GRAINS = new Set(['millisecond', 'second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year']);
const DROPPED_QUIETLY = new Set(['label', 'config', 'meta', 'tags', 'description']);

class At {
  constructor(
    readonly doc: DbtDocument,
    readonly path: YamlPath,
    private readonly problems: ImportProblem[],
  ) {}

  sub(...keys: (string | number)[]): At {
    return new At(this.doc, [...this.path, ...keys], this.problems);
  }

  report(message: string, severity: ImportProblem['severity'] = 'error', offsetInValue?: number): void {
    const { line, col } = this.doc.locate(this.path);
    this.problems.push({ file: this.doc.file.display, line, col: col + (offsetInValue ?? 0), message, severity });
  }
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function lower(v: unknown): string | undefined {
  return typeof v === 'string' ? v.toLowerCase() : undefined;
}

/** Reports keys of `obj` that are neither mapped nor harmless to drop. */
function checkKeys(obj: Obj, at: At, mapped: string[], droppedWithWarning: Record<string, string> = {}): void {
  for (const key of Object.keys(obj)) {
    if (mapped.includes(key) || DROPPED_QUIETLY.has(key)) continue;
    if (key in droppedWithWarning) {
      at.sub(key).report(`'${key}' is not imported: ${droppedWithWarning[key]}`, 'warning');
      continue;
    }
    at.sub(key).report(`Tally cannot map '${key}'; remove it or define the equivalent by hand`);
  }
}

export class Translator {
  readonly files = new Map<string, TallyFile>();
  private readonly legacySpines: { at: At; spine: Obj; file: string }[] = [];

  constructor(
    private readonly options: TranslateOptions,
    readonly problems: ImportProblem[],
  ) {}

  private file(name: string): TallyFile {
    let f = this.files.get(name);
    if (!f) {
      f = { time_spines: [], semantic_models: [], metrics: [], saved_queries: [] };
      this.files.set(name, f);
    }
    return f;
  }

  document(doc: DbtDocument): void {
    const root = new At(doc, [], this.problems);
    if (doc.data === null || doc.data === undefined) return;
    if (!isObj(doc.data)) {
      root.report('a dbt YAML document is a mapping of keys such as semantic_models and metrics');
      return;
    }
    const out = this.file(doc.file.relativePath);
    const each = (key: string, fn: (v: unknown, at: At) => void): void => {
      const value = (doc.data as Obj)[key];
      if (value === undefined) return;
      if (Array.isArray(value)) value.forEach((v, i) => fn(v, root.sub(key, i)));
      else root.sub(key).report(`'${key}' is a list`);
    };
    for (const key of Object.keys(doc.data)) {
      const value = doc.data[key];
      switch (key) {
        case 'semantic_model':
          this.semanticModel(value, root.sub(key), out);
          break;
        case 'metric':
          this.metric(value, root.sub(key), out);
          break;
        case 'saved_query':
          this.savedQuery(value, root.sub(key), out);
          break;
        case 'project_configuration':
          this.projectConfiguration(value, root.sub(key), out);
          break;
        case 'semantic_models':
          each(key, (v, at) => this.semanticModel(v, at, out));
          break;
        case 'metrics':
          each(key, (v, at) => this.metric(v, at, out));
          break;
        case 'saved_queries':
          each(key, (v, at) => this.savedQuery(v, at, out));
          break;
        case 'models':
          each(key, (v, at) => this.dbtModel(v, at, out));
          break;
        default:
          // Other dbt keys (version, sources, seeds, macros…) describe the dbt project, not metrics.
          break;
      }
    }
  }

  /** Legacy time spine configurations apply only to grains no `time_spines` entry covers. */
  finish(): void {
    const grains = new Set<string>();
    for (const f of this.files.values()) for (const s of f.time_spines) grains.add(String(s.grain));
    for (const { spine, file } of this.legacySpines) {
      if (grains.has(String(spine.grain))) continue;
      grains.add(String(spine.grain));
      this.file(file).time_spines.push(spine);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Semantic models
  // ---------------------------------------------------------------------------------------------

  private relation(model: Obj, at: At): string | undefined {
    if (isObj(model.node_relation)) {
      const r = model.node_relation;
      const rat = at.sub('node_relation');
      checkKeys(r, rat, ['alias', 'schema_name', 'database', 'relation_name']);
      if (typeof r.relation_name === 'string') return this.substitute(r.relation_name, rat.sub('relation_name'));
      if (typeof r.alias !== 'string') {
        rat.report("node_relation needs 'alias' (the table name)");
        return undefined;
      }
      const parts = [r.database, r.schema_name, r.alias].filter((p): p is string => typeof p === 'string' && p.length > 0);
      return this.substitute(parts.join('.'), rat);
    }
    if (typeof model.model === 'string') {
      const m = /^\s*ref\(\s*['"]([^'"]+)['"]\s*(?:,\s*(?:v|version)\s*=\s*[^)]*)?\)\s*$/.exec(model.model);
      if (!m) {
        at.sub('model').report(`cannot read the relation '${model.model}'; write model: ref('table_name')`);
        return undefined;
      }
      return this.options.schema ? `${this.options.schema}.${m[1]}` : m[1];
    }
    at.report("a semantic model needs 'model: ref(…)' (dbt) or 'node_relation' (MetricFlow)");
    return undefined;
  }

  private substitute(text: string, at: At): string | undefined {
    let missing: string | undefined;
    const out = text.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, name: string) => {
      const v = this.options.vars[name];
      if (v === undefined) missing = name;
      return v ?? whole;
    });
    if (missing) {
      at.report(`the relation '${text}' uses $${missing}; give its value (tally import dbt --var ${missing}=…)`);
      return undefined;
    }
    return out;
  }

  private semanticModel(value: unknown, at: At, out: TallyFile): void {
    if (!isObj(value)) return at.report('a semantic model is a mapping');
    checkKeys(value, at, ['name', 'description', 'node_relation', 'model', 'defaults', 'primary_entity', 'entities', 'dimensions', 'measures']);
    const table = this.relation(value, at);
    const model: Obj = { name: value.name };
    if (typeof value.description === 'string') model.description = value.description.trim();
    if (table) model.table = table;
    if (typeof value.primary_entity === 'string') model.primary_entity = value.primary_entity;
    if (isObj(value.defaults)) {
      checkKeys(value.defaults, at.sub('defaults'), ['agg_time_dimension']);
      if (typeof value.defaults.agg_time_dimension === 'string') model.defaults = { agg_time_dimension: value.defaults.agg_time_dimension };
    }
    model.entities = this.list(value.entities, at.sub('entities'), (e, eat) => this.entity(e, eat));
    model.dimensions = this.list(value.dimensions, at.sub('dimensions'), (d, dat) => this.dimension(d, dat));
    const measures: Obj[] = [];
    this.list(value.measures, at.sub('measures'), (m, mat) => {
      const measure = this.measure(m, mat);
      if (!measure) return undefined;
      measures.push(measure);
      if (isObj(m) && m.create_metric === true) {
        out.metrics.push({ name: measure.name, ...(measure.description ? { description: measure.description } : {}), type: 'simple', measure: measure.name });
      }
      return measure;
    });
    model.measures = measures;
    out.semantic_models.push(model);
  }

  private list(value: unknown, at: At, fn: (v: unknown, at: At) => Obj | undefined): Obj[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      at.report('expected a list');
      return [];
    }
    return value.map((v, i) => fn(v, at.sub(i))).filter((v): v is Obj => v !== undefined);
  }

  private entity(value: unknown, at: At): Obj | undefined {
    if (!isObj(value)) return void at.report('an entity is a mapping');
    checkKeys(value, at, ['name', 'type', 'expr', 'description'], { role: 'entity roles are not supported; Tally joins on the entity name' });
    const type = lower(value.type);
    if (!type || !['primary', 'unique', 'foreign', 'natural'].includes(type)) {
      at.sub('type').report(`entity type '${String(value.type)}' is not primary, unique, foreign or natural`);
      return undefined;
    }
    const e: Obj = { name: value.name, type };
    if (value.expr !== undefined && value.expr !== null) e.expr = String(value.expr);
    if (typeof value.description === 'string') e.description = value.description.trim();
    return e;
  }

  private dimension(value: unknown, at: At): Obj | undefined {
    if (!isObj(value)) return void at.report('a dimension is a mapping');
    checkKeys(value, at, ['name', 'type', 'expr', 'description', 'label', 'is_partition', 'type_params']);
    const type = lower(value.type);
    if (type !== 'categorical' && type !== 'time') {
      at.sub('type').report(`dimension type '${String(value.type)}' is not categorical or time`);
      return undefined;
    }
    const d: Obj = { name: value.name, type };
    if (value.expr !== undefined && value.expr !== null) d.expr = String(value.expr);
    if (typeof value.description === 'string') d.description = value.description.trim();
    if (typeof value.label === 'string') d.label = value.label;
    if (value.is_partition === true) d.is_partition = true;
    if (isObj(value.type_params)) {
      const tp = value.type_params;
      const tat = at.sub('type_params');
      checkKeys(tp, tat, ['time_granularity', 'validity_params']);
      if (tp.time_granularity !== undefined) {
        const grain = lower(tp.time_granularity);
        if (!grain || !TALLY_GRAINS.has(grain)) tat.sub('time_granularity').report(`Tally has no '${String(tp.time_granularity)}' grain (it has ${[...TALLY_GRAINS].join(', ')})`);
        else d.granularity = grain;
      }
      if (isObj(tp.validity_params)) {
        checkKeys(tp.validity_params, tat.sub('validity_params'), ['is_start', 'is_end']);
        if (tp.validity_params.is_start === true) d.validity = 'start';
        else if (tp.validity_params.is_end === true) d.validity = 'end';
      }
    }
    if (type === 'time' && d.granularity === undefined) d.granularity = 'day';
    return d;
  }

  private measure(value: unknown, at: At): Obj | undefined {
    if (!isObj(value)) return void at.report('a measure is a mapping');
    checkKeys(value, at, ['name', 'agg', 'expr', 'description', 'label', 'create_metric', 'agg_params', 'agg_time_dimension', 'non_additive_dimension']);
    const agg = lower(value.agg);
    const aggs = ['sum', 'count', 'count_distinct', 'average', 'min', 'max', 'median', 'percentile', 'sum_boolean'];
    if (!agg || !aggs.includes(agg)) {
      at.sub('agg').report(`agg '${String(value.agg)}' is not one of ${aggs.join(', ')}`);
      return undefined;
    }
    const m: Obj = { name: value.name, agg };
    if (value.expr !== undefined && value.expr !== null) m.expr = typeof value.expr === 'number' ? value.expr : String(value.expr);
    if (typeof value.description === 'string') m.description = value.description.trim();
    if (typeof value.agg_time_dimension === 'string') m.agg_time_dimension = value.agg_time_dimension;
    if (isObj(value.agg_params)) {
      const p = value.agg_params;
      checkKeys(p, at.sub('agg_params'), ['percentile', 'use_discrete_percentile', 'use_approximate_percentile']);
      if (typeof p.percentile === 'number') m.percentile = p.percentile;
      if (p.use_discrete_percentile === true) m.discrete = true;
      if (p.use_approximate_percentile === true) m.approximate = true;
    }
    if (isObj(value.non_additive_dimension)) {
      const n = value.non_additive_dimension;
      checkKeys(n, at.sub('non_additive_dimension'), ['name', 'window_choice', 'window_groupings']);
      const nad: Obj = { name: n.name };
      if (n.window_choice !== undefined) nad.window_choice = lower(n.window_choice);
      if (Array.isArray(n.window_groupings)) nad.window_groupings = n.window_groupings;
      m.non_additive_dimension = nad;
    }
    return m;
  }

  // ---------------------------------------------------------------------------------------------
  // Metrics
  // ---------------------------------------------------------------------------------------------

  private filter(value: unknown, at: At): string | undefined {
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

  private measureInput(value: unknown, at: At): Json | undefined {
    if (typeof value === 'string') return value;
    if (!isObj(value)) return void at.report('a measure input is a name or a mapping with a name');
    checkKeys(value, at, ['name', 'filter', 'alias', 'fill_nulls_with', 'join_to_timespine']);
    const out: Record<string, Json> = { name: String(value.name) };
    if (value.filter !== undefined && value.filter !== null) {
      const f = this.filter(value.filter, at.sub('filter'));
      if (f) out.filter = f;
    }
    if (typeof value.fill_nulls_with === 'number') out.fill_nulls_with = value.fill_nulls_with;
    if (value.join_to_timespine === true) out.join_to_timespine = true;
    return Object.keys(out).length === 1 ? out.name : out;
  }

  private metricInput(value: unknown, at: At): Json | undefined {
    if (typeof value === 'string') return value;
    if (!isObj(value)) return void at.report('a metric input is a name or a mapping with a name');
    checkKeys(value, at, ['name', 'filter', 'alias', 'offset_window', 'offset_to_grain']);
    const out: Record<string, Json> = { name: String(value.name) };
    if (typeof value.alias === 'string') out.alias = value.alias;
    if (value.filter !== undefined && value.filter !== null) {
      const f = this.filter(value.filter, at.sub('filter'));
      if (f) out.filter = f;
    }
    if (value.offset_window !== undefined) out.offset_window = this.window(value.offset_window, at.sub('offset_window')) ?? null;
    if (typeof value.offset_to_grain === 'string') out.offset_to_grain = value.offset_to_grain.toLowerCase();
    return Object.keys(out).length === 1 ? out.name : out;
  }

  private window(value: unknown, at: At): string | undefined {
    if (typeof value !== 'string') return void at.report("a window is text like '7 days'");
    const m = /^\s*(\d+)\s+([A-Za-z_]+)\s*$/.exec(value);
    if (!m) return void at.report(`cannot read the window '${value}'; write a count and a grain, like '7 days'`);
    return `${m[1]} ${m[2].toLowerCase()}`;
  }

  private metric(value: unknown, at: At, out: TallyFile): void {
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
      const f = this.filter(value.filter, at.sub('filter'));
      if (f) metric.filter = f;
    }
    if (typeof value.time_granularity === 'string') metric.time_granularity = value.time_granularity.toLowerCase();
    const tp = isObj(value.type_params) ? value.type_params : {};
    const tat = at.sub('type_params');
    switch (type) {
      case 'simple': {
        checkKeys(tp, tat, ['measure', 'fill_nulls_with', 'join_to_timespine']);
        const measure = this.measureInput(tp.measure, tat.sub('measure'));
        if (measure === undefined) return;
        metric.measure = measure;
        if (typeof tp.fill_nulls_with === 'number') metric.fill_nulls_with = tp.fill_nulls_with;
        if (tp.join_to_timespine === true) metric.join_to_timespine = true;
        break;
      }
      case 'cumulative': {
        checkKeys(tp, tat, ['measure', 'window', 'grain_to_date', 'cumulative_type_params', 'fill_nulls_with', 'join_to_timespine']);
        const measure = this.measureInput(tp.measure, tat.sub('measure'));
        if (measure === undefined) return;
        metric.measure = measure;
        const cp = isObj(tp.cumulative_type_params) ? tp.cumulative_type_params : {};
        if (isObj(tp.cumulative_type_params)) checkKeys(cp, tat.sub('cumulative_type_params'), ['window', 'grain_to_date', 'period_agg']);
        const window = cp.window ?? tp.window;
        if (window !== undefined && window !== null) metric.window = this.window(window, tat.sub(cp.window !== undefined ? 'cumulative_type_params' : 'window'));
        const gtd = lower(cp.grain_to_date ?? tp.grain_to_date);
        if (gtd) metric.grain_to_date = gtd;
        // dbt's default is the first day's value; Tally's is the last, so the default is written out.
        metric.period_agg = lower(cp.period_agg) ?? 'first';
        if (typeof tp.fill_nulls_with === 'number') metric.fill_nulls_with = tp.fill_nulls_with;
        break;
      }
      case 'ratio': {
        checkKeys(tp, tat, ['numerator', 'denominator']);
        const n = this.metricInput(tp.numerator, tat.sub('numerator'));
        const d = this.metricInput(tp.denominator, tat.sub('denominator'));
        if (n === undefined || d === undefined) return;
        metric.numerator = n;
        metric.denominator = d;
        break;
      }
      case 'derived': {
        checkKeys(tp, tat, ['expr', 'metrics']);
        if (typeof tp.expr !== 'string') return tat.sub('expr').report("a derived metric needs 'expr'");
        metric.expr = tp.expr.trim();
        metric.metrics = this.list(tp.metrics, tat.sub('metrics'), (m, mat) => {
          const input = this.metricInput(m, mat);
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
        const base = this.measureInput(cp.base_measure, cat.sub('base_measure'));
        const conv = this.measureInput(cp.conversion_measure, cat.sub('conversion_measure'));
        if (base === undefined || conv === undefined) return;
        metric.entity = cp.entity;
        metric.base_measure = base;
        metric.conversion_measure = conv;
        if (cp.window !== undefined && cp.window !== null) metric.window = this.window(cp.window, cat.sub('window'));
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

  // ---------------------------------------------------------------------------------------------
  // Saved queries
  // ---------------------------------------------------------------------------------------------

  private savedQuery(value: unknown, at: At, out: TallyFile): void {
    if (!isObj(value)) return at.report('a saved query is a mapping');
    checkKeys(value, at, ['name', 'description', 'label', 'query_params', 'exports'], { exports: 'Tally does not write tables; run the saved query instead' });
    const qp = isObj(value.query_params) ? value.query_params : {};
    const qat = at.sub('query_params');
    checkKeys(qp, qat, ['metrics', 'group_by', 'where', 'order_by', 'limit']);
    const q: Obj = { name: value.name };
    if (typeof value.description === 'string') q.description = value.description.trim();
    q.metrics = Array.isArray(qp.metrics) ? qp.metrics : [];
    const refs = (list: unknown, key: string): string[] => {
      if (!Array.isArray(list)) return [];
      const result: string[] = [];
      list.forEach((item, i) => {
        if (typeof item !== 'string') return qat.sub(key, i).report('expected text such as "Dimension(\'user__country\')"');
        try {
          const text = item.trim();
          const call = /^[A-Za-z]+\s*\(/.test(text) ? translateObjectCall(text) : undefined;
          const descending = /\.descending\(\s*True\s*\)\s*$/.test(text);
          const ref = call ? call.text : translateGroupByName(text.replace(/^-/, ''));
          result.push(`${descending || text.startsWith('-') ? '-' : ''}${ref}`);
        } catch (e) {
          if (!(e instanceof FilterTranslationError)) throw e;
          qat.sub(key, i).report(e.message);
        }
      });
      return result;
    };
    q.group_by = refs(qp.group_by, 'group_by');
    if (qp.where !== undefined && qp.where !== null) {
      const w = this.filter(qp.where, qat.sub('where'));
      if (w) q.where = w;
    }
    const order = refs(qp.order_by, 'order_by').map((o) => o.replace(/^(-?)(?:metric\.)?/, '$1'));
    if (order.length) q.order_by = order;
    if (typeof qp.limit === 'number') q.limit = qp.limit;
    out.saved_queries.push(q);
  }

  // ---------------------------------------------------------------------------------------------
  // Time spines
  // ---------------------------------------------------------------------------------------------

  private projectConfiguration(value: unknown, at: At, out: TallyFile): void {
    if (!isObj(value)) return at.report('project_configuration is a mapping');
    checkKeys(value, at, ['time_spine_table_configurations', 'time_spines'], { metadata: 'not needed' });
    this.list(value.time_spines, at.sub('time_spines'), (s, sat) => {
      if (!isObj(s)) return void sat.report('a time spine is a mapping');
      checkKeys(s, sat, ['node_relation', 'primary_column', 'custom_granularities']);
      const pc = isObj(s.primary_column) ? s.primary_column : {};
      const grain = lower(pc.time_granularity);
      if (!grain || !TALLY_GRAINS.has(grain)) {
        sat.sub('primary_column', 'time_granularity').report(`skipped: Tally has no '${String(pc.time_granularity)}' grain, so it needs no time spine at that grain`, 'warning');
        return undefined;
      }
      const table = this.relation(s, sat);
      if (!table) return undefined;
      const spine: Obj = { table, column: pc.name, grain };
      const custom = this.list(s.custom_granularities, sat.sub('custom_granularities'), (c, cat) => {
        if (!isObj(c)) return void cat.report('a custom granularity has a name (and a column_name)');
        checkKeys(c, cat, ['name', 'column_name']);
        return { name: String(c.name).toLowerCase(), column: String(c.column_name ?? c.name) };
      });
      if (custom.length) spine.custom_granularities = custom;
      out.time_spines.push(spine);
      return spine;
    });
    this.list(value.time_spine_table_configurations, at.sub('time_spine_table_configurations'), (s, sat) => {
      if (!isObj(s)) return void sat.report('a time spine configuration is a mapping');
      checkKeys(s, sat, ['location', 'column_name', 'grain']);
      const grain = lower(s.grain);
      const absent = (['location', 'column_name', 'grain'] as const).filter((k) => typeof s[k] !== 'string' || s[k] === '');
      if (absent.length) return void sat.report(`a time spine configuration needs ${absent.join(', ')} (it has location, column_name and grain)`);
      if (!grain || !TALLY_GRAINS.has(grain)) return void sat.sub('grain').report(`'${String(s.grain)}' is not a grain; use one of ${[...TALLY_GRAINS].join(', ')}`);
      // A $variable without a value is reported by substitute, once.
      const table = this.substitute(String(s.location), sat.sub('location'));
      if (!table) return;
      const spine = { table, column: s.column_name, grain };
      this.legacySpines.push({ at: sat, spine, file: at.doc.file.relativePath });
      return spine;
    });
  }

  /** dbt ≥ 1.9 configures time spines on models: `time_spine: {standard_granularity_column: …}`. */
  private dbtModel(value: unknown, at: At, out: TallyFile): void {
    if (!isObj(value) || !isObj(value.time_spine)) return;
    const ts = value.time_spine;
    const tat = at.sub('time_spine');
    checkKeys(ts, tat, ['standard_granularity_column', 'custom_granularities']);
    const column = String(ts.standard_granularity_column);
    const columns = Array.isArray(value.columns) ? value.columns.filter(isObj) : [];
    const declared = columns.find((c) => c.name === column);
    const grain = lower(declared?.granularity) ?? 'day';
    if (!TALLY_GRAINS.has(grain)) return tat.report(`skipped: Tally has no '${grain}' grain`, 'warning');
    const spine: Obj = { table: this.options.schema ? `${this.options.schema}.${String(value.name)}` : String(value.name), column, grain };
    const custom = this.list(ts.custom_granularities, tat.sub('custom_granularities'), (c, cat) => {
      if (!isObj(c)) return void cat.report('a custom granularity has a name (and a column_name)');
      return { name: String(c.name).toLowerCase(), column: String(c.column_name ?? c.name) };
    });
    if (custom.length) spine.custom_granularities = custom;
    out.time_spines.push(spine);
  }
}
