/**
 * The GraphQL types generated from the semantic graph: answer rows with a field per metric and
 * nested entity dimensions, the typed filter's input objects, lineage and audit fields, the
 * catalog and dashboards. Built once per definitions version by buildSchema (schema.ts).
 */
import {
  GraphQLBoolean,
  GraphQLEnumType,
  type GraphQLFieldConfigMap,
  GraphQLFloat,
  GraphQLID,
  GraphQLInputObjectType,
  type GraphQLInputFieldConfigMap,
  GraphQLList,
  GraphQLNonNull,
  type GraphQLNullableType,
  GraphQLObjectType,
  GraphQLString,
} from 'graphql';
import { deprecationNotice } from '../deprecation.js';
import type { SemanticGraph } from '../definitions/graph.js';
import { GRAINS, type Grain } from '../definitions/schema.js';
import type { QueryResult } from '../run.js';
import type { RollupUse } from '../rollups/route.js';
import { answerHealthField } from './health-schema.js';
import { camel, enumName, pascal } from './names.js';
import { cellText, isFloatMetric } from './resolvers.js';
import { DecimalScalar, RowScalar } from './scalars.js';
import type { ApiContext } from './schema.js';
import type { FilterShape } from './typed-filter.js';

export const nonNull = <T extends GraphQLNullableType>(t: T): GraphQLNonNull<T> => new GraphQLNonNull(t);
export const listOf = <T extends GraphQLNullableType>(t: T): GraphQLNonNull<GraphQLList<GraphQLNonNull<T>>> => new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(t)));

/** The Grain enum: every standard grain. */
export function buildGrainEnum(): GraphQLEnumType {
  const grainEnum = new GraphQLEnumType({
    name: 'Grain',
    description: 'A time grain. Weeks are ISO weeks, starting on Monday.',
    values: Object.fromEntries(GRAINS.map((g) => [enumName(g), { value: g }])),
  });
  return grainEnum;
}

/** The answer's row type, with what reading a typed query's selection needs. */
export interface RowTypes {
  /** MetricsRow: a field per metric, metricTime, and a field per entity with its dimensions. */
  rowType: GraphQLObjectType<Record<string, unknown>, ApiContext>;
  /** The entities' dimension types (listed in the schema so that each is reachable). */
  entityTypes: GraphQLObjectType[];
  /** Entities and dimensions as the typed filter names them. */
  shape: FilterShape;
  /** Metric names by their field in MetricsRow. */
  metricByField: Map<string, string>;
}

