/**
 * The project-wide settings of the graph: its semantics rule, and its time spines with their
 * custom grains. Each function adds what is valid to the graph and reports what is not.
 */
import type { CustomGrain, ReportProblem, SemanticGraph, TimeSpine } from './graph.js';
import type { LoadedDefinitions } from './load.js';
import { DATE_PARTS, isGrain, type Semantics } from './schema.js';

/** The one semantics rule of the project: the first stated (undefined when none is); a different value elsewhere is a problem. */
export function projectSemantics(rules: LoadedDefinitions['semantics'], at: ReportProblem): Semantics | undefined {
  const [firstRule, ...otherRules] = rules;
  if (!firstRule) return undefined;
  for (const rule of otherRules) {
    if (rule.def !== firstRule.def) at(rule.source, [], `semantics is '${rule.def}' here but '${firstRule.def}' in ${firstRule.source.file}; it is one rule for the whole project, so state the same value (or state it once)`);
  }
  return firstRule.def;
}

/** Adds the time spines (one per grain) and their custom grains, whose names may not be standard grains or date parts. */
export function addTimeSpines(graph: SemanticGraph, spines: LoadedDefinitions['timeSpines'], at: ReportProblem): void {
  for (const { def, source } of spines) {
    if (graph.timeSpines.has(def.grain)) {
      at(source, ['grain'], `there is already a time spine at grain '${def.grain}' (${graph.timeSpines.get(def.grain)?.table}); keep one per grain`);
      continue;
    }
    const spine: TimeSpine = { table: def.table, column: def.column, grain: def.grain, source };
    graph.timeSpines.set(def.grain, spine);
    def.custom_granularities.forEach((c, i) => {
      if (isGrain(c.name) || (DATE_PARTS as readonly string[]).includes(c.name) || c.name.startsWith('extract_')) {
        at(source, ['custom_granularities', i, 'name'], `'${c.name}' is a standard grain or date part; give the custom grain another name`);
      } else if (graph.customGrains.has(c.name)) {
        at(source, ['custom_granularities', i, 'name'], `custom grain '${c.name}' is defined twice`);
      } else {
        const grain: CustomGrain = { name: c.name, spine, column: c.column ?? c.name };
        graph.customGrains.set(c.name, grain);
      }
    });
  }
}
