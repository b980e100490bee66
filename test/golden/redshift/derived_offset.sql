-- Tally <version>: revenue_growth_mom by metric_time.month
WITH
  -- revenue: sum of orders.order_amount
  "cte_revenue" AS (
    SELECT
      DATE_TRUNC('month', CAST("orders"."ordered_at" AS TIMESTAMP)) AS "metric_time__month",
      SUM("orders"."order_amount") AS "revenue"
    FROM (
      SELECT
        amount AS "order_amount",
        ordered_at AS "ordered_at",
        status AS "status"
      FROM orders AS "source"
    ) AS "orders"
    WHERE "orders"."status" IN ('paid', 'shipped')
    GROUP BY DATE_TRUNC('month', CAST("orders"."ordered_at" AS TIMESTAMP))
  ),
  -- revenue: sum of orders.order_amount
  "cte_revenue_2" AS (
    SELECT
      DATE_TRUNC('month', "period"."start") AS "metric_time__month",
      SUM("orders"."order_amount") AS "revenue"
    FROM (
      SELECT DATEADD(month, numbers.n, bounds.lo) AS "start"
      FROM (SELECT (DATEADD(month, 1, (
      SELECT
        MIN(DATE_TRUNC('month', CAST("orders"."ordered_at" AS TIMESTAMP))) AS "min"
      FROM (
        SELECT
          ordered_at AS "ordered_at"
        FROM orders AS "source"
      ) AS "orders"
    ))) AS lo, (DATEADD(month, 1, (
      SELECT
        MAX(DATE_TRUNC('month', CAST("orders"."ordered_at" AS TIMESTAMP))) AS "max"
      FROM (
        SELECT
          ordered_at AS "ordered_at"
        FROM orders AS "source"
      ) AS "orders"
    ))) AS hi) AS bounds
      CROSS JOIN (
        SELECT d0.d + 10 * d1.d + 100 * d2.d + 1000 * d3.d + 10000 * d4.d + 100000 * d5.d AS n
        FROM (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d0
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d1
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d2
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d3
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d4
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d5
      ) AS numbers
      WHERE numbers.n <= DATEDIFF(month, bounds.lo, bounds.hi)
    ) AS "period"
    INNER JOIN (
      SELECT
        amount AS "order_amount",
        ordered_at AS "ordered_at",
        status AS "status"
      FROM orders AS "source"
    ) AS "orders" ON DATE_TRUNC('month', CAST("orders"."ordered_at" AS TIMESTAMP)) = (DATEADD(month, -1, "period"."start"))
    WHERE "orders"."status" IN ('paid', 'shipped')
    GROUP BY DATE_TRUNC('month', "period"."start")
  ),
  -- revenue_growth_mom: derived from revenue, revenue_last_month
  "cte_revenue_growth_mom" AS (
    SELECT
      "combined"."metric_time__month",
      CAST((COALESCE(MAX("combined"."__v0"), COALESCE(0 * (
        SELECT
          MAX("revenue") AS "sample"
        FROM "cte_revenue"
      ), 0)) - COALESCE(MAX("combined"."__v1"), COALESCE(0 * (
        SELECT
          MAX("revenue") AS "sample"
        FROM "cte_revenue_2"
      ), 0))) AS DOUBLE PRECISION) / NULLIF(COALESCE(MAX("combined"."__v1"), COALESCE(0 * (
        SELECT
          MAX("revenue") AS "sample"
        FROM "cte_revenue_2"
      ), 0)), 0) AS "revenue_growth_mom"
    FROM (
      SELECT
        "metric_time__month",
        "revenue" AS "__v0",
        (SELECT "revenue" FROM "cte_revenue_2" WHERE FALSE) AS "__v1"
      FROM "cte_revenue"
      UNION ALL
      SELECT
        "metric_time__month",
        NULL AS "__v0",
        "revenue" AS "__v1"
      FROM "cte_revenue_2"
    ) AS "combined"
    GROUP BY "combined"."metric_time__month"
  )
SELECT
  CAST("metric_time__month" AS DATE) AS "metric_time.month",
  COALESCE("revenue_growth_mom", CAST((COALESCE(0 * (
    SELECT
      MAX("revenue") AS "sample"
    FROM "cte_revenue"
  ), 0) - COALESCE(0 * (
    SELECT
      MAX("revenue") AS "sample"
    FROM "cte_revenue_2"
  ), 0)) AS DOUBLE PRECISION) / NULLIF(COALESCE(0 * (
    SELECT
      MAX("revenue") AS "sample"
    FROM "cte_revenue_2"
  ), 0), 0)) AS "revenue_growth_mom"
FROM "cte_revenue_growth_mom"
ORDER BY "metric_time.month" NULLS LAST
