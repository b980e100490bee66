/**
 * A Tally project: its metrics/ definitions, validated into a semantic graph. Loading reports
 * every problem at file:line:col, including filters and formulas that do not resolve.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { accessPolicyOf } from './access/policy.js';
import { experimentProblems } from './experiments/validate.js';
import { lowerPlan } from './planner/lower/index.js';
import { buildPlan } from './planner/plan.js';
import { parseRequest } from './query/request.js';
import { SemanticGraph } from './definitions/graph.js';
import { type LoadedDefinitions, loadDefinitionFiles, loadDefinitionSources, type DefinitionSource, withoutEchoes } from './definitions/load.js';
import { type DefinitionProblem, DefinitionError, TallyError } from './errors.js';
import { collectRefs } from './query/expression.js';
import { parseExpressionCached } from './query/parse-cache.js';
import { projectChecks } from './checks/derive.js';
import { completeRollups, rollupProblems } from './rollups/validate.js';

export interface Project {
  dir: string;
  graph: SemanticGraph;
  /** Content hash of the definitions, plus the git commit when the project is in a repository. */
  version: string;
  commit?: string;
}

export function loadProject(dir: string): Project {
  const metricsDir = existsSync(join(dir, 'metrics')) ? join(dir, 'metrics') : dir;
  if (!existsSync(metricsDir)) throw new TallyError('INVALID_DEFINITION', `no definitions found: '${metricsDir}' does not exist`);
  const graph = buildGraph(loadDefinitionFiles(metricsDir));
  return { dir, graph, version: graph.version, commit: gitCommit(dir) };
}

/** For tests and tools that hold definitions in memory. */
export function projectFromSources(sources: DefinitionSource[]): Project {
  const graph = buildGraph(loadDefinitionSources(sources));
  return { dir: '.', graph, version: graph.version };
}

function buildGraph(definitions: LoadedDefinitions): SemanticGraph {
  let graph: SemanticGraph;
  try {
    graph = new SemanticGraph(definitions);
  } catch (e) {
    // A definition reported invalid where it is defined is not reported again where it is used.
    if (e instanceof DefinitionError) throw new DefinitionError(withoutEchoes(e.problems, definitions.dropped));
    throw e;
  }
  // Access policies (roles, row filters, restrictions) are checked like every other definition.
  // Rollups' dimensions and what they store are read first: the rollup checks below use them.
  const rollupDefinitionProblems = completeRollups(graph);
  const problems = [...checkMetricsCompile(graph), ...accessPolicyOf(graph).problems, ...projectChecks(graph).problems, ...experimentProblems(graph), ...rollupDefinitionProblems, ...rollupProblems(graph)];
  if (problems.length) throw new DefinitionError(problems);
  return graph;
}

/**
 * Compiles every metric alone (and over time, where it has a time axis) so that filters and
 * formulas that name unknown or unreachable dimensions are caught when the project loads,
 * not when someone first asks.
 */
function checkMetricsCompile(graph: SemanticGraph): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  for (const metric of graph.metrics.values()) {
    const def = metric.def;
    const texts: { text: string; path: (string | number)[]; formula: boolean }[] = [];
    if (def.filter) texts.push({ text: def.filter, path: ['filter'], formula: false });
    if (def.type === 'derived') texts.push({ text: def.expr, path: ['expr'], formula: true });
    let broken = false;
    for (const { text, path, formula } of texts) {
      try {
        const expr = parseExpressionCached(text, `metric '${metric.name}'`);
        if (formula) {
          const aliases = def.type === 'derived' ? def.metrics.map((m) => (typeof m === 'string' ? m : (m.alias ?? m.name))) : [];
          for (const ref of collectRefs(expr)) {
            if (!aliases.includes(ref.ref)) {
              problems.push(graph.definitions.problemAt(metric.source, path, `the formula names '${ref.ref}', which is not one of its inputs (${aliases.join(', ')}); add it under 'metrics' or fix the name`));
              broken = true;
            }
          }
        }
      } catch (e) {
        problems.push(graph.definitions.problemAt(metric.source, path, (e as Error).message));
        broken = true;
      }
    }
    if (broken) continue;
    const tryCompile = (groupBy: string[]): TallyError | undefined => {
      try {
        // Planning and lowering resolve every reference; rendering text would add nothing here.
        lowerPlan(graph, buildPlan(graph, parseRequest({ metrics: [metric.name], groupBy })));
        return undefined;
      } catch (e) {
        if (e instanceof TallyError) return e;
        throw e;
      }
    };
    const overTime = tryCompile(['metric_time.day']);
    const alone = overTime ? tryCompile([]) : undefined;
    const error = overTime && alone ? alone : undefined;
    // A metric without a time axis may refuse metric_time; one that fails even alone is broken.
    if (error && error.code !== 'INVALID_REQUEST') {
      problems.push(graph.definitions.problemAt(metric.source, ['name'], `metric '${metric.name}' does not compile: ${error.message}`));
    }
  }
  return problems;
}

function gitCommit(dir: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}
