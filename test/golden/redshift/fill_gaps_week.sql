-- Tally <version>: revenue by metric_time.week, user.country
WITH
  -- revenue: sum of orders.order_amount
  "cte_revenue" AS (
    SELECT
      DATE_TRUNC('week', CAST("orders"."ordered_at" AS TIMESTAMP)) AS "metric_time__week",
      "user"."country" AS "user__country",
      SUM("orders"."order_amount") AS "revenue"
    FROM (
      SELECT
        amount AS "order_amount",
        ordered_at AS "ordered_at",
        status AS "status",
        user_id AS "user"
      FROM orders AS "source"
    ) AS "orders"
    LEFT JOIN (
      SELECT
        country AS "country",
        user_id AS "user"
      FROM users AS "source"
    ) AS "user" ON "orders"."user" = "user"."user"
    WHERE "orders"."status" IN ('paid', 'shipped')
    GROUP BY DATE_TRUNC('week', CAST("orders"."ordered_at" AS TIMESTAMP)), "user"."country"
  ),
  -- every key combination the metrics produced
  "cte_observed_keys" AS (
    SELECT
      "metric_time__week",
      "user__country"
    FROM "cte_revenue"
  ),
  -- one row per week so that the series has no gaps
  "cte_time_spine" AS (
    SELECT
      DATE_TRUNC('week', "spine"."start") AS "metric_time__week",
      "k"."user__country"
    FROM (
      SELECT DATEADD(day, numbers.n * 7, bounds.lo) AS "start"
      FROM (SELECT (
      SELECT
        MIN("metric_time__week") AS "min"
      FROM "cte_observed_keys"
    ) AS lo, (
      SELECT
        MAX("metric_time__week") AS "max"
      FROM "cte_observed_keys"
    ) AS hi) AS bounds
      CROSS JOIN (
        SELECT d0.d + 10 * d1.d + 100 * d2.d + 1000 * d3.d + 10000 * d4.d + 100000 * d5.d AS n
        FROM (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d0
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d1
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d2
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d3
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d4
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d5
      ) AS numbers
      WHERE numbers.n <= DATEDIFF(day, bounds.lo, bounds.hi) / 7
    ) AS "spine"
    CROSS JOIN (
      SELECT DISTINCT
        "user__country"
      FROM "cte_observed_keys"
    ) AS "k"
  )
SELECT
  CAST("combined"."metric_time__week" AS DATE) AS "metric_time.week",
  "combined"."user__country" AS "user.country",
  COALESCE(MAX("combined"."__v0"), COALESCE(0 * (
    SELECT
      MAX("revenue") AS "sample"
    FROM "cte_revenue"
  ), 0)) AS "revenue"
FROM (
  SELECT
    "metric_time__week",
    "user__country",
    "revenue" AS "__v0"
  FROM "cte_revenue"
  UNION ALL
  SELECT
    "metric_time__week",
    "user__country",
    NULL AS "__v0"
  FROM "cte_time_spine"
) AS "combined"
GROUP BY "combined"."metric_time__week", "combined"."user__country"
ORDER BY "metric_time.week" NULLS LAST, "user.country" NULLS LAST
