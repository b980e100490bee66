-- Tally <version>: median_order, p90_order_id by metric_time.month
WITH
  -- median_order: median of order_stats.median_amount; p90_order_id: percentile of p90_order_number
  "cte_median_order" AS (
    SELECT
      DATE_TRUNC('month', CAST("order_stats"."placed_at" AS TIMESTAMP_NTZ)) AS "metric_time__month",
      MEDIAN("order_stats"."median_amount") AS "median_order",
      PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY "order_stats"."p90_order_number") AS "p90_order_id"
    FROM (
      SELECT
        amount AS "median_amount",
        order_id AS "p90_order_number",
        ordered_at AS "placed_at"
      FROM orders AS "source"
    ) AS "order_stats"
    GROUP BY DATE_TRUNC('month', CAST("order_stats"."placed_at" AS TIMESTAMP_NTZ))
  )
SELECT
  CAST("metric_time__month" AS DATE) AS "metric_time.month",
  "median_order",
  "p90_order_id"
FROM "cte_median_order"
ORDER BY "metric_time.month" NULLS LAST
