/**
 * Routing: whether a rollup answers a leaf of a request exactly as the base tables would, and why
 * not when it cannot (issue 18; the rules are written down in README's "Rollups" section).
 *
 * A leaf is where a metric reads rows: a simple metric's measure, or a metric kept finished in a
 * rollup (a distinct count, a cumulative window, a conversion). A measure leaf is served from a
 * rollup's parts when the measure's parts are there and every key and filter of the leaf is a
 * column of the rollup; the parts are then re-aggregated (SUM of sums and counts, MIN, MAX; an
 * average as SUM(sum) / SUM(count), the base's own formula, from an exact sum only) by
 * src/planner/lower/rollup-scan.ts, and everything above the leaf stays the same plan. A finished
 * metric is served at exactly the rollup's grain and dimensions; a cumulative metric (Tally's
 * semantics) at any grain made of the rollup's buckets, read off its value per bucket by the rule
 * the base applies (cumulative.ts: the period's own first or last day, or all its days; a bucket
 * without a row is one whose window held no rows). A request is answered from rollups only when
 * every leaf is (all-or-nothing); one refused leaf and the whole request reads the base tables.
 * A restricted caller is told only whether rollups answered (routingForRestrictedCaller).
 *
 * Cube's pre-aggregation matching and Looker's aggregate awareness route the same way; the rules
 * here refuse whatever could change a number (MetricFlow has no rollups to compare with).
 */
import type { SemanticGraph } from '../definitions/graph.js';
import { GRAIN_ORDER, type Grain } from '../definitions/schema.js';
import { collectRefs, type Expression } from '../query/expression.js';
import { parseReference } from '../query/references.js';
import { parseRequest } from '../query/request.js';
import { buildPlan, type MeasureUse, type Plan, type PlanNode, type Shift } from '../planner/plan.js';
import { type Bounds, nests } from '../planner/time.js';
import { conjunctsOf } from '../planner/lower/output.js';
import { type BuiltRollup, finishedMetricColumn, type MeasurePart } from './types.js';
import { averageProblem, coarserPeriodProblem, commonProblem, EXACT_SUM, filterProblem, grainOf } from './route-refusals.js';

/** What the audit record says about a rollup that answered. */
export interface RollupUse {
  name: string;
  table: string;
  /** ISO-8601 instant its last build finished. */
  builtAt: string;
  /** Definitions version (content hash) and git commit it was built from. */
  version: string;
  commit?: string;
  /** Fingerprint of its definition and everything it reads; equal to the current definitions'. */
  fingerprint: string;
  /** Doubts about its freshness that could not be checked cheaply (also in the answer's warnings). */
  warnings?: string[];
  /** When the build was last compared with its sources: their freshness, and its partitions' fingerprints (ISO instants). */
  checkedAt?: { freshness?: string; fingerprints?: string };
}

/** How one leaf of the request was decided. */
export interface LeafDecision {
  /** The leaf, in words: "metric 'revenue' (sum of order_amount)". */
  leaf: string;
  /** The rollup that serves it, when one does. */
  rollup?: string;
  /** Why no rollup serves it: one reason per rollup considered ("orders_daily: …"). */
  refused?: string[];
}

/** The routing of one request: whether rollups answer it, which, and why (or why not) per leaf. */
export interface RollupRouting {
  /** True when every leaf is served by a rollup, so the statement reads only rollup tables. */
  served: boolean;
  /** The rollups the statement reads (empty unless served). */
  rollups: RollupUse[];
  leaves: LeafDecision[];
  /** Why the request as a whole is not served (no rollups built, none usable, a refused leaf). */
  reason?: string;
  /** Built rollups left out before routing: built from other definitions. */
  unusable: { name: string; reason: string }[];
}

/** What a restricted caller is told when rollups do not answer its request (see routingForRestrictedCaller). */
export const RESTRICTED_REFUSAL = 'not answered from a rollup; answered from the base tables';

/**
 * The routing as a restricted caller (an access role, row filters; src/access) may see it: which
 * rollups answered when they did (its own answer's audit record), and otherwise only that none
 * did. Refusal reasons name other rollups, what they keep and the ranges they cover (so the range
 * of data behind them), which such a caller may not learn: the server logs them instead.
 */
export function routingForRestrictedCaller(routing: RollupRouting): RollupRouting {
  if (routing.served) return { served: true, rollups: routing.rollups, leaves: routing.leaves.map((l) => ({ leaf: l.leaf, rollup: l.rollup })), unusable: [] };
  return { served: false, rollups: [], leaves: routing.leaves.map((l) => ({ leaf: l.leaf, refused: [RESTRICTED_REFUSAL] })), reason: RESTRICTED_REFUSAL, unusable: [] };
}

