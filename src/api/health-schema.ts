/**
 * GraphQL types for data health (src/checks/health.ts): the `health` field on every answer (data
 * as of, failed checks on input models, incomplete trailing periods, warnings) and the top-level
 * `health` query (every model with its freshness and its checks with their last results).
 */
import { GraphQLBoolean, type GraphQLFieldConfig, GraphQLInt, GraphQLList, GraphQLNonNull, type GraphQLNullableType, GraphQLObjectType, GraphQLString } from 'graphql';
import type { AnswerHealth, CheckHealth, HealthReport, ModelHealth } from '../checks/health.js';
import type { StoredResult } from '../checks/state.js';
import type { QueryResult } from '../run.js';

/** What the server offers resolvers for data health; absent, the fields are null. */
export interface HealthAccess {
  forAnswer(answer: QueryResult): Promise<AnswerHealth>;
  report(): Promise<HealthReport>;
  history(checkId: string, limit: number): Promise<StoredResult[]>;
}

const nonNull = <T extends GraphQLNullableType>(t: T): GraphQLNonNull<T> => new GraphQLNonNull(t);
const listOf = <T extends GraphQLNullableType>(t: T): GraphQLNonNull<GraphQLList<GraphQLNonNull<T>>> => new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(t)));

const checkResultType = new GraphQLObjectType<StoredResult>({
  name: 'CheckResult',
  description: "A data check's result in one run.",
  fields: {
    id: { type: nonNull(GraphQLString) },
    model: { type: nonNull(GraphQLString) },
    kind: { type: nonNull(GraphQLString) },
    severity: { type: nonNull(GraphQLString), description: 'warn or error.' },
    status: { type: nonNull(GraphQLString), description: 'pass, warn, fail (an error-level check failed) or error (it could not run).' },
    failing: { type: nonNull(GraphQLString), description: 'Rows (or key values, for uniqueness) that break the rule, as an exact decimal string.' },
    checked: { type: GraphQLString, description: 'Rows examined, where the check reports a share (orphans).' },
    observed: { type: GraphQLString, description: 'A measured value: a row count, the newest time.' },
    samples: { type: nonNull(GraphQLString), description: 'A few failing keys, as JSON.', resolve: (r) => JSON.stringify(r.samples) },
    message: { type: nonNull(GraphQLString) },
    ranAt: { type: nonNull(GraphQLString), description: 'When the run started (ISO instant).' },
  },
});

const modelHealthFields = {
  model: { type: nonNull(GraphQLString) },
  timeDimension: { type: GraphQLString, description: 'The time dimension freshness is measured on.' },
  dataAsOf: { type: GraphQLString, description: "Newest value of that time dimension (UTC): the data's 'as of'." },
  failedChecks: { type: listOf(checkResultType), description: 'Checks on this model that failed, warned or could not run at their last run.' },
};

const answerHealthType = new GraphQLObjectType<AnswerHealth>({
  name: 'AnswerHealth',
  description: 'How far the data under an answer can be trusted.',
  fields: {
    models: { type: listOf(new GraphQLObjectType<ModelHealth>({ name: 'InputModelHealth', fields: modelHealthFields })) },
    incompletePeriods: {
      type: listOf(
        new GraphQLObjectType({
          name: 'IncompletePeriod',
          description: "A period of the answer that the data stops inside, so its value is partial.",
          fields: { model: { type: nonNull(GraphQLString) }, grain: { type: nonNull(GraphQLString) }, period: { type: nonNull(GraphQLString) }, dataAsOf: { type: nonNull(GraphQLString) } },
        }),
      ),
    },
    warnings: { type: listOf(GraphQLString) },
  },
});

/** The `health` field of an answer. */
export function answerHealthField(): GraphQLFieldConfig<QueryResult, { health?: HealthAccess }> {
  return {
    type: answerHealthType,
    description: 'Freshness of each input model, failed checks on them at the last run, and incomplete trailing periods.',
    resolve: (answer, _args, ctx) => ctx.health?.forAnswer(answer) ?? null,
  };
}

/** The top-level `health` query. */
export function healthQueryField(): GraphQLFieldConfig<unknown, { health?: HealthAccess }> {
  const checkType = new GraphQLObjectType<CheckHealth, { health?: HealthAccess }>({
    name: 'CheckStatus',
    fields: {
      id: { type: nonNull(GraphQLString) },
      kind: { type: nonNull(GraphQLString) },
      severity: { type: nonNull(GraphQLString) },
      derived: { type: nonNull(GraphQLBoolean), description: 'Derived from the definitions (keys, links, time dimensions) rather than declared.' },
      description: { type: nonNull(GraphQLString) },
      last: { type: checkResultType, description: 'The result at the last run that ran it.' },
      history: {
        type: listOf(checkResultType),
        args: { limit: { type: GraphQLInt, defaultValue: 30 } },
        description: 'Results of earlier runs, newest first.',
        resolve: (c, args: { limit: number }, ctx) => ctx.health?.history(c.id, Math.max(1, Math.min(args.limit, 500))) ?? [],
      },
    },
  });
  const reportType = new GraphQLObjectType<HealthReport>({
    name: 'Health',
    fields: {
      lastRunAt: { type: GraphQLString, description: 'When the newest check run started.' },
      models: { type: listOf(new GraphQLObjectType({ name: 'ModelHealth', fields: { ...modelHealthFields, checks: { type: listOf(checkType) } } })) },
    },
  });
  return {
    type: reportType,
    description: 'Data health: every semantic model with its freshness, its checks and their last results.',
    resolve: (_root, _args, ctx) => ctx.health?.report() ?? null,
  };
}