/** MetricsRow and the entities' dimension types; throws when a metric and an entity would share a field. */
export function buildRowTypes(graph: SemanticGraph, grainEnum: GraphQLEnumType): RowTypes {
  // Entities with their dimensions, as nested row fields: row { user { country } }.
  const shape: FilterShape = { entities: new Map() };
  const entityTypes = new Map<string, GraphQLObjectType<{ row: Record<string, unknown> }, ApiContext>>();
  const entityFields: GraphQLFieldConfigMap<Record<string, unknown>, ApiContext> = {};
  const byEntity = new Map<string, Map<string, { type: 'categorical' | 'time'; granularity: Grain; description?: string }>>();
  for (const [entity, owners] of graph.entityOwners) {
    const dims = byEntity.get(entity) ?? new Map();
    for (const model of owners) for (const d of model.dimensions.values()) if (!dims.has(d.name)) dims.set(d.name, { type: d.type, granularity: d.granularity, description: d.description });
    byEntity.set(entity, dims);
  }
  for (const [entity, dims] of [...byEntity].sort(([a], [b]) => a.localeCompare(b))) {
    const fields: GraphQLFieldConfigMap<{ row: Record<string, unknown> }, ApiContext> = {};
    const hasKey = (graph.entityOwners.get(entity) ?? []).some((m) => m.entities.has(entity));
    if (hasKey) fields.id = { type: GraphQLID, description: `The ${entity} key; selecting it groups by ${entity}.`, resolve: (p) => cellText(p.row[entity]) };
    const filterDims = new Map<string, { ref: string; type: 'categorical' | 'time' | 'key' }>();
    if (hasKey) filterDims.set('id', { ref: entity, type: 'key' });
    for (const [name, d] of dims) {
      const field = camel(name);
      const ref = `${entity}.${name}`;
      filterDims.set(field, { ref, type: d.type });
      fields[field] =
        d.type === 'time'
          ? {
              type: GraphQLString,
              description: `${d.description ?? ref} (selecting it groups by ${ref} at the grain; default ${d.granularity}).`,
              args: { grain: { type: grainEnum, defaultValue: d.granularity } },
              resolve: (p, args: { grain: Grain }) => cellText(p.row[`${ref}.${args.grain}`]),
            }
          : { type: GraphQLString, description: d.description ?? `Groups by ${ref}.`, resolve: (p) => cellText(p.row[ref]) };
    }
    if (Object.keys(fields).length === 0) continue;
    shape.entities.set(camel(entity), { entity, dims: filterDims });
    const type = new GraphQLObjectType({ name: `${pascal(entity)}Dimensions`, description: `Dimensions of ${entity}.`, fields });
    entityTypes.set(entity, type);
    entityFields[camel(entity)] = { type: nonNull(type), description: `Dimensions reached through ${entity}.`, resolve: (row) => ({ row }) };
  }

  const metricFields: GraphQLFieldConfigMap<Record<string, unknown>, ApiContext> = {};
  const metricByField = new Map<string, string>();
  for (const metric of graph.metrics.values()) {
    const field = camel(metric.name);
    if (entityFields[field]) throw new Error(`metric '${metric.name}' and entity '${field}' would share a GraphQL field; rename one`);
    metricByField.set(field, metric.name);
    metricFields[field] = {
      type: isFloatMetric(graph, metric.name) ? GraphQLFloat : DecimalScalar,
      description: [metric.def.description, metric.def.owner ? `Owner: ${metric.def.owner}.` : ''].filter(Boolean).join(' ') || metric.name,
      deprecationReason: metric.def.deprecated ? deprecationNotice(metric.def.deprecated) : undefined,
      resolve: (row) => row[metric.name],
    };
  }

  const rowType = new GraphQLObjectType<Record<string, unknown>, ApiContext>({
    name: 'MetricsRow',
    description: 'One row of the answer. Select metrics and dimensions: the dimensions selected are what the metrics are grouped by.',
    fields: {
      ...metricFields,
      metricTime: {
        type: GraphQLString,
        description: "Each metric's own time axis at a grain; selecting it groups the answer over time. Dates print as YYYY-MM-DD.",
        args: { grain: { type: grainEnum, defaultValue: 'day' } },
        resolve: (row, args: { grain: Grain }) => cellText(row[`metric_time.${args.grain}`]),
      },
      ...entityFields,
    },
  });
  return { rowType, entityTypes: [...entityTypes.values()], shape, metricByField };
}

/** MetricLineage: where a metric comes from, down to table columns. */
export function buildLineageType(): GraphQLObjectType {
  const columnLineageType = new GraphQLObjectType({
    name: 'ColumnLineage',
    description: 'A column of a table or view in the warehouse.',
    fields: { table: { type: nonNull(GraphQLString) }, column: { type: nonNull(GraphQLString) } },
  });
  const columnsField = {
    type: listOf(columnLineageType),
    description: 'The table columns the expression reads; for a model defined by a SELECT, followed through it to its tables.',
  };
  const metricNodeFields = {
    metric: { type: nonNull(GraphQLString) },
    type: { type: nonNull(GraphQLString) },
    inputs: { type: listOf(GraphQLString), description: 'Metrics this one is computed from (ratio, derived).' },
    filterMetrics: { type: listOf(GraphQLString), description: 'Metrics that its filters use.' },
  };
  return new GraphQLObjectType({
    name: 'MetricLineage',
    description:
      'Where a metric comes from: every measure and dimension it reads (through its inputs and the metrics its filters use), the models, tables and columns behind them, and the metrics it is computed from.',
    fields: {
      ...metricNodeFields,
      measures: {
        type: listOf(
          new GraphQLObjectType({
            name: 'MeasureLineage',
            fields: {
              measure: { type: nonNull(GraphQLString) },
              agg: { type: nonNull(GraphQLString) },
              expr: { type: nonNull(GraphQLString), description: 'The SQL expression over the table, as defined.' },
              model: { type: nonNull(GraphQLString) },
              table: { type: nonNull(GraphQLString) },
              metric: { type: nonNull(GraphQLString), description: 'The metric that aggregates this measure: this one, or one it is computed from.' },
              columns: columnsField,
            },
          }),
        ),
        description: 'Every measure it reads, including those of its inputs (both sides of a ratio).',
      },
      dimensions: {
        type: listOf(
          new GraphQLObjectType({
            name: 'DimensionLineage',
            description: 'A dimension, entity key or metric_time that a filter or a group-by reads, per model that serves it.',
            fields: {
              dimension: { type: nonNull(GraphQLString), description: 'The reference as written, such as order.status or metric_time.month.' },
              model: { type: nonNull(GraphQLString) },
              expr: { type: nonNull(GraphQLString) },
              table: { type: nonNull(GraphQLString) },
              columns: columnsField,
            },
          }),
        ),
        description: "Dimensions its filters read; in an answer also the request's group-bys and filters.",
      },
      computedFrom: {
        type: listOf(new GraphQLObjectType({ name: 'LineageMetric', description: 'A metric in the computation of another.', fields: metricNodeFields })),
        description: 'Every other metric in its computation, each once: its inputs, theirs, and metrics used in filters.',
      },
    },
  });
}

