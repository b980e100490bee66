/**
 * What one request may cost the server: the size and shape of the GraphQL document, the rows of
 * an answer and the periods of the time spines its SQL generates (both estimated from the plan
 * before any SQL runs), the time of a query, and how many queries run on the engine at once. More
 * wait in a bounded, fair queue (no caller holds more than its share of the engine); beyond it,
 * requests are refused with BUSY rather than piling up.
 */
import type { LimitsConfig } from '../access/auth-config.js';
import { GRAIN_ORDER, type Grain } from '../definitions/schema.js';
import { TallyError } from '../errors.js';
import type { Plan } from '../planner/plan.js';
import type { Statement } from '../sql/ast.js';

export interface Limits {
  /** Answers with more rows are refused (TOO_MANY_ROWS); the SQL reads at most one row more. */
  maxRows: number;
  /**
   * Periods of any time spine the SQL would generate (fill-gaps, offsets, cumulative windows),
   * estimated from the request's range and grain before the SQL runs (TOO_EXPENSIVE beyond).
   */
  maxSpinePeriods: number;
  queryTimeoutMs: number;
  maxConcurrentQueries: number;
  /** Engine slots one caller may hold at once; the others stay free for other callers. */
  maxConcurrentQueriesPerCaller: number;
  maxQueuedQueries: number;
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
  maxTokens: number;
  maxBodyBytes: number;
  /** Characters of a `where` filter. */
  maxFilterLength: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxRows: 100_000,
  maxSpinePeriods: 1_000_000,
  queryTimeoutMs: 30_000,
  maxConcurrentQueries: 4,
  maxConcurrentQueriesPerCaller: 3,
  maxQueuedQueries: 64,
  maxDepth: 10,
  maxAliases: 30,
  maxCost: 5_000,
  maxTokens: 3_000,
  maxBodyBytes: 256 * 1024,
  maxFilterLength: 10_000,
};

/** Engine resources (DuckDB): a memory limit such as '2GB' and a thread count; DuckDB's own default where absent. */
export interface EngineLimits {
  memoryLimit?: string;
  threads?: number;
}

/** DuckDB's defaults under Tally: 2 GB (DuckDB's own is 80% of the machine) and every core. */
export const DEFAULT_ENGINE_LIMITS: Required<Pick<EngineLimits, 'memoryLimit'>> = { memoryLimit: '2GB' };

export function limitsFromConfig(config: LimitsConfig | undefined): Partial<Limits> {
  if (!config) return {};
  const out: Partial<Limits> = {
    maxRows: config.max_rows,
    maxSpinePeriods: config.max_spine_periods,
    queryTimeoutMs: config.query_timeout_ms,
    maxConcurrentQueries: config.max_concurrent_queries,
    maxConcurrentQueriesPerCaller: config.max_concurrent_queries_per_caller,
    maxQueuedQueries: config.max_queued_queries,
    maxDepth: config.max_depth,
    maxAliases: config.max_aliases,
    maxCost: config.max_cost,
    maxTokens: config.max_tokens,
    maxBodyBytes: config.max_body_bytes,
    maxFilterLength: config.max_filter_length,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as Partial<Limits>;
}

export function engineLimitsFromConfig(config: LimitsConfig | undefined): EngineLimits {
  return { memoryLimit: config?.engine_memory_limit ?? DEFAULT_ENGINE_LIMITS.memoryLimit, threads: config?.engine_threads };
}

/** Milliseconds of a period at each grain (months, quarters and years at their shortest, so counts are upper bounds). */
const PERIOD_MS: Record<Grain, number> = {
  millisecond: 1,
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
  month: 28 * 86_400_000,
  quarter: 89 * 86_400_000,
  year: 365 * 86_400_000,
};

/** A range open at either end is counted as this long: a time spine over the data may reach that far. */
const OPEN_RANGE_MS = 100 * 365.25 * 86_400_000;

/** The last instant SQL engines print as a four-digit year. */
const LAST_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** A generated series of periods: its grain and, where they are literal times, its first and last period (ms). */
interface Spine {
  grain: Grain;
  start?: number;
  stop?: number;
}

/** A literal time in an expression, or undefined where the time comes from the data. */
function literalTime(expr: unknown): number | undefined {
  const e = expr as { t?: string; value?: { kind?: string; value?: string }; otherwise?: unknown } | undefined;
  if (e?.t === 'literal' && (e.value?.kind === 'timestamp' || e.value?.kind === 'date') && typeof e.value.value === 'string') {
    const t = Date.parse(`${e.value.value.replace(' ', 'T')}Z`);
    return Number.isNaN(t) ? undefined : t;
  }
  // The planner bounds a spine's end by the range: CASE WHEN (no data at the range's end) THEN
  // (the data's last period, which is earlier) ELSE (the range's last period) END.
  if (e?.t === 'case') return literalTime(e.otherwise);
  return undefined;
}

/** The spines (generated series of periods) in a statement. */
function spinesOf(statement: Statement): Spine[] {
  const spines: Spine[] = [];
  const stack: unknown[] = [statement];
  while (stack.length) {
    const node = stack.pop();
    if (Array.isArray(node)) stack.push(...node);
    else if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      if (record.t === 'series' && typeof record.grain === 'string') spines.push({ grain: record.grain as Grain, start: literalTime(record.start), stop: literalTime(record.stop) });
      for (const v of Object.values(record)) if (v && typeof v === 'object') stack.push(v);
    }
  }
  return spines;
}

