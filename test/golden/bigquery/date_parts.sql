-- Tally <version>: orders by metric_time.extract_dow, metric_time.extract_week, metric_time.extract_doy, metric_time.extract_quarter
WITH
  -- orders: count of orders.order_count
  `cte_orders` AS (
    SELECT
      MOD(EXTRACT(DAYOFWEEK FROM CAST(`orders`.`ordered_at` AS DATETIME)) + 5, 7) + 1 AS `metric_time__extract_dow`,
      EXTRACT(ISOWEEK FROM CAST(`orders`.`ordered_at` AS DATETIME)) AS `metric_time__extract_week`,
      EXTRACT(DAYOFYEAR FROM CAST(`orders`.`ordered_at` AS DATETIME)) AS `metric_time__extract_doy`,
      EXTRACT(QUARTER FROM CAST(`orders`.`ordered_at` AS DATETIME)) AS `metric_time__extract_quarter`,
      COUNT(`orders`.`order_count`) AS `orders`
    FROM (
      SELECT
        order_id AS `order_count`,
        ordered_at AS `ordered_at`
      FROM orders AS `source`
    ) AS `orders`
    GROUP BY MOD(EXTRACT(DAYOFWEEK FROM CAST(`orders`.`ordered_at` AS DATETIME)) + 5, 7) + 1, EXTRACT(ISOWEEK FROM CAST(`orders`.`ordered_at` AS DATETIME)), EXTRACT(DAYOFYEAR FROM CAST(`orders`.`ordered_at` AS DATETIME)), EXTRACT(QUARTER FROM CAST(`orders`.`ordered_at` AS DATETIME))
  )
SELECT
  `metric_time__extract_dow` AS `metric_time__extract_dow`,
  `metric_time__extract_week` AS `metric_time__extract_week`,
  `metric_time__extract_doy` AS `metric_time__extract_doy`,
  `metric_time__extract_quarter` AS `metric_time__extract_quarter`,
  COALESCE(`orders`, 0) AS `orders`
FROM `cte_orders`
ORDER BY `metric_time__extract_dow` NULLS LAST, `metric_time__extract_week` NULLS LAST, `metric_time__extract_doy` NULLS LAST, `metric_time__extract_quarter` NULLS LAST
