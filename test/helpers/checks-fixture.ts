/**
 * A small shop with planted faults for the data checks, and its clean twin. Tables are built
 * WITHOUT key constraints, so that a duplicated key can exist. The faulty twin has: user 3 twice
 * and a user without an id; orders of users 98 and 99 (not in users), an order without a time and
 * one dated after NOW, a status outside the accepted set, a negative amount, a NULL channel, a
 * repeated (user, ordered_at) pair and too many rows; shipments whose newest row is two days old.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** "Now" for every check run over these tables. */
export const NOW = new Date('2026-01-10T12:00:00Z');

export const CHECKS_MODELS_YML = `semantic_models:
  - name: users
    table: users
    defaults: { agg_time_dimension: signed_up_at }
    entities:
      - { name: user, type: primary, expr: user_id }
    dimensions:
      - { name: signed_up_at, type: time, granularity: day }
      - { name: country, type: categorical }
    measures:
      - { name: signups, agg: count, expr: user_id }

  - name: orders
    table: orders
    defaults: { agg_time_dimension: ordered_at }
    entities:
      - { name: order, type: primary, expr: order_id }
      - { name: user, type: foreign, expr: user_id }
    dimensions:
      - { name: ordered_at, type: time, granularity: day }
      - { name: status, type: categorical }
      - { name: channel, type: categorical }
    measures:
      - { name: order_amount, agg: sum, expr: amount }
      - { name: order_count, agg: count, expr: order_id }
    checks:
      - { not_null: [channel], severity: warn }
      - { unique: [user, ordered_at], name: one_order_per_user_and_time }
      - { accepted_values: { column: status, values: [placed, paid, shipped] } }
      - { expression: "amount >= 0", name: amount_not_negative }
      - { row_count: { min: 1, max: 12 } }

  - name: shipments
    table: shipments
    defaults: { agg_time_dimension: shipped_at }
    entities:
      - { name: shipment, type: primary, expr: shipment_id }
      - { name: order, type: foreign, expr: order_id }
    dimensions:
      - { name: shipped_at, type: time, granularity: day }
    measures:
      - { name: shipment_count, agg: count, expr: shipment_id }
    freshness: { warn_after: 6 hours, error_after: 1 day }
`;

export const CHECKS_METRICS_YML = `metrics:
  - { name: revenue, type: simple, measure: order_amount }
  - { name: orders, type: simple, measure: order_count }
  - { name: shipments, type: simple, measure: shipment_count }
  - { name: signups, type: simple, measure: signups }
`;

/** DuckDB SQL creating the tables; `faulty` plants the faults listed above. */
export function checksFixtureSql(faulty: boolean): string {
  const users = [
    "(1, TIMESTAMP '2025-12-01 10:00:00', 'KR')",
    "(2, TIMESTAMP '2025-12-02 10:00:00', 'US')",
    "(3, TIMESTAMP '2025-12-03 10:00:00', 'US')",
    "(4, TIMESTAMP '2025-12-04 10:00:00', 'DE')",
    "(5, TIMESTAMP '2025-12-05 10:00:00', 'KR')",
    ...(faulty ? ["(3, TIMESTAMP '2025-12-06 10:00:00', 'FR')", "(NULL, TIMESTAMP '2025-12-07 10:00:00', 'FR')"] : []),
  ];
  const orders = [
    "(101, 1, TIMESTAMP '2026-01-01 09:00:00', 'paid', 10.00, 'web')",
    "(102, 2, TIMESTAMP '2026-01-02 09:00:00', 'placed', 20.00, 'app')",
    "(103, 3, TIMESTAMP '2026-01-03 09:00:00', 'shipped', 30.00, 'web')",
    "(104, 4, TIMESTAMP '2026-01-04 09:00:00', 'paid', 40.00, 'app')",
    "(105, 5, TIMESTAMP '2026-01-05 09:00:00', 'paid', 50.00, 'web')",
    "(106, 1, TIMESTAMP '2026-01-06 09:00:00', 'paid', 60.00, 'web')",
    "(107, 2, TIMESTAMP '2026-01-07 09:00:00', 'placed', 70.00, 'app')",
    "(108, 3, TIMESTAMP '2026-01-08 09:00:00', 'shipped', 80.00, 'web')",
    "(109, 4, TIMESTAMP '2026-01-09 09:00:00', 'paid', 90.00, 'app')",
    "(110, 5, TIMESTAMP '2026-01-10 08:00:00', 'paid', 100.00, 'web')",
    ...(faulty
      ? [
          "(111, 99, TIMESTAMP '2026-01-05 10:00:00', 'paid', 5.00, 'web')",
          "(112, 98, TIMESTAMP '2026-01-06 10:00:00', 'paid', 6.00, 'web')",
          "(113, 99, TIMESTAMP '2026-01-07 10:00:00', 'lost', 7.00, 'app')",
          "(114, 1, NULL, 'paid', 8.00, 'web')",
          "(115, 2, TIMESTAMP '2026-03-01 00:00:00', 'paid', 9.00, 'web')",
          "(116, 4, TIMESTAMP '2026-01-04 09:00:00', 'paid', -5.00, NULL)",
        ]
      : []),
  ];
  const newestShipment = faulty ? '2026-01-08 11:00:00' : '2026-01-10 11:00:00';
  return `
    CREATE TABLE users (user_id BIGINT, signed_up_at TIMESTAMP, country VARCHAR);
    INSERT INTO users VALUES ${users.join(', ')};
    CREATE TABLE orders (order_id BIGINT, user_id BIGINT, ordered_at TIMESTAMP, status VARCHAR, amount DECIMAL(12, 2), channel VARCHAR);
    INSERT INTO orders VALUES ${orders.join(', ')};
    CREATE TABLE shipments (shipment_id BIGINT, order_id BIGINT, shipped_at TIMESTAMP);
    INSERT INTO shipments VALUES (1, 101, TIMESTAMP '2026-01-02 11:00:00'), (2, 103, TIMESTAMP '${newestShipment}');
  `;
}

/** Writes a project directory (metrics/ and, when given, tally.yml) for CLI tests. */
export function writeChecksProject(dir: string, tallyYml?: string): void {
  mkdirSync(join(dir, 'metrics'), { recursive: true });
  writeFileSync(join(dir, 'metrics', 'models.yml'), CHECKS_MODELS_YML);
  writeFileSync(join(dir, 'metrics', 'metrics.yml'), CHECKS_METRICS_YML);
  if (tallyYml) writeFileSync(join(dir, 'tally.yml'), tallyYml);
}
