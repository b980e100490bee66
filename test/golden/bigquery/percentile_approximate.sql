-- Tally <version>: p90_order_approximate by metric_time.month
WITH
  -- p90_order_approximate: percentile of order_stats.p90_amount_approximate
  `cte_p90_order_approximate` AS (
    SELECT
      DATETIME_TRUNC(CAST(`order_stats`.`placed_at` AS DATETIME), MONTH) AS `metric_time__month`,
      APPROX_QUANTILES(`order_stats`.`p90_amount_approximate`, 1000)[OFFSET(900)] AS `p90_order_approximate`
    FROM (
      SELECT
        amount AS `p90_amount_approximate`,
        ordered_at AS `placed_at`
      FROM orders AS `source`
    ) AS `order_stats`
    GROUP BY DATETIME_TRUNC(CAST(`order_stats`.`placed_at` AS DATETIME), MONTH)
  )
SELECT
  CAST(`metric_time__month` AS DATE) AS `metric_time__month`,
  `p90_order_approximate`
FROM `cte_p90_order_approximate`
ORDER BY `metric_time__month` NULLS LAST
