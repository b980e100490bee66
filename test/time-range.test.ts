/**
 * Calendar arithmetic of request ranges in the years 0001–0099, which `Date.UTC` reads as
 * 1901–1999. The truth is the calendar itself (ISO dates written by hand) and, end to end, the same
 * request with a later `from` (the demo-sized fixture has no rows before 2024).
 */
import { describe, expect, it } from 'vitest';
import { compileRequest, loadProject } from '../src/index.js';
import { add, formatTime, parseTime, snapRange, truncate } from '../src/query/time.js';

describe('request ranges in the years 0001-0099', () => {
  it('accepts 0001-01-01 as the real date it is (README: years 0001 to 9999)', () => {
    expect(formatTime(parseTime('0001-01-01', 'from'))).toBe('0001-01-01 00:00:00');
    expect(formatTime(parseTime('0099-12-31 23:59:59', 'to'))).toBe('0099-12-31 23:59:59');
    expect(() => parseTime('0099-02-29', 'from')).toThrow(/not a real calendar time/); // 99 is no leap year
  });

  it('truncates and adds without jumping to the 1900s', () => {
    const d = parseTime('0099-12-25', 'from');
    expect(formatTime(truncate(d, 'day'))).toBe('0099-12-25 00:00:00');
    expect(formatTime(truncate(d, 'hour'))).toBe('0099-12-25 00:00:00');
    expect(formatTime(truncate(d, 'month'))).toBe('0099-12-01 00:00:00');
    expect(formatTime(truncate(d, 'quarter'))).toBe('0099-10-01 00:00:00');
    expect(formatTime(truncate(d, 'year'))).toBe('0099-01-01 00:00:00');
    expect(formatTime(add(parseTime('0100-01-15', 'from'), -1, 'month'))).toBe('0099-12-15 00:00:00');
    expect(formatTime(add(parseTime('0050-06-30', 'from'), 1, 'year'))).toBe('0051-06-30 00:00:00');
  });

  it('widens a range to whole periods', () => {
    const { start, end } = snapRange('0050-03-15', '0050-03-15', 'month');
    expect(formatTime(start!)).toBe('0050-03-01 00:00:00');
    expect(formatTime(end!)).toBe('0050-04-01 00:00:00');
  });

  it('compiles a request from 0001-01-01 with that date in its SQL', () => {
    const project = loadProject('.');
    const sql = compileRequest(project.graph, { metrics: ['orders'], groupBy: ['metric_time.year'], from: '0001-01-01', to: '2025-12-31' }).sql;
    expect(sql).toContain('0001-01-01');
    expect(sql).not.toContain('1901-01-01');
  });
});
