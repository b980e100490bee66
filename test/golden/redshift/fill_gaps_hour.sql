-- Tally <version>: dau by metric_time.hour
WITH
  -- dau: count_distinct of events.active_users
  "cte_dau" AS (
    SELECT
      DATE_TRUNC('hour', CAST("events"."occurred_at" AS TIMESTAMP)) AS "metric_time__hour",
      COUNT(DISTINCT "events"."active_users") AS "dau"
    FROM (
      SELECT
        user_id AS "active_users",
        occurred_at AS "occurred_at"
      FROM events AS "source"
    ) AS "events"
    WHERE (CAST("events"."occurred_at" AS TIMESTAMP) >= CAST('2025-01-20 00:00:00' AS TIMESTAMP)) AND (CAST("events"."occurred_at" AS TIMESTAMP) < CAST('2025-01-22 00:00:00' AS TIMESTAMP))
    GROUP BY DATE_TRUNC('hour', CAST("events"."occurred_at" AS TIMESTAMP))
  ),
  -- every key combination the metrics produced
  "cte_observed_keys" AS (
    SELECT
      "metric_time__hour"
    FROM "cte_dau"
  ),
  -- one row per hour so that the series has no gaps
  "cte_time_spine" AS (
    SELECT
      DATE_TRUNC('hour', "spine"."start") AS "metric_time__hour"
    FROM (
      SELECT DATEADD(hour, numbers.n, bounds.lo) AS "start"
      FROM (SELECT CAST('2025-01-20 00:00:00' AS TIMESTAMP) AS lo, CAST('2025-01-21 23:00:00' AS TIMESTAMP) AS hi) AS bounds
      CROSS JOIN (
        SELECT d0.d + 10 * d1.d + 100 * d2.d + 1000 * d3.d + 10000 * d4.d + 100000 * d5.d AS n
        FROM (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d0
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d1
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d2
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d3
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d4
        CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d5
      ) AS numbers
      WHERE numbers.n <= DATEDIFF(hour, bounds.lo, bounds.hi)
    ) AS "spine"
  )
SELECT
  "combined"."metric_time__hour" AS "metric_time.hour",
  COALESCE(MAX("combined"."__v0"), 0) AS "dau"
FROM (
  SELECT
    "metric_time__hour",
    "dau" AS "__v0"
  FROM "cte_dau"
  UNION ALL
  SELECT
    "metric_time__hour",
    NULL AS "__v0"
  FROM "cte_time_spine"
) AS "combined"
GROUP BY "combined"."metric_time__hour"
ORDER BY "metric_time.hour" NULLS LAST
