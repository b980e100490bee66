-- Tally <version>: dau by metric_time.hour
WITH
  -- dau: count_distinct of events.active_users
  "cte_dau" AS (
    SELECT
      DATE_TRUNC('hour', CAST("events"."occurred_at" AS TIMESTAMP_NTZ)) AS "metric_time__hour",
      COUNT(DISTINCT "events"."active_users") AS "dau"
    FROM (
      SELECT
        user_id AS "active_users",
        occurred_at AS "occurred_at"
      FROM events AS "source"
    ) AS "events"
    WHERE (CAST("events"."occurred_at" AS TIMESTAMP_NTZ) >= CAST('2025-01-20 00:00:00' AS TIMESTAMP_NTZ)) AND (CAST("events"."occurred_at" AS TIMESTAMP_NTZ) < CAST('2025-01-22 00:00:00' AS TIMESTAMP_NTZ))
    GROUP BY DATE_TRUNC('hour', CAST("events"."occurred_at" AS TIMESTAMP_NTZ))
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
      SELECT DATEADD(hour, periods.index, bounds.lo) AS "start"
      FROM (SELECT CAST('2025-01-20 00:00:00' AS TIMESTAMP_NTZ) AS lo, CAST('2025-01-21 23:00:00' AS TIMESTAMP_NTZ) AS hi) AS bounds,
        LATERAL FLATTEN(INPUT => ARRAY_GENERATE_RANGE(0, DATEDIFF(hour, bounds.lo, bounds.hi) + 1)) AS periods
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