/** How a leaf reads a rollup. */
export type LeafRoute =
  | { kind: 'parts'; rollup: BuiltRollup; parts: MeasurePart[] }
  /**
   * `exact`: the stored value per row; `period`: a cumulative metric read off its value per bucket
   * by the base's rule (cumulativeFromPeriodValues): coarser periods per its period_agg, and at
   * the bucket grain every bucket of the answer.
   */
  | { kind: 'finished'; rollup: BuiltRollup; mode: 'exact' | 'period' };

/**
 * The rollups a request may read: those whose fingerprint equals the one the current definitions
 * give (`current(name)`, definitionFingerprint) and, where both are known, built from the database
 * the request reads; the others are reported, never used.
 */
export function usableRollups(built: BuiltRollup[], current: (name: string) => string | undefined, database?: string): { usable: BuiltRollup[]; unusable: { name: string; reason: string }[] } {
  const usable: BuiltRollup[] = [];
  const unusable: { name: string; reason: string }[] = [];
  for (const r of built) {
    const now = current(r.name);
    if (now === undefined) unusable.push({ name: r.name, reason: 'no longer declared in the definitions' });
    else if (database && r.source && r.source !== database) unusable.push({ name: r.name, reason: `built from another database (${r.source}); this request reads ${database}` });
    else if (now !== r.fingerprint) unusable.push({ name: r.name, reason: `built from other definitions (fingerprint ${short(r.fingerprint)}, now ${short(now)}); rebuild it with 'tally rollup build ${r.name}'` });
    else usable.push(r);
  }
  return { usable, unusable };
}

/** The parts a measure's aggregation is re-aggregated from; undefined where none can be (see why). */
export function partsOf(agg: string): { parts?: MeasurePart[]; why?: string } {
  switch (agg) {
    case 'sum':
      return { parts: ['sum'] };
    case 'count':
      return { parts: ['count'] };
    case 'min':
      return { parts: ['min'] };
    case 'max':
      return { parts: ['max'] };
    case 'average':
      // The base computes an average as SUM / COUNT too (src/planner/lower/average.ts): from the
      // same exact sum and count, the same double (routing also checks that the sum is exact).
      return { parts: ['sum', 'count'] };
    case 'count_distinct':
      return { why: 'a distinct count cannot be added up; only a finished value at exactly the rollup’s grain and dimensions serves it' };
    default:
      return { why: `a ${agg} cannot be re-aggregated from parts` };
  }
}

/**
 * Routes the leaves of one request, recording each decision for the audit record. The planner's
 * lowering asks `route` at every leaf (src/planner/lower/rollup-scan.ts); when any leaf is
 * refused, the compiled statement is thrown away and the request is compiled for the base tables.
 */
export class RollupRouter {
  private readonly decisions: LeafDecision[] = [];
  private readonly used = new Map<string, BuiltRollup>();
  private failure?: string;
  private readonly standalone = new Map<string, string>();

  /**
   * `sameEngine`: whether the rollup store is the same kind of engine as the one the base request
   * would run on (DuckDB and DuckDB): only then is a value converted to a double the same way on
   * both paths (an average's exact sum).
   */
  constructor(
    private readonly graph: SemanticGraph,
    readonly usable: BuiltRollup[],
    readonly unusable: { name: string; reason: string }[] = [],
    private readonly sameEngine = true,
  ) {}

  /**
   * The rollup that serves a leaf node (simple, cumulative or conversion) of `plan` at these
   * bounds and offsets, recorded; undefined (with the reasons recorded) when none does.
   */
  route(plan: Plan, node: Extract<PlanNode, { kind: 'simple' | 'cumulative' | 'conversion' }>, bounds: Bounds, shifts: Shift[]): LeafRoute | undefined {
    const leaf = node.kind === 'simple' ? `metric '${node.metric}' (${node.use.measure.agg} of ${node.use.measure.name})` : `metric '${node.metric}' (${node.kind})`;
    const refused: string[] = [];
    const routes: LeafRoute[] = [];
    for (const r of this.usable) {
      const finished = this.finishedProblem(plan, node, r, bounds, shifts);
      if (typeof finished !== 'string') {
        routes.push({ kind: 'finished', rollup: r, mode: finished.mode });
        continue;
      }
      if (node.kind === 'simple') {
        const parts = this.partsProblem(plan, node.use, r, bounds, shifts);
        if (typeof parts !== 'string') {
          routes.push({ kind: 'parts', rollup: r, parts: parts.parts });
          continue;
        }
        refused.push(`${r.name}: ${r.finishedMetrics.includes(node.metric) ? finished : parts}`);
      } else {
        refused.push(`${r.name}: ${finished}`);
      }
    }
    // The smallest table that serves: the coarsest grain, then the fewest dimensions.
    routes.sort((a, b) => GRAIN_ORDER[b.rollup.grain] - GRAIN_ORDER[a.rollup.grain] || a.rollup.dimensions.length - b.rollup.dimensions.length || a.rollup.name.localeCompare(b.rollup.name));
    const chosen = routes[0];
    if (chosen) {
      this.used.set(chosen.rollup.name, chosen.rollup);
      this.decisions.push({ leaf, rollup: chosen.rollup.name });
      return chosen;
    }
    this.decisions.push({ leaf, refused: refused.length ? refused : ['no rollup is built'] });
    return undefined;
  }

