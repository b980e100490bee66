/**
 * The semantic graph: validated models, measures and metrics with their links, and the join
 * paths between models. Joins follow entities only toward a side where the key is unique, so
 * a derived join can never multiply rows.
 */
import { type DefinitionProblem, DefinitionError, didYouMean } from '../errors.js';
import type { LoadedDefinitions, SourceRef } from './load.js';
import {
  type Semantics,
  type AggregationType,
  type DashboardDef,
  type DimensionDef,
  type EntityDef,
  type Grain,
  type MeasureDef,
  type MeasureInputDef,
  type MetricDef,
  type SavedQueryDef,
  type SemanticModelDef,
  DATE_PARTS,
  GRAIN_ORDER,
  isGrain,
  measureInputName,
  RELATIVE_RANGE_PATTERN,
  windowUnit,
} from './schema.js';
import { checkModelSql } from './sql-check.js';
import { validateRollups } from './validate-rollups.js';
import type { RollupDefinition } from '../rollups/types.js';

export interface Model {
  name: string;
  def: SemanticModelDef;
  source: SourceRef;
  /** The entity that identifies a row (primary or unique key, or the declared primary_entity). */
  identities: Set<string>;
  entities: Map<string, Entity>;
  dimensions: Map<string, Dimension>;
  measures: Map<string, Measure>;
  defaultTimeDimension?: string;
}

export interface Entity {
  name: string;
  type: EntityDef['type'];
  expr: string;
  model: Model;
}

export interface Dimension {
  name: string;
  type: DimensionDef['type'];
  expr: string;
  granularity: Grain;
  description?: string;
  def: DimensionDef;
  model: Model;
}

export interface Measure {
  name: string;
  agg: AggregationType;
  expr: string;
  def: MeasureDef;
  model: Model;
  /** The time dimension that is this measure's metric_time, when it has one. */
  timeDimension?: Dimension;
}

export interface Metric {
  name: string;
  def: MetricDef;
  source: SourceRef;
}

/** A table with one row per period of `grain` (its `column` holds the period start). */
export interface TimeSpine {
  table: string;
  column: string;
  grain: Grain;
  source: SourceRef;
}

/** A calendar of one's own, defined by a column of a time spine that maps each period to its custom period's start. */
export interface CustomGrain {
  name: string;
  spine: TimeSpine;
  /** Column of the spine holding the start of the custom period a row belongs to. */
  column: string;
}

export interface SavedQuery {
  name: string;
  def: SavedQueryDef;
  source: SourceRef;
}

/** A dashboard defined as code (`dashboards:`); its tiles name metrics of this graph. */
export interface Dashboard {
  name: string;
  def: DashboardDef;
  source: SourceRef;
}

/** One step of a join path: from `from` to `to` on an entity unique in `to`. */
export interface JoinHop {
  entity: string;
  from: Model;
  to: Model;
  fromExpr: string;
  toExpr: string;
}

export class SemanticGraph {
  readonly models = new Map<string, Model>();
  readonly measures = new Map<string, Measure>();
  readonly metrics = new Map<string, Metric>();
  /** Time spines by grain (at most one per grain). */
  readonly timeSpines = new Map<Grain, TimeSpine>();
  readonly customGrains = new Map<string, CustomGrain>();
  readonly savedQueries = new Map<string, SavedQuery>();
  readonly dashboards = new Map<string, Dashboard>();
  /** Rollups (src/rollups), validated and expanded into the parts and finished metrics they keep. */
  readonly rollups = new Map<string, RollupDefinition>();
  /**
   * Tally's semantics or dbt MetricFlow's where they differ (empty counts and sums, calendar
   * offsets at coarser grains); the dbt importer writes 'metricflow'. See semanticsSchema.
   */
  readonly semantics: Semantics = 'tally';
  /** Models in which an entity identifies rows. */
  readonly entityOwners = new Map<string, Model[]>();
  readonly version: string;
  readonly definitions: LoadedDefinitions;

