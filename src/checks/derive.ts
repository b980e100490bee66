/**
 * The checks of a project: those derived from the semantic model with no extra YAML (keys unique
 * and not null, foreign entities finding their row, aggregation time dimensions set and not in the
 * future) and those declared under a model's `checks:` and `freshness:`. Declared checks are
 * validated here with file:line:col and did-you-mean, like every other definition.
 */
import type { Dimension, Model, SemanticGraph } from '../definitions/graph.js';
import { checkExpression } from '../definitions/sql-check.js';
import { type DefinitionProblem, didYouMean, TallyError } from '../errors.js';
import { metricInputs } from '../definitions/graph.js';
import { columnNames, modelColumn } from './rows.js';
import { acceptedValuesCheck } from './rules/accepted-values.js';
import { expressionCheck } from './rules/expression.js';
import { durationMs, freshnessCheck } from './rules/freshness.js';
import { notNullCheck } from './rules/not-null.js';
import { relationshipCheck } from './rules/relationship.js';
import { rowCountCheck } from './rules/row-count.js';
import { timeValidCheck } from './rules/time-valid.js';
import { uniqueCheck } from './rules/unique.js';
import { volumeCheck } from './rules/volume.js';
import { metricAnomalyCheck } from './rules/metric-anomaly.js';
import type { Check } from './types.js';

export interface ProjectChecks {
  checks: Check[];
  problems: DefinitionProblem[];
}

const cache = new WeakMap<SemanticGraph, ProjectChecks>();

/** Every check of the project, in model order (derived first), and the problems of declared ones. */
export function projectChecks(graph: SemanticGraph): ProjectChecks {
  const cached = cache.get(graph);
  if (cached) return cached;
  const checks: Check[] = [];
  const problems: DefinitionProblem[] = [];
  for (const model of graph.models.values()) {
    checks.push(...derivedChecks(graph, model));
    checks.push(...declaredChecks(graph, model, (path, message) => problems.push(graph.definitions.problemAt(model.source, path, message))));
  }
  for (const metric of graph.metrics.values()) {
    const anomaly = metric.def.anomaly;
    if (!anomaly) continue;
    const model = [...modelsOfMetric(graph, metric.name)][0];
    const timed = [...modelsOfMetric(graph, metric.name)].every((m) => [...(graph.models.get(m)?.measures.values() ?? [])].some((x) => x.timeDimension));
    if (!model || !timed) {
      problems.push(graph.definitions.problemAt(metric.source, ['anomaly'], `metric '${metric.name}' has no time axis, so its daily values cannot be judged; remove 'anomaly' or give its models an agg_time_dimension`));
      continue;
    }
    checks.push(metricAnomalyCheck(graph, metric.name, model, anomaly, { severity: anomaly.severity }));
  }
  const out = { checks, problems };
  cache.set(graph, out);
  return out;
}

function derivedChecks(graph: SemanticGraph, model: Model): Check[] {
  const out: Check[] = [];
  for (const e of model.entities.values()) {
    const column = { name: e.name, sql: e.expr };
    if (e.type === 'primary' || e.type === 'unique') {
      out.push(uniqueCheck(graph, model, [column], { severity: 'error', derived: true }));
      out.push(notNullCheck(graph, model, [column], { severity: 'error', derived: true }));
    } else if (e.type === 'foreign') {
      for (const owner of graph.entityOwners.get(e.name) ?? []) {
        const key = owner.entities.get(e.name);
        if (owner === model || !key || (key.type !== 'primary' && key.type !== 'unique')) continue;
        out.push(relationshipCheck(graph, model, e.name, owner, { severity: 'error' }));
      }
    }
  }
  const times = new Set<Dimension>();
  for (const m of model.measures.values()) if (m.timeDimension) times.add(m.timeDimension);
  for (const d of times) out.push(timeValidCheck(graph, model, d, { severity: 'error' }));
  return out;
}

type Report = (path: (string | number)[], message: string) => void;

