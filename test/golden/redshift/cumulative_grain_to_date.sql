-- Tally <version>: revenue_mtd by metric_time.day
WITH
  -- revenue_mtd: orders rows that can fall in a window
  "cte_revenue_mtd_rows" AS (
    SELECT
      CAST("orders"."ordered_at" AS TIMESTAMP) AS "__time",
      "orders"."order_amount" AS "__value"
    FROM (
      SELECT
        amount AS "order_amount",
        ordered_at AS "ordered_at",
        status AS "status"
      FROM orders AS "source"
    ) AS "orders"
    WHERE ("orders"."status" IN ('paid', 'shipped')) AND (CAST("orders"."ordered_at" AS TIMESTAMP) >= CAST('2024-12-01 00:00:00' AS TIMESTAMP)) AND (CAST("orders"."ordered_at" AS TIMESTAMP) < CAST('2025-02-01 00:00:00' AS TIMESTAMP))
  ),
  -- revenue_mtd: the days of the answer
  "cte_revenue_mtd_days" AS (
    SELECT
      "period"."start"
    FROM (
      SELECT DATEADD(day, numbers.n, bounds.lo) AS "start"
      FROM (SELECT CAST('2024-12-10 00:00:00' AS TIMESTAMP) AS lo, CAST('2025-01-31 00:00:00' AS TIMESTAMP) AS hi) AS bounds
      CROSS JOIN (
        SELECT d0.d + 10 * d1.d + 100 * d2.d + 1000 * d3.d + 10000 * d4.d + 100000 * d5.d AS n
        FROM (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d0
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d1
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d2
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d3
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d4
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d5
      ) AS numbers
      WHERE numbers.n <= DATEDIFF(day, bounds.lo, bounds.hi)
    ) AS "period"
  ),
  -- revenue_mtd: sum of order_amount over the month to date at each day
  "cte_revenue_mtd_by_day" AS (
    SELECT
      "period"."start" AS "metric_time__day",
      SUM("r"."__value") AS "revenue_mtd"
    FROM "cte_revenue_mtd_days" AS "period"
    INNER JOIN "cte_revenue_mtd_rows" AS "r" ON ("r"."__time" < (DATEADD(day, 1, "period"."start"))) AND ("r"."__time" >= DATE_TRUNC('month', "period"."start"))
    GROUP BY "period"."start"
  ),
  -- revenue_mtd: every day of the answer, its window's value or none
  "cte_revenue_mtd" AS (
    SELECT
      "period"."start" AS "metric_time__day",
      "w"."revenue_mtd"
    FROM "cte_revenue_mtd_days" AS "period"
    LEFT JOIN "cte_revenue_mtd_by_day" AS "w" ON "w"."metric_time__day" = "period"."start"
  )
SELECT
  CAST("metric_time__day" AS DATE) AS "metric_time.day",
  COALESCE("revenue_mtd", COALESCE(0 * (
    SELECT
      MAX("revenue_mtd") AS "sample"
    FROM "cte_revenue_mtd"
  ), 0)) AS "revenue_mtd"
FROM "cte_revenue_mtd"
ORDER BY "metric_time.day" NULLS LAST
