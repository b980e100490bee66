-- Tally <version>: p50_order_discrete by metric_time.month
WITH
  -- p50_order_discrete: percentile of order_stats.p50_amount_discrete
  "cte_p50_order_discrete" AS (
    SELECT
      date_trunc('month', CAST("order_stats"."placed_at" AS TIMESTAMP)) AS "metric_time__month",
      QUANTILE_DISC("order_stats"."p50_amount_discrete", 0.5) AS "p50_order_discrete"
    FROM (
      SELECT
        amount AS "p50_amount_discrete",
        ordered_at AS "placed_at"
      FROM orders AS "source"
    ) AS "order_stats"
    GROUP BY date_trunc('month', CAST("order_stats"."placed_at" AS TIMESTAMP))
  )
SELECT
  CAST("metric_time__month" AS DATE) AS "metric_time.month",
  "p50_order_discrete"
FROM "cte_p50_order_discrete"
ORDER BY "metric_time.month" NULLS LAST
