-- Tally <version>: searches by metric_time.minute
WITH
  -- searches: sum of events.searches
  "cte_searches" AS (
    SELECT
      date_trunc('minute', CAST("events"."occurred_at" AS TIMESTAMP(6))) AS "metric_time__minute",
      SUM("events"."searches") AS "searches"
    FROM (
      SELECT
        occurred_at AS "occurred_at",
        (CASE WHEN event_type = 'search' THEN 1 ELSE 0 END) AS "searches"
      FROM events AS "source"
    ) AS "events"
    WHERE (CAST("events"."occurred_at" AS TIMESTAMP(6)) >= TIMESTAMP '2025-01-20 12:00:00') AND (CAST("events"."occurred_at" AS TIMESTAMP(6)) < TIMESTAMP '2025-01-20 13:01:00')
    GROUP BY date_trunc('minute', CAST("events"."occurred_at" AS TIMESTAMP(6)))
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
      date_trunc('minute', "spine"."start") AS "metric_time__minute"
    FROM (
      SELECT date_add('minute', high.n * 10000 + low.n, bounds.lo) AS "start"
      FROM (SELECT TIMESTAMP '2025-01-20 12:00:00' AS lo, TIMESTAMP '2025-01-20 13:00:00' AS hi) AS bounds
      CROSS JOIN UNNEST(sequence(0, greatest(date_diff('minute', bounds.lo, bounds.hi), 0) / 10000)) AS high(n)
      CROSS JOIN UNNEST(sequence(0, 9999)) AS low(n)
      WHERE high.n * 10000 + low.n <= date_diff('minute', bounds.lo, bounds.hi)
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
