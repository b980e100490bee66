-- Tally <version>: signup_to_paid_order_7d by metric_time.month, user.country
WITH
  -- signup_to_paid_order_7d: base events (signed_up_users)
  `cte_signup_to_paid_order_7d_base` AS (
    SELECT
      DATETIME_TRUNC(CAST(`users`.`signed_up_at` AS DATETIME), MONTH) AS `metric_time__month`,
      `users`.`country` AS `user__country`,
      `users`.`user` AS `__entity`,
      CAST(`users`.`signed_up_at` AS DATETIME) AS `__time`,
      `users`.`signed_up_users` AS `__value`
    FROM (
      SELECT
        country AS `country`,
        signed_up_at AS `signed_up_at`,
        user_id AS `signed_up_users`,
        user_id AS `user`
      FROM users AS `source`
    ) AS `users`
  ),
  -- signup_to_paid_order_7d: conversion events (ordering_users), numbered
  `cte_signup_to_paid_order_7d_conversion_events` AS (
    SELECT
      `orders`.`user` AS `__entity`,
      CAST(`orders`.`ordered_at` AS DATETIME) AS `__time`,
      `orders`.`ordering_users` AS `__value`,
      `orders`.`order` AS `__event`
    FROM (
      SELECT
        order_id AS `order`,
        ordered_at AS `ordered_at`,
        user_id AS `ordering_users`,
        status AS `status`,
        user_id AS `user`
      FROM orders AS `source`
    ) AS `orders`
    WHERE `orders`.`status` IN ('paid', 'shipped')
  ),
  -- signup_to_paid_order_7d: each conversion event credited to the latest base event before it within 7 day(s)
  `cte_signup_to_paid_order_7d_matched` AS (
    SELECT
      `b`.`metric_time__month`,
      `b`.`user__country`,
      `c`.`__value`,
      ROW_NUMBER() OVER (PARTITION BY `c`.`__event` ORDER BY `b`.`__time` DESC) AS `__rank`
    FROM `cte_signup_to_paid_order_7d_base` AS `b`
    INNER JOIN `cte_signup_to_paid_order_7d_conversion_events` AS `c` ON (`c`.`__entity` = `b`.`__entity`) AND (`c`.`__time` >= `b`.`__time`) AND (`c`.`__time` <= (DATETIME_ADD(`b`.`__time`, INTERVAL 7 DAY)))
  ),
  -- signup_to_paid_order_7d: conversions per group
  `cte_signup_to_paid_order_7d_conversions` AS (
    SELECT
      `metric_time__month`,
      `user__country`,
      COUNT(DISTINCT `__value`) AS `__conversions`
    FROM `cte_signup_to_paid_order_7d_matched`
    WHERE `__rank` = 1
    GROUP BY `metric_time__month`, `user__country`
  ),
  -- signup_to_paid_order_7d: base events per group
  `cte_signup_to_paid_order_7d_opportunities` AS (
    SELECT
      `metric_time__month`,
      `user__country`,
      COUNT(DISTINCT `__value`) AS `__base`
    FROM `cte_signup_to_paid_order_7d_base`
    GROUP BY `metric_time__month`, `user__country`
  ),
  -- signup_to_paid_order_7d: conversions / base events
  `cte_signup_to_paid_order_7d` AS (
    SELECT
      `combined`.`metric_time__month`,
      `combined`.`user__country`,
      CAST(COALESCE(MAX(`combined`.`__v1`), 0) AS FLOAT64) / NULLIF(MAX(`combined`.`__v0`), 0) AS `signup_to_paid_order_7d`
    FROM (
      SELECT
        `metric_time__month`,
        `user__country`,
        `__base` AS `__v0`,
        NULL AS `__v1`
      FROM `cte_signup_to_paid_order_7d_opportunities`
      UNION ALL
      SELECT
        `metric_time__month`,
        `user__country`,
        NULL AS `__v0`,
        `__conversions` AS `__v1`
      FROM `cte_signup_to_paid_order_7d_conversions`
    ) AS `combined`
    GROUP BY `combined`.`metric_time__month`, `combined`.`user__country`
  )
SELECT
  CAST(`metric_time__month` AS DATE) AS `metric_time__month`,
  `user__country` AS `user__country`,
  `signup_to_paid_order_7d`
FROM `cte_signup_to_paid_order_7d`
ORDER BY `metric_time__month` NULLS LAST, `user__country` NULLS LAST