/** Periods of `grain` in the plan's range (an open range counts as a century), rounded up. */
export function periodsIn(plan: Pick<Plan, 'range'>, grain: Grain): number {
  const { start, end } = plan.range;
  const span = start && end ? Math.max(0, end.getTime() - start.getTime()) : OPEN_RANGE_MS;
  return Math.ceil(span / PERIOD_MS[grain]);
}

/**
 * Refuses, before any SQL runs, a request whose answer or work is bounded only by the engine's
 * time limit: a range beyond year 9999 (INVALID_REQUEST), a time spine of more periods than
 * `maxSpinePeriods` (TOO_EXPENSIVE), and a fill-gaps series whose periods alone are more rows than
 * `maxRows` (TOO_MANY_ROWS). Periods × groups is estimated with one group per period: the spine
 * is the part a request controls with its range and grain; groups are bounded by the data.
 */
export function checkCost(plan: Plan, statement: Statement, limits: Pick<Limits, 'maxRows' | 'maxSpinePeriods'>): void {
  const { start, end } = plan.range;
  // SQL engines write years 0001 to 9999; the range's exclusive end, widened to whole periods,
  // must be one of them too (to: '9999-12-31' at year grain would end at 10000-01-01).
  if ((start && (start.getTime() > LAST_TIME || start.getUTCFullYear() < 1)) || (end && (end.getTime() > LAST_TIME || end.getUTCFullYear() < 1))) {
    throw new TallyError('INVALID_REQUEST', "the time range reaches past the years 0001 to 9999 once widened to whole periods of its grain (the period after '9999-12-31' would be year 10000, which SQL cannot write); end the range in 9999-12-30 or earlier at day grain, in 9998 or earlier at year grain");
  }
  const range = start && end ? 'the requested range' : 'a range open at one end (counted as a century)';
  for (const spine of spinesOf(statement)) {
    // A spine between literal times has a known length; one that runs between the data's first
    // and last times (offsets, windows) may be as long as the data: counted as a century.
    const bounded = spine.start !== undefined && spine.stop !== undefined;
    const periods = bounded ? Math.ceil(Math.max(0, (spine.stop as number) - (spine.start as number)) / PERIOD_MS[spine.grain]) + 1 : Math.ceil(OPEN_RANGE_MS / PERIOD_MS[spine.grain]);
    if (periods > limits.maxSpinePeriods) {
      throw new TallyError(
        'TOO_EXPENSIVE',
        `the request reads a time spine of about ${periods.toLocaleString('en-US')} ${spine.grain} periods over ${bounded ? range : "the data's whole time span (counted as a century)"}, more than the ${limits.maxSpinePeriods.toLocaleString('en-US')} this server generates (limits.max_spine_periods); narrow it with a shorter range (from and to) or a coarser grain`,
      );
    }
  }
  if (plan.fillGaps) {
    for (const key of plan.timeKeys) {
      const grain = key.time?.kind === 'grain' ? key.time.grain : key.time?.kind === 'custom' ? key.time.custom.spine.grain : undefined;
      if (!grain || GRAIN_ORDER[grain] === undefined) continue;
      const periods = periodsIn(plan, grain);
      const rows = plan.limit !== undefined ? Math.min(plan.limit, periods) : periods;
      if (rows > limits.maxRows) {
        throw new TallyError(
          'TOO_MANY_ROWS',
          `with fillGaps the answer has a row for each of about ${periods.toLocaleString('en-US')} ${grain} periods over ${range}, more than the ${limits.maxRows.toLocaleString('en-US')} rows this server returns; narrow it with a shorter range (from and to), a coarser grain or a limit`,
        );
      }
    }
  }
}

