-- Tally <version>: revenue by metric_time.week, user.country
WITH
  -- revenue: sum of orders.order_amount
  "cte_revenue" AS (
    SELECT
      date_trunc('week', CAST("orders"."ordered_at" AS TIMESTAMP(6))) AS "metric_time__week",
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
    GROUP BY date_trunc('week', CAST("orders"."ordered_at" AS TIMESTAMP(6))), "user"."country"
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
      date_trunc('week', "spine"."start") AS "metric_time__week",
      "k"."user__country"
    FROM (
      SELECT date_add('day', (high.n * 10000 + low.n) * 7, bounds.lo) AS "start"
      FROM (SELECT (
      SELECT
        MIN("metric_time__week") AS "min"
      FROM "cte_observed_keys"
    ) AS lo, (
      SELECT
        MAX("metric_time__week") AS "max"
      FROM "cte_observed_keys"
    ) AS hi) AS bounds
      CROSS JOIN UNNEST(sequence(0, greatest(date_diff('day', bounds.lo, bounds.hi) / 7, 0) / 10000)) AS high(n)
      CROSS JOIN UNNEST(sequence(0, 9999)) AS low(n)
      WHERE high.n * 10000 + low.n <= date_diff('day', bounds.lo, bounds.hi) / 7
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