  /** A leaf no rollup can serve whatever it holds (a semi-additive measure, an error while routing). */
  refuse(leaf: string, reason: string): void {
    this.decisions.push({ leaf, refused: [reason] });
  }

  /** The routing broke off (a rollup column missing, an unexpected reference): nothing is served. */
  fail(reason: string): void {
    this.failure = reason;
  }

  get served(): boolean {
    return this.failure === undefined && this.decisions.length > 0 && this.decisions.every((d) => d.rollup !== undefined);
  }

  /** The audit record of the routing. */
  report(): RollupRouting {
    const served = this.served;
    const refusedLeaf = this.decisions.find((d) => d.rollup === undefined);
    const reason = served
      ? undefined
      : (this.failure ??
        (this.usable.length === 0
          ? this.unusable.length
            ? `no usable rollup: ${this.unusable.map((u) => `${u.name} ${u.reason}`).join('; ')}`
            : 'no rollup is built'
          : this.decisions.length === 0
            ? 'the request reads no measure (a listing of group-by values)'
            : `${refusedLeaf?.leaf} is not served by a rollup (${refusedLeaf?.refused?.join('; ')})`));
    return {
      served,
      rollups: served ? [...this.used.values()].map(useOf) : [],
      leaves: this.decisions,
      reason,
      unusable: this.unusable,
    };
  }

  /** Why a rollup's parts cannot serve a measure leaf, or the parts that do. */
  private partsProblem(plan: Plan, use: MeasureUse, r: BuiltRollup, bounds: Bounds, shifts: Shift[]): string | { parts: MeasurePart[] } {
    const { measure } = use;
    if (measure.def.non_additive_dimension) return `'${measure.name}' is semi-additive (a balance): its parts do not add up over time`;
    const { parts, why } = partsOf(measure.agg);
    if (!parts) return why ?? 'no parts';
    const kept = r.measures.find((m) => m.name === measure.name);
    if (!kept || !parts.every((p) => kept.parts.includes(p))) return `keeps no ${parts.join(' and ')} of measure '${measure.name}'`;
    if (measure.agg === 'average') {
      const problem = averageProblem(r, measure.name, this.sameEngine);
      if (problem) return problem;
    }
    const common = commonProblem(plan, r, bounds, shifts);
    if (common) return common;
    for (const k of plan.keys) {
      if (k.ref.kind === 'metric_time') {
        const g = grainOf(k.time);
        if (!g) return `'${k.text}' is not a standard grain`;
        if (!nests(r.grain, g)) return `'${k.text}' is not made of whole ${r.grain}s (the rollup's grain)`;
      } else if (!r.dimensions.includes(k.text)) {
        return `groups by '${k.text}', which is not one of its dimensions (${r.dimensions.join(', ') || 'none'})`;
      }
    }
    for (const f of use.filters) {
      const problem = filterProblem(this.graph, f, r, r.dimensions);
      if (problem) return problem;
    }
    return { parts };
  }

