-- Tally <version>: searches by metric_time.minute
WITH
  -- searches: sum of events.searches
  "cte_searches" AS (
    SELECT
      DATE_TRUNC('minute', CAST("events"."occurred_at" AS TIMESTAMP_NTZ)) AS "metric_time__minute",
      SUM("events"."searches") AS "searches"
    FROM (
      SELECT
        occurred_at AS "occurred_at",
        (CASE WHEN event_type = 'search' THEN 1 ELSE 0 END) AS "searches"
      FROM events AS "source"
    ) AS "events"
    WHERE (CAST("events"."occurred_at" AS TIMESTAMP_NTZ) >= CAST('2025-01-20 12:00:00' AS TIMESTAMP_NTZ)) AND (CAST("events"."occurred_at" AS TIMESTAMP_NTZ) < CAST('2025-01-20 13:01:00' AS TIMESTAMP_NTZ))
    GROUP BY DATE_TRUNC('minute', CAST("events"."occurred_at" AS TIMESTAMP_NTZ))
  ),
  -- every key combination the metrics produced
  "cte_observed_keys" AS (
    SELECT
      "metric_time__minute"
    FROM "cte_searches"
  ),
  -- one row per minute so that the series has no gaps
  "cte_time_spine" AS (
    SELECT
      DATE_TRUNC('minute', "spine"."start") AS "metric_time__minute"
    FROM (
      SELECT DATEADD(minute, periods.index, bounds.lo) AS "start"
      FROM (SELECT CAST('2025-01-20 12:00:00' AS TIMESTAMP_NTZ) AS lo, CAST('2025-01-20 13:00:00' AS TIMESTAMP_NTZ) AS hi) AS bounds,
        LATERAL FLATTEN(INPUT => ARRAY_GENERATE_RANGE(0, DATEDIFF(minute, bounds.lo, bounds.hi) + 1)) AS periods
    ) AS "spine"
  )
SELECT
  "combined"."metric_time__minute" AS "metric_time.minute",
  COALESCE(MAX("combined"."__v0"), COALESCE(0 * (
    SELECT
      MAX("searches") AS "sample"
    FROM "cte_searches"
  ), 0)) AS "searches"
FROM (
  SELECT
    "metric_time__minute",
    "searches" AS "__v0"
  FROM "cte_searches"
  UNION ALL
  SELECT
    "metric_time__minute",
    NULL AS "__v0"
  FROM "cte_time_spine"
) AS "combined"
GROUP BY "combined"."metric_time__minute"
ORDER BY "metric_time.minute" NULLS LAST
