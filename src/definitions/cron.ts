/**
 * Cron expressions as definitions and tally.yml write them (rollups' `refresh.schedule`,
 * `checks.schedule`, `rollups.schedules`), read by croner, the library the schedulers run them with
 * (src/checks/schedule.ts, src/rollups/schedule.ts). Kept here so that validating definitions
 * depends on no layer above them.
 */
import { Cron } from 'croner';

/** Whether a cron expression is valid (for tally.yml's validation); the reason when not. */
export function cronProblem(expression: string): string | undefined {
  try {
    new Cron(expression, { paused: true }).stop();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
