/**
 * The GraphQL types of what can be asked for: the catalog (metrics, dimensions, their lineage) and
 * the dashboards defined as code. Built once per definitions version by buildSchema (schema.ts).
 */
import { GraphQLBoolean, GraphQLEnumType, GraphQLInt, GraphQLObjectType, GraphQLString } from 'graphql';
import { camel } from './names.js';
import { listOf, nonNull } from './schema-types.js';

/** Catalog: every metric and dimension that can be asked for. */
export function buildCatalogType(grainEnum: GraphQLEnumType, lineageType: GraphQLObjectType): GraphQLObjectType {
  return new GraphQLObjectType({
    name: 'Catalog',
    fields: {
      version: { type: nonNull(GraphQLString), description: 'Content hash of the metric definitions.' },
      metrics: {
        type: listOf(
          new GraphQLObjectType({
            name: 'CatalogMetric',
            fields: {
              name: { type: nonNull(GraphQLString) },
              field: { type: nonNull(GraphQLString), description: 'The field of MetricsRow that serves this metric.', resolve: (m: { name: string }) => camel(m.name) },
              type: { type: nonNull(GraphQLString) },
              label: { type: GraphQLString },
              description: { type: GraphQLString },
              owner: { type: GraphQLString },
              formula: { type: nonNull(GraphQLString) },
              dimensions: { type: listOf(GraphQLString), description: 'References this metric can be grouped and filtered by.' },
              format: {
                type: new GraphQLObjectType({
                  name: 'MetricFormat',
                  description: "How the metric's values are displayed (its definition's format and decimals). Values in the API keep full precision; apply this when showing them.",
                  fields: {
                    kind: { type: nonNull(GraphQLString), description: 'number, percent (0.461 shows as 46.1%) or currency.' },
                    currency: { type: GraphQLString, description: 'ISO 4217 code, for kind currency.' },
                    decimals: { type: GraphQLInt, description: "Digits after the decimal point; null: the kind's default (percent 1, a currency its own, number up to 2)." },
                  },
                }),
                description: 'Display format; null when the definition names none.',
              },
              grains: { type: listOf(grainEnum) },
              requiresTime: {
                type: nonNull(GraphQLBoolean),
                description: 'Computed per period (a window, a period to date, a comparison with an earlier period): every request must group it by metricTime.',
              },
              lineage: { type: listOf(lineageType), description: 'This metric and every metric, measure, model and table it is computed from.' },
              deprecated: {
                type: new GraphQLObjectType({
                  name: 'MetricDeprecation',
                  description: 'A metric on its way out: it still answers, and every use warns.',
                  fields: { reason: { type: nonNull(GraphQLString) }, replacement: { type: GraphQLString, description: 'The metric to use instead.' } },
                }),
                description: 'Set when the metric is deprecated.',
              },
            },
          }),
        ),
      },
      dimensions: {
        type: listOf(
          new GraphQLObjectType({
            name: 'CatalogDimension',
            fields: {
              name: { type: nonNull(GraphQLString), description: 'The reference, e.g. user.country.' },
              type: { type: nonNull(GraphQLString) },
              entity: { type: nonNull(GraphQLString) },
              model: { type: nonNull(GraphQLString) },
              description: { type: GraphQLString },
            },
          }),
        ),
      },
    },
  });
}

/** Dashboard: key numbers defined as code, with the dates of each tile. */
export function buildDashboardType(grainEnum: GraphQLEnumType): GraphQLObjectType {
  const dateRangeType = new GraphQLObjectType({
    name: 'DateRange',
    description: 'Inclusive calendar dates, YYYY-MM-DD; pass them as `from` and `to` of a query.',
    fields: { from: { type: nonNull(GraphQLString) }, to: { type: nonNull(GraphQLString) } },
  });
  const tileType = new GraphQLObjectType({
    name: 'DashboardTile',
    description: "One key number: a metric over its range at a grain; its current value is the range's last period, compared with an earlier one.",
    fields: {
      metric: { type: nonNull(GraphQLString) },
      title: { type: GraphQLString },
      grain: { type: nonNull(grainEnum) },
      rangeText: { type: nonNull(GraphQLString), description: "The range as defined: 'last 12 months' or '2025-01-01 to 2025-12-31'." },
      comparison: { type: nonNull(GraphQLString), description: 'previous_period or same_period_last_year.' },
      breakdown: { type: GraphQLString, description: 'A dimension reference to break the current period down by.' },
      range: { type: nonNull(dateRangeType), description: 'Every period of the trend.' },
      current: { type: nonNull(dateRangeType), description: 'The period of the current value (the last of the range).' },
      compared: { type: nonNull(dateRangeType), description: 'The period the current value is compared with.' },
    },
  });
  return new GraphQLObjectType({
    name: 'Dashboard',
    description: 'Key numbers defined as code under `dashboards:` in metrics/*.yml. Ask each tile\'s numbers with `query` or `metrics`.',
    fields: {
      name: { type: nonNull(GraphQLString) },
      title: { type: nonNull(GraphQLString) },
      description: { type: GraphQLString },
      owner: { type: GraphQLString },
      asOf: { type: nonNull(GraphQLString), description: 'The last day relative ranges end at.' },
      tiles: { type: listOf(tileType) },
    },
  });
}
