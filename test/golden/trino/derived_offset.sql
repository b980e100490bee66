-- Tally <version>: revenue_growth_mom by metric_time.month
WITH
  -- revenue: sum of orders.order_amount
  "cte_revenue" AS (
    SELECT
      date_trunc('month', CAST("orders"."ordered_at" AS TIMESTAMP(6))) AS "metric_time__month",
      SUM("orders"."order_amount") AS "revenue"
    FROM (
      SELECT
        amount AS "order_amount",
        ordered_at AS "ordered_at",
        status AS "status"
      FROM orders AS "source"
    ) AS "orders"
    WHERE "orders"."status" IN ('paid', 'shipped')
    GROUP BY date_trunc('month', CAST("orders"."ordered_at" AS TIMESTAMP(6)))
  ),
  -- revenue: sum of orders.order_amount
  "cte_revenue_2" AS (
    SELECT
      date_trunc('month', "period"."start") AS "metric_time__month",
      SUM("orders"."order_amount") AS "revenue"
    FROM (
      SELECT date_add('month', high.n * 10000 + low.n, bounds.lo) AS "start"
      FROM (SELECT (date_add('month', 1, (
      SELECT
        MIN(date_trunc('month', CAST("orders"."ordered_at" AS TIMESTAMP(6)))) AS "min"
      FROM (
        SELECT
          ordered_at AS "ordered_at"
        FROM orders AS "source"
      ) AS "orders"
    ))) AS lo, (date_add('month', 1, (
      SELECT
        MAX(date_trunc('month', CAST("orders"."ordered_at" AS TIMESTAMP(6)))) AS "max"
      FROM (
        SELECT
          ordered_at AS "ordered_at"
        FROM orders AS "source"
      ) AS "orders"
    ))) AS hi) AS bounds
      CROSS JOIN UNNEST(sequence(0, greatest(date_diff('month', bounds.lo, bounds.hi), 0) / 10000)) AS high(n)
      CROSS JOIN UNNEST(sequence(0, 9999)) AS low(n)
      WHERE high.n * 10000 + low.n <= date_diff('month', bounds.lo, bounds.hi)
    ) AS "period"
    INNER JOIN (
      SELECT
        amount AS "order_amount",
        ordered_at AS "ordered_at",
        status AS "status"
      FROM orders AS "source"
    ) AS "orders" ON date_trunc('month', CAST("orders"."ordered_at" AS TIMESTAMP(6))) = (date_add('month', -1, "period"."start"))
    WHERE "orders"."status" IN ('paid', 'shipped')
    GROUP BY date_trunc('month', "period"."start")
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
      ), 0))) AS DOUBLE) / NULLIF(COALESCE(MAX("combined"."__v1"), COALESCE(0 * (
        SELECT
          MAX("revenue") AS "sample"
        FROM "cte_revenue_2"
      ), 0)), 0) AS "revenue_growth_mom"
    FROM (
      SELECT
        "metric_time__month",
        "revenue" AS "__v0",
        NULL AS "__v1"
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
  ), 0)) AS DOUBLE) / NULLIF(COALESCE(0 * (
    SELECT
      MAX("revenue") AS "sample"
    FROM "cte_revenue_2"
  ), 0), 0)) AS "revenue_growth_mom"
FROM "cte_revenue_growth_mom"
ORDER BY "metric_time.month" NULLS LAST
