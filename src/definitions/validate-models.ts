/**
 * Semantic models: their entities, dimensions and measures, checked and added to the graph, and
 * the entity owners (the models in which an entity identifies rows) that join paths follow.
 */
import type { Measure, Model, ReportProblem, SemanticGraph } from './graph.js';
import type { LoadedDefinitions } from './load.js';
import type { MeasureDef } from './schema.js';
import { checkModelSql } from './sql-check.js';

/** Adds every model with its entities, dimensions and measures (measure names are global), then the entity owners. */
export function addModels(graph: SemanticGraph, models: LoadedDefinitions['models'], at: ReportProblem): void {
  for (const { def, source } of models) {
    if (graph.models.has(def.name)) {
      at(source, ['name'], `semantic model '${def.name}' is defined twice; rename one of them`);
      continue;
    }
    const model: Model = {
      name: def.name,
      def,
      source,
      identities: new Set(),
      entities: new Map(),
      dimensions: new Map(),
      measures: new Map(),
      defaultTimeDimension: def.defaults?.agg_time_dimension,
    };
    graph.models.set(def.name, model);
    for (const p of checkModelSql(def)) at(source, p.path, p.message);
    const seen = new Map<string, string>();
    const claim = (kind: string, name: string, sub: (string | number)[]): boolean => {
      const other = seen.get(name);
      if (other) {
        at(source, sub, `'${name}' is already a ${other} of model '${def.name}'; names within a model must be unique`);
        return false;
      }
      seen.set(name, kind);
      return true;
    };
    def.entities.forEach((e, i) => {
      if (!claim('entity', e.name, ['entities', i, 'name'])) return;
      model.entities.set(e.name, { name: e.name, type: e.type, expr: e.expr ?? e.name, model });
      if (e.type === 'primary' || e.type === 'unique' || e.type === 'natural') model.identities.add(e.name);
    });
    if (def.primary_entity) model.identities.add(def.primary_entity);
    def.dimensions.forEach((d, i) => {
      if (!claim('dimension', d.name, ['dimensions', i, 'name'])) return;
      if (d.type === 'categorical' && d.granularity) {
        at(source, ['dimensions', i, 'granularity'], `'granularity' is only for time dimensions; remove it or set type: time`);
      }
      model.dimensions.set(d.name, {
        name: d.name,
        type: d.type,
        expr: d.expr ?? d.name,
        granularity: d.granularity ?? 'day',
        description: d.description,
        def: d,
        model,
      });
    });
    def.measures.forEach((m, i) => {
      if (!claim('measure', m.name, ['measures', i, 'name'])) return;
      const other = graph.measures.get(m.name);
      if (other) {
        at(source, ['measures', i, 'name'], `measure '${m.name}' is also defined in model '${other.model.name}'; measure names are global, rename one`);
        return;
      }
      if (m.agg === 'percentile' && m.percentile === undefined) {
        at(source, ['measures', i, 'agg'], `a percentile measure needs 'percentile: 0.9' (a fraction between 0 and 1)`);
      }
      if (m.agg !== 'percentile' && m.percentile !== undefined) {
        at(source, ['measures', i, 'percentile'], `'percentile' only applies to agg: percentile; remove it`);
      }
      const measure: Measure = { name: m.name, agg: m.agg, expr: measureExpr(m), def: m, model };
      const timeName = m.agg_time_dimension ?? model.defaultTimeDimension;
      if (timeName) {
        const dim = model.dimensions.get(timeName);
        if (!dim || dim.type !== 'time') {
          at(
            source,
            m.agg_time_dimension ? ['measures', i, 'agg_time_dimension'] : ['defaults', 'agg_time_dimension'],
            `'${timeName}' is not a time dimension of model '${def.name}'; name one of: ${timeDims(model) || '(none: add a dimension with type: time)'}`,
          );
        } else measure.timeDimension = dim;
      }
      if (m.non_additive_dimension) {
        const nad = model.dimensions.get(m.non_additive_dimension.name);
        if (!nad || nad.type !== 'time') {
          at(source, ['measures', i, 'non_additive_dimension', 'name'], `non_additive_dimension must name a time dimension of model '${def.name}': ${timeDims(model) || '(none)'}`);
        }
        m.non_additive_dimension.window_groupings.forEach((g, j) => {
          if (!model.entities.has(g)) {
            at(source, ['measures', i, 'non_additive_dimension', 'window_groupings', j], `window_groupings lists entities of the model; '${g}' is not one (${[...model.entities.keys()].join(', ')})`);
          }
        });
      }
      model.measures.set(m.name, measure);
      graph.measures.set(m.name, measure);
    });
    const defaultTime = def.defaults?.agg_time_dimension;
    if (defaultTime && model.dimensions.get(defaultTime)?.type !== 'time' && def.measures.every((m) => m.agg_time_dimension)) {
      at(source, ['defaults', 'agg_time_dimension'], `'${defaultTime}' is not a time dimension of model '${def.name}'; name one of: ${timeDims(model) || '(none)'}`);
    }
  }

  for (const model of graph.models.values()) {
    for (const id of model.identities) {
      const list = graph.entityOwners.get(id) ?? [];
      list.push(model);
      graph.entityOwners.set(id, list);
    }
  }
}

function measureExpr(m: MeasureDef): string {
  if (m.expr !== undefined) return String(m.expr);
  return m.agg === 'count' ? '1' : m.name;
}

function timeDims(model: Model): string {
  return [...model.dimensions.values()]
    .filter((d) => d.type === 'time')
    .map((d) => d.name)
    .join(', ');
}
