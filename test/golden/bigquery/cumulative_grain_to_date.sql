-- Tally <version>: revenue_mtd by metric_time.day
WITH
  -- revenue_mtd: orders rows that can fall in a window
  `cte_revenue_mtd_rows` AS (
    SELECT
      CAST(`orders`.`ordered_at` AS DATETIME) AS `__time`,
      `orders`.`order_amount` AS `__value`
    FROM (
      SELECT
        amount AS `order_amount`,
        ordered_at AS `ordered_at`,
        status AS `status`
      FROM orders AS `source`
    ) AS `orders`
    WHERE (`orders`.`status` IN ('paid', 'shipped')) AND (CAST(`orders`.`ordered_at` AS DATETIME) >= DATETIME '2024-12-01 00:00:00') AND (CAST(`orders`.`ordered_at` AS DATETIME) < DATETIME '2025-02-01 00:00:00')
  ),
  -- revenue_mtd: the days of the answer
  `cte_revenue_mtd_days` AS (
    SELECT
      `period`.`start`
    FROM (
      SELECT CAST(period_start AS DATETIME) AS `start`
      FROM (SELECT DATETIME '2024-12-10 00:00:00' AS lo, DATETIME '2025-01-31 00:00:00' AS hi) AS bounds,
        UNNEST(GENERATE_DATE_ARRAY(DATE(bounds.lo), DATE(bounds.hi), INTERVAL 1 DAY)) AS period_start
    ) AS `period`
  ),
  -- revenue_mtd: sum of order_amount over the month to date at each day
  `cte_revenue_mtd_by_day` AS (
    SELECT
      `period`.`start` AS `metric_time__day`,
      SUM(`r`.`__value`) AS `revenue_mtd`
    FROM `cte_revenue_mtd_days` AS `period`
    INNER JOIN `cte_revenue_mtd_rows` AS `r` ON (`r`.`__time` < (DATETIME_ADD(`period`.`start`, INTERVAL 1 DAY))) AND (`r`.`__time` >= DATETIME_TRUNC(`period`.`start`, MONTH))
    GROUP BY `period`.`start`
  ),
  -- revenue_mtd: every day of the answer, its window's value or none
  `cte_revenue_mtd` AS (
    SELECT
      `period`.`start` AS `metric_time__day`,
      `w`.`revenue_mtd`
    FROM `cte_revenue_mtd_days` AS `period`
    LEFT JOIN `cte_revenue_mtd_by_day` AS `w` ON `w`.`metric_time__day` = `period`.`start`
  )
SELECT
  CAST(`metric_time__day` AS DATE) AS `metric_time__day`,
  COALESCE(`revenue_mtd`, COALESCE(0 * (
    SELECT
      MAX(`revenue_mtd`) AS `sample`
    FROM `cte_revenue_mtd`
  ), 0)) AS `revenue_mtd`
FROM `cte_revenue_mtd`
ORDER BY `metric_time__day` NULLS LAST
