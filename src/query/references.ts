/**
 * Dotted references: `metric_time.month`, `user.country`, `order.user.country` (an explicit join
 * path), `user.signed_up_at.month` (a time dimension at a grain) and `user` (an entity's key).
 * Parsing checks the names against the graph; which model and join path serve a reference depends
 * on the metric asking, and is decided by the planner.
 */
import type { SemanticGraph } from '../definitions/graph.js';
import { GRAINS, type Grain } from '../definitions/schema.js';
import { didYouMean, TallyError } from '../errors.js';

export type Reference =
  | { kind: 'metric_time'; text: string; grain?: Grain }
  | { kind: 'dimension'; text: string; entityPath: string[]; dimension: string; grain?: Grain; isTime: boolean }
  | { kind: 'entity'; text: string; entityPath: string[] };

export function parseReference(graph: SemanticGraph, text: string): Reference {
  const parts = text.split('.');
  if (parts.some((p) => !/^[a-z_][a-z0-9_]*$/i.test(p))) {
    throw unknown(graph, text, `'${text}' is not a reference; write entity.dimension, like 'user.country' or 'metric_time.month'`);
  }
  if (parts[0] === 'metric_time') {
    if (parts.length === 1) return { kind: 'metric_time', text };
    if (parts.length === 2 && isGrain(parts[1])) return { kind: 'metric_time', text, grain: parts[1] };
    throw unknown(graph, text, `'${text}': metric_time takes a grain: ${GRAINS.map((g) => `metric_time.${g}`).join(', ')}`);
  }
  let grain: Grain | undefined;
  let names = parts;
  const last = parts[parts.length - 1];
  if (parts.length >= 3 && isGrain(last) && isTimeDimensionName(graph, parts[parts.length - 2])) {
    grain = last;
    names = parts.slice(0, -1);
  }
  const isEntity = (n: string): boolean => graph.entityOwners.has(n) || entityNames(graph).has(n);
  if (names.every(isEntity)) return { kind: 'entity', text, entityPath: names };
  const entityPath = names.slice(0, -1);
  const dimension = names[names.length - 1];
  const badEntity = entityPath.find((e) => !isEntity(e));
  if (entityPath.length === 0 || badEntity !== undefined) {
    throw unknown(graph, text, `unknown ${entityPath.length === 0 ? 'dimension' : 'entity'} in '${text}'.`);
  }
  const owner = entityPath[entityPath.length - 1];
  const dims = (graph.entityOwners.get(owner) ?? []).flatMap((m) => [...m.dimensions.values()]).filter((d) => d.name === dimension);
  if (dims.length === 0) throw unknown(graph, text, `unknown dimension '${dimension}' of entity '${owner}' in '${text}'.`);
  const isTime = dims.some((d) => d.type === 'time');
  if (grain && !isTime) throw unknown(graph, text, `'${owner}.${dimension}' is not a time dimension, so it takes no grain`);
  return { kind: 'dimension', text, entityPath, dimension, grain, isTime };
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

function unknown(graph: SemanticGraph, text: string, message: string): TallyError {
  return new TallyError('UNKNOWN_DIMENSION', `${message}${didYouMean(text, knownReferences(graph))}`);
}

function isGrain(s: string): s is Grain {
  return (GRAINS as readonly string[]).includes(s);
}

function isTimeDimensionName(graph: SemanticGraph, name: string): boolean {
  for (const m of graph.models.values()) if (m.dimensions.get(name)?.type === 'time') return true;
  return false;
}

function entityNames(graph: SemanticGraph): Set<string> {
  const out = new Set<string>();
  for (const m of graph.models.values()) for (const e of m.entities.keys()) out.add(e);
  return out;
}
