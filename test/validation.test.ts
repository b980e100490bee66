import { describe, expect, it } from 'vitest';
import { DefinitionError, projectFromSources } from '../src/index.js';

const model = `semantic_models:
  - name: orders
    table: orders
    defaults:
      agg_time_dimension: ordered_at
    entities:
      - { name: order, type: primary, expr: order_id }
      - { name: user, type: foreign, expr: user_id }
    dimensions:
      - { name: ordered_at, type: time }
      - { name: status, type: categorical }
    measures:
      - { name: order_amount, agg: sum, expr: amount }
      - { name: order_count, agg: count, expr: order_id }
  - name: users
    table: users
    entities:
      - { name: user, type: primary, expr: user_id }
    dimensions:
      - { name: country, type: categorical }
`;

function problems(files: Record<string, string>): string[] {
  try {
    projectFromSources(Object.entries(files).map(([display, text]) => ({ display, text })));
  } catch (e) {
    if (e instanceof DefinitionError) return e.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`);
    throw e;
  }
  return [];
}

describe('definition validation', () => {
  it('accepts a valid project', () => {
    expect(problems({ 'models.yml': model, 'metrics.yml': 'metrics:\n  - { name: revenue, type: simple, measure: order_amount }\n' })).toEqual([]);
  });

  it('reports YAML syntax errors with line and column', () => {
    const out = problems({ 'bad.yml': 'metrics:\n  - name: revenue\n    type: [simple\n' });
    expect(out).toEqual(["bad.yml:3:11: the '[' opened here is not closed; close it on this line, or put the whole value in quotes if the bracket is text"]);
  });

  it('reports unknown keys at the key, with a fix', () => {
    const out = problems({ 'models.yml': model, 'm.yml': 'metrics:\n  - name: revenue\n    type: simple\n    measure: order_amount\n    filtr: "x"\n' });
    expect(out).toEqual(["m.yml:5:5: unknown key 'filtr'; did you mean 'filter'? Otherwise remove it"]);
  });

  it('reports a missing required key and a bad enum value', () => {
    const out = problems({
      'models.yml': model,
      'm.yml': 'metrics:\n  - name: revenue\n    type: simple\n  - name: x\n    type: cumulative\n    measure: order_amount\n    grain_to_date: fortnight\n',
    });
    expect(out).toContain("m.yml:2:5: 'measure' is required here; add it");
    expect(out.some((p) => p.startsWith("m.yml:7:20: 'grain_to_date' must be one of"))).toBe(true);
  });

  it('reports one wrong indentation once, on its line, in plain words', () => {
    // Line 6 is indented one space too far: the parser's own report was nine problems in its
    // jargon, the first on line 5.
    const text = [
      'metrics:',
      '  - name: revenue',
      '    type: simple',
      '    measure: order_amount',
      '  - name: orders',
      '     type: simple',
      '    measure: order_count',
      '  - { name: aov, type: ratio, numerator: revenue, denominator: orders }',
    ].join('\n');
    const out = problems({ 'models.yml': model, 'm.yml': text });
    expect(out).toEqual([
      "m.yml:6:6: 'type' is indented by 5 spaces, but the line above (line 5) puts its key at 4; keys of one definition line up in the same column, and a new list item starts with '- '",
    ]);
    // The other shapes of the same mistake: too little indentation, and a key outdented under a list item.
    expect(problems({ 'm.yml': 'metrics:\n  - name: revenue\n    type: simple\n   measure: order_amount\n' })).toEqual([
      "m.yml:4:4: 'measure' is indented by 3 spaces, but the line above (line 3) puts its key at 4; keys of one definition line up in the same column, and a new list item starts with '- '",
    ]);
    const jargon = /mapping|sequence|implicit|scalar|compact|indicator/i;
    for (const bad of ['a: b: c\n', 'metrics:\n  - name: x\n    name: y\n', 'a: "open\nb: 1\n', 'a:\n\tb: 1\n']) {
      const found = problems({ 'm.yml': bad });
      expect(found, bad).toHaveLength(1);
      expect(found[0], bad).not.toMatch(jargon);
    }
    expect(problems({ 'm.yml': 'metrics:\n  - name: x\n    name: y\n' })).toEqual([
      "m.yml:3:5: 'name' appears twice in the same definition (first on line 2); keep one, or indent this line further if it belongs to the key above",
    ]);
  });

  it('reports key typos, unknown enum values, unknown measures and metrics in one run, with suggestions', () => {
    const out = problems({
      'models.yml': model.replace('      - { name: order_count, agg: count, expr: order_id }', '      - { name: order_count, agg: cnt, expr: order_id }'),
      'm.yml': [
        'metricss:',
        '  - x',
        'metrics:',
        '  - name: revenue',
        '    type: simple',
        '    measure: order_amount',
        '    descripton: Money',
        '  - { name: aov, type: ratio, numerator: revenu, denominator: revenue }',
        '  - { name: paid, type: simpel, measure: order_amount }',
        '  - { name: total, type: cumulative, measure: order_amount, grain_to_date: mnth }',
        '  - { name: spend, type: simple, measure: order_amout }',
        // order_count is reported where it is defined (its agg), not again here as unknown.
        '  - { name: orders, type: simple, measure: order_count }',
      ].join('\n'),
    });
    expect(out).toEqual([
      "m.yml:1:1: unknown section 'metricss'; did you mean 'metrics'? Otherwise remove it",
      "m.yml:7:5: unknown key 'descripton'; did you mean 'description'? Otherwise remove it",
      "m.yml:8:42: unknown metric 'revenu'. Did you mean 'revenue'?",
      "m.yml:9:25: 'type' must be one of simple, ratio, derived, cumulative, conversion, not \"simpel\". Did you mean 'simple'?",
      `m.yml:10:76: 'grain_to_date' must be one of "millisecond", "second", "minute", "hour", "day", "week", "month", "quarter", "year", not "mnth". Did you mean 'month'?`,
      "m.yml:11:43: unknown measure 'order_amout'. Did you mean 'order_amount'? Measures are declared under a semantic model's 'measures'",
      `models.yml:14:35: 'agg' must be one of "sum", "count", "count_distinct", "average", "min", "max", "median", "percentile", "sum_boolean", not "cnt". Did you mean 'count'?`,
    ]);
  });

  it('reports unknown measures and metrics with suggestions, all at once', () => {
    const out = problems({
      'models.yml': model,
      'm.yml': [
        'metrics:',
        '  - { name: revenue, type: simple, measure: order_amout }',
        '  - name: aov',
        '    type: ratio',
        '    numerator: revenu',
        '    denominator: orders',
      ].join('\n'),
    });
    expect(out).toEqual([
      "m.yml:2:45: unknown measure 'order_amout'. Did you mean 'order_amount' or 'order_count'? Measures are declared under a semantic model's 'measures'",
      "m.yml:5:16: unknown metric 'revenu'. Did you mean 'revenue'?",
      "m.yml:6:18: unknown metric 'orders'.",
    ]);
  });

  it('reports duplicate names', () => {
    const out = problems({
      'models.yml': model,
      'a.yml': 'metrics:\n  - { name: revenue, type: simple, measure: order_amount }\n',
      'b.yml': 'metrics:\n  - { name: revenue, type: simple, measure: order_count }\n',
    });
    expect(out).toEqual(["b.yml:2:13: metric 'revenue' is defined twice; rename one of them"]);
  });

  it('reports cycles among derived metrics', () => {
    const out = problems({
      'models.yml': model,
      'm.yml': [
        'metrics:',
        '  - { name: a, type: derived, expr: b + 1, metrics: [b] }',
        '  - { name: b, type: derived, expr: a * 2, metrics: [a] }',
      ].join('\n'),
    });
    expect(out.some((p) => /m\.yml:2:13: metrics refer to each other in a cycle: a -> b -> a/.test(p))).toBe(true);
  });

  it('reports filters that name unknown dimensions, and formulas that name no input', () => {
    const out = problems({
      'models.yml': model,
      'm.yml': [
        'metrics:',
        '  - name: revenue',
        '    type: simple',
        '    measure: order_amount',
        "    filter: \"order.stat = 'paid'\"",
        '  - { name: orders, type: simple, measure: order_count }',
        '  - { name: aov, type: derived, expr: revenue / orderz, metrics: [revenue, orders] }',
      ].join('\n'),
    });
    expect(out[0]).toMatch(/^m\.yml:2:11: metric 'revenue' does not compile: unknown dimension 'stat' of entity 'order'/);
    expect(out[1]).toBe("m.yml:7:39: the formula names 'orderz', which is not one of its inputs (revenue, orders); add it under 'metrics' or fix the name");
  });

  it('reports a filter that would need a fan-out join', () => {
    const m = model.replace('  - name: users\n', '  - name: users\n    defaults: { agg_time_dimension: signed_up_at }\n')
      .replace('      - { name: country, type: categorical }\n', '      - { name: country, type: categorical }\n      - { name: signed_up_at, type: time }\n    measures:\n      - { name: signups, agg: count, expr: user_id }\n');
    const out = problems({
      'models.yml': m,
      'm.yml': "metrics:\n  - { name: paid_signups, type: simple, measure: signups, filter: \"order.status = 'paid'\" }\n",
    });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^m\.yml:2:13: metric 'paid_signups' does not compile: .*join users to orders on 'user', which is not unique in orders/);
  });

  it('refuses aggregations that do not fit and time axes that do not exist', () => {
    const out = problems({
      'models.yml': model.replace('agg_time_dimension: ordered_at', 'agg_time_dimension: status').replace('agg: sum, expr: amount', 'agg: percentile, expr: amount'),
    });
    expect(out).toContain("models.yml:5:27: 'status' is not a time dimension of model 'orders'; name one of: ordered_at");
    expect(out.some((p) => /a percentile measure needs 'percentile: 0.9'/.test(p))).toBe(true);
  });

  it('refuses a cumulative metric whose measure has no time', () => {
    const m = model + '    measures:\n      - { name: user_count, agg: count, expr: user_id }\n';
    const out = problems({ 'models.yml': m, 'm.yml': 'metrics:\n  - { name: users_to_date, type: cumulative, measure: user_count }\n' });
    expect(out).toEqual([
      "m.yml:2:55: cumulative metric needs a time axis, but measure 'user_count' has no time dimension; set defaults.agg_time_dimension on model 'users'",
    ]);
  });
});
