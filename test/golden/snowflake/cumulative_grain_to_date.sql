-- Tally <version>: revenue_mtd by metric_time.day
WITH
  -- revenue_mtd: orders rows that can fall in a window
  "cte_revenue_mtd_rows" AS (
    SELECT
      CAST("orders"."ordered_at" AS TIMESTAMP_NTZ) AS "__time",
      "orders"."order_amount" AS "__value"
    FROM (
      SELECT
        amount AS "order_amount",
        ordered_at AS "ordered_at",
        status AS "status"
      FROM orders AS "source"
    ) AS "orders"
    WHERE ("orders"."status" IN ('paid', 'shipped')) AND (CAST("orders"."ordered_at" AS TIMESTAMP_NTZ) >= CAST('2024-12-01 00:00:00' AS TIMESTAMP_NTZ)) AND (CAST("orders"."ordered_at" AS TIMESTAMP_NTZ) < CAST('2025-02-01 00:00:00' AS TIMESTAMP_NTZ))
  ),
  -- revenue_mtd: the days of the answer
  "cte_revenue_mtd_days" AS (
    SELECT
      "period"."start"
    FROM (
      SELECT DATEADD(day, periods.index, bounds.lo) AS "start"
      FROM (SELECT CAST('2024-12-10 00:00:00' AS TIMESTAMP_NTZ) AS lo, CAST('2025-01-31 00:00:00' AS TIMESTAMP_NTZ) AS hi) AS bounds,
        LATERAL FLATTEN(INPUT => ARRAY_GENERATE_RANGE(0, DATEDIFF(day, bounds.lo, bounds.hi) + 1)) AS periods
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
