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
    WHERE ("orders"."status" IN ('paid', 'shipped')) AND (CAST("orders"."ordered_at" AS TIMESTAMP) >= TIMESTAMP '2024-12-01 00:00:00') AND (CAST("orders"."ordered_at" AS TIMESTAMP) < TIMESTAMP '2025-02-01 00:00:00')
  ),
  -- revenue_mtd: whether there is data in the range's last day or after it
  "cte_revenue_mtd_last" AS (
    SELECT
      MAX(CAST("orders"."ordered_at" AS TIMESTAMP)) AS "__time"
    FROM (
      SELECT
        ordered_at AS "ordered_at",
        status AS "status"
      FROM orders AS "source"
    ) AS "orders"
    WHERE ("orders"."status" IN ('paid', 'shipped')) AND (CAST("orders"."ordered_at" AS TIMESTAMP) >= TIMESTAMP '2025-01-31 00:00:00')
  ),
  -- revenue_mtd: sum of order_amount over the month to date at each day
  "cte_revenue_mtd" AS (
    SELECT
      "period"."start" AS "metric_time__day",
      SUM("r"."__value") AS "revenue_mtd"
    FROM generate_series(TIMESTAMP '2024-12-10 00:00:00', CASE WHEN (
      SELECT
        MAX("__time") AS "max"
      FROM "cte_revenue_mtd_last"
    ) IS NULL THEN date_trunc('day', (
      SELECT
        MAX("__time") AS "max"
      FROM "cte_revenue_mtd_rows"
    )) ELSE TIMESTAMP '2025-01-31 00:00:00' END, INTERVAL 1 DAY) AS "period"("start")
    INNER JOIN "cte_revenue_mtd_rows" AS "r" ON ("r"."__time" < ("period"."start" + INTERVAL 1 DAY)) AND ("r"."__time" >= date_trunc('month', "period"."start"))
    GROUP BY "period"."start"
  )
SELECT
  CAST("metric_time__day" AS DATE) AS "metric_time.day",
  "revenue_mtd"
FROM "cte_revenue_mtd"
ORDER BY "metric_time.day" NULLS LAST
