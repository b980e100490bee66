-- Tally <version>: median_order, p90_order_id by metric_time.month
WITH
  -- median_order: median of order_stats.median_amount; p90_order_id: percentile of p90_order_number
  "cte_median_order" AS (
    SELECT
      date_trunc('month', CAST("order_stats"."placed_at" AS TIMESTAMP)) AS "metric_time__month",
      PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY "order_stats"."median_amount") AS "median_order",
      PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY "order_stats"."p90_order_number") AS "p90_order_id"
    FROM (
      SELECT
        amount AS "median_amount",
        order_id AS "p90_order_number",
        ordered_at AS "placed_at"
      FROM orders AS "source"
    ) AS "order_stats"
    GROUP BY date_trunc('month', CAST("order_stats"."placed_at" AS TIMESTAMP))
  )
SELECT
  CAST("metric_time__month" AS DATE) AS "metric_time.month",
  "median_order",
  "p90_order_id"
FROM "cte_median_order"
ORDER BY "metric_time.month" NULLS LAST
