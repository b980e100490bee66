-- Tally <version>: dau by metric_time.hour
WITH
  -- dau: count_distinct of events.active_users
  "cte_dau" AS (
    SELECT
      date_trunc('hour', CAST("events"."occurred_at" AS TIMESTAMP(6))) AS "metric_time__hour",
      COUNT(DISTINCT "events"."active_users") AS "dau"
    FROM (
      SELECT
        user_id AS "active_users",
        occurred_at AS "occurred_at"
      FROM events AS "source"
    ) AS "events"
    WHERE (CAST("events"."occurred_at" AS TIMESTAMP(6)) >= TIMESTAMP '2025-01-20 00:00:00') AND (CAST("events"."occurred_at" AS TIMESTAMP(6)) < TIMESTAMP '2025-01-22 00:00:00')
    GROUP BY date_trunc('hour', CAST("events"."occurred_at" AS TIMESTAMP(6)))
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
    FROM (
      SELECT date_add('hour', high.n * 10000 + low.n, bounds.lo) AS "start"
      FROM (SELECT TIMESTAMP '2025-01-20 00:00:00' AS lo, TIMESTAMP '2025-01-21 23:00:00' AS hi) AS bounds
      CROSS JOIN UNNEST(sequence(0, greatest(date_diff('hour', bounds.lo, bounds.hi), 0) / 10000)) AS high(n)
      CROSS JOIN UNNEST(sequence(0, 9999)) AS low(n)
      WHERE high.n * 10000 + low.n <= date_diff('hour', bounds.lo, bounds.hi)
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
