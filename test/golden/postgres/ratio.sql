-- Tally <version>: average_order_value by metric_time.week
WITH
  -- revenue: sum of orders.order_amount; paid_orders: count of order_count
  "cte_revenue" AS (
    SELECT
      date_trunc('week', CAST("orders"."ordered_at" AS TIMESTAMP)) AS "metric_time__week",
      SUM("orders"."order_amount") AS "revenue",
      COUNT("orders"."order_count") AS "paid_orders"
    FROM (
      SELECT
        amount AS "order_amount",
        order_id AS "order_count",
        ordered_at AS "ordered_at",
        status AS "status"
      FROM orders AS "source"
    ) AS "orders"
    WHERE "orders"."status" IN ('paid', 'shipped')
    GROUP BY date_trunc('week', CAST("orders"."ordered_at" AS TIMESTAMP))
  ),
  -- average_order_value = revenue / paid_orders
  "cte_average_order_value" AS (
    SELECT
      "metric_time__week",
      CAST(COALESCE("revenue", COALESCE(0 * (
        SELECT
          MAX("revenue") AS "sample"
        FROM "cte_revenue"
      ), 0)) AS DOUBLE PRECISION) / NULLIF(COALESCE("paid_orders", 0), 0) AS "average_order_value"
    FROM "cte_revenue"
  )
SELECT
  CAST("metric_time__week" AS DATE) AS "metric_time.week",
  "average_order_value"
FROM "cte_average_order_value"
ORDER BY "metric_time.week" NULLS LAST
