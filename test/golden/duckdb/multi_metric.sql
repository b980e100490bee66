-- Tally <version>: revenue, orders, new_users, items_sold by metric_time.quarter
WITH
  -- revenue: sum of orders.order_amount
  "cte_revenue" AS (
    SELECT
      date_trunc('quarter', CAST("orders"."ordered_at" AS TIMESTAMP)) AS "metric_time__quarter",
      SUM("orders"."order_amount") AS "revenue"
    FROM (
      SELECT
        amount AS "order_amount",
        ordered_at AS "ordered_at",
        status AS "status"
      FROM orders AS "source"
    ) AS "orders"
    WHERE "orders"."status" IN ('paid', 'shipped')
    GROUP BY date_trunc('quarter', CAST("orders"."ordered_at" AS TIMESTAMP))
  ),
  -- orders: count of orders.order_count
  "cte_orders" AS (
    SELECT
      date_trunc('quarter', CAST("orders"."ordered_at" AS TIMESTAMP)) AS "metric_time__quarter",
      COUNT("orders"."order_count") AS "orders"
    FROM (
      SELECT
        order_id AS "order_count",
        ordered_at AS "ordered_at"
      FROM orders AS "source"
    ) AS "orders"
    GROUP BY date_trunc('quarter', CAST("orders"."ordered_at" AS TIMESTAMP))
  ),
  -- new_users: count of users.signups
  "cte_new_users" AS (
    SELECT
      date_trunc('quarter', CAST("users"."signed_up_at" AS TIMESTAMP)) AS "metric_time__quarter",
      COUNT("users"."signups") AS "new_users"
    FROM (
      SELECT
        signed_up_at AS "signed_up_at",
        user_id AS "signups"
      FROM users AS "source"
    ) AS "users"
    GROUP BY date_trunc('quarter', CAST("users"."signed_up_at" AS TIMESTAMP))
  ),
  -- items_sold: sum of order_items.quantity_sold
  "cte_items_sold" AS (
    SELECT
      date_trunc('quarter', CAST("order_items"."ordered_at" AS TIMESTAMP)) AS "metric_time__quarter",
      SUM("order_items"."quantity_sold") AS "items_sold"
    FROM (
      SELECT
        ordered_at AS "ordered_at",
        quantity AS "quantity_sold"
      FROM (
        SELECT i.order_item_id, i.order_id, i.product_id, i.quantity, i.unit_price, o.ordered_at
        FROM order_items AS i
        JOIN orders AS o ON o.order_id = i.order_id
      ) AS "source"
    ) AS "order_items"
    GROUP BY date_trunc('quarter', CAST("order_items"."ordered_at" AS TIMESTAMP))
  )
SELECT
  CAST("combined"."metric_time__quarter" AS DATE) AS "metric_time.quarter",
  COALESCE(MAX("combined"."__v0"), COALESCE(0 * (
    SELECT
      MAX("revenue") AS "sample"
    FROM "cte_revenue"
  ), 0)) AS "revenue",
  COALESCE(MAX("combined"."__v1"), 0) AS "orders",
  COALESCE(MAX("combined"."__v2"), 0) AS "new_users",
  COALESCE(MAX("combined"."__v3"), COALESCE(0 * (
    SELECT
      MAX("items_sold") AS "sample"
    FROM "cte_items_sold"
  ), 0)) AS "items_sold"
FROM (
  SELECT
    "metric_time__quarter",
    "revenue" AS "__v0"
  FROM "cte_revenue"
  UNION ALL BY NAME
  SELECT
    "metric_time__quarter",
    "orders" AS "__v1"
  FROM "cte_orders"
  UNION ALL BY NAME
  SELECT
    "metric_time__quarter",
    "new_users" AS "__v2"
  FROM "cte_new_users"
  UNION ALL BY NAME
  SELECT
    "metric_time__quarter",
    "items_sold" AS "__v3"
  FROM "cte_items_sold"
) AS "combined"
GROUP BY "combined"."metric_time__quarter"
ORDER BY "revenue" DESC NULLS LAST, "metric_time.quarter" NULLS LAST
LIMIT 10
