-- Tally <version>: p90_order_approximate by metric_time.month
WITH
  -- p90_order_approximate: percentile of order_stats.p90_amount_approximate
  "cte_p90_order_approximate" AS (
    SELECT
      DATE_TRUNC('month', CAST("order_stats"."placed_at" AS TIMESTAMP)) AS "metric_time__month",
      PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY "order_stats"."p90_amount_approximate") AS "p90_order_approximate"
    FROM (
      SELECT
        amount AS "p90_amount_approximate",
        ordered_at AS "placed_at"
      FROM orders AS "source"
    ) AS "order_stats"
    GROUP BY DATE_TRUNC('month', CAST("order_stats"."placed_at" AS TIMESTAMP))
  )
SELECT
  CAST("metric_time__month" AS DATE) AS "metric_time.month",
  "p90_order_approximate"
FROM "cte_p90_order_approximate"
ORDER BY "metric_time.month" NULLS LAST
