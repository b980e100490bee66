-- Tally <version>: revenue by metric_time.week, user.country
WITH
  -- revenue: sum of orders.order_amount
  `cte_revenue` AS (
    SELECT
      DATETIME_TRUNC(CAST(`orders`.`ordered_at` AS DATETIME), ISOWEEK) AS `metric_time__week`,
      `user`.`country` AS `user__country`,
      SUM(`orders`.`order_amount`) AS `revenue`
    FROM (
      SELECT
        amount AS `order_amount`,
        ordered_at AS `ordered_at`,
        status AS `status`,
        user_id AS `user`
      FROM orders AS `source`
    ) AS `orders`
    LEFT JOIN (
      SELECT
        country AS `country`,
        user_id AS `user`
      FROM users AS `source`
    ) AS `user` ON `orders`.`user` = `user`.`user`
    WHERE `orders`.`status` IN ('paid', 'shipped')
    GROUP BY DATETIME_TRUNC(CAST(`orders`.`ordered_at` AS DATETIME), ISOWEEK), `user`.`country`
  ),
  -- every key combination the metrics produced
  `cte_observed_keys` AS (
    SELECT
      `metric_time__week`,
      `user__country`
    FROM `cte_revenue`
  ),
  -- one row per week so that the series has no gaps
  `cte_time_spine` AS (
    SELECT
      DATETIME_TRUNC(`spine`.`start`, ISOWEEK) AS `metric_time__week`,
      `k`.`user__country`
    FROM (
      SELECT CAST(period_start AS DATETIME) AS `start`
      FROM (SELECT (
      SELECT
        MIN(`metric_time__week`) AS `min`
      FROM `cte_observed_keys`
    ) AS lo, (
      SELECT
        MAX(`metric_time__week`) AS `max`
      FROM `cte_observed_keys`
    ) AS hi) AS bounds,
        UNNEST(GENERATE_DATE_ARRAY(DATE(bounds.lo), DATE(bounds.hi), INTERVAL 1 WEEK)) AS period_start
    ) AS `spine`
    CROSS JOIN (
      SELECT DISTINCT
        `user__country`
      FROM `cte_observed_keys`
    ) AS `k`
  )
SELECT
  CAST(`combined`.`metric_time__week` AS DATE) AS `metric_time__week`,
  `combined`.`user__country` AS `user__country`,
  COALESCE(MAX(`combined`.`__v0`), COALESCE(0 * (
    SELECT
      MAX(`revenue`) AS `sample`
    FROM `cte_revenue`
  ), 0)) AS `revenue`
FROM (
  SELECT
    `metric_time__week`,
    `user__country`,
    `revenue` AS `__v0`
  FROM `cte_revenue`
  UNION ALL
  SELECT
    `metric_time__week`,
    `user__country`,
    NULL AS `__v0`
  FROM `cte_time_spine`
) AS `combined`
GROUP BY `combined`.`metric_time__week`, `combined`.`user__country`
ORDER BY `metric_time__week` NULLS LAST, `user__country` NULLS LAST
