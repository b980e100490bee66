-- Tally <version>: revenue_growth_mom by metric_time.month
WITH
  -- revenue: sum of orders.order_amount
  "cte_revenue" AS (
    SELECT
      date_trunc('month', CAST("orders"."ordered_at" AS TIMESTAMP)) AS "metric_time__month",
      SUM("orders"."order_amount") AS "revenue"
    FROM (
      SELECT
        amount AS "order_amount",
        ordered_at AS "ordered_at",
        status AS "status"
      FROM orders AS "source"
    ) AS "orders"
    WHERE "orders"."status" IN ('paid', 'shipped')
    GROUP BY date_trunc('month', CAST("orders"."ordered_at" AS TIMESTAMP))
  ),
  -- revenue: sum of orders.order_amount
  "cte_revenue_2" AS (
    SELECT
      date_trunc('month', "period"."start") AS "metric_time__month",
      SUM("orders"."order_amount") AS "revenue"
    FROM generate_series(((
      SELECT
        MIN(date_trunc('month', CAST("orders"."ordered_at" AS TIMESTAMP))) AS "min"
      FROM (
        SELECT
          ordered_at AS "ordered_at"
        FROM orders AS "source"
      ) AS "orders"
    ) + INTERVAL 1 MONTH), ((
      SELECT
        MAX(date_trunc('month', CAST("orders"."ordered_at" AS TIMESTAMP))) AS "max"
      FROM (
        SELECT
          ordered_at AS "ordered_at"
        FROM orders AS "source"
      ) AS "orders"
    ) + INTERVAL 1 MONTH), INTERVAL 1 MONTH) AS "period"("start")
    INNER JOIN (
      SELECT
        amount AS "order_amount",
        ordered_at AS "ordered_at",
        status AS "status"
      FROM orders AS "source"
    ) AS "orders" ON date_trunc('month', CAST("orders"."ordered_at" AS TIMESTAMP)) = ("period"."start" - INTERVAL 1 MONTH)
    WHERE "orders"."status" IN ('paid', 'shipped')
    GROUP BY date_trunc('month', "period"."start")
  ),
  -- revenue_growth_mom: derived from revenue, revenue_last_month
  "cte_revenue_growth_mom" AS (
    SELECT
      "combined"."metric_time__month",
      (COALESCE(MAX("combined"."__v0"), COALESCE(0 * (
        SELECT
          MAX("revenue") AS "sample"
        FROM "cte_revenue"
      ), 0)) - COALESCE(MAX("combined"."__v1"), COALESCE(0 * (
        SELECT
          MAX("revenue") AS "sample"
        FROM "cte_revenue_2"
      ), 0))) / NULLIF(COALESCE(MAX("combined"."__v1"), COALESCE(0 * (
        SELECT
          MAX("revenue") AS "sample"
        FROM "cte_revenue_2"
      ), 0)), 0) AS "revenue_growth_mom"
    FROM (
      SELECT
        "metric_time__month",
        "revenue" AS "__v0"
      FROM "cte_revenue"
      UNION ALL BY NAME
      SELECT
        "metric_time__month",
        "revenue" AS "__v1"
      FROM "cte_revenue_2"
    ) AS "combined"
    GROUP BY "combined"."metric_time__month"
  )
SELECT
  CAST("metric_time__month" AS DATE) AS "metric_time.month",
  COALESCE("revenue_growth_mom", (COALESCE(0 * (
    SELECT
      MAX("revenue") AS "sample"
    FROM "cte_revenue"
  ), 0) - COALESCE(0 * (
    SELECT
      MAX("revenue") AS "sample"
    FROM "cte_revenue_2"
  ), 0)) / NULLIF(COALESCE(0 * (
    SELECT
      MAX("revenue") AS "sample"
    FROM "cte_revenue_2"
  ), 0), 0)) AS "revenue_growth_mom"
FROM "cte_revenue_growth_mom"
ORDER BY "metric_time.month" NULLS LAST
