/**
 * A check run as text for people, JSON for programs and JUnit XML for CI systems (the de-facto
 * format read by Jenkins, GitLab and GitHub test reporters: testsuites > testsuite per model >
 * testcase per check; an error-level failure is a <failure>, a check that could not run an
 * <error>, a warning passes with its message in <system-out>).
 */
import type { Cell } from '../engines/engine.js';
import type { CheckResult, CheckRun } from './types.js';

const MARK: Record<CheckResult['status'], string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', error: 'ERROR' };

export function formatTable(run: CheckRun): string {
  const rows = run.results.map((r) => [MARK[r.status], r.id, r.status === 'pass' ? '' : r.message]);
  const w = [5, Math.max(5, ...rows.map((r) => r[1].length))];
  const lines = rows.map((r) => `${r[0].padEnd(w[0])} ${r[1].padEnd(w[1])}  ${r[2]}`.trimEnd());
  const n = (s: CheckResult['status']): number => run.results.filter((r) => r.status === s).length;
  lines.push('', `${run.results.length} checks: ${n('pass')} passed, ${n('warn')} warned, ${n('fail')} failed, ${n('error')} could not run`);
  return lines.join('\n') + '\n';
}

/** JSON with exact counts (bigints written as JSON numbers, digit for digit). */
export function formatJson(run: CheckRun): string {
  return stringifyExact({ ...run, failed: run.results.some((r) => r.status === 'fail' || r.status === 'error') }) + '\n';
}

/** JSON.stringify, except that bigints become JSON numbers with every digit. */
export function stringifyExact(value: unknown): string {
  const marks: string[] = [];
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    marks.push(v.toString());
    return `\u0000big${marks.length - 1}\u0000`;
  });
  return text.replace(/"\\u0000big(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)]);
}

export function formatJunit(run: CheckRun): string {
  const byModel = new Map<string, CheckResult[]>();
  for (const r of run.results) byModel.set(r.model, [...(byModel.get(r.model) ?? []), r]);
  const count = (rs: CheckResult[], s: CheckResult['status']): number => rs.filter((r) => r.status === s).length;
  const seconds = (rs: CheckResult[]): string => (rs.reduce((t, r) => t + r.durationMs, 0) / 1000).toFixed(3);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="tally check" tests="${run.results.length}" failures="${count(run.results, 'fail')}" errors="${count(run.results, 'error')}" time="${seconds(run.results)}" timestamp="${xml(run.startedAt)}">`,
  ];
  for (const [model, rs] of byModel) {
    out.push(`  <testsuite name="${xml(model)}" tests="${rs.length}" failures="${count(rs, 'fail')}" errors="${count(rs, 'error')}" skipped="0" time="${seconds(rs)}">`);
    for (const r of rs) {
      const open = `    <testcase classname="tally.${xml(model)}" name="${xml(r.id)}" time="${(r.durationMs / 1000).toFixed(3)}"`;
      const detail = `${r.description}\n${r.message}${r.samples.length ? `\nsamples: ${samplesText(r.samples)}` : ''}\n\n${r.sql}`;
      if (r.status === 'pass') out.push(`${open}/>`);
      else if (r.status === 'warn') out.push(`${open}>`, `      <system-out>${xml(`warning: ${r.message}`)}</system-out>`, '    </testcase>');
      else if (r.status === 'fail') out.push(`${open}>`, `      <failure message="${xml(r.message)}" type="${r.kind}">${xml(detail)}</failure>`, '    </testcase>');
      else out.push(`${open}>`, `      <error message="${xml(r.message)}" type="${r.kind}">${xml(detail)}</error>`, '    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}

function samplesText(samples: Record<string, Cell>[]): string {
  return stringifyExact(samples);
}

/** Text safe in XML content and attributes; characters XML 1.0 cannot hold are dropped. */
function xml(s: string): string {
  return s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
