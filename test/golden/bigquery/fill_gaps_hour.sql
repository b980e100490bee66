-- Tally <version>: dau by metric_time.hour
WITH
  -- dau: count_distinct of events.active_users
  `cte_dau` AS (
    SELECT
      DATETIME_TRUNC(CAST(`events`.`occurred_at` AS DATETIME), HOUR) AS `metric_time__hour`,
      COUNT(DISTINCT `events`.`active_users`) AS `dau`
    FROM (
      SELECT
        user_id AS `active_users`,
        occurred_at AS `occurred_at`
      FROM events AS `source`
    ) AS `events`
    WHERE (CAST(`events`.`occurred_at` AS DATETIME) >= DATETIME '2025-01-20 00:00:00') AND (CAST(`events`.`occurred_at` AS DATETIME) < DATETIME '2025-01-22 00:00:00')
    GROUP BY DATETIME_TRUNC(CAST(`events`.`occurred_at` AS DATETIME), HOUR)
  ),
  -- every key combination the metrics produced
  `cte_observed_keys` AS (
    SELECT
      `metric_time__hour`
    FROM `cte_dau`
  ),
  -- one row per hour so that the series has no gaps
  `cte_time_spine` AS (
    SELECT
      DATETIME_TRUNC(`spine`.`start`, HOUR) AS `metric_time__hour`
    FROM (
      SELECT DATETIME(period_start, 'UTC') AS `start`
      FROM (SELECT DATETIME '2025-01-20 00:00:00' AS lo, DATETIME '2025-01-21 23:00:00' AS hi) AS bounds,
        UNNEST(GENERATE_TIMESTAMP_ARRAY(TIMESTAMP(bounds.lo, 'UTC'), TIMESTAMP(bounds.hi, 'UTC'), INTERVAL 1 HOUR)) AS period_start
    ) AS `spine`
  )
SELECT
  `combined`.`metric_time__hour` AS `metric_time__hour`,
  COALESCE(MAX(`combined`.`__v0`), 0) AS `dau`
FROM (
  SELECT
    `metric_time__hour`,
    `dau` AS `__v0`
  FROM `cte_dau`
  UNION ALL
  SELECT
    `metric_time__hour`,
    NULL AS `__v0`
  FROM `cte_time_spine`
) AS `combined`
GROUP BY `combined`.`metric_time__hour`
ORDER BY `metric_time__hour` NULLS LAST
