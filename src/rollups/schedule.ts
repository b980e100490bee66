/**
 * Refreshes rollups on their schedules while a server runs: each rollup's `refresh.schedule`, a
 * cron expression or the name of one under tally.yml's `rollups: { schedules: … }` (croner, as the
 * data checks' schedule in src/checks/schedule.ts). A refresh that is due while one is still going
 * is skipped, not queued. Each refresh is an incremental build into the project's store
 * (buildRollups), published when done; `onBuilt` tells the server, which then reads the new store.
 */
import { Cron } from 'croner';
import type { Engine } from '../engines/engine.js';
import { didYouMean, TallyError } from '../errors.js';
import type { Project } from '../project.js';
import { buildRollups, type BuildOptions } from './build.js';
import type { BuiltRollup, RollupDefinition } from './types.js';

export interface RollupSchedulerOptions {
  /** The project being served now (it changes on reloads). */
  project: () => Project;
  engine: Engine;
  /** tally.yml's named schedules (TallyConfig.rollupSchedules). */
  schedules?: Record<string, string>;
  /** IANA zone the schedules are read in (default UTC). */
  timeZone?: string;
  /** Where to build (default: the project's store, published after each refresh); see BuildOptions.store. */
  store?: BuildOptions['store'];
  /** After each refresh, with its build records. */
  onBuilt?: (records: BuiltRollup[]) => void;
  log?: (line: string) => void;
}

/**
 * The cron expression of a rollup's schedule: the text itself when it is one (it has fields), else
 * the tally.yml schedule it names. Throws INVALID_DEFINITION for an unknown name, nearest suggested.
 */
export function rollupCron(rollup: RollupDefinition, schedules: Record<string, string> = {}): string | undefined {
  const schedule = rollup.refresh.schedule?.trim();
  if (schedule === undefined || /\s/.test(schedule)) return schedule;
  const cron = schedules[schedule];
  if (cron === undefined) {
    throw new TallyError(
      'INVALID_DEFINITION',
      `${rollup.source.file}:${rollup.source.line}:${rollup.source.col}: rollup '${rollup.name}' is refreshed on schedule '${schedule}', which tally.yml does not define.${didYouMean(schedule, Object.keys(schedules))} Define it under rollups: { schedules: { ${schedule}: "0 * * * *" } } or write a cron expression`,
    );
  }
  return cron;
}

export class RollupScheduler {
  private readonly crons: Cron[] = [];
  private running?: Promise<BuiltRollup[] | undefined>;

  constructor(private readonly options: RollupSchedulerOptions) {}

  /** Starts a cron per schedule (rollups sharing one refresh together); checks every schedule first. */
  start(): void {
    if (this.crons.length) return;
    const byCron = new Map<string, string[]>();
    for (const rollup of this.options.project().graph.rollups.values()) {
      const cron = rollupCron(rollup, this.options.schedules);
      if (cron !== undefined) byCron.set(cron, [...(byCron.get(cron) ?? []), rollup.name]);
    }
    for (const [cron, names] of byCron) {
      this.crons.push(new Cron(cron, { timezone: this.options.timeZone ?? 'UTC', protect: true }, () => void this.refreshNow(names, `schedule ${cron}`)));
    }
  }

  /** When the next scheduled refresh is due, if there is one. */
  nextRun(): Date | undefined {
    const next = this.crons.map((c) => c.nextRun()).filter((d): d is Date => d instanceof Date);
    return next.sort((a, b) => a.getTime() - b.getTime())[0];
  }

  /** Refreshes these rollups (all when absent) now unless a refresh is going; resolves to the records (undefined when skipped or failed). */
  refreshNow(names?: string[], reason = 'asked'): Promise<BuiltRollup[] | undefined> {
    if (this.running) return Promise.resolve(undefined);
    const log = this.options.log ?? (() => undefined);
    this.running = (async () => {
      try {
        const project = this.options.project();
        const known = names?.filter((n) => project.graph.rollups.has(n));
        const records = await buildRollups(project, this.options.engine, { ...(known ? { names: known } : {}), ...(this.options.store ? { store: this.options.store } : {}) });
        this.options.onBuilt?.(records);
        log(`rollups (${reason}): ${records.map((r) => `${r.name} ${r.partitions.length} partitions`).join(', ')}`);
        return records;
      } catch (e) {
        log(`rollups (${reason}) could not be refreshed: ${(e as Error).message}`);
        return undefined;
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  stop(): void {
    for (const c of this.crons) c.stop();
    this.crons.length = 0;
  }
}
