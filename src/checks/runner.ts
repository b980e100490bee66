/**
 * Runs checks on an engine: each check's SQL tree is rendered in the engine's dialect and run as
 * one statement; its few rows become the result. A check that cannot run (the engine refused its
 * SQL, a timeout) is reported with status `error` and a message that names the check, never the
 * engine's own error text.
 */
import { randomUUID } from 'node:crypto';
import type { SemanticGraph } from '../definitions/graph.js';
import type { Engine } from '../engines/engine.js';
import { TallyError } from '../errors.js';
import { renderStatement } from '../sql/render.js';
import { projectChecks, selectChecks } from './derive.js';
import type { Check, CheckContext, CheckResult, CheckRun, CheckStatus } from './types.js';

export interface RunChecksOptions {
  /** Model or metric names; all checks when absent. */
  select?: string[];
  /** The moment "now" (defaults to the clock), for reproducible runs. */
  now?: Date;
  /** Sample keys per failing check (default 5). */
  sampleLimit?: number;
  /** Per check. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called before each check starts and after the last one (done === total). */
  onProgress?: (done: number, total: number, check?: Check) => void;
}

/** The SQL a check runs on an engine of `dialect`'s kind, as text. */
export function checkSql(check: Check, ctx: CheckContext, dialect: Engine['dialect']): string {
  return `-- Tally check ${check.id}: ${check.description}\n` + renderStatement(check.compile(ctx), dialect);
}

export async function runChecks(graph: SemanticGraph, engine: Engine, options: RunChecksOptions = {}): Promise<CheckRun> {
  const startedAt = new Date();
  const ctx: CheckContext = { graph, now: options.now ?? startedAt, sampleLimit: options.sampleLimit ?? 5 };
  const { checks: all, problems } = projectChecks(graph);
  if (problems.length) throw new TallyError('INVALID_DEFINITION', problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`).join('\n'));
  const checks = selectChecks(graph, all, options.select);
  const results: CheckResult[] = [];
  for (const [i, check] of checks.entries()) {
    options.onProgress?.(i, checks.length, check);
    results.push(await runOne(check, ctx, engine, options));
  }
  options.onProgress?.(checks.length, checks.length);
  return { id: randomUUID(), startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), version: graph.version, engine: engine.name, results };
}

async function runOne(check: Check, ctx: CheckContext, engine: Engine, options: RunChecksOptions): Promise<CheckResult> {
  const started = Date.now();
  const base = { id: check.id, kind: check.kind, model: check.model, ...(check.metric ? { metric: check.metric } : {}), severity: check.severity, derived: check.derived, description: check.description };
  let sql = '';
  try {
    sql = checkSql(check, ctx, engine.dialect);
    const outcome = check.evaluate(await engine.query(sql, { timeoutMs: options.timeoutMs, signal: options.signal }), ctx);
    const severity = outcome.severity ?? check.severity;
    const status: CheckStatus = !outcome.failed ? 'pass' : severity === 'error' ? 'fail' : 'warn';
    return { ...base, status, failing: outcome.failing, checked: outcome.checked, observed: outcome.observed, samples: outcome.samples, message: outcome.message, sql, durationMs: Date.now() - started };
  } catch (e) {
    if (e instanceof TallyError && e.code === 'QUERY_CANCELLED') throw e;
    const why = e instanceof TallyError ? (e.code === 'QUERY_TIMEOUT' ? 'it took longer than the timeout' : e.code === 'ENGINE_ERROR' ? 'the engine refused its SQL (does the table have the columns the model names?)' : e.message) : 'of an internal error';
    return { ...base, status: 'error', failing: 0n, samples: [], message: `check ${check.id} could not run: ${why}`, sql, durationMs: Date.now() - started };
  }
}

/** Whether a run should fail a pipeline: an error-level check failed or a check could not run. */
export function runFailed(run: CheckRun): boolean {
  return run.results.some((r) => r.status === 'fail' || r.status === 'error');
}
