/**
 * Dotted references: `metric_time.month`, `user.country`, `order.user.country` (an explicit join
 * path), `user.signed_up_at.month` (a time dimension at a grain) and `user` (an entity's key).
 * Parsing checks the names against the graph; which model and join path serve a reference depends
 * on the metric asking, and is decided by the planner.
 */
import { type CustomGrain, metricInputs, type Model, type SemanticGraph } from '../definitions/graph.js';
import { DATE_PARTS, type DatePart, GRAINS, type Grain, isGrain } from '../definitions/schema.js';
import { nearestReferences, TallyError } from '../errors.js';

/**
 * How a time is bucketed: truncated to a standard grain (`.month`), mapped to a custom grain of a
 * time spine (`.fiscal_quarter`), or reduced to a date part (`.extract_dow`, ISO: Monday is 1).
 */
export type TimeSpec = { kind: 'grain'; grain: Grain } | { kind: 'custom'; custom: CustomGrain } | { kind: 'part'; part: DatePart };

export type Reference =
  | { kind: 'metric_time'; text: string; time?: TimeSpec }
  | { kind: 'dimension'; text: string; entityPath: string[]; dimension: string; time?: TimeSpec; isTime: boolean }
  | { kind: 'entity'; text: string; entityPath: string[] }
  /** A metric grouped by an entity, usable in filters: `listing.bookings` (bookings per listing). */
  | { kind: 'metric'; text: string; entityPath: string[]; metric: string };

export function timeSpecText(spec: TimeSpec): string {
  return spec.kind === 'grain' ? spec.grain : spec.kind === 'custom' ? spec.custom.name : `extract_${spec.part}`;
}

/** `month`, `fiscal_quarter` or `extract_dow` as the last part of a reference. */
function timeSpec(graph: SemanticGraph, word: string): TimeSpec | undefined {
  if (isGrain(word)) return { kind: 'grain', grain: word };
  const custom = graph.customGrains.get(word);
  if (custom) return { kind: 'custom', custom };
  const part = word.startsWith('extract_') ? word.slice('extract_'.length) : undefined;
  if (part && (DATE_PARTS as readonly string[]).includes(part)) return { kind: 'part', part: part as DatePart };
  return undefined;
}

/** Parsed references per graph: the same few references are asked for again and again. */
const parsedByGraph = new WeakMap<SemanticGraph, Map<string, Reference>>();

export function parseReference(graph: SemanticGraph, text: string): Reference {
  let parsed = parsedByGraph.get(graph);
  if (!parsed) parsedByGraph.set(graph, (parsed = new Map()));
  const hit = parsed.get(text);
  if (hit) return hit;
  const ref = parseReferenceUncached(graph, text);
  if (parsed.size < 10_000) parsed.set(text, ref);
  return ref;
}

function parseReferenceUncached(graph: SemanticGraph, text: string): Reference {
  const parts = text.split('.');
  if (parts.some((p) => !/^[a-z_][a-z0-9_]*$/i.test(p))) {
    throw unknown(graph, text, `'${text}' is not a reference; write entity.dimension, like 'user.country' or 'metric_time.month'`);
  }
  if (parts[0] === 'metric_time') {
    if (parts.length === 1) return { kind: 'metric_time', text };
    const spec = parts.length === 2 ? timeSpec(graph, parts[1]) : undefined;
    if (spec) return { kind: 'metric_time', text, time: spec };
    throw unknown(graph, text, `'${text}': metric_time takes a grain: ${[...GRAINS, ...graph.customGrains.keys()].map((g) => `metric_time.${g}`).join(', ')}, or a date part such as metric_time.extract_dow`);
  }
  let time: TimeSpec | undefined;
  let names = parts;
  const lastSpec = parts.length >= 3 ? timeSpec(graph, parts[parts.length - 1]) : undefined;
  if (lastSpec && isTimeDimensionName(graph, parts[parts.length - 2])) {
    time = lastSpec;
    names = parts.slice(0, -1);
  }
  const isEntity = (n: string): boolean => graph.entityOwners.has(n) || entityNames(graph).has(n);
  if (names.every(isEntity)) return { kind: 'entity', text, entityPath: names };
  const entityPath = names.slice(0, -1);
  const dimension = names[names.length - 1];
  const badEntity = entityPath.find((e) => !isEntity(e));
  if (entityPath.length === 0 && graph.metrics.has(dimension)) {
    const perEntity = metricReferences(graph).filter((r) => r.endsWith(`.${text}`));
    const hint = perEntity.length ? ` Did you mean ${perEntity.map((r) => `'${r}'`).join(' or ')}?` : '';
    throw new TallyError('UNKNOWN_DIMENSION', `'${text}' is a metric, not a dimension: a filter compares a metric per entity, such as '<entity>.${text} > 1'.${hint}`);
  }
  if (entityPath.length === 0 || badEntity !== undefined) {
    throw unknown(graph, text, `unknown ${entityPath.length === 0 ? 'dimension' : 'entity'} in '${text}'.`);
  }
  const owner = entityPath[entityPath.length - 1];
  const dims = (graph.entityOwners.get(owner) ?? []).flatMap((m) => [...m.dimensions.values()]).filter((d) => d.name === dimension);
  if (dims.length === 0) {
    if (!time && graph.metrics.has(dimension)) return { kind: 'metric', text, entityPath, metric: dimension };
    throw unknown(graph, text, `unknown dimension '${dimension}' of entity '${owner}' in '${text}'.`);
  }
  const isTime = dims.some((d) => d.type === 'time');
  if (time && !isTime) throw unknown(graph, text, `'${owner}.${dimension}' is not a time dimension, so it takes no grain`);
  return { kind: 'dimension', text, entityPath, dimension, time, isTime };
}

