/**
 * The catalog page's pure helpers (src/web/public/format.js): periods as people write them, the
 * typo-forgiving search, changes and CSV. ISO weeks are checked against DuckDB's own isoyear()
 * and week() over every Monday of 2019-2031, an independent implementation.
 */
import { describe, expect, it } from 'vitest';
import { DuckDBEngine } from '../src/index.js';
import { displayValue } from '../src/output.js';
import { editDistance, formatChange, formatMetric, formatValue, fuzzyMatches, isoWeek, periodLabel, relativeChange, toCsv } from '../src/web/public/format.js';

describe('period labels', () => {
  it('prints each grain as people write it', () => {
    expect(periodLabel('2024-01-01', 'month')).toBe('Jan 2024');
    expect(periodLabel('2024-01-15', 'week')).toBe('2024-W03');
    expect(periodLabel('2024-01-01', 'quarter')).toBe('Q1 2024');
    expect(periodLabel('2024-10-01', 'quarter')).toBe('Q4 2024');
    expect(periodLabel('2024-03-05', 'day')).toBe('2024-03-05');
    expect(periodLabel('2024-03-05 14:00:00', 'hour')).toBe('2024-03-05 14:00');
    expect(periodLabel('2024-01-01', 'year')).toBe('2024');
    expect(periodLabel('FY24-Q1', 'fiscal_quarter')).toBe('FY24-Q1');
    expect(periodLabel(null, 'month')).toBe('(none)');
  });

  it('ISO weeks agree with DuckDB for every Monday of 2019-2031, including weeks 1 and 53', async () => {
    const engine = await DuckDBEngine.open({ path: ':memory:' });
    try {
      const result = await engine.query(
        `SELECT strftime(d, '%Y-%m-%d'), isoyear(d), week(d) FROM range(DATE '2018-12-31', DATE '2032-01-01', INTERVAL 7 DAY) t(d)`,
      );
      expect(result.rows.length).toBeGreaterThan(600);
      for (const [date, year, week] of result.rows) {
        const [y, m, d] = String(date).split('-').map(Number);
        expect(isoWeek(y, m, d), String(date)).toEqual({ year: Number(year), week: Number(week) });
      }
      expect(periodLabel('2020-12-28', 'week')).toBe('2020-W53');
      expect(periodLabel('2024-12-30', 'week')).toBe('2025-W01');
    } finally {
      await engine.close();
    }
  });
});

describe('search that forgives small typos', () => {
  const revenue = 'revenue Money from paid and shipped orders finance@shop.example';
  it('finds a word one or two edits away, and only then', () => {
    expect(fuzzyMatches(revenue, ['revnue'])).toBe(true); // a letter dropped
    expect(fuzzyMatches(revenue, ['reveune'])).toBe(true); // two letters swapped
    expect(fuzzyMatches(revenue, ['revenu'])).toBe(true);
    expect(fuzzyMatches(revenue, ['finanse'])).toBe(true);
    expect(fuzzyMatches(revenue, ['rev'])).toBe(true); // a substring
    expect(fuzzyMatches(revenue, ['retention'])).toBe(false);
    expect(fuzzyMatches(revenue, ['dau'])).toBe(false); // short words must be exact
    expect(fuzzyMatches(revenue, ['revnue', 'shiped'])).toBe(true);
    expect(fuzzyMatches(revenue, ['revnue', 'users'])).toBe(false); // every word must match
    expect(editDistance('revnue', 'revenue')).toBe(1);
    expect(editDistance('abcd', 'badc')).toBe(2);
  });
});

describe('numbers', () => {
  it('keeps every digit and groups thousands; changes are signed percentages', () => {
    expect(formatValue('12345678901234567890')).toBe('12,345,678,901,234,567,890');
    expect(formatValue('-1234.5678')).toBe('-1,234.5678');
    expect(formatValue(null)).toBe('–');
    expect(relativeChange('110', '100')).toBeCloseTo(0.1, 12);
    expect(relativeChange(90, 100)).toBeCloseTo(-0.1, 12);
    expect(relativeChange(5, 0)).toBeNull();
    expect(relativeChange(null, 3)).toBeNull();
    expect(formatChange(0.05234)).toBe('+5.2%');
    expect(formatChange(-0.03)).toBe('−3.0%');
    expect(formatChange(null)).toBe('–');
  });

  it("shows a metric in its display format exactly as the CLI's table does (src/output.ts)", () => {
    const formats = [
      { kind: 'percent' as const },
      { kind: 'percent' as const, decimals: 2 },
      { kind: 'currency' as const, currency: 'USD' },
      { kind: 'currency' as const, currency: 'EUR', decimals: 0 },
      { kind: 'currency' as const, currency: 'KRW' },
      { kind: 'number' as const },
      { kind: 'number' as const, decimals: 3 },
    ];
    const values = [0.4612, '1234.5', '12345678901234567890.125', 113.05989999999998, -0.0049, 0, '7'];
    for (const format of formats) for (const value of values) expect(formatMetric(value, format), `${String(value)} as ${JSON.stringify(format)}`).toBe(displayValue(value, format));
    expect(formatMetric(0.4612, { kind: 'percent' })).toBe('46.1%');
    expect(formatMetric('12345678901234567890.125', { kind: 'currency', currency: 'USD' })).toBe('$12,345,678,901,234,567,890.13');
    expect(formatMetric(null, { kind: 'percent' })).toBe('–');
    expect(formatMetric('1234.5', null)).toBe('1,234.5');
  });

  it('writes CSV with exact values and quotes where RFC 4180 needs them', () => {
    const csv = toCsv(['user.country', 'revenue'], [
      { 'user.country': 'KR', revenue: '12345678901234567.25' },
      { 'user.country': 'a,"b"', revenue: null },
    ]);
    expect(csv).toBe('user.country,revenue\r\nKR,12345678901234567.25\r\n"a,""b""",\r\n');
  });
});
