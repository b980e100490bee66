/**
 * dbt semantic objects → Tally definitions. Each dbt key is either mapped, dropped with a warning
 * when it only matters to dbt (exports, config, labels of entities…), or reported as an error when
 * Tally would compute something different without it.
 *
 * Both spellings are read: dbt projects (`semantic_models:`, `metrics:`, `saved_queries:` lists,
 * `model: ref('…')`, time spines configured on models) and MetricFlow's manifests
 * (`semantic_model:`, `metric:`, `saved_query:`, `project_configuration:` documents with
 * `node_relation`).
 *
 * This file reads the documents and keeps the output files; each kind of object is translated in
 * its own module: semantic-models.ts, metrics.ts, saved-queries.ts, time-spines.ts (over walk.ts,
 * positions and key checks).
 */
import { metric } from './metrics.js';
import { savedQuery } from './saved-queries.js';
import { semanticModel } from './semantic-models.js';
import type { DbtDocument, ImportProblem } from './source.js';
import { dbtModel, type LegacySpine, projectConfiguration } from './time-spines.js';
import { At, isObj, type Obj } from './walk.js';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Tally definitions for one output file, in the order they are written. */
export interface TallyFile {
  time_spines: Obj[];
  semantic_models: Obj[];
  metrics: Obj[];
  saved_queries: Obj[];
}

export interface TranslateOptions {
  /** Values for `$name` placeholders in relations, e.g. { source_schema: 'analytics' }. */
  vars: Record<string, string>;
  /** Schema to put in front of `ref('model')` relations. */
  schema?: string;
}

export class Translator {
  readonly files = new Map<string, TallyFile>();
  private readonly legacySpines: LegacySpine[] = [];

  constructor(
    private readonly options: TranslateOptions,
    readonly problems: ImportProblem[],
  ) {}

  private file(name: string): TallyFile {
    let f = this.files.get(name);
    if (!f) {
      f = { time_spines: [], semantic_models: [], metrics: [], saved_queries: [] };
      this.files.set(name, f);
    }
    return f;
  }

  document(doc: DbtDocument): void {
    const root = new At(doc, [], this.problems);
    if (doc.data === null || doc.data === undefined) return;
    if (!isObj(doc.data)) {
      root.report('a dbt YAML document is a mapping of keys such as semantic_models and metrics');
      return;
    }
    const out = this.file(doc.file.relativePath);
    const each = (key: string, fn: (v: unknown, at: At) => void): void => {
      const value = (doc.data as Obj)[key];
      if (value === undefined) return;
      if (Array.isArray(value)) value.forEach((v, i) => fn(v, root.sub(key, i)));
      else root.sub(key).report(`'${key}' is a list`);
    };
    for (const key of Object.keys(doc.data)) {
      const value = doc.data[key];
      switch (key) {
        case 'semantic_model':
          semanticModel(this.options, value, root.sub(key), out);
          break;
        case 'metric':
          metric(value, root.sub(key), out);
          break;
        case 'saved_query':
          savedQuery(value, root.sub(key), out);
          break;
        case 'project_configuration':
          projectConfiguration(this.options, this.legacySpines, value, root.sub(key), out);
          break;
        case 'semantic_models':
          each(key, (v, at) => semanticModel(this.options, v, at, out));
          break;
        case 'metrics':
          each(key, (v, at) => metric(v, at, out));
          break;
        case 'saved_queries':
          each(key, (v, at) => savedQuery(v, at, out));
          break;
        case 'models':
          each(key, (v, at) => dbtModel(this.options, v, at, out));
          break;
        default:
          // Other dbt keys (version, sources, seeds, macros…) describe the dbt project, not metrics.
          break;
      }
    }
  }

  /** Legacy time spine configurations apply only to grains no `time_spines` entry covers. */
  finish(): void {
    const grains = new Set<string>();
    for (const f of this.files.values()) for (const s of f.time_spines) grains.add(String(s.grain));
    for (const { spine, file } of this.legacySpines) {
      if (grains.has(String(spine.grain))) continue;
      grains.add(String(spine.grain));
      this.file(file).time_spines.push(spine);
    }
  }
}
