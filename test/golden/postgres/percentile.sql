-- Tally <version>: p90_order by metric_time.month
WITH
  -- p90_order: percentile of order_stats.p90_amount
  "cte_p90_order" AS (
    SELECT
      date_trunc('month', CAST("order_stats"."placed_at" AS TIMESTAMP)) AS "metric_time__month",
      PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY "order_stats"."p90_amount") AS "p90_order"
    FROM (
      SELECT
        amount AS "p90_amount",
        ordered_at AS "placed_at"
      FROM orders AS "source"
    ) AS "order_stats"
    GROUP BY date_trunc('month', CAST("order_stats"."placed_at" AS TIMESTAMP))
  )
SELECT
  CAST("metric_time__month" AS DATE) AS "metric_time.month",
  "p90_order"
FROM "cte_p90_order"
ORDER BY "metric_time.month" NULLS LAST