  constructor(definitions: LoadedDefinitions) {
    this.definitions = definitions;
    this.version = definitions.version;
    const problems: DefinitionProblem[] = [...definitions.problems];
    const at = (source: SourceRef, sub: (string | number)[], message: string): void => {
      problems.push(definitions.problemAt(source, sub, message));
    };

    const [firstRule, ...otherRules] = definitions.semantics;
    if (firstRule) {
      this.semantics = firstRule.def;
      for (const rule of otherRules) {
        if (rule.def !== firstRule.def) at(rule.source, [], `semantics is '${rule.def}' here but '${firstRule.def}' in ${firstRule.source.file}; it is one rule for the whole project, so state the same value (or state it once)`);
      }
    }
    for (const { def, source } of definitions.timeSpines) {
      if (this.timeSpines.has(def.grain)) {
        at(source, ['grain'], `there is already a time spine at grain '${def.grain}' (${this.timeSpines.get(def.grain)?.table}); keep one per grain`);
        continue;
      }
      const spine: TimeSpine = { table: def.table, column: def.column, grain: def.grain, source };
      this.timeSpines.set(def.grain, spine);
      def.custom_granularities.forEach((c, i) => {
        if (isGrain(c.name) || (DATE_PARTS as readonly string[]).includes(c.name) || c.name.startsWith('extract_')) {
          at(source, ['custom_granularities', i, 'name'], `'${c.name}' is a standard grain or date part; give the custom grain another name`);
        } else if (this.customGrains.has(c.name)) {
          at(source, ['custom_granularities', i, 'name'], `custom grain '${c.name}' is defined twice`);
        } else this.customGrains.set(c.name, { name: c.name, spine, column: c.column ?? c.name });
      });
    }

    for (const { def, source } of definitions.savedQueries) {
      if (this.savedQueries.has(def.name)) at(source, ['name'], `saved query '${def.name}' is defined twice; rename one of them`);
      else this.savedQueries.set(def.name, { name: def.name, def, source });
    }

    for (const { def, source } of definitions.models) {
      if (this.models.has(def.name)) {
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
      this.models.set(def.name, model);
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
        const other = this.measures.get(m.name);
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
        this.measures.set(m.name, measure);
      });
      const defaultTime = def.defaults?.agg_time_dimension;
      if (defaultTime && model.dimensions.get(defaultTime)?.type !== 'time' && def.measures.every((m) => m.agg_time_dimension)) {
        at(source, ['defaults', 'agg_time_dimension'], `'${defaultTime}' is not a time dimension of model '${def.name}'; name one of: ${timeDims(model) || '(none)'}`);
      }
    }

    for (const model of this.models.values()) {
      for (const id of model.identities) {
        const list = this.entityOwners.get(id) ?? [];
        list.push(model);
        this.entityOwners.set(id, list);
      }
    }

    for (const { def, source } of definitions.metrics) {
      if (this.metrics.has(def.name)) {
        at(source, ['name'], `metric '${def.name}' is defined twice; rename one of them`);
        continue;
      }
      this.metrics.set(def.name, { name: def.name, def, source });
    }

    for (const metric of this.metrics.values()) this.checkMetric(metric, at);
    this.checkCycles(at);

    for (const { def, source } of definitions.dashboards) {
      if (this.dashboards.has(def.name)) at(source, ['name'], `dashboard '${def.name}' is defined twice; rename one of them`);
      else this.dashboards.set(def.name, { name: def.name, def, source });
      this.checkDashboard(def, source, at);
    }
    validateRollups(this, at);

