-- Tally <version>: orders by metric_time.extract_dow, metric_time.extract_week, metric_time.extract_doy, metric_time.extract_quarter
WITH
  -- orders: count of orders.order_count
  "cte_orders" AS (
    SELECT
      DAYOFWEEKISO(CAST("orders"."ordered_at" AS TIMESTAMP_NTZ)) AS "metric_time__extract_dow",
      WEEKISO(CAST("orders"."ordered_at" AS TIMESTAMP_NTZ)) AS "metric_time__extract_week",
      DAYOFYEAR(CAST("orders"."ordered_at" AS TIMESTAMP_NTZ)) AS "metric_time__extract_doy",
      EXTRACT(quarter FROM CAST("orders"."ordered_at" AS TIMESTAMP_NTZ)) AS "metric_time__extract_quarter",
      COUNT("orders"."order_count") AS "orders"
    FROM (
      SELECT
        order_id AS "order_count",
        ordered_at AS "ordered_at"
      FROM orders AS "source"
    ) AS "orders"
    GROUP BY DAYOFWEEKISO(CAST("orders"."ordered_at" AS TIMESTAMP_NTZ)), WEEKISO(CAST("orders"."ordered_at" AS TIMESTAMP_NTZ)), DAYOFYEAR(CAST("orders"."ordered_at" AS TIMESTAMP_NTZ)), EXTRACT(quarter FROM CAST("orders"."ordered_at" AS TIMESTAMP_NTZ))
  )
SELECT
  "metric_time__extract_dow" AS "metric_time.extract_dow",
  "metric_time__extract_week" AS "metric_time.extract_week",
  "metric_time__extract_doy" AS "metric_time.extract_doy",
  "metric_time__extract_quarter" AS "metric_time.extract_quarter",
  COALESCE("orders", 0) AS "orders"
FROM "cte_orders"
ORDER BY "metric_time.extract_dow" NULLS LAST, "metric_time.extract_week" NULLS LAST, "metric_time.extract_doy" NULLS LAST, "metric_time.extract_quarter" NULLS LAST
