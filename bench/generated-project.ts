/**
 * A large synthetic project for load and compile benchmarks: shared dimension models and many
 * fact models linked to all of them, with simple, ratio and derived metrics.
 */
import type { DefinitionSource } from '../src/definitions/load.js';

export function generatedProject(models = 200, metrics = 500): DefinitionSource[] {
  const dims = 10;
  const facts = models - dims;
  const lines: string[] = ['semantic_models:'];
  for (let d = 0; d < dims; d++) {
    lines.push(
      `  - name: dim${d}`,
      `    table: dim${d}`,
      `    entities: [{ name: d${d}, type: primary, expr: id }]`,
      `    dimensions: [{ name: label, type: categorical }, { name: tier, type: categorical }]`,
    );
  }
  for (let f = 0; f < facts; f++) {
    lines.push(
      `  - name: fact${f}`,
      `    table: fact${f}`,
      `    defaults: { agg_time_dimension: ts }`,
      `    entities:`,
      `      - { name: f${f}, type: primary, expr: id }`,
      ...Array.from({ length: dims }, (_, d) => `      - { name: d${d}, type: foreign, expr: d${d}_id }`),
      `    dimensions: [{ name: ts, type: time }, { name: kind, type: categorical }]`,
      `    measures:`,
      `      - { name: f${f}_amount, agg: sum, expr: amount }`,
      `      - { name: f${f}_rows, agg: count, expr: id }`,
      `      - { name: f${f}_users, agg: count_distinct, expr: user_id }`,
    );
  }
  const out: string[] = ['metrics:'];
  let n = 0;
  for (let f = 0; f < facts && n < metrics; f++) {
    out.push(`  - { name: amount_${f}, type: simple, measure: f${f}_amount, description: "amount of fact ${f}" }`);
    out.push(`  - { name: rows_${f}, type: simple, measure: f${f}_rows, filter: "f${f}.kind <> 'test'" }`);
    n += 2;
  }
  for (let f = 0; n < metrics; f = (f + 1) % facts) {
    out.push(`  - { name: per_row_${n}, type: ratio, numerator: amount_${f}, denominator: rows_${f} }`);
    n++;
    if (n < metrics) {
      out.push(`  - { name: mixed_${n}, type: derived, expr: "amount_${f} + amount_${(f + 1) % facts} * 2", metrics: [amount_${f}, amount_${(f + 1) % facts}] }`);
      n++;
    }
  }
  return [
    { display: 'generated/models.yml', text: lines.join('\n') + '\n' },
    { display: 'generated/metrics.yml', text: out.join('\n') + '\n' },
  ];
}

/** Group-bys every generated metric can use: metric_time plus the shared dimensions. */
export function generatedGroupBys(count: number): string[] {
  const all = ['metric_time.month', ...Array.from({ length: 10 }, (_, d) => `d${d}.label`), ...Array.from({ length: 10 }, (_, d) => `d${d}.tier`)];
  return all.slice(0, count);
}
