-- Tally <version>: median_order, p90_order_id by metric_time.month
WITH
  -- median_order: median of order_stats.median_amount
  "cte_median_order" AS (
    SELECT
      DATE_TRUNC('month', CAST("order_stats"."placed_at" AS TIMESTAMP)) AS "metric_time__month",
      MEDIAN("order_stats"."median_amount") AS "median_order"
    FROM (
      SELECT
        amount AS "median_amount",
        ordered_at AS "placed_at"
      FROM orders AS "source"
    ) AS "order_stats"
    GROUP BY DATE_TRUNC('month', CAST("order_stats"."placed_at" AS TIMESTAMP))
  ),
  -- p90_order_id: percentile of order_stats.p90_order_number
  "cte_p90_order_id" AS (
    SELECT
      DATE_TRUNC('month', CAST("order_stats"."placed_at" AS TIMESTAMP)) AS "metric_time__month",
      PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY "order_stats"."p90_order_number") AS "p90_order_id"
    FROM (
      SELECT
        order_id AS "p90_order_number",
        ordered_at AS "placed_at"
      FROM orders AS "source"
    ) AS "order_stats"
    GROUP BY DATE_TRUNC('month', CAST("order_stats"."placed_at" AS TIMESTAMP))
  )
SELECT
  CAST("combined"."metric_time__month" AS DATE) AS "metric_time.month",
  MAX("combined"."__v0") AS "median_order",
  MAX("combined"."__v1") AS "p90_order_id"
FROM (
  SELECT
    "metric_time__month",
    "median_order" AS "__v0",
    (SELECT "p90_order_id" FROM "cte_p90_order_id" WHERE FALSE) AS "__v1"
  FROM "cte_median_order"
  UNION ALL
  SELECT
    "metric_time__month",
    NULL AS "__v0",
    "p90_order_id" AS "__v1"
  FROM "cte_p90_order_id"
) AS "combined"
GROUP BY "combined"."metric_time__month"
ORDER BY "metric_time.month" NULLS LAST
