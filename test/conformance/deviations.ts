/**
 * The MetricFlow cases where Tally's answer differs from MetricFlow's check query on purpose, each
 * with its reason and the proof of that reason: hand-written SQL over the same fixture tables that
 * says what the request means (Tally must return exactly its rows), the exact rows by which
 * MetricFlow's check query differs from that meaning, and, where the reason is a property of the
 * data, a query that finds it. metricflow.test.ts asserts that the failing cases are exactly these:
 * a case that starts failing, or one of these that starts passing, fails the suite.
 *
 * `{{ source_schema }}` in the SQL is the schema holding MetricFlow's fixture tables.
 */

export interface ExpectedDeviation {
  /** Why Tally's answer differs from MetricFlow's and why Tally's is the one the request means. */
  reason: string;
  /** Hand-written SQL with the right answer, its columns named as MetricFlow names them. */
  truth: string;
  /** Rows (`a | b`, columns in the truth's order) that MetricFlow's check query has and the truth lacks. */
  onlyMetricFlow: string[];
  /** Rows that the truth has and MetricFlow's check query lacks. */
  onlyTally: string[];
  /** SQL that returns rows exactly when the data has the property the reason rests on. */
  premise?: string;
}

const S = '{{ source_schema }}';

/** Transactions by the account's customer (bridge_table joined once), so name and country are one customer's. */
const ONE_CUSTOMER_PER_ROW = (extra: boolean): string => `
  SELECT ct.customer_name AS account_id__customer_id__customer_name,
         ${extra ? 'bt.extra_dim AS account_id__extra_dim,' : ''}
         cot.country AS account_id__customer_id__country,
         SUM(am.txn_count) AS txn_count
  FROM ${S}.account_month_txns AS am
  LEFT JOIN ${S}.bridge_table AS bt ON bt.account_id = am.account_id
  LEFT JOIN ${S}.customer_table AS ct ON ct.customer_id = bt.customer_id
  LEFT JOIN ${S}.customer_other_data AS cot ON cot.customer_id = bt.customer_id
  GROUP BY 1, 2${extra ? ', 3' : ''}`;

const DUPLICATED_BRIDGE_KEY = `SELECT account_id FROM ${S}.bridge_table GROUP BY account_id HAVING COUNT(*) > 1`;

const BRIDGE_REASON =
  "bridge_table declares account_id its primary key, but account a0 has two rows (customers 0 and 1; the data checks report the duplicated key). MetricFlow's check query joins bridge_table twice, once per customer table, so it pairs one customer's name with the other customer's country (thorium with paraguay, osmium with turkmenistan). Tally follows the path account_id -> customer_id once, so each row's name and country belong to the same customer; a0's transactions still count under both of its customers, as the data says.";

export const EXPECTED_DEVIATIONS: Record<string, ExpectedDeviation> = {
  'itest_metrics.yaml:cumulative_time_offset_metric_with_time_constraint': {
    reason:
      "The time constraint bounds the answer's periods: each day from 2019-12-19 to 2020-01-02 reads the 2-day window of bookers ending two days earlier. MetricFlow's check query also cuts the input cumulative metric's periods at 2019-12-19, so 2019-12-20 (whose window ends 2019-12-18, before the constraint) disappears. MetricFlow's own non-cumulative case time_offset_metric_with_time_constraint constrains only the output periods; Tally does that for both. Every period Tally returns lies inside the constraint.",
    truth: `
      SELECT d AS metric_time__day, COUNT(DISTINCT b.guest_id) AS every_2_days_bookers_2_days_ago
      FROM (SELECT CAST(g AS DATE) AS d FROM generate_series(DATE '2019-12-19', DATE '2020-01-02', INTERVAL 1 DAY) AS s(g)) AS days
      JOIN ${S}.fct_bookings AS b ON CAST(b.ds AS DATE) BETWEEN d - 3 AND d - 2
      GROUP BY d`,
    onlyMetricFlow: [],
    onlyTally: ['2019-12-20 00:00:00 | 3'],
  },
  'itest_dimensions.yaml:distinct_values_query_with_metric_filter': {
    reason:
      "The values of listing are the keys of the models where listing is the primary key (listings_latest and lux_listing_mapping), kept when the listing has more than 2 bookings. MetricFlow's check query takes listing values from lux_listing_mapping alone and full-outer-joins the bookings, so listings that only fct_bookings knows turn into one NULL listing, and l8912456-incomplete and l9658588-incomplete (3 bookings each, in listings_latest) are missing.",
    truth: `
      SELECT l.listing_id AS listing
      FROM (SELECT listing_id FROM ${S}.dim_listings_latest UNION SELECT listing_id FROM ${S}.dim_lux_listing_id_mapping) AS l
      JOIN (SELECT listing_id, COUNT(*) AS n FROM ${S}.fct_bookings GROUP BY listing_id) AS b ON b.listing_id = l.listing_id
      WHERE b.n > 2`,
    onlyMetricFlow: ['NULL'],
    onlyTally: ['"l8912456-incomplete"', '"l9658588-incomplete"'],
  },
  'itest_multi_hop_join.yaml:multihop_join_two_dims_different_sources': {
    reason: BRIDGE_REASON,
    truth: ONE_CUSTOMER_PER_ROW(false),
    onlyMetricFlow: ['"osmium" | "turkmenistan" | 16', '"thorium" | "paraguay" | 16'],
    onlyTally: [],
    premise: DUPLICATED_BRIDGE_KEY,
  },
  'itest_multi_hop_join.yaml:mixed_length_joins': {
    reason: BRIDGE_REASON,
    truth: ONE_CUSTOMER_PER_ROW(true),
    onlyMetricFlow: ['"osmium" | "lux" | "turkmenistan" | 16', '"thorium" | "lux" | "paraguay" | 16'],
    onlyTally: [],
    premise: DUPLICATED_BRIDGE_KEY,
  },
};