/** Every reference a user could write for a group-by (without explicit paths), for suggestions. */
export function knownReferences(graph: SemanticGraph): string[] {
  const out = new Set<string>(GRAINS.map((g) => `metric_time.${g}`));
  for (const model of graph.models.values()) {
    for (const id of model.identities) {
      out.add(id);
      for (const d of model.dimensions.values()) out.add(`${id}.${d.name}`);
    }
  }
  return [...out].sort();
}

/**
 * Metrics per entity (`listing.bookings`) that a filter can compare: each metric by each entity
 * that every model it aggregates has, other than a model's own primary key (a per-row count).
 */
export function metricReferences(graph: SemanticGraph): string[] {
  const out: string[] = [];
  for (const name of graph.metrics.keys()) {
    const models = leafModels(graph, name, new Set());
    if (models.length === 0) continue;
    const perModel = models.map((m) => new Set([...m.entities.values()].filter((e) => e.type !== 'primary').map((e) => e.name)));
    for (const entity of perModel[0]) if (perModel.every((s) => s.has(entity))) out.push(`${entity}.${name}`);
  }
  return out.sort();
}

/** The models whose measures a metric aggregates, through ratios and derived metrics. */
function leafModels(graph: SemanticGraph, name: string, seen: Set<string>): Model[] {
  const metric = graph.metrics.get(name);
  if (!metric || seen.has(name)) return [];
  seen.add(name);
  const def = metric.def;
  const measureName = def.type === 'simple' || def.type === 'cumulative' ? def.measure : def.type === 'conversion' ? def.base_measure : undefined;
  if (measureName !== undefined) {
    const measure = graph.measures.get(typeof measureName === 'string' ? measureName : measureName.name);
    return measure ? [measure.model] : [];
  }
  return metricInputs(def).flatMap((input) => leafModels(graph, input, seen));
}

function unknown(graph: SemanticGraph, text: string, message: string): TallyError {
  const near = nearestReferences(text, [...knownReferences(graph), ...metricReferences(graph)]);
  const hint = near.length ? ` Did you mean ${near.map((n) => `'${n}'`).join(' or ')}?` : '';
  return new TallyError('UNKNOWN_DIMENSION', `${message}${hint}`);
}

function isTimeDimensionName(graph: SemanticGraph, name: string): boolean {
  for (const m of graph.models.values()) if (m.dimensions.get(name)?.type === 'time') return true;
  return false;
}

const entityNamesByGraph = new WeakMap<SemanticGraph, Set<string>>();
function entityNames(graph: SemanticGraph): Set<string> {
  let out = entityNamesByGraph.get(graph);
  if (!out) {
    out = new Set<string>();
    for (const m of graph.models.values()) for (const e of m.entities.keys()) out.add(e);
    entityNamesByGraph.set(graph, out);
  }
  return out;
}
