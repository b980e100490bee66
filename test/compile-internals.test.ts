/**
 * Shortcuts the compiler takes for speed give exactly what the slow forms give: the projection
 * column order equals String.prototype.localeCompare's, memo keys equal JSON.stringify's.
 */
import { describe, expect, it } from 'vitest';
import { byName } from '../src/planner/scan.js';
import { expressionsKey } from '../src/query/expression.js';
import { parseExpression } from '../src/query/parse-expression.js';

describe('projection column order', () => {
  it('is the default collation (localeCompare) for names of definitions and any other text', () => {
    // A fixed pseudo-random sequence, so that a failure reproduces.
    let seed = 12345;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabets = ['ab_09z', 'a_b1', 'aB_-.é 9Z', 'abcdefghijklmnopqrstuvwxyz0123456789_'];
    let compared = 0;
    for (const alphabet of alphabets) {
      for (let k = 0; k < 20_000; k++) {
        const word = (): string => Array.from({ length: next(7) }, () => alphabet[next(alphabet.length)]).join('');
        const a = word();
        const b = word();
        expect([a, b, Math.sign(byName(a, b))]).toEqual([a, b, Math.sign(a.localeCompare(b))]);
        compared++;
      }
    }
    const names = ['f0_amount', 'f0amount', 'f0', 'd0_id', 'd0', 'd10', 'd1', '_row', 'ts', 'user_id', 'userid', 'user', 'Amount', 'amount', 'a-b'];
    expect([...names].sort(byName)).toEqual([...names].sort((a, b) => a.localeCompare(b)));
    expect(compared).toBe(80_000);
  });
});

describe('memo keys of filters', () => {
  it('are the JSON of the filters, computed once per expression', () => {
    const filters = [parseExpression("user.country IN ('KR', 'JP') AND order.status <> 'cancelled'"), parseExpression('user.orders > 3'), parseExpression("coalesce(user.plan, 'free') = 'pro'")];
    expect(expressionsKey(filters)).toBe(JSON.stringify(filters));
    expect(expressionsKey(filters)).toBe(JSON.stringify(filters));
    expect(expressionsKey([])).toBe('[]');
    expect(expressionsKey([filters[1]])).not.toBe(expressionsKey([parseExpression('user.orders > 4')]));
  });
});
