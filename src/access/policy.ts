/**
 * Access policies read from the definitions' `access:` sections: roles with their row filters,
 * and restrictions of metrics (and measures) to roles. Every problem is reported at
 * file:line:col like the rest of metrics/. A restriction follows a metric into everything computed
 * from it: a ratio or derived metric on a restricted metric is restricted the same way, and so is
 * a metric whose filter uses it (`user.revenue > 100`).
 */
import type { SemanticGraph } from '../definitions/graph.js';
import type { SourceRef } from '../definitions/load.js';
import { measureInputName, type MetricDef } from '../definitions/schema.js';
import { type DefinitionProblem, didYouMean } from '../errors.js';
import { collectRefs, type Expression, type Literal } from '../query/expression.js';
import { NUMBER_PATTERN } from '../query/parse-expression.js';
import { parseExpressionCached } from '../query/parse-cache.js';
import { parseReference } from '../query/references.js';
import type { RowFilterDef } from '../definitions/access-schema.js';

/** A row filter of a role: fixed, or waiting for the value of one of the caller's claims. */
export type RowFilter = { kind: 'fixed'; expr: Expression } | { kind: 'claim'; dimension: string; claim: string };

export interface Role {
  name: string;
  description?: string;
  /** All must hold; none means every row. */
  rowFilters: RowFilter[];
  source: SourceRef;
}

export interface Restriction {
  metrics: string[];
  measures: string[];
  roles: string[];
}

export interface AccessPolicy {
  roles: Map<string, Role>;
  restrictions: Restriction[];
}

/** The policy of a graph's definitions; undefined when they have no `access:` section. */
export function accessPolicyOf(graph: SemanticGraph): { policy?: AccessPolicy; problems: DefinitionProblem[] } {
  const sections = graph.definitions.access;
  if (sections.length === 0) return { problems: [] };
  const problems: DefinitionProblem[] = [];
  const at = (source: SourceRef, sub: (string | number)[], message: string): void => {
    problems.push(graph.definitions.problemAt(source, sub, message));
  };
  const roles = new Map<string, Role>();
  const restrictions: Restriction[] = [];
  for (const { def, source } of sections) {
    def.roles.forEach((r, i) => {
      const where: SourceRef = { file: source.file, path: [...source.path, 'roles', i] };
      if (roles.has(r.name)) {
        at(where, ['name'], `role '${r.name}' is defined twice; keep one definition per role`);
        return;
      }
      const rowFilters: RowFilter[] = [];
      r.row_filters.forEach((f, j) => {
        const filter = rowFilter(graph, f, (sub, message) => at(where, ['row_filters', j, ...sub], message));
        if (filter) rowFilters.push(filter);
      });
      roles.set(r.name, { name: r.name, description: r.description, rowFilters, source: where });
    });
  }
  for (const { def, source } of sections) {
    def.restricted.forEach((r, i) => {
      const where: SourceRef = { file: source.file, path: [...source.path, 'restricted', i] };
      r.metrics.forEach((m, j) => {
        if (!graph.metrics.has(m)) at(where, ['metrics', j], `unknown metric '${m}'.${didYouMean(m, graph.metrics.keys())}`);
      });
      r.measures.forEach((m, j) => {
        if (!graph.measures.has(m)) at(where, ['measures', j], `unknown measure '${m}'.${didYouMean(m, graph.measures.keys())}`);
      });
      r.roles.forEach((role, j) => {
        if (!roles.has(role)) at(where, ['roles', j], `unknown role '${role}'.${didYouMean(role, roles.keys())} Roles are declared under access.roles`);
      });
      restrictions.push({ metrics: r.metrics, measures: r.measures, roles: r.roles });
    });
  }
  return { policy: { roles, restrictions }, problems };
}

function rowFilter(graph: SemanticGraph, def: RowFilterDef, problem: (sub: (string | number)[], message: string) => void): RowFilter | undefined {
  if ('filter' in def) {
    try {
      const expr = parseExpressionCached(def.filter, 'a row filter');
      for (const ref of collectRefs(expr)) {
        const parsed = parseReference(graph, ref.ref);
        if (parsed.kind === 'metric') {
          problem(['filter'], `a row filter cannot use a metric ('${ref.ref}'); filter on dimensions`);
          return undefined;
        }
      }
      return { kind: 'fixed', expr };
    } catch (e) {
      problem(['filter'], (e as Error).message);
      return undefined;
    }
  }
  try {
    const ref = parseReference(graph, def.dimension);
    if (ref.kind !== 'dimension' && ref.kind !== 'entity') {
      problem(['dimension'], `'${def.dimension}' is not a dimension or an entity; name one such as user.country`);
      return undefined;
    }
  } catch (e) {
    problem(['dimension'], (e as Error).message);
    return undefined;
  }
  if (def.claim !== undefined) return { kind: 'claim', dimension: def.dimension, claim: def.claim };
  return { kind: 'fixed', expr: membership(def.dimension, (def.values ?? []).map(valueOf)) };
}

