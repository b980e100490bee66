/**
 * Experiment `fx` over the shop fixture (fixtures/shop.sql): its definition and the assignment rows
 * that go with it, shared by the DuckDB/Postgres and the Trino sufficient-statistics tests.
 */

/** The definition, appended to the fixture project's sources. */
export const FX_EXPERIMENT = `
experiments:
  - name: fx
    assignment: { model: experiment_assignments, entity: user, variant: variant, assigned_at: assigned_at, filter: "assignment.experiment = 'fx'" }
    control: control
    split: { control: 1, treatment: 1 }
    start: 2024-11-01
    end: 2025-03-01
    attribution_window: 60 days
    pre_period: 14 days
    primary_metrics: [orders, revenue, average_order_value]
    guardrail_metrics: [signup_to_paid_order_7d, items_sold]
    success: { direction: increase, minimum_effect: 0.01 }
`;

/** DuckDB SQL statements (one each) that assign the fixture's users to fx. */
export const FX_ASSIGNMENTS = [
  `INSERT INTO experiment_assignments SELECT user_id, 'fx', CASE WHEN user_id % 2 = 1 THEN 'treatment' ELSE 'control' END, signed_up_at + INTERVAL '1 minute' FROM users`,
  // User 3 also shows up in the control: seen in both variants, left out.
  `INSERT INTO experiment_assignments VALUES (3, 'fx', 'control', TIMESTAMP '2024-12-01 00:00:00')`,
];
