/**
 * Data health next to every number: for an answer, how fresh each input model is ("data as of":
 * the newest value of its time dimension), whether a check on an input model failed at the last
 * run (from the state store), and which trailing period of the answer is incomplete because the
 * data stops inside it. Also the whole project's health (models, checks, last results,
 * freshness) for the API's `health` query and the catalog's data-health page.
 *
 * A period is incomplete when the newest row's time, taken at its time dimension's granularity
 * (a day-grained dimension counts whole days), ends before the period ends: data up to
 * 2025-06-17 makes June 2025 incomplete at month grain, and leaves the day 2025-06-17 complete at
 * day grain.
 */
import type { Dimension, Model, SemanticGraph } from '../definitions/graph.js';
import type { Grain } from '../definitions/schema.js';
import type { Engine } from '../engines/engine.js';
import { renderStatement } from '../sql/render.js';
import type { QueryResult } from '../run.js';
import { modelsOfMetric, projectChecks } from './derive.js';
import { instantOf, rowObjects, scanOf, timestampText } from './rows.js';
import type { StateStore, StoredResult } from './state.js';

export interface ModelHealth {
  model: string;
  /** The time dimension freshness is measured on: the model's default aggregation time. */
  timeDimension?: string;
  /** Newest value of that time dimension ('YYYY-MM-DD HH:MM:SS', UTC); absent without rows or time. */
  dataAsOf?: string;
  /** Checks on this model that failed, warned or could not run at their last run. */
  failedChecks: StoredResult[];
}

export interface IncompletePeriod {
  model: string;
  grain: Grain;
  /** Start of the period as the answer's metric_time shows it. */
  period: string;
  dataAsOf: string;
}

export interface AnswerHealth {
  models: ModelHealth[];
  incompletePeriods: IncompletePeriod[];
  /** The above in sentences, as the CLI prints them. */
  warnings: string[];
}

export interface CheckHealth {
  id: string;
  kind: string;
  severity: string;
  derived: boolean;
  description: string;
  last?: StoredResult;
}

export interface HealthReport {
  models: (ModelHealth & { checks: CheckHealth[] })[];
  /** When the newest stored run started; absent when checks never ran. */
  lastRunAt?: string;
}

/** The time dimension whose newest value says how fresh a model is. */
export function freshnessDimension(model: Model): Dimension | undefined {
  const name = model.def.freshness?.time_dimension ?? model.defaultTimeDimension ?? [...model.measures.values()].find((m) => m.timeDimension)?.timeDimension?.name;
  const d = name ? model.dimensions.get(name) : undefined;
  return d?.type === 'time' ? d : undefined;
}

/**
 * Answers health questions for one engine and state store, remembering the newest times and the
 * last results for `ttlMs` so that a busy API does not scan on every request.
 */
export class DataHealth {
  private readonly latest = new Map<string, { at: number; value: Promise<string | undefined> }>();
  private results?: { at: number; value: Promise<StoredResult[]> };

  constructor(
    private readonly engine: Engine,
    private readonly store: StateStore | undefined,
    private readonly options: {
      ttlMs?: number;
      /** Leave sample keys out of results (an API with access policies: samples are rows a caller may not see). */
      redactSamples?: boolean;
    } = {},
  ) {}

  private get ttlMs(): number {
    return this.options.ttlMs ?? 60_000;
  }

  /** Forget what was remembered (after a check run or a reload). */
  clear(): void {
    this.latest.clear();
    this.results = undefined;
  }

  private fresh<T>(entry: { at: number; value: T } | undefined): T | undefined {
    return entry && Date.now() - entry.at < this.ttlMs ? entry.value : undefined;
  }

  /** The newest time of a model's time dimension, through the same scan and dialect as metrics. */
  dataAsOf(graph: SemanticGraph, model: Model): Promise<string | undefined> {
    const dim = freshnessDimension(model);
    if (!dim) return Promise.resolve(undefined);
    const key = `${graph.version}\0${model.name}`;
    const known = this.fresh(this.latest.get(key));
    if (known) return known;
    const scan = scanOf(graph, model, `freshness of '${model.name}'`);
    const time = scan.column(dim.name, dim.expr);
    const sql = renderStatement({ ctes: [], body: { t: 'select', columns: [{ expr: { t: 'aggregate', agg: 'max', arg: { t: 'castTimestamp', arg: time } }, alias: 'latest' }], ...scan.build() } }, this.engine.dialect);
    const value = this.engine.query(sql).then(
      (r) => {
        const at = instantOf(rowObjects(r)[0]?.latest);
        return at && timestampText(at);
      },
      () => undefined,
    );
    this.latest.set(key, { at: Date.now(), value });
    return value;
  }

  lastResults(): Promise<StoredResult[]> {
    const known = this.fresh(this.results);
    if (known) return known;
    const redact = (r: StoredResult): StoredResult => (this.options.redactSamples ? { ...r, samples: [], message: `${r.description}: ${r.status} (${r.failing} failing)` } : r);
    const value = this.store ? this.store.lastResults().then((rs) => rs.map(redact), () => []) : Promise.resolve([]);
    this.results = { at: Date.now(), value };
    return value;
  }

  private async modelHealth(graph: SemanticGraph, model: Model, last: StoredResult[]): Promise<ModelHealth> {
    return {
      model: model.name,
      timeDimension: freshnessDimension(model)?.name,
      dataAsOf: await this.dataAsOf(graph, model),
      failedChecks: last.filter((r) => r.model === model.name && r.status !== 'pass'),
    };
  }

