-- Tally <version>: orders by metric_time.extract_dow, metric_time.extract_week, metric_time.extract_doy, metric_time.extract_quarter
WITH
  -- orders: count of orders.order_count
  "cte_orders" AS (
    SELECT
      CAST(CASE WHEN EXTRACT(dow FROM CAST("orders"."ordered_at" AS TIMESTAMP)) = 0 THEN 7 ELSE EXTRACT(dow FROM CAST("orders"."ordered_at" AS TIMESTAMP)) END AS BIGINT) AS "metric_time__extract_dow",
      CAST(EXTRACT(week FROM CAST("orders"."ordered_at" AS TIMESTAMP)) AS BIGINT) AS "metric_time__extract_week",
      CAST(EXTRACT(doy FROM CAST("orders"."ordered_at" AS TIMESTAMP)) AS BIGINT) AS "metric_time__extract_doy",
      CAST(EXTRACT(quarter FROM CAST("orders"."ordered_at" AS TIMESTAMP)) AS BIGINT) AS "metric_time__extract_quarter",
      COUNT("orders"."order_count") AS "orders"
    FROM (
      SELECT
        order_id AS "order_count",
        ordered_at AS "ordered_at"
      FROM orders AS "source"
    ) AS "orders"
    GROUP BY CAST(CASE WHEN EXTRACT(dow FROM CAST("orders"."ordered_at" AS TIMESTAMP)) = 0 THEN 7 ELSE EXTRACT(dow FROM CAST("orders"."ordered_at" AS TIMESTAMP)) END AS BIGINT), CAST(EXTRACT(week FROM CAST("orders"."ordered_at" AS TIMESTAMP)) AS BIGINT), CAST(EXTRACT(doy FROM CAST("orders"."ordered_at" AS TIMESTAMP)) AS BIGINT), CAST(EXTRACT(quarter FROM CAST("orders"."ordered_at" AS TIMESTAMP)) AS BIGINT)
  )
SELECT
  "metric_time__extract_dow" AS "metric_time.extract_dow",
  "metric_time__extract_week" AS "metric_time.extract_week",
  "metric_time__extract_doy" AS "metric_time.extract_doy",
  "metric_time__extract_quarter" AS "metric_time.extract_quarter",
  COALESCE("orders", 0) AS "orders"
FROM "cte_orders"
ORDER BY "metric_time.extract_dow" NULLS LAST, "metric_time.extract_week" NULLS LAST, "metric_time.extract_doy" NULLS LAST, "metric_time.extract_quarter" NULLS LAST
