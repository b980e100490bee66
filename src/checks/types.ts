/**
 * Data checks: what Tally verifies about the rows under its models. A check is plain data (which
 * model, which kind, which severity) with two functions: `compile` builds its SQL tree through the
 * planner's ScanBuilder (rendered by the same dialects as metrics), and `evaluate` reads the
 * engine's few rows back into a result. Every check reports how many rows or values fail and a few
 * sample keys (LIMIT), never the whole table. One rule per file in rules/, like graphql-js's
 * validation rules; derive.ts lists the checks of a project; runner.ts runs them.
 */
import type { SemanticGraph } from '../definitions/graph.js';
import type { Cell, ResultSet } from '../engines/engine.js';
import type { Statement } from '../sql/ast.js';

export type Severity = 'warn' | 'error';

export type CheckKind =
  | 'unique'
  | 'not_null'
  | 'relationship'
  | 'time_valid'
  | 'accepted_values'
  | 'expression'
  | 'row_count'
  | 'freshness'
  | 'volume'
  | 'anomaly';

/** What a check's SQL is compiled against. */
export interface CheckContext {
  graph: SemanticGraph;
  /** The moment the run started (UTC): "in the future" and freshness are measured against it. */
  now: Date;
  /** How many sample keys a failing check reports. */
  sampleLimit: number;
}

/** What a check found. */
export interface Outcome {
  /** Whether the check failed (then its severity says whether it warns or errors). */
  failed: boolean;
  /** Rows (or key values, for uniqueness) that break the rule; 0 for checks that measure the whole model. */
  failing: bigint;
  /** Rows examined, where the check reports a share (orphans). */
  checked?: bigint;
  /** A measured value: a row count, the newest time (freshness). */
  observed?: string;
  /** A few failing keys (the model's primary entity and the columns checked), at most `sampleLimit`. */
  samples: Record<string, Cell>[];
  /** One sentence for people: what failed, how much, e.g. which keys. */
  message: string;
  /** The severity of this failure where it is not the check's own (freshness past warn_after only). */
  severity?: Severity;
}

export interface Check {
  /** Stable identifier, e.g. `users.unique(user)`: results are kept under it across runs. */
  id: string;
  kind: CheckKind;
  /** The semantic model whose rows are checked (for a metric's check: the model of its first measure). */
  model: string;
  /** The metric, for checks on a metric's values (anomaly). */
  metric?: string;
  severity: Severity;
  /** True for checks Tally derives from the definitions (keys, links, time dimensions). */
  derived: boolean;
  /** What the check asserts, for people: "user (user_id) is unique in users". */
  description: string;
  compile(ctx: CheckContext): Statement;
  evaluate(result: ResultSet, ctx: CheckContext): Outcome;
}

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'error';

/** One check's result in a run. `fail` is a failed error-level check; `error` means it could not run. */
export interface CheckResult {
  id: string;
  kind: CheckKind;
  model: string;
  metric?: string;
  severity: Severity;
  derived: boolean;
  description: string;
  status: CheckStatus;
  failing: bigint;
  checked?: bigint;
  observed?: string;
  samples: Record<string, Cell>[];
  message: string;
  /** The SQL that ran, in the engine's dialect (the audit trail of the check). */
  sql: string;
  durationMs: number;
}

export interface CheckRun {
  id: string;
  /** ISO instants. */
  startedAt: string;
  finishedAt: string;
  /** Version of the definitions the checks came from. */
  version: string;
  engine: string;
  results: CheckResult[];
}