interface Waiter {
  caller: string;
  start: () => void;
  fail: (e: Error) => void;
}

/** How one task waits for the gate: for at most `waitMs`, as `caller`, until `signal` aborts. */
export interface GateOptions {
  waitMs?: number;
  /** Who the task is for; tasks of one caller hold at most `maxPerCaller` slots at once. */
  caller?: string;
  signal?: AbortSignal;
}

/**
 * At most `maxRunning` tasks at once, of which at most `maxPerCaller` for any one caller; up to
 * `maxQueued` more wait, each for at most `waitMs`. A free slot goes to the waiting caller that
 * holds the fewest slots (first come among equals), so one caller's many requests — or one
 * document's many aliases — cannot take every slot nor keep the others waiting behind them.
 */
export class QueryGate {
  private running = 0;
  private readonly byCaller = new Map<string, number>();
  private readonly queue: Waiter[] = [];

  constructor(
    private readonly maxRunning: number,
    private readonly maxQueued: number,
    private readonly maxPerCaller = maxRunning,
  ) {}

  get stats(): { running: number; queued: number } {
    return { running: this.running, queued: this.queue.length };
  }

  async run<T>(task: () => Promise<T>, options: number | GateOptions = {}): Promise<T> {
    const { waitMs, caller = '', signal } = typeof options === 'number' ? { waitMs: options } : options;
    if (signal?.aborted) throw new TallyError('QUERY_CANCELLED', 'the request was cancelled before its query started');
    if (this.mayStart(caller)) this.take(caller);
    else await this.wait(caller, waitMs, signal);
    try {
      return await task();
    } finally {
      this.release(caller);
    }
  }

  private mayStart(caller: string): boolean {
    return this.running < this.maxRunning && (this.byCaller.get(caller) ?? 0) < Math.max(1, this.maxPerCaller);
  }

  private take(caller: string): void {
    this.running += 1;
    this.byCaller.set(caller, (this.byCaller.get(caller) ?? 0) + 1);
  }

  private release(caller: string): void {
    this.running -= 1;
    const held = (this.byCaller.get(caller) ?? 1) - 1;
    if (held > 0) this.byCaller.set(caller, held);
    else this.byCaller.delete(caller);
    this.dispatch();
  }

  /** Starts waiters while slots are free: the caller holding the fewest slots first, then arrival. */
  private dispatch(): void {
    for (;;) {
      let best = -1;
      for (let i = 0; i < this.queue.length; i++) {
        const w = this.queue[i];
        if (!this.mayStart(w.caller)) continue;
        if (best < 0 || (this.byCaller.get(w.caller) ?? 0) < (this.byCaller.get(this.queue[best].caller) ?? 0)) best = i;
      }
      if (best < 0) return;
      const [next] = this.queue.splice(best, 1);
      this.take(next.caller);
      next.start();
    }
  }

  private wait(caller: string, waitMs: number | undefined, signal: AbortSignal | undefined): Promise<void> {
    if (this.queue.length >= this.maxQueued) {
      return Promise.reject(
        new TallyError('BUSY', `the server is busy: ${this.running} queries are running and ${this.queue.length} are waiting, the most it queues; retry shortly`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const leave = (e: Error): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(e);
      };
      const onAbort = (): void => leave(new TallyError('QUERY_CANCELLED', 'the request was cancelled while its query waited for the engine'));
      const waiter: Waiter = {
        caller,
        start: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        fail: leave,
      };
      if (waitMs !== undefined) {
        timer = setTimeout(() => leave(new TallyError('BUSY', `the server is busy: the query waited ${waitMs} ms for the engine without its turn coming; retry shortly`)), waitMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
    });
  }
}