  /** Health of an answer's input models and its trailing period. */
  async forAnswer(graph: SemanticGraph, answer: QueryResult): Promise<AnswerHealth> {
    const request = answer.request;
    // Models whose measures make the numbers (their time is metric_time), then models joined for
    // group-bys and filters (a duplicated key there multiplies the numbers too).
    const measured = new Set<string>();
    for (const metric of request?.metrics ?? answer.lineage.map((l) => l.metric)) for (const m of modelsOfMetric(graph, metric)) measured.add(m);
    for (const l of answer.lineage) for (const m of l.measures) measured.add(m.model);
    const names = new Set(measured);
    for (const l of answer.lineage) for (const d of l.dimensions) names.add(d.model);
    const last = await this.lastResults();
    const models = await Promise.all([...names].map((n) => graph.models.get(n)).filter((m): m is Model => m !== undefined).map((m) => this.modelHealth(graph, m, last)));
    const incompletePeriods: IncompletePeriod[] = [];
    const timeColumn = answer.columns.find((c) => c.role === 'dimension' && /^metric_time\.(hour|day|week|month|quarter|year)$/.test(c.name));
    if (timeColumn) {
      const grain = timeColumn.name.split('.')[1] as Grain;
      const shown = new Set(answer.rows.map((r) => periodText(r[timeColumn.name])));
      for (const h of models) {
        if (!measured.has(h.model)) continue;
        const model = graph.models.get(h.model);
        const dim = model && freshnessDimension(model);
        const at = instantOf(h.dataAsOf ?? null);
        if (!dim || !at || !h.dataAsOf) continue;
        const local = inZone(at, request?.timeZone ?? 'UTC');
        const coveredUntil = addGrain(truncate(local, dim.granularity === 'millisecond' || dim.granularity === 'second' || dim.granularity === 'minute' ? 'hour' : dim.granularity), dim.granularity === 'millisecond' || dim.granularity === 'second' || dim.granularity === 'minute' ? 'hour' : dim.granularity);
        const start = truncate(local, grain);
        const end = addGrain(start, grain);
        const period = periodText(timestampText(start));
        if (coveredUntil.getTime() < end.getTime() && shown.has(period)) incompletePeriods.push({ model: h.model, grain, period, dataAsOf: h.dataAsOf });
      }
    }
    return { models, incompletePeriods, warnings: healthWarnings(models, incompletePeriods) };
  }

  /** Every model with its checks, their last results and freshness. */
  async report(graph: SemanticGraph): Promise<HealthReport> {
    const last = await this.lastResults();
    const checks = projectChecks(graph).checks;
    const models = await Promise.all(
      [...graph.models.values()].map(async (m) => ({
        ...(await this.modelHealth(graph, m, last)),
        checks: checks.filter((c) => c.model === m.name).map((c) => ({ id: c.id, kind: c.kind, severity: c.severity, derived: c.derived, description: c.description, last: last.find((r) => r.id === c.id) })),
      })),
    );
    const lastRunAt = last.map((r) => r.ranAt).sort().pop();
    return { models, lastRunAt };
  }
}

function healthWarnings(models: ModelHealth[], periods: IncompletePeriod[]): string[] {
  const out: string[] = [];
  for (const m of models) {
    for (const r of m.failedChecks) out.push(`check ${r.id} on input model '${m.model}' ${r.status === 'warn' ? 'warned' : r.status === 'error' ? 'could not run' : 'failed'} at the last run (${r.ranAt}): ${r.message}`);
  }
  for (const p of periods) out.push(`the ${p.grain} ${p.period} is incomplete: '${p.model}' has data only up to ${p.dataAsOf} UTC`);
  return out;
}

/** A period start as the answer shows it, compared by date (and hour for hourly grains). */
function periodText(cell: unknown): string {
  const text = String(cell ?? '');
  return text.length > 10 && !/ 00:00:00$/.test(text.slice(0, 19)) ? text.slice(0, 19) : text.slice(0, 10);
}

/** Wall-clock time in `zone` of a UTC instant, as a Date whose UTC fields hold it. */
function inZone(at: Date, zone: string): Date {
  if (zone === 'UTC') return at;
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return new Date(Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second)));
}

function truncate(d: Date, grain: Grain): Date {
  const y = d.getUTCFullYear();
  const mo = d.getUTCMonth();
  const day = d.getUTCDate();
  switch (grain) {
    case 'hour':
      return new Date(Date.UTC(y, mo, day, d.getUTCHours()));
    case 'week': {
      const dow = (d.getUTCDay() + 6) % 7; // ISO: Monday is 0 here
      return new Date(Date.UTC(y, mo, day - dow));
    }
    case 'month':
      return new Date(Date.UTC(y, mo, 1));
    case 'quarter':
      return new Date(Date.UTC(y, mo - (mo % 3), 1));
    case 'year':
      return new Date(Date.UTC(y, 0, 1));
    default:
      return new Date(Date.UTC(y, mo, day));
  }
}

function addGrain(d: Date, grain: Grain): Date {
  const y = d.getUTCFullYear();
  const mo = d.getUTCMonth();
  const day = d.getUTCDate();
  const h = d.getUTCHours();
  switch (grain) {
    case 'hour':
      return new Date(Date.UTC(y, mo, day, h + 1));
    case 'week':
      return new Date(Date.UTC(y, mo, day + 7, h));
    case 'month':
      return new Date(Date.UTC(y, mo + 1, day, h));
    case 'quarter':
      return new Date(Date.UTC(y, mo + 3, day, h));
    case 'year':
      return new Date(Date.UTC(y + 1, mo, day, h));
    default:
      return new Date(Date.UTC(y, mo, day + 1, h));
  }
}
