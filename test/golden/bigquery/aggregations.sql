-- Tally <version>: mean_order, paid_count, smallest_order, largest_order, buyer_count by metric_time.month
WITH
  -- mean_order: average of order_stats.mean_amount; paid_count: sum_boolean of paid_flags; smallest_order: min of smallest_amount; largest_order: max of largest_amount; buyer_count: count_distinct of buyers
  `cte_mean_order` AS (
    SELECT
      DATETIME_TRUNC(CAST(`order_stats`.`placed_at` AS DATETIME), MONTH) AS `metric_time__month`,
      CAST(SUM(`order_stats`.`mean_amount`) AS FLOAT64) / NULLIF(COUNT(`order_stats`.`mean_amount`), 0) AS `mean_order`,
      SUM(CASE WHEN `order_stats`.`paid_flags` THEN 1 WHEN NOT (`order_stats`.`paid_flags`) THEN 0 END) AS `paid_count`,
      MIN(`order_stats`.`smallest_amount`) AS `smallest_order`,
      MAX(`order_stats`.`largest_amount`) AS `largest_order`,
      COUNT(DISTINCT `order_stats`.`buyers`) AS `buyer_count`
    FROM (
      SELECT
        user_id AS `buyers`,
        amount AS `largest_amount`,
        amount AS `mean_amount`,
        (status = 'paid') AS `paid_flags`,
        ordered_at AS `placed_at`,
        amount AS `smallest_amount`
      FROM orders AS `source`
    ) AS `order_stats`
    GROUP BY DATETIME_TRUNC(CAST(`order_stats`.`placed_at` AS DATETIME), MONTH)
  )
SELECT
  CAST(`metric_time__month` AS DATE) AS `metric_time__month`,
  `mean_order`,
  COALESCE(`paid_count`, 0) AS `paid_count`,
  `smallest_order`,
  `largest_order`,
  COALESCE(`buyer_count`, 0) AS `buyer_count`
FROM `cte_mean_order`
ORDER BY `metric_time__month` NULLS LAST