/** MetricsResult (the typed query's answer) and QueryResult (the generic one), each with the audit fields. */
export function buildResultTypes(rowType: GraphQLObjectType<Record<string, unknown>, ApiContext>, lineageType: GraphQLObjectType): {
  typedResult: GraphQLObjectType<QueryResult, ApiContext>;
  genericResult: GraphQLObjectType<QueryResult, ApiContext>;
} {
  const rollupAuditType = new GraphQLObjectType({
    name: 'RollupAudit',
    description: 'Whether rollups answered this request: a rollup answers only where it provably gives the base answer.',
    fields: {
      served: { type: nonNull(GraphQLBoolean), description: 'True when every metric was read from rollups.' },
      rollups: {
        type: listOf(
          new GraphQLObjectType({
            name: 'RollupUsed',
            fields: {
              name: { type: nonNull(GraphQLString) },
              builtAt: { type: nonNull(GraphQLString), description: 'When its last build finished (ISO-8601).' },
              version: { type: nonNull(GraphQLString), description: 'Content hash of the definitions it was built from (the current ones).' },
              commit: { type: GraphQLString },
              fingerprint: { type: nonNull(GraphQLString), description: 'Hash of the rollup and every definition it reads.' },
              freshnessCheckedAt: { type: GraphQLString, description: "When its sources' freshness was last compared with this build (ISO-8601); null: not since it was built.", resolve: (r: RollupUse) => r.checkedAt?.freshness },
              verifiedAt: { type: GraphQLString, description: "When its partitions' source fingerprints were last compared with this build (ISO-8601); null: not since it was built.", resolve: (r: RollupUse) => r.checkedAt?.fingerprints },
              warnings: { type: listOf(GraphQLString), description: 'What could not be checked about its freshness (also in the answer’s warnings).', resolve: (r: RollupUse) => r.warnings ?? [] },
            },
          }),
        ),
      },
      reason: { type: GraphQLString, description: 'Why the request was not answered from rollups.' },
    },
  });
  const auditFields = {
    sql: { type: nonNull(GraphQLString), description: 'The SQL statement that produced this answer.' },
    version: { type: nonNull(GraphQLString), description: 'Content hash of the metric definitions.' },
    commit: { type: GraphQLString, description: 'Git commit of the definitions, when they are in a repository.' },
    lineage: { type: listOf(lineageType) },
    warnings: { type: listOf(GraphQLString), description: 'Things to know about this answer, such as a deprecated metric it uses and what to use instead.' },
    health: answerHealthField(),
    rollup: { type: rollupAuditType, description: 'Which rollup answered (built at, definitions version, fingerprint), or why none did; null where the server has no rollups.', resolve: (r: QueryResult) => r.rollups },
  };
  const typedResult = new GraphQLObjectType<QueryResult, ApiContext>({
    name: 'MetricsResult',
    fields: { rows: { type: listOf(rowType), resolve: (r) => r.rows }, ...auditFields },
  });
  const columnType = new GraphQLObjectType({
    name: 'Column',
    fields: { name: { type: nonNull(GraphQLString) }, type: { type: nonNull(GraphQLString) }, role: { type: nonNull(GraphQLString) } },
  });
  const genericResult = new GraphQLObjectType<QueryResult, ApiContext>({
    name: 'QueryResult',
    fields: { columns: { type: listOf(columnType) }, rows: { type: listOf(RowScalar) }, ...auditFields },
  });
  return { typedResult, genericResult };
}