function declaredChecks(graph: SemanticGraph, model: Model, report: Report): Check[] {
  const out: Check[] = [];
  const names = new Set<string>();
  const column = (name: string, path: (string | number)[]): { name: string; sql: string } | undefined => {
    const c = modelColumn(model, name);
    if (!c) report(path, `'${name}' is not an entity or dimension of model '${model.name}'.${didYouMean(name, columnNames(model))} Checks name the model's entities and dimensions`);
    return c;
  };
  (model.def.checks ?? []).forEach((def, i) => {
    const at = (...sub: (string | number)[]): (string | number)[] => ['checks', i, ...sub];
    if (def.name) {
      if (names.has(def.name)) report(at('name'), `check '${def.name}' is defined twice on model '${model.name}'; rename one`);
      names.add(def.name);
    }
    const options = { severity: def.severity, name: def.name };
    const columns = (list: string[], key: string): { name: string; sql: string }[] | undefined => {
      const found = list.map((n, j) => column(n, at(key, j)));
      return found.every((c) => c !== undefined) ? (found as { name: string; sql: string }[]) : undefined;
    };
    if (def.not_null) {
      const cs = columns(def.not_null, 'not_null');
      if (cs) out.push(notNullCheck(graph, model, cs, { ...options, derived: false }));
    } else if (def.unique) {
      const cs = columns(def.unique, 'unique');
      if (cs) out.push(uniqueCheck(graph, model, cs, { ...options, derived: false }));
    } else if (def.accepted_values) {
      const c = column(def.accepted_values.column, at('accepted_values', 'column'));
      if (c) out.push(acceptedValuesCheck(graph, model, c, def.accepted_values.values, options));
    } else if (def.expression !== undefined) {
      const problem = checkExpression(def.expression);
      if (problem) report(at('expression'), `check of model '${model.name}': 'expression' ${problem}`);
      else out.push(expressionCheck(graph, model, def.expression, { ...options, index: i }));
    } else if (def.volume) {
      const time = model.defaultTimeDimension ? model.dimensions.get(model.defaultTimeDimension) : undefined;
      if (!time || time.type !== 'time') report(at('volume'), `a volume check counts rows per day of the model's time dimension; set defaults.agg_time_dimension on model '${model.name}'`);
      else out.push(volumeCheck(graph, model, time, def.volume, options));
    } else if (def.row_count) {
      const { min, max } = def.row_count;
      if (min === undefined && max === undefined) report(at('row_count'), 'row_count needs min, max or both');
      else if (min !== undefined && max !== undefined && min > max) report(at('row_count'), `row_count's min (${min}) is above its max (${max})`);
      else out.push(rowCountCheck(graph, model, def.row_count, options));
    }
  });
  const freshness = model.def.freshness;
  if (freshness) {
    const name = freshness.time_dimension ?? model.defaultTimeDimension;
    const dimension = name ? model.dimensions.get(name) : undefined;
    const times = [...model.dimensions.values()].filter((d) => d.type === 'time').map((d) => d.name);
    if (!name) report(['freshness'], `freshness needs a time dimension: set freshness.time_dimension (one of: ${times.join(', ') || 'none'}) or defaults.agg_time_dimension`);
    else if (!dimension || dimension.type !== 'time') {
      report(freshness.time_dimension ? ['freshness', 'time_dimension'] : ['freshness'], `'${name}' is not a time dimension of model '${model.name}'.${didYouMean(name, times)}`);
    } else {
      const warn = freshness.warn_after !== undefined ? durationMs(freshness.warn_after) : undefined;
      const error = freshness.error_after !== undefined ? durationMs(freshness.error_after) : undefined;
      if (warn !== undefined && error !== undefined && warn > error) report(['freshness', 'warn_after'], `warn_after (${freshness.warn_after}) is longer than error_after (${freshness.error_after}); a warning should come first`);
      else out.push(freshnessCheck(graph, model, dimension, { warnAfterMs: warn, errorAfterMs: error, warnAfter: freshness.warn_after, errorAfter: freshness.error_after }));
    }
  }
  return out;
}

/**
 * The checks on the models that `select` names: model names, or metric names (their input models).
 * Unknown names are refused with the nearest ones.
 */
export function selectChecks(graph: SemanticGraph, checks: Check[], select: string[] | undefined): Check[] {
  if (!select || select.length === 0) return checks;
  const models = new Set<string>();
  for (const name of select) {
    if (graph.models.has(name)) models.add(name);
    else if (graph.metrics.has(name)) for (const m of modelsOfMetric(graph, name)) models.add(m);
    else throw new TallyError('INVALID_REQUEST', `'${name}' is neither a semantic model nor a metric.${didYouMean(name, [...graph.models.keys(), ...graph.metrics.keys()])}`);
  }
  return checks.filter((c) => models.has(c.model) || (c.metric !== undefined && select.includes(c.metric)));
}

/** The semantic models a metric reads, through ratios, derived inputs and conversion events. */
export function modelsOfMetric(graph: SemanticGraph, metric: string, seen = new Set<string>()): Set<string> {
  const out = new Set<string>();
  if (seen.has(metric)) return out;
  seen.add(metric);
  const def = graph.metrics.get(metric)?.def;
  if (!def) return out;
  const measure = (input: string | { name: string }): void => {
    const m = graph.measures.get(typeof input === 'string' ? input : input.name);
    if (m) out.add(m.model.name);
  };
  if (def.type === 'simple' || def.type === 'cumulative') measure(def.measure);
  if (def.type === 'conversion') {
    measure(def.base_measure);
    measure(def.conversion_measure);
  }
  for (const input of metricInputs(def)) for (const m of modelsOfMetric(graph, input, seen)) out.add(m);
  return out;
}
