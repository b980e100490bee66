/** `tally diff` warns when a change touches a metric of an experiment that is still running. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { projectFromSources } from '../../src/project.js';
import { diffRevisions } from '../../src/review/diff.js';
import { formatMarkdown, formatText } from '../../src/review/report.js';

const models = { display: 'metrics/models.yml', text: readFileSync('metrics/models.yml', 'utf8') };
const metrics = readFileSync('metrics/metrics.yml', 'utf8');
const experiment = (name: string, start: string, end: string, primary: string): string => `
  - name: ${name}
    assignment: { model: experiment_assignments, entity: user, variant: variant, assigned_at: assigned_at, filter: "assignment.experiment = '${name}'" }
    control: control
    split: { control: 1, treatment: 1 }
    start: ${start}
    end: ${end}
    primary_metrics: [${primary}]
    success: { direction: increase }`;
const experiments = { display: 'metrics/experiments.yml', text: `experiments:${experiment('running_test', '2020-01-01', '2099-01-01', 'average_order_value')}${experiment('ended_test', '2020-01-01', '2021-01-01', 'average_order_value')}${experiment('other_test', '2020-01-01', '2099-01-01', 'searches')}\n` };

const revision = (label: string, metricsText: string) => ({ label, project: projectFromSources([models, { display: 'metrics/metrics.yml', text: metricsText }, experiments]) });

describe('tally diff and running experiments', () => {
  it('names the running experiments whose metrics change, through inputs too, and not the ended or untouched ones', () => {
    // revenue changes; average_order_value = revenue / paid_orders changes through it.
    const changed = metrics.replace(`filter: "order.status IN ('paid', 'shipped')"\n\n  - name: orders`, `filter: "order.status IN ('shipped')"\n\n  - name: orders`);
    expect(changed).not.toBe(metrics);
    const diff = diffRevisions(revision('main', metrics), revision('working tree', changed));
    expect(diff.changed.map((c) => c.metric)).toContain('average_order_value');
    expect(diff.experiments).toEqual([{ experiment: 'running_test', start: '2020-01-01', end: '2099-01-01', metrics: ['average_order_value'] }]);
    expect(formatText(diff)).toMatch(/WARNING: experiment 'running_test' is running \(2020-01-01 to 2099-01-01\) and uses average_order_value/);
    expect(formatMarkdown(diff)).toMatch(/\*\*Running experiment:\*\* `running_test`/);
  });

  it('says nothing when no running experiment is touched', () => {
    const diff = diffRevisions(revision('main', metrics), revision('working tree', metrics.replace('Search events.', 'Search events (all).')));
    expect(diff.experiments).toEqual([]);
    expect(formatText(diff)).not.toMatch(/WARNING/);
  });
});