/** MetricsOrder: order by a metric (an enum of the metrics) or a dimension reference. */
export function buildOrderInput(graph: SemanticGraph): GraphQLInputObjectType {
  const metricEnum = new GraphQLEnumType({
    name: 'MetricName',
    values: Object.fromEntries(
      [...graph.metrics.values()].map((m) => [enumName(m.name), { value: m.name, deprecationReason: m.def.deprecated ? deprecationNotice(m.def.deprecated) : undefined }]),
    ),
  });
  const orderInput = new GraphQLInputObjectType({
    name: 'MetricsOrder',
    description: 'Order by a metric, or by a dimension reference such as "user.country" or "metric_time.month".',
    fields: { metric: { type: metricEnum }, dimension: { type: GraphQLString }, desc: { type: GraphQLBoolean, defaultValue: false } },
  });
  return orderInput;
}

/** MetricsFilter and the condition inputs of each kind of dimension, from the filter shape. */
export function buildFilterInputs(shape: FilterShape): GraphQLInputObjectType {
  const stringFilter = new GraphQLInputObjectType({
    name: 'StringFilter',
    description: 'Conditions on a categorical dimension; several conditions in one object must all hold.',
    fields: {
      equals: { type: GraphQLString },
      notEquals: { type: GraphQLString },
      in: { type: new GraphQLList(new GraphQLNonNull(GraphQLString)) },
      notIn: { type: new GraphQLList(new GraphQLNonNull(GraphQLString)) },
      contains: { type: GraphQLString },
      startsWith: { type: GraphQLString },
      endsWith: { type: GraphQLString },
      lt: { type: GraphQLString },
      lte: { type: GraphQLString },
      gt: { type: GraphQLString },
      gte: { type: GraphQLString },
      isNull: { type: GraphQLBoolean },
    },
  });
  const timeFilter = new GraphQLInputObjectType({
    name: 'TimeFilter',
    description: "Conditions on a time, with values 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS' in the request's time zone.",
    fields: {
      grain: { type: GraphQLString, description: 'Compare at this grain (day, week, month…); default: the exact time.' },
      equals: { type: GraphQLString },
      lt: { type: GraphQLString },
      lte: { type: GraphQLString },
      gt: { type: GraphQLString },
      gte: { type: GraphQLString },
      between: { type: new GraphQLList(new GraphQLNonNull(GraphQLString)), description: 'Two values, both inclusive.' },
      isNull: { type: GraphQLBoolean },
    },
  });
  const keyFilter = new GraphQLInputObjectType({
    name: 'KeyFilter',
    fields: { equals: { type: GraphQLID }, in: { type: new GraphQLList(new GraphQLNonNull(GraphQLID)) }, isNull: { type: GraphQLBoolean } },
  });
  const entityInputs: GraphQLInputFieldConfigMap = {};
  for (const [field, { entity, dims }] of shape.entities) {
    const fields: GraphQLInputFieldConfigMap = {};
    for (const [name, d] of dims) fields[name] = { type: d.type === 'time' ? timeFilter : d.type === 'key' ? keyFilter : stringFilter };
    entityInputs[field] = { type: new GraphQLInputObjectType({ name: `${pascal(entity)}Filter`, fields }) };
  }
  const filter: GraphQLInputObjectType = new GraphQLInputObjectType({
    name: 'MetricsFilter',
    description: 'A filter applied to every metric before aggregation. Conditions in one object must all hold; use or / not to combine.',
    fields: () => ({
      and: { type: new GraphQLList(new GraphQLNonNull(filter)) },
      or: { type: new GraphQLList(new GraphQLNonNull(filter)) },
      not: { type: filter },
      metricTime: { type: timeFilter },
      ...entityInputs,
    }),
  });
  return filter;
}
