/**
 * Who may see which number. A caller holds roles (from an API key or a token) and claims (values
 * a role's row filters are bound to). Each role is a complete permission: the metrics it may
 * read (every restriction that applies to a metric names it) and the rows it may see (its row
 * filters, all of which must hold). A caller with several roles gets what any one of them allows,
 * like Postgres's permissive policies: a request is answered under the roles that may read every
 * metric it uses, and sees the rows that any of those roles may see.
 *
 * Row filters are Expression trees with the claims bound as literals; the compiler applies them
 * before aggregation to every leaf of every metric, to conversion events, and to metrics used in
 * filters. A role whose row filters cannot be applied to a metric (its model does not reach the
 * filtered dimension) does not get that metric: refused, never answered over rows it should not see.
 */
import { compileRequest } from '../compile.js';
import type { SemanticGraph } from '../definitions/graph.js';
import { TallyError } from '../errors.js';
import type { Expression } from '../query/expression.js';
import { parseExpressionCached } from '../query/parse-cache.js';
import { parseRequest, type RequestInput } from '../query/request.js';
import { resolveSavedQuery } from '../query/saved-query.js';
import { type AccessPolicy, bindRowFilters, dependenciesOf, metricsInFilter, type Role } from './policy.js';

export interface Caller {
  /** Who is asking, for logs and messages: an API key's name, a token's subject, 'anonymous'. */
  id: string;
  via: 'anonymous' | 'api_key' | 'jwt' | 'trusted';
  roles: string[];
  claims: Record<string, unknown>;
  /** Policies do not apply (the library's default, and the demo without tally.yml). */
  unrestricted?: boolean;
}

export const TRUSTED_CALLER: Caller = { id: 'trusted', via: 'trusted', roles: [], claims: {}, unrestricted: true };

export class AccessControl {
  /** Whether a role's row filters can be applied to a metric, per role and metric. */
  private readonly applicable = new Map<string, boolean>();
  private readonly restrictionsByMetric = new Map<string, { roles: string[] }[]>();

  constructor(
    private readonly graph: SemanticGraph,
    readonly policy: AccessPolicy | undefined,
  ) {}

  /**
   * The row filters a request must be compiled with for this caller, or FORBIDDEN with the
   * reason. `filters` are the request's structured filters (they may use metrics too).
   */
  authorize(caller: Caller, input: RequestInput, filters: Expression[] = []): Expression[] {
    const policy = this.policy;
    if (!policy || caller.unrestricted) return [];
    const roles = this.rolesOf(caller);
    const metrics = this.metricsUsed(input, filters);
    const reasons: string[] = [];
    const serving: { role: Role; expr?: Expression }[] = [];
    for (const role of roles) {
      const bound = bindRowFilters(role, caller.claims);
      if (bound.missing) {
        reasons.push(`role '${role.name}' sees only the rows of the caller's '${bound.missing}' claim, which these credentials do not carry (or it is not a string, number or boolean)`);
        continue;
      }
      const refused = metrics.map((m) => this.refusal(role, m)).find((r) => r !== undefined);
      if (refused) reasons.push(refused);
      else serving.push({ role, expr: bound.expr });
    }
    if (serving.length === 0) {
      throw new TallyError('FORBIDDEN', `not allowed: ${reasons.join('; ')}`);
    }
    if (serving.some((s) => s.expr === undefined)) return [];
    const exprs = serving.map((s) => s.expr as Expression);
    return [exprs.length === 1 ? exprs[0] : { kind: 'or', args: exprs }];
  }

  /** The metrics this caller may query; undefined when every metric is. */
  visibleMetrics(caller: Caller): Set<string> | undefined {
    if (!this.policy || caller.unrestricted) return undefined;
    const roles = this.rolesOf(caller, false).filter((r) => !bindRowFilters(r, caller.claims).missing);
    return new Set([...this.graph.metrics.keys()].filter((m) => roles.some((r) => this.refusal(r, m) === undefined)));
  }

  private rolesOf(caller: Caller, strict = true): Role[] {
    const policy = this.policy as AccessPolicy;
    const roles = caller.roles.flatMap((r) => policy.roles.get(r) ?? []);
    if (roles.length === 0 && strict) {
      throw new TallyError(
        'FORBIDDEN',
        caller.roles.length
          ? `not allowed: none of the roles of '${caller.id}' (${caller.roles.join(', ')}) is defined in the access policy`
          : `not allowed: '${caller.id}' has no role; the access policy gives access by role`,
      );
    }
    return roles;
  }

  /** The metrics a request reads: those it asks for and those its filters use. */
  private metricsUsed(input: RequestInput, filters: Expression[]): string[] {
    const request = resolveSavedQuery(this.graph, parseRequest(input));
    const out = new Set(request.metrics);
    const exprs = [...(request.where?.trim() ? [parseExpressionCached(request.where, 'where')] : []), ...filters];
    for (const e of exprs) for (const m of metricsInFilter(this.graph, e)) out.add(m);
    return [...out].filter((m) => this.graph.metrics.has(m));
  }

  /** Why a role may not read a metric; undefined when it may. */
  private refusal(role: Role, metric: string): string | undefined {
    const missing = this.restrictionsOf(metric).find((r) => !r.roles.includes(role.name));
    if (missing) return `metric '${metric}' is restricted to the role${missing.roles.length > 1 ? 's' : ''} ${missing.roles.join(', ')}`;
    if (!this.rowFiltersApply(role, metric)) {
      return `metric '${metric}' cannot be limited to the rows role '${role.name}' may see (its data does not reach the dimensions of that role's row filters), so that role may not read it`;
    }
    return undefined;
  }

  private restrictionsOf(metric: string): { roles: string[] }[] {
    let out = this.restrictionsByMetric.get(metric);
    if (!out) {
      const deps = dependenciesOf(this.graph, metric);
      out = (this.policy?.restrictions ?? []).filter((r) => r.metrics.some((m) => deps.metrics.has(m)) || r.measures.some((m) => deps.measures.has(m)));
      this.restrictionsByMetric.set(metric, out);
    }
    return out;
  }

  /** Whether a metric compiles with the role's row filters wherever it compiles without them. */
  private rowFiltersApply(role: Role, metric: string): boolean {
    if (role.rowFilters.length === 0) return true;
    const key = `${role.name}\0${metric}`;
    const known = this.applicable.get(key);
    if (known !== undefined) return known;
    // Claim values do not change where a filter can be applied: any value stands in for them.
    const placeholder = bindRowFilters(role, 'placeholder').expr;
    const compiles = (groupBy: string[], rowFilters: Expression[]): boolean => {
      try {
        compileRequest(this.graph, { metrics: [metric], groupBy }, { rowFilters });
        return true;
      } catch (e) {
        if (e instanceof TallyError) return false;
        throw e;
      }
    };
    const groupBy = compiles(['metric_time.day'], []) ? ['metric_time.day'] : compiles([], []) ? [] : undefined;
    const ok = groupBy === undefined || placeholder === undefined || compiles(groupBy, [placeholder]);
    this.applicable.set(key, ok);
    return ok;
  }
}
