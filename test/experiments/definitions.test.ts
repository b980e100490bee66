/**
 * `experiments:` are checked when the project loads: every mistake at file:line:col with the
 * nearest names, and metrics without a per-unit meaning refused with the reason.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DefinitionError } from '../../src/errors.js';
import { experimentsOf } from '../../src/experiments/validate.js';
import { projectFromSources } from '../../src/project.js';

const base = ['metrics/models.yml', 'metrics/metrics.yml'].map((f) => ({ display: f, text: readFileSync(f, 'utf8') }));

const experiment = (patch: Record<string, string> = {}): string => {
  const fields: Record<string, string> = {
    name: 'checkout_v2',
    assignment: `
      model: experiment_assignments
      entity: user
      variant: variant
      assigned_at: assigned_at
      filter: "assignment.experiment = 'checkout_v2'"`,
    control: 'control',
    split: '{ control: 0.5, treatment: 0.5 }',
    start: '2024-01-01',
    end: '2026-01-01',
    primary_metrics: '[orders]',
    success: '{ direction: increase, minimum_effect: 0.02, alpha: 0.05 }',
    ...patch,
  };
  return `experiments:\n  - ${Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join('\n    ')}\n`;
};

function problems(text: string): string[] {
  try {
    projectFromSources([...base, { display: 'metrics/experiments.yml', text }]);
  } catch (e) {
    if (e instanceof DefinitionError) return e.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`);
    throw e;
  }
  return [];
}

describe('experiment definitions', () => {
  it('loads the demo experiments', () => {
    const project = projectFromSources([...base, { display: 'metrics/experiments.yml', text: readFileSync('metrics/experiments.yml', 'utf8') }]);
    expect([...experimentsOf(project.graph).keys()]).toEqual(['checkout_v2', 'search_ranking_v1', 'onboarding_tips_v1']);
  });

  it('accepts a minimal experiment', () => {
    expect(problems(experiment())).toEqual([]);
  });

  it('names an unknown metric at its position, with the nearest names', () => {
    const found = problems(experiment({ primary_metrics: '[revenu]' }));
    expect(found).toEqual([expect.stringMatching(/^metrics\/experiments\.yml:\d+:\d+: unknown metric 'revenu'\. Did you mean 'revenue'/)]);
    expect(found[0]).toMatch(/:13:\d+:/);
  });

  it('refuses cumulative and offset metrics with the reason', () => {
    expect(problems(experiment({ primary_metrics: '[mau]' }))).toEqual([expect.stringMatching(/metric 'mau' is cumulative .* no per-unit value; choose a simple, conversion or ratio metric/)]);
    expect(problems(experiment({ guardrail_metrics: '[revenue_growth_mom]' }))).toEqual([expect.stringMatching(/'revenue_growth_mom' is derived/)]);
  });

  it('checks the assignment against the model', () => {
    const found = problems(
      experiment({
        assignment: `
      model: experiment_assignments
      entity: user
      variant: varient
      assigned_at: assigned_at`,
      }),
    );
    expect(found).toEqual([expect.stringMatching(/:6:\d+: model 'experiment_assignments' has no dimension 'varient'\. Did you mean 'variant'/)]);
    expect(problems(experiment({ assignment: '{ model: experiment_asignments, entity: user, variant: variant, assigned_at: assigned_at }' }))).toEqual([
      expect.stringMatching(/unknown semantic model 'experiment_asignments'\. Did you mean 'experiment_assignments'/),
    ]);
  });

  it('checks the assignment filter in the filter language', () => {
    expect(problems(experiment({ assignment: `{ model: experiment_assignments, entity: user, variant: variant, assigned_at: assigned_at, filter: "assignment.experimnt = 'x'" }` }))).toEqual([
      expect.stringMatching(/experiments\.yml:3:\d+: experiment 'checkout_v2' does not compile: .*experimnt/),
    ]);
  });

  it('checks the control, the split and the dates', () => {
    expect(problems(experiment({ control: 'contrl' }))).toEqual([expect.stringMatching(/the control 'contrl' is not in the split \(control, treatment\)\. Did you mean 'control'/)]);
    expect(problems(experiment({ end: '2023-01-01' }))).toEqual([expect.stringMatching(/the end \(2023-01-01\) must come after the start/)]);
    expect(problems(experiment({ success: '{ direction: up }' }))[0]).toMatch(/experiments\.yml:\d+:\d+: .*direction/);
  });
});
