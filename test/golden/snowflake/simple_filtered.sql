-- Tally <version>: revenue by metric_time.month, user.country
WITH
  -- revenue: sum of orders.order_amount
  "cte_revenue" AS (
    SELECT
      DATE_TRUNC('month', CAST("orders"."ordered_at" AS TIMESTAMP_NTZ)) AS "metric_time__month",
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
        plan AS "plan",
        user_id AS "user"
      FROM users AS "source"
    ) AS "user" ON "orders"."user" = "user"."user"
    WHERE (("user"."country" IN ('KR', 'US')) AND ("user"."plan" ILIKE 'P%' ESCAPE '\\') AND ("user"."country" NOT LIKE 'X\\\\_%' ESCAPE '\\') AND ("orders"."status" <> 'it''s')) AND ("orders"."status" IN ('paid', 'shipped'))
    GROUP BY DATE_TRUNC('month', CAST("orders"."ordered_at" AS TIMESTAMP_NTZ)), "user"."country"
  )
SELECT
  CAST("metric_time__month" AS DATE) AS "metric_time.month",
  "user__country" AS "user.country",
  COALESCE("revenue", COALESCE(0 * (
    SELECT
      MAX("revenue") AS "sample"
    FROM "cte_revenue"
  ), 0)) AS "revenue"
FROM "cte_revenue"
ORDER BY "metric_time.month" NULLS LAST, "user.country" NULLS LAST
