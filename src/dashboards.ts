/**
 * Dashboards as code: the dates each tile of a `dashboards:` definition covers. A tile charts a
 * metric over its range at its grain; its current value is the range's last period, compared with
 * the period before it or the same period a year earlier (Looker's and Cube's "previous period"
 * and "prior year"). Everything here is calendar arithmetic on UTC dates (YYYY-MM-DD); the numbers
 * themselves are asked from the one calculation path, like any other request.
 */
import type { SemanticGraph } from './definitions/graph.js';
import { type DashboardDef, type DashboardGrain, type DashboardTileDef, RELATIVE_RANGE_PATTERN } from './definitions/schema.js';

/** Inclusive calendar dates, YYYY-MM-DD. */
export interface DateRange {
  from: string;
  to: string;
}

export interface ResolvedTile {
  metric: string;
  title?: string;
  grain: DashboardGrain;
  /** The range as written: `last 12 months`, or `2025-01-01 to 2025-12-31`. */
  rangeText: string;
  comparison: DashboardTileDef['comparison'];
  breakdown?: string;
  /** Every period the trend chart shows, from the start of the first to the end of the last. */
  range: DateRange;
  /** The range's last period: the tile's current value. */
  current: DateRange;
  /** The period the current value is compared with. */
  compared: DateRange;
}

export interface ResolvedDashboard {
  name: string;
  title: string;
  description?: string;
  owner?: string;
  /** The last day that relative ranges end at. */
  asOf: string;
  tiles: ResolvedTile[];
}

const DAY_MS = 86_400_000;

function parse(date: string): Date {
  return new Date(`${date}T00:00:00Z`);
}

function print(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function addDays(date: string, days: number): string {
  return print(new Date(parse(date).getTime() + days * DAY_MS));
}

/** Adds calendar months, keeping the day of the month only when the period starts are 1st days. */
function addMonths(date: string, months: number): string {
  const d = parse(date);
  return print(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, d.getUTCDate())));
}

/** The first day of the period of `grain` that holds `date` (weeks are ISO weeks, from Monday). */
export function periodStart(date: string, grain: DashboardGrain): string {
  const d = parse(date);
  const [y, m] = [d.getUTCFullYear(), d.getUTCMonth()];
  switch (grain) {
    case 'day':
      return date;
    case 'week':
      return addDays(date, -((d.getUTCDay() + 6) % 7));
    case 'month':
      return print(new Date(Date.UTC(y, m, 1)));
    case 'quarter':
      return print(new Date(Date.UTC(y, m - (m % 3), 1)));
    case 'year':
      return print(new Date(Date.UTC(y, 0, 1)));
  }
}

/** The start of the period `n` periods after the one starting at `start` (n may be negative). */
export function shiftPeriods(start: string, grain: DashboardGrain, n: number): string {
  switch (grain) {
    case 'day':
      return addDays(start, n);
    case 'week':
      return addDays(start, 7 * n);
    case 'month':
      return addMonths(start, n);
    case 'quarter':
      return addMonths(start, 3 * n);
    case 'year':
      return addMonths(start, 12 * n);
  }
}

/** The period of `grain` holding `date`, as inclusive dates. */
export function periodOf(date: string, grain: DashboardGrain): DateRange {
  const from = periodStart(date, grain);
  return { from, to: addDays(shiftPeriods(from, grain, 1), -1) };
}

/** Yesterday in UTC: the last whole day, the default `as_of`. */
export function defaultAsOf(now: Date = new Date()): string {
  return addDays(print(now), -1);
}

/**
 * The dates of one tile. `last N units` covers the N units that end with the last complete period
 * of the tile's grain at `asOf` (a period is complete when it ends on or before `asOf`); its
 * start is moved forward to a period start when N units do not hold whole periods (weeks in months).
 * Explicit dates cover every period they touch.
 */
export function resolveTile(tile: DashboardTileDef, asOf: string): ResolvedTile {
  const grain = tile.grain;
  let range: DateRange;
  let rangeText: string;
  if (typeof tile.range === 'string') {
    const m = RELATIVE_RANGE_PATTERN.exec(tile.range);
    if (!m) throw new Error(`not a relative range: ${tile.range}`);
    const count = Number(m[1]);
    const unit = m[2].toLowerCase() as DashboardGrain;
    const held = periodOf(asOf, grain);
    const last = held.to === asOf ? held : periodOf(addDays(held.from, -1), grain);
    const windowStart = shiftPeriods(addDays(last.to, 1), unit, -count);
    const firstPeriod = periodStart(windowStart, grain);
    range = { from: firstPeriod === windowStart ? firstPeriod : shiftPeriods(firstPeriod, grain, 1), to: last.to };
    if (range.from > range.to) range = last;
    rangeText = `last ${count} ${unit}${count === 1 ? '' : 's'}`;
  } else {
    range = { from: periodStart(tile.range.from, grain), to: periodOf(tile.range.to, grain).to };
    rangeText = `${tile.range.from} to ${tile.range.to}`;
  }
  const current = periodOf(range.to, grain);
  const compared =
    tile.comparison === 'previous_period'
      ? periodOf(shiftPeriods(current.from, grain, -1), grain)
      : // A week a year earlier is 52 weeks back (the same weekday, the same ISO week in most years).
        periodOf(grain === 'week' ? addDays(current.from, -364) : addMonths(current.from, -12), grain);
  return { metric: tile.metric, title: tile.title, grain, rangeText, comparison: tile.comparison, breakdown: tile.breakdown, range, current, compared };
}

/** A dashboard with every tile's dates, as of `asOf` (default: its own `as_of`, else yesterday). */
export function resolveDashboard(def: DashboardDef, asOf?: string): ResolvedDashboard {
  const day = asOf ?? def.as_of ?? defaultAsOf();
  return {
    name: def.name,
    title: def.title ?? def.name,
    description: def.description,
    owner: def.owner,
    asOf: day,
    tiles: def.tiles.map((tile) => resolveTile(tile, day)),
  };
}

/**
 * The dashboards a caller may see: tiles of metrics outside `visible` are left out, and a dashboard
 * left with no tile is not listed. `visible` undefined: every metric.
 */
export function visibleDashboards(graph: SemanticGraph, visible: ReadonlySet<string> | undefined, asOf?: string): ResolvedDashboard[] {
  const out: ResolvedDashboard[] = [];
  for (const { def } of graph.dashboards.values()) {
    const tiles = def.tiles.filter((t) => !visible || visible.has(t.metric));
    if (tiles.length > 0) out.push(resolveDashboard({ ...def, tiles }, asOf));
  }
  return out;
}
