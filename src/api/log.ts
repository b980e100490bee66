/**
 * The server's log, with pino: one JSON object per line (pino's standard fields: level, time,
 * msg), readable through pino-pretty when standard output is a terminal. Each request is one line
 * (see RequestLog); credentials never appear in it — a caller is named by its key's or token's
 * name, and the engine's own error text is written here and nowhere else.
 */
import { createRequire } from 'node:module';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger };

export const LOG_LEVELS: LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** What one request did, written as one line when its response is sent. */
export interface RequestLog {
  /** A fresh id per request, also sent back in the X-Request-Id header. */
  requestId: string;
  /** The caller's name (an API key's name, a token's subject, 'anonymous' or 'open'); never a credential. */
  caller?: string;
  /** Metrics asked for, over every alias of the document. */
  metrics: string[];
  /** Rows answered, over every alias. */
  rows: number;
  /** Milliseconds spent waiting for and running engine statements. */
  engineMs: number;
  /** Milliseconds from the request's arrival to its response. */
  totalMs?: number;
  /** Whether the whole response, or every answer in it, came from a cache. */
  cacheHit: boolean;
  /** Engine statements run for this request (0 when cached). */
  statements: number;
  status?: number;
  /** The first error's stable code, if any. */
  error?: string;
  /** The engine's own error text (may hold data: only ever logged). */
  engineError?: string;
  /** Why rollups did not answer, where the caller is told only that they did not (a restricted caller). */
  rollupRefusals?: string[];
}

/**
 * A logger at `level` writing to `write` (one JSON line per call) or to standard output, pretty
 * when that is a terminal.
 */
export function createLogger(options: { level?: string; write?: (line: string) => void; pretty?: boolean } = {}): Logger {
  const level = options.level ?? 'info';
  if (options.write) {
    const write = options.write;
    return pino({ level, base: undefined }, { write: (chunk: string) => write(chunk.replace(/\n$/, '')) });
  }
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  // Loaded only for a terminal: start-up stays short for services and tests.
  const prettyStream = pretty ? (createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty) : undefined;
  if (prettyStream) return pino({ level, base: undefined }, prettyStream({ colorize: true, sync: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' }));
  return pino({ level, base: undefined }, pino.destination({ dest: 1, sync: false }));
}
