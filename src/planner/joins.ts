/**
 * Finds how a metric's model reaches the model that holds a dimension. Only many-to-one and
 * one-to-one hops are followed, so a join never multiplies the measure's rows; a reference that
 * needs a fan-out is refused with the join named, and an ambiguous one names the alternatives.
 */
import type { Dimension, JoinHop, Model, SemanticGraph } from '../definitions/graph.js';
import { TallyError } from '../errors.js';
import { type Reference, timeSpecText } from '../query/references.js';

const MAX_HOPS = 4;

export interface ResolvedColumn {
  hops: JoinHop[];
  /** The model whose projection holds the column. */
  model: Model;
  /** A dimension or entity name of that model. */
  column: string;
  dimension?: Dimension;
}

type Target = Extract<Reference, { kind: 'dimension' | 'entity' }>;

/** Join paths found, per graph, model name and reference text: a path depends only on the model and the reference. */
const resolvedByGraph = new WeakMap<SemanticGraph, { count: number; byModel: Map<string, Map<string, ResolvedColumn>> }>();

export function resolveFrom(graph: SemanticGraph, base: Model, ref: Target, purpose: string): ResolvedColumn {
  let resolved = resolvedByGraph.get(graph);
  if (!resolved) resolvedByGraph.set(graph, (resolved = { count: 0, byModel: new Map() }));
  let ofModel = resolved.byModel.get(base.name);
  if (!ofModel) resolved.byModel.set(base.name, (ofModel = new Map()));
  const hit = ofModel.get(ref.text);
  if (hit) return hit;
  // Failures are not kept: their messages name the purpose that asked.
  const found = findPath(graph, base, ref, purpose);
  if (resolved.count < 100_000) {
    ofModel.set(ref.text, found);
    resolved.count++;
  }
  return found;
}

function findPath(graph: SemanticGraph, base: Model, ref: Target, purpose: string): ResolvedColumn {
  const matches = (model: Model, hops: JoinHop[]): ResolvedColumn | undefined => {
    const path = ref.entityPath;
    const hopEntities = hops.map((h) => h.entity);
    if (ref.kind === 'dimension') {
      const dim = model.dimensions.get(ref.dimension);
      const owner = path[path.length - 1];
      if (!dim || !model.identities.has(owner)) return undefined;
      const ok =
        path.length === 1
          ? hops.length === 0
            ? true
            : hopEntities[hopEntities.length - 1] === owner
          : sameList(hopEntities, path) || (base.identities.has(path[0]) && sameList(hopEntities, path.slice(1)));
      return ok ? { hops, model, column: dim.name, dimension: dim } : undefined;
    }
    const entity = path[path.length - 1];
    if (!model.entities.has(entity)) return undefined;
    const prefix = path.slice(0, -1);
    const ok = path.length === 1 || sameList(hopEntities, prefix) || (base.identities.has(prefix[0]) && sameList(hopEntities, prefix.slice(1)));
    return ok ? { hops, model, column: entity } : undefined;
  };

  let frontier: { model: Model; hops: JoinHop[] }[] = [{ model: base, hops: [] }];
  for (let depth = 0; depth <= MAX_HOPS && frontier.length > 0; depth++) {
    const found = frontier.map((f) => matches(f.model, f.hops)).filter((r): r is ResolvedColumn => r !== undefined);
    if (found.length === 1) return found[0];
    if (found.length > 1) {
      const alternatives = found.map((f) => describePath(base, f, ref));
      throw new TallyError(
        'AMBIGUOUS_JOIN',
        `'${ref.text}' for ${purpose} can be reached in ${found.length} ways: ${alternatives.join('; ')}. Write the path you mean, for example '${explicitRef(found[0], ref)}'`,
      );
    }
    const next: { model: Model; hops: JoinHop[] }[] = [];
    for (const f of frontier) {
      for (const hop of graph.safeHops(f.model)) {
        if (hop.to === base || f.hops.some((h) => h.to === hop.to)) continue;
        next.push({ model: hop.to, hops: [...f.hops, hop] });
      }
    }
    frontier = next;
  }
  const fanOut = findFanOut(graph, base, ref);
  if (fanOut) {
    throw new TallyError(
      'FAN_OUT_JOIN',
      `${purpose} cannot be grouped or filtered by '${ref.text}': it would join ${fanOut.from.name} to ${fanOut.to.name} on '${fanOut.entity}', ` +
        `which is not unique in ${fanOut.to.name}, so each ${fanOut.from.name} row would be counted once per matching ${fanOut.to.name} row. ` +
        `Use a dimension of a model where '${fanOut.entity}' is a primary or unique key, or define a metric on ${fanOut.to.name}.`,
    );
  }
  throw new TallyError(
    'UNKNOWN_DIMENSION',
    `${purpose} (model '${base.name}') has no join path to '${ref.text}'; it can reach the entities ${reachableEntities(graph, base).join(', ')}`,
  );
}

/** A hop on the way to the reference that is unsafe: the first fan-out join a path would need. */
function findFanOut(graph: SemanticGraph, base: Model, ref: Target): JoinHop | undefined {
  const target = ref.entityPath[ref.entityPath.length - 1];
  const wanted = (m: Model): boolean =>
    ref.kind === 'dimension' ? m.dimensions.has(ref.dimension) && (m.identities.has(target) || m.entities.has(target)) : m.entities.has(target);
  let frontier: { model: Model; firstUnsafe?: JoinHop; seen: Set<Model> }[] = [{ model: base, seen: new Set([base]) }];
  for (let depth = 0; depth < MAX_HOPS; depth++) {
    const next: typeof frontier = [];
    for (const f of frontier) {
      const hops = [...graph.safeHops(f.model).map((h) => ({ h, unsafe: false })), ...graph.fanOutHops(f.model).map((h) => ({ h, unsafe: true }))];
      for (const { h, unsafe } of hops) {
        if (f.seen.has(h.to)) continue;
        const firstUnsafe = f.firstUnsafe ?? (unsafe ? h : undefined);
        if (firstUnsafe && wanted(h.to)) return firstUnsafe;
        next.push({ model: h.to, firstUnsafe, seen: new Set([...f.seen, h.to]) });
      }
    }
    frontier = next;
  }
  return undefined;
}

function reachableEntities(graph: SemanticGraph, base: Model): string[] {
  const out = new Set<string>(base.entities.keys());
  let frontier = [base];
  const seen = new Set([base]);
  for (let d = 0; d < MAX_HOPS; d++) {
    const next: Model[] = [];
    for (const m of frontier)
      for (const h of graph.safeHops(m))
        if (!seen.has(h.to)) {
          seen.add(h.to);
          for (const e of h.to.entities.keys()) out.add(e);
          next.push(h.to);
        }
    frontier = next;
  }
  return [...out].sort();
}

function explicitRef(r: ResolvedColumn, ref: Target): string {
  const path = r.hops.map((h) => h.entity);
  if (ref.kind === 'dimension') return [...path, ref.dimension, ...(ref.time ? [timeSpecText(ref.time)] : [])].join('.');
  return [...path, r.column].join('.');
}

function describePath(base: Model, r: ResolvedColumn, ref: Target): string {
  const models = [base.name, ...r.hops.map((h) => `${h.to.name} (on ${h.entity})`)].join(' -> ');
  return `'${explicitRef(r, ref)}' via ${models}`;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
