-- Tally <version>: dau, searches by metric_time.day
WITH
  -- dau: count_distinct of events.active_users; searches: sum of searches
  "cte_dau" AS (
    SELECT
      date_trunc('day', CAST(with_timezone(CAST("events"."occurred_at" AS TIMESTAMP(6)), 'UTC') AT TIME ZONE 'America/Los_Angeles' AS TIMESTAMP(6))) AS "metric_time__day",
      COUNT(DISTINCT "events"."active_users") AS "dau",
      SUM("events"."searches") AS "searches"
    FROM (
      SELECT
        user_id AS "active_users",
        occurred_at AS "occurred_at",
        (CASE WHEN event_type = 'search' THEN 1 ELSE 0 END) AS "searches"
      FROM events AS "source"
    ) AS "events"
    GROUP BY date_trunc('day', CAST(with_timezone(CAST("events"."occurred_at" AS TIMESTAMP(6)), 'UTC') AT TIME ZONE 'America/Los_Angeles' AS TIMESTAMP(6)))
  )
SELECT
  CAST("metric_time__day" AS DATE) AS "metric_time.day",
  COALESCE("dau", 0) AS "dau",
  COALESCE("searches", COALESCE(0 * (
    SELECT
      MAX("searches") AS "sample"
    FROM "cte_dau"
  ), 0)) AS "searches"
FROM "cte_dau"
ORDER BY "metric_time.day" NULLS LAST
