/**
 * dbt semantic models → Tally semantic models: the relation (`model: ref(…)` in dbt projects,
 * `node_relation` in MetricFlow manifests, with `$var` placeholders), entities, dimensions and
 * measures, and the simple metrics that `create_metric: true` asks for. Key names and meanings
 * follow dbt's semantic model spec.
 */
import type { TallyFile, TranslateOptions } from './translate.js';
import { type At, checkKeys, isObj, listOf, lower, type Obj, TALLY_GRAINS } from './walk.js';

/** The table a semantic model (or a time spine) reads, or undefined after reporting why not. */
export function relation(options: TranslateOptions, model: Obj, at: At): string | undefined {
  if (isObj(model.node_relation)) {
    const r = model.node_relation;
    const rat = at.sub('node_relation');
    checkKeys(r, rat, ['alias', 'schema_name', 'database', 'relation_name']);
    if (typeof r.relation_name === 'string') return substitute(options, r.relation_name, rat.sub('relation_name'));
    if (typeof r.alias !== 'string') {
      rat.report("node_relation needs 'alias' (the table name)");
      return undefined;
    }
    const parts = [r.database, r.schema_name, r.alias].filter((p): p is string => typeof p === 'string' && p.length > 0);
    return substitute(options, parts.join('.'), rat);
  }
  if (typeof model.model === 'string') {
    const m = /^\s*ref\(\s*['"]([^'"]+)['"]\s*(?:,\s*(?:v|version)\s*=\s*[^)]*)?\)\s*$/.exec(model.model);
    if (!m) {
      at.sub('model').report(`cannot read the relation '${model.model}'; write model: ref('table_name')`);
      return undefined;
    }
    return options.schema ? `${options.schema}.${m[1]}` : m[1];
  }
  at.report("a semantic model needs 'model: ref(…)' (dbt) or 'node_relation' (MetricFlow)");
  return undefined;
}

/** `$name` and `${name}` placeholders replaced by their values; a missing value is reported. */
export function substitute(options: TranslateOptions, text: string, at: At): string | undefined {
  let missing: string | undefined;
  const out = text.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, name: string) => {
    const v = options.vars[name];
    if (v === undefined) missing = name;
    return v ?? whole;
  });
  if (missing) {
    at.report(`the relation '${text}' uses $${missing}; give its value (tally import dbt --var ${missing}=…)`);
    return undefined;
  }
  return out;
}

/** One semantic model into `out` (and its `create_metric` metrics). */
export function semanticModel(options: TranslateOptions, value: unknown, at: At, out: TallyFile): void {
  if (!isObj(value)) return at.report('a semantic model is a mapping');
  checkKeys(value, at, ['name', 'description', 'node_relation', 'model', 'defaults', 'primary_entity', 'entities', 'dimensions', 'measures']);
  const table = relation(options, value, at);
  const model: Obj = { name: value.name };
  if (typeof value.description === 'string') model.description = value.description.trim();
  if (table) model.table = table;
  if (typeof value.primary_entity === 'string') model.primary_entity = value.primary_entity;
  if (isObj(value.defaults)) {
    checkKeys(value.defaults, at.sub('defaults'), ['agg_time_dimension']);
    if (typeof value.defaults.agg_time_dimension === 'string') model.defaults = { agg_time_dimension: value.defaults.agg_time_dimension };
  }
  model.entities = listOf(value.entities, at.sub('entities'), (e, eat) => entity(e, eat));
  model.dimensions = listOf(value.dimensions, at.sub('dimensions'), (d, dat) => dimension(d, dat));
  const measures: Obj[] = [];
  listOf(value.measures, at.sub('measures'), (m, mat) => {
    const measure = measureOf(m, mat);
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

function entity(value: unknown, at: At): Obj | undefined {
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

function dimension(value: unknown, at: At): Obj | undefined {
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

function measureOf(value: unknown, at: At): Obj | undefined {
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
