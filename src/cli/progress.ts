/**
 * Progress of long commands (`tally seed`, `tally diff --data`) on stderr, so that stdout stays
 * the answer. On a terminal one line is rewritten in place and cleared at the end; elsewhere
 * (a pipe, CI) nothing is written unless --progress asks for it, then one line per step.
 */

/** Reports steps of one piece of long work. */
export interface Progress {
  /** Step `done` of `total` finished; `what` names it (a table, a metric). */
  step(done: number, total: number, what: string): void;
  /** The work is over: clears the terminal line (no output otherwise). */
  end(): void;
}

/** Where progress goes: process.stderr, or a stand-in in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * A progress reporter for `label` (e.g. 'seed'): in-place on a TTY, one line per step when
 * `forced` (the --progress flag) on anything else, silent otherwise.
 */
export function progressReporter(label: string, options: { forced?: boolean; stream?: ProgressStream } = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const started = Date.now();
  if (!tty && !options.forced) return { step: () => undefined, end: () => undefined };
  const line = (done: number, total: number, what: string): string =>
    `${label}: ${done}/${total} ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`;
  return {
    step: (done, total, what) => {
      stream.write(tty ? `\r\x1b[K${line(done, total, what)}` : `${line(done, total, what)}\n`);
    },
    end: () => {
      if (tty) stream.write('\r\x1b[K');
    },
  };
}
