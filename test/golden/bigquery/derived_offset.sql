-- Tally <version>: revenue_growth_mom by metric_time.month
WITH
  -- revenue: sum of orders.order_amount
  `cte_revenue` AS (
    SELECT
      DATETIME_TRUNC(CAST(`orders`.`ordered_at` AS DATETIME), MONTH) AS `metric_time__month`,
      SUM(`orders`.`order_amount`) AS `revenue`
    FROM (
      SELECT
        amount AS `order_amount`,
        ordered_at AS `ordered_at`,
        status AS `status`
      FROM orders AS `source`
    ) AS `orders`
    WHERE `orders`.`status` IN ('paid', 'shipped')
    GROUP BY DATETIME_TRUNC(CAST(`orders`.`ordered_at` AS DATETIME), MONTH)
  ),
  -- revenue: sum of orders.order_amount
  `cte_revenue_2` AS (
    SELECT
      DATETIME_TRUNC(`period`.`start`, MONTH) AS `metric_time__month`,
      SUM(`orders`.`order_amount`) AS `revenue`
    FROM (
      SELECT CAST(period_start AS DATETIME) AS `start`
      FROM (SELECT (DATETIME_ADD((
      SELECT
        MIN(DATETIME_TRUNC(CAST(`orders`.`ordered_at` AS DATETIME), MONTH)) AS `min`
      FROM (
        SELECT
          ordered_at AS `ordered_at`
        FROM orders AS `source`
      ) AS `orders`
    ), INTERVAL 1 MONTH)) AS lo, (DATETIME_ADD((
      SELECT
        MAX(DATETIME_TRUNC(CAST(`orders`.`ordered_at` AS DATETIME), MONTH)) AS `max`
      FROM (
        SELECT
          ordered_at AS `ordered_at`
        FROM orders AS `source`
      ) AS `orders`
    ), INTERVAL 1 MONTH)) AS hi) AS bounds,
        UNNEST(GENERATE_DATE_ARRAY(DATE(bounds.lo), DATE(bounds.hi), INTERVAL 1 MONTH)) AS period_start
    ) AS `period`
    INNER JOIN (
      SELECT
        amount AS `order_amount`,
        ordered_at AS `ordered_at`,
        status AS `status`
      FROM orders AS `source`
    ) AS `orders` ON DATETIME_TRUNC(CAST(`orders`.`ordered_at` AS DATETIME), MONTH) = (DATETIME_SUB(`period`.`start`, INTERVAL 1 MONTH))
    WHERE `orders`.`status` IN ('paid', 'shipped')
    GROUP BY DATETIME_TRUNC(`period`.`start`, MONTH)
  ),
  -- revenue_growth_mom: derived from revenue, revenue_last_month
  `cte_revenue_growth_mom` AS (
    SELECT
      `combined`.`metric_time__month`,
      CAST((COALESCE(MAX(`combined`.`__v0`), COALESCE(0 * (
        SELECT
          MAX(`revenue`) AS `sample`
        FROM `cte_revenue`
      ), 0)) - COALESCE(MAX(`combined`.`__v1`), COALESCE(0 * (
        SELECT
          MAX(`revenue`) AS `sample`
        FROM `cte_revenue_2`
      ), 0))) AS FLOAT64) / NULLIF(COALESCE(MAX(`combined`.`__v1`), COALESCE(0 * (
        SELECT
          MAX(`revenue`) AS `sample`
        FROM `cte_revenue_2`
      ), 0)), 0) AS `revenue_growth_mom`
    FROM (
      SELECT
        `metric_time__month`,
        `revenue` AS `__v0`,
        NULL AS `__v1`
      FROM `cte_revenue`
      UNION ALL
      SELECT
        `metric_time__month`,
        NULL AS `__v0`,
        `revenue` AS `__v1`
      FROM `cte_revenue_2`
    ) AS `combined`
    GROUP BY `combined`.`metric_time__month`
  )
SELECT
  CAST(`metric_time__month` AS DATE) AS `metric_time__month`,
  COALESCE(`revenue_growth_mom`, CAST((COALESCE(0 * (
    SELECT
      MAX(`revenue`) AS `sample`
    FROM `cte_revenue`
  ), 0) - COALESCE(0 * (
    SELECT
      MAX(`revenue`) AS `sample`
    FROM `cte_revenue_2`
  ), 0)) AS FLOAT64) / NULLIF(COALESCE(0 * (
    SELECT
      MAX(`revenue`) AS `sample`
    FROM `cte_revenue_2`
  ), 0), 0)) AS `revenue_growth_mom`
FROM `cte_revenue_growth_mom`
ORDER BY `metric_time__month` NULLS LAST
