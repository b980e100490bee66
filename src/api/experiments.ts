/**
 * GraphQL types and fields for experiments: `experiments` (the definitions) and
 * `experiment(name:)` (the readout: variants, per-metric statistics, SRM, decision and the audit
 * record). The readout runs through ApiContext.readExperiment, which applies the caller's access
 * policy like every metric query.
 */
import { GraphQLBoolean, GraphQLFloat, GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLString, type GraphQLFieldConfigMap, type GraphQLNullableType, type GraphQLOutputType } from 'graphql';
import type { SemanticGraph } from '../definitions/graph.js';
import type { Readout } from '../experiments/readout.js';
import { experimentsOf } from '../experiments/validate.js';
import type { ExperimentDef } from '../experiments/schema.js';
import type { Effect } from '../experiments/stats/welch.js';

const nonNull = <T extends GraphQLNullableType>(t: T): GraphQLNonNull<T> => new GraphQLNonNull(t);
const listOf = <T extends GraphQLNullableType>(t: T): GraphQLNonNull<GraphQLList<GraphQLNonNull<T>>> => new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(t)));
/** Non-finite numbers (an interval without bound) are null: JSON has no Infinity. */
const finite = (x: number | undefined): number | null => (x === undefined || !Number.isFinite(x) ? null : x);

/** What the experiment fields need from the server. */
export interface ExperimentContext {
  /** The readout of one experiment for this caller (FORBIDDEN when a metric is not theirs). */
  readExperiment?(name: string, options?: { timelinePoints?: number }): Promise<Readout>;
  visibleMetrics?(): ReadonlySet<string> | undefined;
}

