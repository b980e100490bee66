/**
 * The semantic graph: validated models, measures and metrics with their links, and the join
 * paths between models. Joins follow entities only toward a side where the key is unique, so
 * a derived join can never multiply rows.
 */
import { type DefinitionProblem, DefinitionError } from '../errors.js';
import type { LoadedDefinitions, SourceRef } from './load.js';
import {
  type Semantics,
  type AggregationType,
  type DashboardDef,
  type DimensionDef,
  type EntityDef,
  type Grain,
  type MeasureDef,
  type MetricDef,
  type SavedQueryDef,
  type SemanticModelDef,
  GRAIN_ORDER,
  isGrain,
} from './schema.js';
import { addDashboards, addSavedQueries } from './validate-dashboards.js';
import { addMetrics } from './validate-metrics.js';
import { addModels } from './validate-models.js';
import { addTimeSpines, projectSemantics } from './validate-time.js';
import { validateRollups } from './validate-rollups.js';
import type { RollupDefinition } from './rollup.js';

export { metricInputs } from './metric-inputs.js';

/** Records a problem with a definition: its source, the path inside it (keys and indexes) and what is wrong and how to fix it. */
export type ReportProblem = (source: SourceRef, sub: (string | number)[], message: string) => void;

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
  /**
   * Rollups (src/rollups), validated; loading a project (src/project.ts) then checks their
   * dimensions and expands them into the parts and finished metrics they keep (src/rollups/validate.ts).
   */
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

  /**
   * Builds the graph from loaded definitions, checking everything on the way: each step adds
   * what is valid and reports every problem at its file:line:col (src/definitions/validate-*.ts),
   * in dependency order. Throws a DefinitionError listing all problems when there is any.
   */
  constructor(definitions: LoadedDefinitions) {
    this.definitions = definitions;
    this.version = definitions.version;
    const problems: DefinitionProblem[] = [...definitions.problems];
    const at: ReportProblem = (source, sub, message) => {
      problems.push(definitions.problemAt(source, sub, message));
    };

    this.semantics = projectSemantics(definitions.semantics, at) ?? 'tally';
    addTimeSpines(this, definitions.timeSpines, at);
    addSavedQueries(this, definitions.savedQueries, at);
    addModels(this, definitions.models, at);
    addMetrics(this, definitions.metrics, at);
    addDashboards(this, definitions.dashboards, at);
    validateRollups(this, at);

    if (problems.length > 0) {
      problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
      throw new DefinitionError(problems);
    }
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
