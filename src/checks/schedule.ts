/**
 * Runs the checks while `tally serve` runs: on the cron schedule in tally.yml
 * (`checks: { schedule: "0 * * * *" }`, croner: a well-kept cron library with time zones and
 * overrun protection) and after a `--watch` reload that changed the definitions. A run that is
 * due while one is still going is skipped, not queued. Results go to the state store, so answers
 * and the health page show them.
 */
import { Cron } from 'croner';
import type { SemanticGraph } from '../definitions/graph.js';
import type { Engine } from '../engines/engine.js';
import { runChecks } from './runner.js';
import type { StateStore } from './state.js';
import type { CheckRun } from './types.js';

export interface SchedulerOptions {
  /** A cron expression (5 or 6 fields); without one, runs happen only on reloads and runNow(). */
  schedule?: string;
  /** IANA zone the schedule is read in (default UTC). */
  timeZone?: string;
  /** The graph being served now (it changes on reloads). */
  graph: () => SemanticGraph;
  engine: Engine;
  store: StateStore;
  /** After each run (e.g. forget cached health). */
  onRun?: (run: CheckRun) => void;
  log?: (line: string) => void;
}

export class CheckScheduler {
  private cron?: Cron;
  private running?: Promise<CheckRun | undefined>;

  constructor(private readonly options: SchedulerOptions) {}

  start(): void {
    if (!this.options.schedule || this.cron) return;
    this.cron = new Cron(this.options.schedule, { timezone: this.options.timeZone ?? 'UTC', protect: true }, () => void this.runNow('schedule'));
  }

  /** When the next scheduled run is due, if there is a schedule. */
  nextRun(): Date | undefined {
    return this.cron?.nextRun() ?? undefined;
  }

  /** Runs the checks now unless a run is going; resolves to the run (undefined when skipped or failed). */
  runNow(reason: string): Promise<CheckRun | undefined> {
    if (this.running) return Promise.resolve(undefined);
    const log = this.options.log ?? (() => undefined);
    this.running = (async () => {
      try {
        const run = await runChecks(this.options.graph(), this.options.engine);
        await this.options.store.saveRun(run);
        this.options.onRun?.(run);
        const bad = run.results.filter((r) => r.status !== 'pass');
        log(`checks (${reason}): ${run.results.length} run, ${bad.length ? `${bad.length} not passing: ${bad.map((r) => `${r.id} ${r.status}`).join(', ')}` : 'all passing'}`);
        return run;
      } catch (e) {
        log(`checks (${reason}) could not run: ${(e as Error).message}`);
        return undefined;
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  stop(): void {
    this.cron?.stop();
    this.cron = undefined;
  }
}