export function experimentFields(graph: SemanticGraph, lineageType: GraphQLOutputType): GraphQLFieldConfigMap<unknown, ExperimentContext> {
  const criteria = new GraphQLObjectType<ExperimentDef['success']>({
    name: 'ExperimentCriteria',
    description: 'The success criteria agreed before the start.',
    fields: {
      direction: { type: nonNull(GraphQLString), description: 'increase or decrease.' },
      minimumEffect: { type: nonNull(GraphQLFloat), description: 'Smallest relative lift worth shipping (0.02 = 2%).', resolve: (s) => s.minimum_effect },
      alpha: { type: nonNull(GraphQLFloat) },
      power: { type: nonNull(GraphQLFloat) },
      correction: { type: nonNull(GraphQLString), description: 'Multiple-testing correction across primary metrics: holm, benjamini_hochberg or none.' },
      sequential: { type: nonNull(GraphQLBoolean), description: 'Always-valid intervals (safe to look early).' },
    },
  });
  const definition = new GraphQLObjectType<ExperimentDef>({
    name: 'Experiment',
    description: 'An A/B test read on the project metrics.',
    fields: {
      name: { type: nonNull(GraphQLString) },
      description: { type: GraphQLString },
      owner: { type: GraphQLString },
      hypothesis: { type: GraphQLString },
      control: { type: nonNull(GraphQLString) },
      variants: { type: listOf(GraphQLString), resolve: (e) => Object.keys(e.split) },
      plannedSplit: { type: listOf(GraphQLFloat), description: 'Planned share per variant, in the order of `variants`.', resolve: (e) => { const w = Object.values(e.split).reduce((a, b) => a + b, 0); return Object.values(e.split).map((x) => x / w); } },
      start: { type: nonNull(GraphQLString) },
      end: { type: nonNull(GraphQLString) },
      attributionWindow: { type: GraphQLString, resolve: (e) => e.attribution_window },
      prePeriod: { type: GraphQLString, description: 'CUPED covariate window before assignment.', resolve: (e) => e.pre_period },
      primaryMetrics: { type: listOf(GraphQLString), resolve: (e) => e.primary_metrics },
      guardrailMetrics: { type: listOf(GraphQLString), resolve: (e) => e.guardrail_metrics },
      criteria: { type: nonNull(criteria), resolve: (e) => e.success },
    },
  });
  const effect = new GraphQLObjectType<Effect>({
    name: 'ExperimentEffect',
    description: 'An estimate with its two-sided interval at 1 − alpha.',
    fields: {
      estimate: { type: nonNull(GraphQLFloat) },
      standardError: { type: nonNull(GraphQLFloat) },
      ciLow: { type: GraphQLFloat, resolve: (e) => finite(e.ci[0]) },
      ciHigh: { type: GraphQLFloat, resolve: (e) => finite(e.ci[1]) },
      pValue: { type: nonNull(GraphQLFloat) },
    },
  });
  const side = new GraphQLObjectType<{ units: number; value: number }>({
    name: 'ExperimentArm',
    fields: { units: { type: nonNull(GraphQLInt) }, value: { type: GraphQLFloat, resolve: (a) => finite(a.value) } },
  });
  const metric = new GraphQLObjectType<Readout['metrics'][number]>({
    name: 'ExperimentMetric',
    description: 'One metric compared between a treatment variant and the control.',
    fields: {
      metric: { type: nonNull(GraphQLString) },
      role: { type: nonNull(GraphQLString), description: 'primary or guardrail.' },
      kind: { type: nonNull(GraphQLString), description: 'mean (per unit; conversion: share of units) or ratio (of per-unit sums, delta method).' },
      variant: { type: nonNull(GraphQLString) },
      control: { type: nonNull(side) },
      treatment: { type: nonNull(side) },
      absolute: { type: effect, description: 'treatment − control.' },
      relative: { type: effect, description: '(treatment − control) / control.' },
      adjustedPValue: { type: GraphQLFloat },
      cupedTheta: { type: GraphQLFloat, resolve: (m) => m.cuped?.theta ?? null },
      unitsNeeded: { type: GraphQLInt, description: 'Units per variant to detect the minimum effect at the planned power.', resolve: (m) => finite(m.unitsNeeded) },
      method: { type: nonNull(GraphQLString) },
    },
  });
  const variant = new GraphQLObjectType<Readout['variants'][number]>({
    name: 'ExperimentVariant',
    fields: { variant: { type: nonNull(GraphQLString) }, units: { type: nonNull(GraphQLInt) }, plannedShare: { type: nonNull(GraphQLFloat) }, observedShare: { type: nonNull(GraphQLFloat) } },
  });
  const srm = new GraphQLObjectType<Readout['srm']>({
    name: 'SampleRatioCheck',
    description: 'Chi-square test of units per variant against the planned split; mismatch when p < 0.001.',
    fields: { chiSquare: { type: nonNull(GraphQLFloat) }, pValue: { type: nonNull(GraphQLFloat) }, mismatch: { type: nonNull(GraphQLBoolean) } },
  });
  const decision = new GraphQLObjectType<Readout['decision']>({
    name: 'ExperimentDecision',
    fields: { verdict: { type: nonNull(GraphQLString), description: 'ship, dont_ship, keep_running or invalid.' }, reason: { type: nonNull(GraphQLString) }, variant: { type: GraphQLString } },
  });
  const change = new GraphQLObjectType<Readout['preAgreement'][number]>({
    name: 'DefinitionChange',
    description: 'A commit after the start that changed a primary metric or what it computes from.',
    fields: { commit: { type: nonNull(GraphQLString) }, date: { type: nonNull(GraphQLString) }, subject: { type: nonNull(GraphQLString) }, metrics: { type: listOf(GraphQLString) } },
  });
  const point = new GraphQLObjectType<NonNullable<Readout['timeline']>[number]>({
    name: 'ExperimentTimelinePoint',
    description: "A primary metric's relative lift as it stood on `date` (units assigned and rows up to then).",
    fields: {
      date: { type: nonNull(GraphQLString) },
      metric: { type: nonNull(GraphQLString) },
      variant: { type: nonNull(GraphQLString) },
      units: { type: nonNull(GraphQLInt) },
      estimate: { type: nonNull(GraphQLFloat) },
      ciLow: { type: GraphQLFloat, resolve: (p) => finite(p.ciLow) },
      ciHigh: { type: GraphQLFloat, resolve: (p) => finite(p.ciHigh) },
    },
  });
  const readout = new GraphQLObjectType<Readout>({
    name: 'ExperimentReadout',
    fields: {
      experiment: { type: nonNull(definition) },
      variants: { type: listOf(variant) },
      srm: { type: nonNull(srm) },
      metrics: { type: listOf(metric) },
      decision: { type: nonNull(decision) },
      preAgreement: { type: listOf(change) },
      sql: { type: nonNull(GraphQLString), description: 'The one statement that computed the per-variant sufficient statistics.' },
      version: { type: nonNull(GraphQLString) },
      commit: { type: GraphQLString },
      lineage: { type: lineageType },
      timeline: { type: new GraphQLList(nonNull(point)), description: 'The cumulative effect over time; asked for with experiment(timelinePoints:).' },
    },
  });
  return {
    experiments: {
      type: listOf(definition),
      description: 'The experiments defined in metrics/*.yml (those whose metrics this caller may see).',
      resolve: (_root, _args, ctx) => {
        const visible = ctx.visibleMetrics?.();
        return [...experimentsOf(graph).values()].map((e) => e.def).filter((d) => !visible || [...d.primary_metrics, ...d.guardrail_metrics].every((m) => visible.has(m)));
      },
    },
    experiment: {
      type: readout,
      description: "An experiment's readout: variants, per-metric lift with intervals, SRM check, decision and audit record.",
      args: {
        name: { type: nonNull(GraphQLString) },
        timelinePoints: { type: GraphQLInt, defaultValue: 0, description: 'Dates (at most 60) at which to compute the cumulative effect.' },
      },
      resolve: (_root, args: { name: string; timelinePoints: number }, ctx) => {
        if (!ctx.readExperiment) throw new Error('this server does not read experiments');
        return ctx.readExperiment(args.name, { timelinePoints: args.timelinePoints });
      },
    },
  };
}