  /** Why a rollup's finished value of the node's metric cannot serve it, or how it does. */
  private finishedProblem(plan: Plan, node: Extract<PlanNode, { kind: 'simple' | 'cumulative' | 'conversion' }>, r: BuiltRollup, bounds: Bounds, shifts: Shift[]): string | { mode: 'exact' | 'period' } {
    if (!r.finishedMetrics.includes(node.metric)) return `keeps no finished value of '${node.metric}'`;
    const common = commonProblem(plan, r, bounds, shifts);
    if (common) return common;
    const others = plan.keys.filter((k) => k.ref.kind !== 'metric_time');
    const extra = others.find((k) => !r.dimensions.includes(k.text));
    if (extra) return `groups by '${extra.text}', which is not one of its dimensions (${r.dimensions.join(', ') || 'none'})`;
    const missing = r.dimensions.filter((d) => !others.some((k) => k.text === d));
    // A simple metric is kept finished for a distinct count (or percentile, balance), and also when
    // its own filter names a column the rollup lacks (a sum then): name what it is, not a guess.
    const what = node.kind === 'cumulative' ? 'a cumulative value' : node.kind === 'conversion' ? 'a conversion rate' : node.use.measure.agg === 'count_distinct' ? 'a distinct count' : `a finished value (the ${node.use.measure.agg} '${node.metric}' as asked alone)`;
    if (missing.length) return `${what} is kept only at exactly its dimensions; the request does not group by ${missing.join(', ')}`;
    if (plan.timeKeys.length === 0) return `${what} is kept per ${r.grain}; the request has no metric_time group-by`;
    const grains = plan.timeKeys.map((k) => grainOf(k.time));
    if (grains.some((g) => g === undefined)) return 'metric_time is not at a standard grain';
    const exact = grains.length === 1 && grains[0] === r.grain;
    // A cumulative metric is read off its values per day by the base's own rule: at a coarser
    // grain the period's own first or last day, or all its days; alone at its grain every day of
    // the answer; a day the rollup holds no row for is a day whose window held none (empty).
    const problem = node.kind === 'cumulative' ? coarserPeriodProblem(this.graph, plan, r, grains as Grain[]) : 'not cumulative';
    if (!exact && problem) return node.kind === 'cumulative' ? `${what} ${problem}` : `${what} is kept only at exactly its grain (${r.grain}); the request asks metric_time at ${grains.join(', ')}`;
    if (!exact && node.kind === 'cumulative' && node.periodAgg === 'average') {
      // The mean of the days' values is a sum of them: exact for integers and decimals only.
      const column = finishedMetricColumn(node.metric);
      const type = r.columnTypes?.[column];
      if (type === undefined) return `${what} is averaged over each period's days; its record does not say the type of ${column}, so the average cannot be proven exact`;
      if (!EXACT_SUM.test(type.trim())) return `${what} is averaged over each period's days; its values are ${type}, whose sum depends on the order of addition`;
    }
    const mode: 'exact' | 'period' = problem ? 'exact' : 'period';
    if (node.kind === 'cumulative') {
      // A filter mixing metric_time with a dimension restricts the rows before the windows (base);
      // on finished values it would drop whole days of a group instead.
      const mixed = plan.where.flatMap(conjunctsOf).find((f) => {
        const kinds = new Set(collectRefs(f).map((x) => parseReference(this.graph, x.ref).kind === 'metric_time'));
        return kinds.size > 1;
      });
      if (mixed) return `a filter names metric_time and a dimension together, which restricts the rows inside each window; ${what} is kept after its windows`;
    }
    // The finished value was computed with the metric's own filters only: the leaf may add the
    // request's filters (on the rollup's columns, which are all group-bys here), nothing else.
    const own = this.standaloneFilters(node.metric, node);
    const leafFilters = filtersOfLeaf(node);
    if (JSON.stringify(leafFilters) !== JSON.stringify([...plan.where, ...JSON.parse(own)])) {
      return `'${node.metric}' is read with filters of another metric (an input filter); its finished value has only its own`;
    }
    if (node.kind === 'conversion' && plan.rowFilters.length) return 'row filters also restrict conversion events, which its finished value did not';
    for (const f of plan.where) {
      const problem = filterProblem(this.graph, f, r, r.dimensions);
      if (problem) return problem;
    }
    return { mode };
  }

  /** The filters the metric's leaf has when it is requested on its own (as the build computed it), as JSON. */
  private standaloneFilters(metric: string, node: PlanNode): string {
    let hit = this.standalone.get(metric);
    if (hit === undefined) {
      const alone = buildPlan(this.graph, parseRequest({ metrics: [metric] })).outputs[0]?.node;
      hit = JSON.stringify(alone && alone.kind === node.kind ? filtersOfLeaf(alone) : null);
      this.standalone.set(metric, hit);
    }
    return hit;
  }
}

function filtersOfLeaf(node: PlanNode): Expression[] {
  switch (node.kind) {
    case 'simple':
    case 'cumulative':
      return node.use.filters;
    case 'conversion':
      return node.base.filters;
    default:
      return [];
  }
}

function short(fingerprint: string): string {
  return fingerprint.slice(0, 12);
}

function useOf(r: BuiltRollup): RollupUse {
  return { name: r.name, table: r.table, builtAt: r.builtAt, version: r.version, commit: r.commit, fingerprint: r.fingerprint, ...(r.warnings?.length ? { warnings: r.warnings } : {}), ...(r.checkedAt ? { checkedAt: r.checkedAt } : {}) };
}
