-- Tally <version>: dau by metric_time.hour
WITH
  -- dau: count_distinct of events.active_users
  "cte_dau" AS (
    SELECT
      date_trunc('hour', CAST("events"."occurred_at" AS TIMESTAMP)) AS "metric_time__hour",
      COUNT(DISTINCT "events"."active_users") AS "dau"
    FROM (
      SELECT
        user_id AS "active_users",
        occurred_at AS "occurred_at"
      FROM events AS "source"
    ) AS "events"
    WHERE (CAST("events"."occurred_at" AS TIMESTAMP) >= TIMESTAMP '2025-01-20 00:00:00') AND (CAST("events"."occurred_at" AS TIMESTAMP) < TIMESTAMP '2025-01-22 00:00:00')
    GROUP BY date_trunc('hour', CAST("events"."occurred_at" AS TIMESTAMP))
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
      date_trunc('hour', "spine"."start") AS "metric_time__hour"
    FROM generate_series(TIMESTAMP '2025-01-20 00:00:00', TIMESTAMP '2025-01-21 23:00:00', INTERVAL 1 HOUR) AS "spine"("start")
  )
SELECT
  "combined"."metric_time__hour" AS "metric_time.hour",
  COALESCE(MAX("combined"."__v0"), 0) AS "dau"
FROM (
  SELECT
    "metric_time__hour",
    "dau" AS "__v0"
  FROM "cte_dau"
  UNION ALL BY NAME
  SELECT
    "metric_time__hour"
  FROM "cte_time_spine"
) AS "combined"
GROUP BY "combined"."metric_time__hour"
ORDER BY "metric_time.hour" NULLS LAST
