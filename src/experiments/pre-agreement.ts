/**
 * Pre-agreement: the criteria of an experiment are fixed before it starts. When a primary
 * metric, or any metric, measure or model it computes from, changed in a commit after the start
 * date (git history of metrics/), the readout names that commit, so nobody mistakes a moved
 * goalpost for an effect.
 */
import { execFileSync } from 'node:child_process';
import { dependenciesOf } from '../access/policy.js';
import type { SemanticGraph } from '../definitions/graph.js';
import { DefinitionError } from '../errors.js';
import { type Project, projectFromSources } from '../project.js';
import { revisionSources } from '../review/revisions.js';
import type { ExperimentDef } from './schema.js';

/** A commit after the start that changed what a primary metric computes. */
export interface DefinitionChange {
  commit: string;
  date: string;
  subject: string;
  /** The primary metrics whose definitions (or inputs) changed in it. */
  metrics: string[];
}

/** Keys that change how a definition reads or displays, never a number. */
const DISPLAY_ONLY = new Set(['description', 'owner', 'label', 'format', 'decimals', 'deprecated', 'meta', 'tags']);

const graphAt = new Map<string, SemanticGraph | undefined>();

/** How many commits of metrics/ are examined at most (the newest). */
const MAX_COMMITS = 50;

/**
 * What a metric computes from, as comparable text: its definition and those of every metric,
 * measure and model it reads (descriptions and owners left out; they change no number).
 */
export function definitionFingerprint(graph: SemanticGraph, metric: string): string | undefined {
  if (!graph.metrics.has(metric)) return undefined;
  const { metrics, measures } = dependenciesOf(graph, metric);
  const strip = (o: unknown): unknown => JSON.parse(JSON.stringify(o, (k, v: unknown) => (DISPLAY_ONLY.has(k) ? undefined : v)));
  const models = new Set([...measures].map((m) => graph.measures.get(m)?.model.name ?? ''));
  return JSON.stringify({
    metrics: [...metrics].sort().map((m) => strip(graph.metrics.get(m)?.def)),
    measures: [...measures].sort().map((m) => strip(graph.measures.get(m)?.def)),
    models: [...models].sort().map((m) => strip({ ...graph.models.get(m)?.def, measures: undefined })),
  });
}

/** Commits of metrics/ after the experiment's start that changed one of its primary metrics. */
export function preAgreementChanges(project: Project, def: ExperimentDef): DefinitionChange[] {
  let log: string;
  try {
    log = execFileSync('git', ['log', `--since=${def.start}`, `-n`, String(MAX_COMMITS), '--format=%H%x09%cI%x09%s', '--', 'metrics'], { cwd: project.dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return []; // not a git repository: there is no history to read
  }
  const commits = log.split('\n').filter(Boolean).map((line) => {
    const [commit, date, ...subject] = line.split('\t');
    return { commit, date, subject: subject.join('\t') };
  });
  const load = (commitish: string): SemanticGraph | undefined => {
    // Commits never change, so their definitions are loaded once per process.
    const rev = `${project.dir}\0${commitish}`;
    if (!graphAt.has(rev)) {
      try {
        graphAt.set(rev, projectFromSources(revisionSources(project.dir, commitish)).graph);
      } catch (e) {
        if (!(e instanceof DefinitionError) && !(e instanceof Error)) throw e;
        graphAt.set(rev, undefined);
      }
    }
    return graphAt.get(rev);
  };
  const changes: DefinitionChange[] = [];
  for (const c of commits) {
    const after = load(c.commit);
    const before = load(`${c.commit}^`);
    const changed = def.primary_metrics.filter((m) => {
      const a = after ? definitionFingerprint(after, m) : undefined;
      const b = before ? definitionFingerprint(before, m) : undefined;
      return a !== b;
    });
    if (changed.length) changes.push({ commit: c.commit.slice(0, 12), date: c.date, subject: c.subject, metrics: changed });
  }
  return changes;
}
