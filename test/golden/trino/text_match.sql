-- Tally <version>: orders by user.country
WITH
  -- orders: count of orders.order_count
  "cte_orders" AS (
    SELECT
      "user"."country" AS "user__country",
      COUNT("orders"."order_count") AS "orders"
    FROM (
      SELECT
        order_id AS "order_count",
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
    WHERE (starts_with("user"."country", 'K')) AND (strpos("orders"."status", 'a''i') > 0) AND (substr("user"."plan", length("user"."plan") - length('o') + 1) = 'o')
    GROUP BY "user"."country"
  )
SELECT
  "user__country" AS "user.country",
  COALESCE("orders", 0) AS "orders"
FROM "cte_orders"
ORDER BY "user.country" NULLS LAST
