/** The generic query's Row scalar: every bigint leaves as its exact digits; other values as they are. */
import { describe, expect, it } from 'vitest';
import { RowScalar } from '../src/api/scalars.js';

describe('Row scalar', () => {
  it('writes bigints as their exact digits, whatever column they are in', () => {
    const row = { 'user.id': 18446744073709551617n, orders: '9007199254740993', share: 0.25, plan: 'pro', missing: null };
    const out = RowScalar.serialize(row) as Record<string, unknown>;
    expect(out).toEqual({ 'user.id': '18446744073709551617', orders: '9007199254740993', share: 0.25, plan: 'pro', missing: null });
    // The answer itself is not changed (it may be kept in the answer cache).
    expect(row['user.id']).toBe(18446744073709551617n);
    expect(JSON.parse(JSON.stringify(out))['user.id']).toBe('18446744073709551617');
  });

  it('a row without bigints goes out with the same values', () => {
    const row = { plan: 'free', revenue: '2767803.74', share: 0.5 };
    expect(RowScalar.serialize(row)).toEqual({ plan: 'free', revenue: '2767803.74', share: 0.5 });
    expect(() => RowScalar.serialize('x')).toThrow('a Row is an object');
  });
});
