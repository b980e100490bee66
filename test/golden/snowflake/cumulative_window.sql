-- Tally <version>: wau by metric_time.month
WITH
  -- wau: events rows that can fall in a window
  "cte_wau_rows" AS (
    SELECT
      CAST("events"."occurred_at" AS TIMESTAMP_NTZ) AS "__time",
      "events"."active_users" AS "__value"
    FROM (
      SELECT
        user_id AS "active_users",
        occurred_at AS "occurred_at"
      FROM events AS "source"
    ) AS "events"
  ),
  -- wau: the days of the answer
  "cte_wau_days" AS (
    SELECT
      "period"."start"
    FROM (
      SELECT DATEADD(day, periods.index, bounds.lo) AS "start"
      FROM (SELECT DATE_TRUNC('month', DATE_TRUNC('day', (
      SELECT
        MIN("__time") AS "min"
      FROM "cte_wau_rows"
    ))) AS lo, (DATEADD(day, -1, (DATEADD(month, 1, DATE_TRUNC('month', (DATEADD(day, -1, (DATEADD(day, 7, DATE_TRUNC('day', (
      SELECT
        MAX("__time") AS "max"
      FROM "cte_wau_rows"
    ))))))))))) AS hi) AS bounds,
        LATERAL FLATTEN(INPUT => ARRAY_GENERATE_RANGE(0, DATEDIFF(day, bounds.lo, bounds.hi) + 1)) AS periods
    ) AS "period"
  ),
  -- active_users: each member's active days, beside the member's next one
  "cte_wau_active" AS (
    SELECT
      "__member",
      "__day",
      LEAD("__day") OVER (PARTITION BY "__member" ORDER BY "__day") AS "__next"
    FROM (
      SELECT DISTINCT
        "__value" AS "__member",
        CAST("__time" AS DATE) AS "__day"
      FROM "cte_wau_rows"
    ) AS "active"
  ),
  -- active_users: members whose interval opens at each day (any window)
  "cte_wau_opens" AS (
    SELECT
      "__day",
      SUM(CASE WHEN "__member" IS NULL THEN 0 ELSE 1 END) AS "__delta",
      COUNT(*) AS "__presence"
    FROM "cte_wau_active"
    GROUP BY "__day"
  ),
  -- wau: distinct members in force from each change on
  "cte_wau_running" AS (
    SELECT
      "__day",
      SUM("__delta") OVER (ORDER BY "__day" ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "__active",
      SUM("__presence") OVER (ORDER BY "__day" ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "__present",
      LEAD("__day") OVER (ORDER BY "__day") AS "__next"
    FROM (
      SELECT
        "__day",
        SUM("__delta") AS "__delta",
        SUM("__presence") AS "__presence"
      FROM (
        SELECT
          "__day",
          "__delta",
          "__presence"
        FROM "cte_wau_opens"
        UNION ALL
        SELECT
          CASE WHEN "__next" < "__until" THEN "__next" ELSE "__until" END AS "__day",
          CASE WHEN "__member" IS NULL THEN 0 ELSE -1 END AS "__delta",
          -1 AS "__presence"
        FROM (
          SELECT
            "__member",
            "__next",
            CAST((DATEADD(day, 7, CAST("__day" AS TIMESTAMP_NTZ))) AS DATE) AS "__until"
          FROM "cte_wau_active"
        ) AS "spans"
      ) AS "edges"
      GROUP BY "__day"
    ) AS "changes"
  ),
  -- wau: count_distinct of active_users over the 7 day(s) ending at each day
  "cte_wau_by_day" AS (
    SELECT
      "period"."start" AS "__period",
      CAST("r"."__active" AS NUMBER(18,0)) AS "wau"
    FROM "cte_wau_days" AS "period"
    INNER JOIN "cte_wau_running" AS "r" ON ("period"."start" >= CAST("r"."__day" AS TIMESTAMP_NTZ)) AND ("period"."start" < CAST("r"."__next" AS TIMESTAMP_NTZ))
    WHERE "r"."__present" > 0
  ),
  -- wau: the last day of each metric_time.month
  "cte_wau_periods" AS (
    SELECT
      DATE_TRUNC('month', "period"."start") AS "metric_time__month",
      MAX("period"."start") AS "__at"
    FROM "cte_wau_days" AS "period"
    GROUP BY DATE_TRUNC('month', "period"."start")
  ),
  -- wau: the value on the last day of each metric_time.month
  "cte_wau" AS (
    SELECT
      "e"."metric_time__month",
      "w"."wau"
    FROM "cte_wau_periods" AS "e"
    LEFT JOIN "cte_wau_by_day" AS "w" ON "w"."__period" = "e"."__at"
  )
SELECT
  CAST("metric_time__month" AS DATE) AS "metric_time.month",
  COALESCE("wau", 0) AS "wau"
FROM "cte_wau"
ORDER BY "metric_time.month" NULLS LAST
