/**
 * What one request may cost the server: the size and shape of the GraphQL document, the rows of
 * an answer, the time of a query, and how many queries run on the engine at once (more wait in a
 * bounded queue; beyond it, requests are refused with BUSY rather than piling up).
 */
import type { LimitsConfig } from '../access/auth-config.js';
import { TallyError } from '../errors.js';

export interface Limits {
  /** Answers with more rows are refused (TOO_MANY_ROWS); the SQL reads at most one row more. */
  maxRows: number;
  queryTimeoutMs: number;
  maxConcurrentQueries: number;
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
  queryTimeoutMs: 30_000,
  maxConcurrentQueries: 4,
  maxQueuedQueries: 64,
  maxDepth: 10,
  maxAliases: 30,
  maxCost: 5_000,
  maxTokens: 3_000,
  maxBodyBytes: 256 * 1024,
  maxFilterLength: 10_000,
};

export function limitsFromConfig(config: LimitsConfig | undefined): Partial<Limits> {
  if (!config) return {};
  const out: Partial<Limits> = {
    maxRows: config.max_rows,
    queryTimeoutMs: config.query_timeout_ms,
    maxConcurrentQueries: config.max_concurrent_queries,
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

interface Waiter {
  start: () => void;
  fail: (e: Error) => void;
}

/** At most `maxRunning` tasks at once; up to `maxQueued` more wait, each for at most `waitMs`. */
export class QueryGate {
  private running = 0;
  private readonly queue: Waiter[] = [];

  constructor(
    private readonly maxRunning: number,
    private readonly maxQueued: number,
  ) {}

  get stats(): { running: number; queued: number } {
    return { running: this.running, queued: this.queue.length };
  }

  async run<T>(task: () => Promise<T>, waitMs?: number): Promise<T> {
    if (this.running >= this.maxRunning) await this.wait(waitMs);
    else this.running += 1;
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      // The slot passes straight to the next waiter, so nobody can overtake the queue.
      if (next) next.start();
      else this.running -= 1;
    }
  }

  private wait(waitMs: number | undefined): Promise<void> {
    if (this.queue.length >= this.maxQueued) {
      return Promise.reject(
        new TallyError('BUSY', `the server is busy: ${this.running} queries are running and ${this.queue.length} are waiting, the most it queues; retry shortly`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        start: () => {
          clearTimeout(timer);
          resolve();
        },
        fail: reject,
      };
      if (waitMs !== undefined) {
        timer = setTimeout(() => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          reject(new TallyError('BUSY', `the server is busy: the query waited ${waitMs} ms for the engine without its turn coming; retry shortly`));
        }, waitMs);
      }
      this.queue.push(waiter);
    });
  }
}
