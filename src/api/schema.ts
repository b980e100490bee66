/**
 * The GraphQL schema, generated from the semantic graph at start-up. The typed `metrics` query's
 * selection set is the request: the metric fields selected are the metrics, the dimension fields
 * selected are the group-bys. A generic `query` serves tools that build requests at run time,
 * and `catalog` describes everything that can be asked.
 */
import { GraphQLBoolean, GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { buildCatalog } from '../catalog.js';
import { visibleDashboards } from '../dashboards.js';
import type { SemanticGraph } from '../definitions/graph.js';
import type { Expression } from '../query/expression.js';
import type { RequestInput } from '../query/request.js';
import type { QueryResult } from '../run.js';
import { experimentFields, type ExperimentContext } from './experiments.js';
import { healthQueryField, type HealthAccess } from './health-schema.js';
import { apiError, exactAsText, type GenericArgs, isCalendarDate, selectionToRequest, type TypedArgs } from './resolvers.js';
import { buildCatalogType, buildDashboardType } from './catalog-types.js';
import {
  buildFilterInputs,
  buildGrainEnum,
  buildLineageType,
  buildOrderInput,
  buildResultTypes,
  buildRowTypes,
  listOf,
  nonNull,
} from './schema-types.js';
import { typedFilter } from './typed-filter.js';

/** What resolvers need: run a request (with structured filters) through the one calculation path. */
export interface ApiContext {
  /** `rollups: false` reads the base tables even where a built rollup gives the same answer. */
  run(request: RequestInput, filters: Expression[], options?: { rollups?: boolean }): Promise<QueryResult>;
  /** The metrics this caller may query (the catalog shows only those); undefined: all of them. */
  visibleMetrics?(): ReadonlySet<string> | undefined;
  /** Data health of answers and of the project (src/checks); absent, the health fields are null. */
  health?: HealthAccess;
  /** An experiment's readout for this caller (src/api/experiments.ts). */
  readExperiment?: ExperimentContext['readExperiment'];
}

/** The schema for a graph: its types (schema-types.ts) and the Query fields with their resolvers. */
export function buildSchema(graph: SemanticGraph): GraphQLSchema {
  const grainEnum = buildGrainEnum();
  const { rowType, entityTypes, shape, metricByField } = buildRowTypes(graph, grainEnum);
  const lineageType = buildLineageType();
  const { typedResult, genericResult } = buildResultTypes(rowType, lineageType);
  const orderInput = buildOrderInput(graph);
  const filterInput = buildFilterInputs(shape);
  const catalog = buildCatalog(graph);
  const catalogType = buildCatalogType(grainEnum, lineageType);
  const dashboardType = buildDashboardType(grainEnum);

  const commonArgs = {
    from: { type: GraphQLString, description: 'Start of the time range (YYYY-MM-DD[ HH:MM:SS]), widened to the start of its period.' },
    to: { type: GraphQLString, description: 'End of the time range, inclusive, widened to the end of its period.' },
    limit: { type: GraphQLInt },
    timeZone: { type: GraphQLString, defaultValue: 'UTC', description: 'IANA time zone that decides where days begin.' },
    fillGaps: { type: GraphQLBoolean, defaultValue: false, description: 'A row for every period of metricTime, even without data.' },
    rollups: { type: GraphQLBoolean, defaultValue: true, description: 'Answer from a built rollup where it provably gives the base answer; false reads the base tables.' },
  };

  const query = new GraphQLObjectType<unknown, ApiContext>({
    name: 'Query',
    fields: {
      metrics: {
        type: nonNull(typedResult),
        description: 'Metrics grouped by the dimensions selected in `rows`.',
        args: { filter: { type: filterInput }, orderBy: { type: new GraphQLList(new GraphQLNonNull(orderInput)) }, ...commonArgs },
        resolve: (_root, args: TypedArgs, ctx, info) => {
          const { metrics, groupBy } = selectionToRequest(info, metricByField, shape);
          const filters = args.filter ? [typedFilter(args.filter, shape)] : [];
          const orderBy = (args.orderBy ?? []).map((o) => {
            const ref = o.metric ?? o.dimension;
            if (!ref || (o.metric && o.dimension)) throw apiError('INVALID_REQUEST', 'each orderBy item names exactly one of metric or dimension');
            return o.desc ? `-${ref}` : ref;
          });
          return ctx.run({ metrics, groupBy, orderBy, from: args.from ?? undefined, to: args.to ?? undefined, limit: args.limit ?? undefined, timeZone: args.timeZone, fillGaps: args.fillGaps }, filters, { rollups: args.rollups });
        },
      },
      query: {
        type: nonNull(genericResult),
        description: 'The generic query for tools that build requests at run time; takes the same references as the CLI.',
        args: {
          metrics: { type: listOf(GraphQLString) },
          groupBy: { type: new GraphQLList(new GraphQLNonNull(GraphQLString)) },
          where: { type: GraphQLString, description: "A filter such as \"user.country IN ('KR','US')\"." },
          orderBy: { type: new GraphQLList(new GraphQLNonNull(GraphQLString)), description: 'Metric names or references; a leading - sorts descending.' },
          ...commonArgs,
        },
        resolve: (_root, args: GenericArgs, ctx) =>
          ctx
            .run(
            {
              metrics: args.metrics,
              groupBy: args.groupBy ?? [],
              where: args.where ?? undefined,
              orderBy: args.orderBy ?? [],
              from: args.from ?? undefined,
              to: args.to ?? undefined,
              limit: args.limit ?? undefined,
              timeZone: args.timeZone,
              fillGaps: args.fillGaps,
            },
            [],
            { rollups: args.rollups },
          )
            // The typed query's rule here too: exact metrics (counts, sums) are Decimal strings.
            .then((answer) => exactAsText(graph, answer)),
      },
      catalog: {
        type: nonNull(catalogType),
        description: 'Every metric and dimension that can be asked for.',
        resolve: (_root, _args, ctx) => {
          const visible = ctx.visibleMetrics?.();
          return visible ? { ...catalog, metrics: catalog.metrics.filter((m) => visible.has(m.name)) } : catalog;
        },
      },
      health: healthQueryField(),
      ...experimentFields(graph, listOf(lineageType)),
      dashboards: {
        type: listOf(dashboardType),
        description: 'Dashboards defined as code, with the dates of each tile. Only tiles of metrics this caller may query are listed.',
        args: {
          name: { type: GraphQLString, description: 'Only the dashboard of this name.' },
          asOf: { type: GraphQLString, description: 'The last day (YYYY-MM-DD) relative ranges end at; default: the dashboard\'s as_of, else yesterday (UTC).' },
        },
        resolve: (_root, args: { name?: string | null; asOf?: string | null }, ctx) => {
          const asOf = args.asOf ?? undefined;
          if (asOf !== undefined && !isCalendarDate(asOf)) throw apiError('INVALID_REQUEST', `asOf '${asOf}' is not a date; write YYYY-MM-DD, like 2025-12-31`);
          const all = visibleDashboards(graph, ctx.visibleMetrics?.(), asOf);
          return args.name ? all.filter((d) => d.name === args.name) : all;
        },
      },
    },
  });
  return new GraphQLSchema({ query, types: entityTypes });
}

