-- Tally <version>: spread_index by metric_time.year
WITH
  -- largest_order: max of order_stats.largest_amount; mean_order: average of mean_amount; buyer_count: count_distinct of buyers
  "cte_largest_order" AS (
    SELECT
      date_trunc('year', CAST("order_stats"."placed_at" AS TIMESTAMP)) AS "metric_time__year",
      MAX("order_stats"."largest_amount") AS "largest_order",
      CAST(SUM("order_stats"."mean_amount") AS DOUBLE) / NULLIF(COUNT("order_stats"."mean_amount"), 0) AS "mean_order",
      COUNT(DISTINCT "order_stats"."buyers") AS "buyer_count"
    FROM (
      SELECT
        user_id AS "buyers",
        amount AS "largest_amount",
        amount AS "mean_amount",
        ordered_at AS "placed_at"
      FROM orders AS "source"
    ) AS "order_stats"
    GROUP BY date_trunc('year', CAST("order_stats"."placed_at" AS TIMESTAMP))
  ),
  -- spread_index: derived from largest_order, mean_order, buyer_count
  "cte_spread_index" AS (
    SELECT
      "metric_time__year",
      ROUND(GREATEST("largest_order", "mean_order") / NULLIF(COALESCE("buyer_count", 0), 0), 2) + (COALESCE("buyer_count", 0) % 7) AS "spread_index"
    FROM "cte_largest_order"
  )
SELECT
  CAST("metric_time__year" AS DATE) AS "metric_time.year",
  COALESCE("spread_index", ROUND(GREATEST(NULL, NULL) / NULLIF(0, 0), 2) + (0 % 7)) AS "spread_index"
FROM "cte_spread_index"
ORDER BY "metric_time.year" NULLS LAST
