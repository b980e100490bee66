/**
 * Listing the values of a dimension (a request without metrics) under row filters: the values
 * are read from the model that holds the dimension, whoever asks. When that model cannot reach a
 * caller's row filter, the listing is refused with FORBIDDEN, as a metric is
 * (test/security/policies.test.ts), instead of being read from another model that happens to
 * reach it (product.brand for a KR analyst was the brands Korean users bought, not the brands).
 * Each answer is checked against hand-written SQL on the harness's database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cell } from '../../src/index.js';
import { type Harness, startHarness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ events: 2000 });
}, 120_000);
afterAll(async () => h?.close());

type Row = Record<string, unknown>;

const LISTING = `query ($g: [String!], $w: String) { query(metrics: [], groupBy: $g, where: $w) { rows } }`;

async function listing(caller: string, g: string[], w?: string): Promise<{ rows?: Row[]; code?: string; message?: string }> {
  const res = await h.gql<{ query: { rows: Row[] } }>(LISTING, { g, w }, h.keys[caller]);
  return { rows: res.data?.query?.rows, code: res.errors?.[0]?.extensions?.code, message: res.errors?.[0]?.message };
}

async function sql(text: string): Promise<Row[]> {
  const r = await h.engine.query(text);
  return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, row[i] as Cell])));
}

describe('listing values under row filters', () => {
  it("a KR analyst asking for product.brand is refused: products cannot be limited to the caller's rows", async () => {
    const answer = await listing('kr', ['product.brand']);
    expect(answer.code).toBe('FORBIDDEN');
    expect(answer.message).toBe(
      "not allowed: this request cannot be limited to the rows you may see (the values of 'product.brand' are read from model 'products', which does not reach the dimensions of the caller's row filters, so they are not listed)",
    );
    expect(answer.rows).toBeUndefined();
  });

  it('a caller without row filters lists every brand of the products table', async () => {
    const answer = await listing('admin', ['product.brand']);
    const expected = await sql(`SELECT DISTINCT brand AS "product.brand" FROM products ORDER BY 1 NULLS LAST`);
    expect(expected.length).toBeGreaterThan(1);
    expect(answer.code).toBeUndefined();
    expect(answer.rows).toEqual(expected);
  });

  it('a listing whose model reaches the row filter is still answered, restricted: order.status of KR orders', async () => {
    const answer = await listing('kr', ['order.status']);
    const expected = await sql(`
      SELECT DISTINCT o.status AS "order.status" FROM orders AS o JOIN users AS u ON u.user_id = o.user_id
      WHERE u.country = 'KR' ORDER BY 1 NULLS LAST`);
    expect(expected.length).toBeGreaterThan(1);
    expect(answer.code).toBeUndefined();
    expect(answer.rows).toEqual(expected);
  });

  it('brands filtered by an order dimension are read from order lines, which reach the row filter', async () => {
    const answer = await listing('kr', ['product.brand'], "order.status = 'paid'");
    const expected = await sql(`
      SELECT DISTINCT p.brand AS "product.brand"
      FROM order_items AS i JOIN orders AS o ON o.order_id = i.order_id JOIN users AS u ON u.user_id = o.user_id
      LEFT JOIN products AS p ON p.product_id = i.product_id
      WHERE u.country = 'KR' AND o.status = 'paid' ORDER BY 1 NULLS LAST`);
    expect(expected.length).toBeGreaterThan(1);
    expect(answer.code).toBeUndefined();
    expect(answer.rows).toEqual(expected);
  });
});