/**
 * A role's row filters with the caller's claims bound as literals in the tree (never as text):
 * undefined when the role sees every row; `missing` names a claim the caller lacks.
 */
export function bindRowFilters(role: Role, claims: Record<string, unknown> | 'placeholder'): { expr?: Expression; missing?: string } {
  const parts: Expression[] = [];
  for (const f of role.rowFilters) {
    if (f.kind === 'fixed') {
      parts.push(f.expr);
      continue;
    }
    const values = claims === 'placeholder' ? [valueOf('x')] : claimValues(claims, f.claim);
    if (!values) return { missing: f.claim };
    parts.push(membership(f.dimension, values));
  }
  if (parts.length === 0) return {};
  return { expr: parts.length === 1 ? parts[0] : { kind: 'and', args: parts } };
}

/** The values a claim holds: a string, number or boolean, or a list of them. */
function claimValues(claims: Record<string, unknown>, path: string): Expression[] | undefined {
  let value: unknown = claims;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  const list = Array.isArray(value) ? value : [value];
  const out: Expression[] = [];
  for (const v of list) {
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) {
      out.push(valueOf(v));
    } else return undefined;
  }
  return out;
}

/** A value as a literal of the tree: it is data to the SQL renderer, never text to parse. */
function valueOf(v: string | number | boolean): Expression {
  const lit = (literal: Literal): Expression => ({ kind: 'literal', literal });
  if (typeof v === 'string') return lit({ kind: 'string', value: v });
  if (typeof v === 'boolean') return lit({ kind: 'boolean', value: v });
  // Numbers print as plain decimals (1e21 would not): beyond that, compare as text.
  const text = String(Math.abs(v));
  if (!NUMBER_PATTERN.test(text) || /e/i.test(text)) return lit({ kind: 'string', value: String(v) });
  const number = lit({ kind: 'number', text });
  return v < 0 ? { kind: 'negate', arg: number } : number;
}

/** `dimension IN (values)`; an empty list matches nothing. */
function membership(dimension: string, list: Expression[]): Expression {
  const ref: Expression = { kind: 'ref', ref: dimension, position: 0 };
  if (list.length === 0) return { kind: 'literal', literal: { kind: 'boolean', value: false } };
  return list.length === 1 ? { kind: 'comparison', op: '=', left: ref, right: list[0] } : { kind: 'in', arg: ref, list, negated: false };
}

/** Every metric and measure a metric is computed from, itself included, through inputs and filters. */
export function dependenciesOf(graph: SemanticGraph, name: string): { metrics: Set<string>; measures: Set<string> } {
  const metrics = new Set<string>();
  const measures = new Set<string>();
  const visit = (metric: string): void => {
    const def = graph.metrics.get(metric)?.def;
    if (!def || metrics.has(metric)) return;
    metrics.add(metric);
    for (const m of measuresOf(def)) measures.add(m);
    for (const input of inputsOf(def)) visit(input);
    for (const text of filterTexts(def)) for (const used of metricsInFilter(graph, text)) visit(used);
  };
  visit(name);
  return { metrics, measures };
}

/** Metrics per entity used in a filter (`user.revenue > 100`). */
export function metricsInFilter(graph: SemanticGraph, text: string | Expression): string[] {
  let expr: Expression;
  try {
    expr = typeof text === 'string' ? parseExpressionCached(text, 'a filter') : text;
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const ref of collectRefs(expr)) {
    try {
      const parsed = parseReference(graph, ref.ref);
      if (parsed.kind === 'metric') out.push(parsed.metric);
    } catch {
      // an unknown reference is reported when the request is compiled
    }
  }
  return out;
}

function measuresOf(def: MetricDef): string[] {
  switch (def.type) {
    case 'simple':
    case 'cumulative':
      return [measureInputName(def.measure)];
    case 'conversion':
      return [measureInputName(def.base_measure), measureInputName(def.conversion_measure)];
    default:
      return [];
  }
}

function inputsOf(def: MetricDef): string[] {
  const n = (i: string | { name: string }): string => (typeof i === 'string' ? i : i.name);
  if (def.type === 'ratio') return [n(def.numerator), n(def.denominator)];
  if (def.type === 'derived') return def.metrics.map(n);
  return [];
}

function filterTexts(def: MetricDef): string[] {
  const out: string[] = [];
  if (def.filter) out.push(def.filter);
  const add = (input: unknown): void => {
    if (input && typeof input === 'object' && 'filter' in input && typeof input.filter === 'string') out.push(input.filter);
  };
  if (def.type === 'simple' || def.type === 'cumulative') add(def.measure);
  if (def.type === 'conversion') {
    add(def.base_measure);
    add(def.conversion_measure);
  }
  if (def.type === 'ratio') {
    add(def.numerator);
    add(def.denominator);
  }
  if (def.type === 'derived') def.metrics.forEach(add);
  return out;
}