    if (problems.length > 0) {
      problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
      throw new DefinitionError(problems);
    }
  }

  private checkMetric(metric: Metric, at: (s: SourceRef, sub: (string | number)[], m: string) => void): void {
    const def = metric.def;
    const needMeasure = (input: MeasureInputDef, key: string): Measure | undefined => {
      const name = measureInputName(input);
      const m = this.measures.get(name);
      if (!m) {
        at(metric.source, [key], `unknown measure '${name}'.${didYouMean(name, this.measures.keys())} Measures are declared under a semantic model's 'measures'`);
      }
      return m;
    };
    const needMetric = (input: string | { name: string }, sub: (string | number)[]): void => {
      const name = typeof input === 'string' ? input : input.name;
      if (!this.metrics.has(name)) {
        at(metric.source, sub, `unknown metric '${name}'.${didYouMean(name, this.metrics.keys())}`);
      }
    };
    if (def.time_granularity !== undefined && !this.isTimeGrain(def.time_granularity)) {
      at(metric.source, ['time_granularity'], `'${def.time_granularity}' is not a grain (${this.grainNames().join(', ')})`);
    }
    const checkWindow = (text: string | undefined, sub: (string | number)[]): void => {
      if (text === undefined) return;
      const { unit } = windowUnit(text);
      if (!this.isTimeGrain(unit)) at(metric.source, sub, `'${unit}' is not a grain (${this.grainNames().join(', ')})`);
    };
    if (def.type === 'cumulative' || def.type === 'conversion') checkWindow(def.window, ['window']);
    if (def.type === 'derived') def.metrics.forEach((m, i) => typeof m !== 'string' && checkWindow(m.offset_window, ['metrics', i, 'offset_window']));
    const replacement = def.deprecated?.replacement;
    if (replacement === metric.name) at(metric.source, ['deprecated', 'replacement'], `metric '${metric.name}' cannot replace itself; name the metric to use instead`);
    else if (replacement !== undefined) needMetric(replacement, ['deprecated', 'replacement']);
    switch (def.type) {
      case 'simple':
        needMeasure(def.measure, 'measure');
        break;
      case 'ratio':
        needMetric(def.numerator, ['numerator']);
        needMetric(def.denominator, ['denominator']);
        break;
      case 'derived': {
        const aliases = new Set<string>();
        def.metrics.forEach((input, i) => {
          needMetric(input, ['metrics', i]);
          const alias = typeof input === 'string' ? input : (input.alias ?? input.name);
          if (aliases.has(alias)) {
            at(metric.source, ['metrics', i], `two inputs are both called '${alias}'; give one an 'alias'`);
          }
          aliases.add(alias);
          if (typeof input !== 'string' && input.offset_window && input.offset_to_grain) {
            at(metric.source, ['metrics', i], `an input takes offset_window or offset_to_grain, not both`);
          }
        });
        break;
      }
      case 'cumulative': {
        const m = needMeasure(def.measure, 'measure');
        if (def.window && def.grain_to_date) {
          at(metric.source, ['window'], `a cumulative metric takes 'window' or 'grain_to_date', not both`);
        }
        if (m && !m.timeDimension) {
          at(metric.source, ['measure'], `cumulative metric needs a time axis, but measure '${m.name}' has no time dimension; set defaults.agg_time_dimension on model '${m.model.name}'`);
        }
        break;
      }
      case 'conversion': {
        const base = needMeasure(def.base_measure, 'base_measure');
        const conv = needMeasure(def.conversion_measure, 'conversion_measure');
        for (const [m, key] of [
          [base, 'base_measure'],
          [conv, 'conversion_measure'],
        ] as const) {
          if (!m) continue;
          if (!m.model.entities.has(def.entity)) {
            at(metric.source, [key], `measure '${m.name}' (model '${m.model.name}') has no entity '${def.entity}'; a conversion follows one entity through both events`);
          }
          if (!m.timeDimension) {
            at(metric.source, [key], `measure '${m.name}' has no time dimension; conversions need event times (set defaults.agg_time_dimension on '${m.model.name}')`);
          }
        }
        break;
      }
    }
  }

  private checkDashboard(def: DashboardDef, source: SourceRef, at: (s: SourceRef, sub: (string | number)[], m: string) => void): void {
    const breakdowns = new Set<string>();
    for (const [entity, owners] of this.entityOwners) {
      for (const model of owners) for (const d of model.dimensions.values()) if (d.type === 'categorical') breakdowns.add(`${entity}.${d.name}`);
    }
    def.tiles.forEach((tile, i) => {
      const metric = this.metrics.get(tile.metric);
      if (!metric) {
        at(source, ['tiles', i, 'metric'], `unknown metric '${tile.metric}'.${didYouMean(tile.metric, this.metrics.keys())} A tile shows one metric defined under 'metrics'`);
      } else {
        const finest = this.finestTimeGrain(metric.name, new Set());
        if (finest === undefined) {
          // A metric that names an unknown measure or metric is reported there, once: its missing
          // time axis is a consequence, not a second problem.
          if (!this.refersToUnknown(metric.name, new Set())) at(source, ['tiles', i, 'metric'], `metric '${tile.metric}' has no time axis, so a tile cannot chart it over time; choose a metric whose measures have a time dimension`);
        } else if (GRAIN_ORDER[tile.grain] < GRAIN_ORDER[finest]) {
          at(source, ['tiles', i, 'grain'], `metric '${tile.metric}' is recorded by ${finest}, so it cannot be charted by ${tile.grain}; use grain: ${finest} or coarser`);
        }
      }
      if (typeof tile.range === 'string') {
        const count = Number(RELATIVE_RANGE_PATTERN.exec(tile.range)?.[1]);
        if (count < 1) at(source, ['tiles', i, 'range'], `a range covers at least one period, like 'last 1 month'`);
      } else if (tile.range.from > tile.range.to) {
        at(source, ['tiles', i, 'range', 'to'], `the range ends (${tile.range.to}) before it starts (${tile.range.from}); swap from and to`);
      }
      if (tile.breakdown !== undefined && !breakdowns.has(tile.breakdown)) {
        at(source, ['tiles', i, 'breakdown'], `unknown dimension '${tile.breakdown}'.${didYouMean(tile.breakdown, breakdowns)} A breakdown is a categorical dimension reference such as entity.dimension`);
      }
    });
  }

  /**
   * The finest grain a metric can be grouped by over time: the coarsest granularity among the
   * time dimensions of the measures it is computed from; undefined when one of them has none.
   */
  /** Whether a metric reads, directly or through its inputs, a measure or metric that is not defined. */
  private refersToUnknown(name: string, seen: Set<string>): boolean {
    const metric = this.metrics.get(name);
    if (!metric) return true;
    if (seen.has(name)) return false;
    seen.add(name);
    const def = metric.def;
    const unknown = (input: MeasureInputDef): boolean => !this.measures.has(measureInputName(input));
    switch (def.type) {
      case 'simple':
      case 'cumulative':
        return unknown(def.measure);
      case 'conversion':
        return unknown(def.base_measure) || unknown(def.conversion_measure);
      default:
        return metricInputs(def).some((input) => this.refersToUnknown(input, seen));
    }
  }

  private finestTimeGrain(name: string, seen: Set<string>): Grain | undefined {
    const metric = this.metrics.get(name);
    if (!metric || seen.has(name)) return undefined;
    seen.add(name);
    const def = metric.def;
    const grainOf = (input: MeasureInputDef): Grain | undefined => this.measures.get(measureInputName(input))?.timeDimension?.granularity;
    let grains: (Grain | undefined)[];
    switch (def.type) {
      case 'simple':
      case 'cumulative':
        grains = [grainOf(def.measure)];
        break;
      case 'conversion':
        grains = [grainOf(def.base_measure), grainOf(def.conversion_measure)];
        break;
      default:
        grains = metricInputs(def).map((input) => this.finestTimeGrain(input, new Set(seen)));
    }
    if (grains.length === 0 || grains.some((g) => g === undefined)) return undefined;
    return (grains as Grain[]).reduce((a, b) => (GRAIN_ORDER[a] >= GRAIN_ORDER[b] ? a : b));
  }

  private checkCycles(at: (s: SourceRef, sub: (string | number)[], m: string) => void): void {
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (name: string, stack: string[]): void => {
      const metric = this.metrics.get(name);
      if (!metric) return;
      if (state.get(name) === 'done') return;
      if (state.get(name) === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(name)), name];
        at(metric.source, ['name'], `metrics refer to each other in a cycle: ${cycle.join(' -> ')}; break the cycle`);
        return;
      }
      state.set(name, 'visiting');
      for (const dep of metricInputs(metric.def)) visit(dep, [...stack, name]);
      state.set(name, 'done');
    };
    for (const name of this.metrics.keys()) visit(name, []);
  }

  /** Whether `name` is a standard grain or a custom grain of a time spine. */
  isTimeGrain(name: string): boolean {
    return isGrain(name) || this.customGrains.has(name);
  }

  grainNames(): string[] {
    return [...Object.keys(GRAIN_ORDER), ...this.customGrains.keys()];
  }

  /** Models that can be reached from `model` by many-to-one or one-to-one joins. */
  safeHops(model: Model): JoinHop[] {
    const hops: JoinHop[] = [];
    for (const entity of model.entities.values()) {
      for (const owner of this.entityOwners.get(entity.name) ?? []) {
        if (owner === model) continue;
        const target = owner.entities.get(entity.name);
        if (!target) continue; // identified by primary_entity only: nothing to join on
        hops.push({ entity: entity.name, from: model, to: owner, fromExpr: entity.expr, toExpr: target.expr });
      }
    }
    return hops;
  }

  /** Models that hold an entity of `model` without it being unique there: joining them fans out. */
  fanOutHops(model: Model): JoinHop[] {
    const hops: JoinHop[] = [];
    for (const entity of model.entities.values()) {
      for (const other of this.models.values()) {
        if (other === model) continue;
        const e = other.entities.get(entity.name);
        if (e && !other.identities.has(entity.name)) {
          hops.push({ entity: entity.name, from: model, to: other, fromExpr: entity.expr, toExpr: e.expr });
        }
      }
    }
    return hops;
  }
}

export function metricInputs(def: MetricDef): string[] {
  const n = (i: string | { name: string }): string => (typeof i === 'string' ? i : i.name);
  switch (def.type) {
    case 'ratio':
      return [n(def.numerator), n(def.denominator)];
    case 'derived':
      return def.metrics.map(n);
    default:
      return [];
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
