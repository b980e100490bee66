/**
 * The demo data's generators: set-based DuckDB SQL that draws every row from a hash of (row
 * index, seed, salt), never from random(), so the same (events, seed) always gives the same
 * rows in the same order. Users, products, sessions and events, orders with their items, and
 * experiment assignments are built in staging tables and inserted into the tables of
 * demo-tables.ts. All times are integer seconds since 2024-01-01 00:00:00 UTC ("t0").
 */
import { BRANDS, CATEGORIES, COUNTRIES, DEMO_TABLE_DDL, EVENT_TYPES, EVENTS_CONSTRAINTS, ORDER_STATUSES, PLANS } from './demo-tables.js';

/** Unix epoch seconds of 2024-01-01 00:00:00 UTC. */
const T0_EPOCH = 1_704_067_200;
const DAY = 86_400;
/** 2024 (leap) + 2025 = 731 days; END is exclusive (2026-01-01 00:00:00). */
const DAYS = 731;
const END = DAYS * DAY;
/** Last day index on which a user may sign up (2025-12-30). */
const LAST_SIGNUP_DAY = DAYS - 2;

const PRODUCT_COUNT = 200;
/** Expected session length in events (measured for the type/length model below). */
const MEAN_SESSION_LENGTH = 3.13;

/** A DuckDB string literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function sqlList(values: readonly string[]): string {
  return `[${values.map(sqlString).join(', ')}]`;
}

/** CASE expression mapping a uniform draw `u` in [0,1) to a label by cumulative weight. */
function weightedCase(u: string, choices: ReadonlyArray<readonly [string, number, ...unknown[]]>): string {
  const total = choices.reduce((acc, c) => acc + c[1], 0);
  let cumulative = 0;
  const whens: string[] = [];
  choices.slice(0, -1).forEach((c) => {
    cumulative += c[1] / total;
    whens.push(`WHEN ${u} < ${cumulative.toFixed(6)} THEN ${sqlString(c[0])}`);
  });
  const last = choices[choices.length - 1];
  return `(CASE ${whens.join(' ')} ELSE ${sqlString(last[0])} END)`;
}

/** Build the full list of SQL statements for the given parameters. */
export function buildSeedSql(events: number, seed: number): string[] {
  const nUsers = Math.max(10, Math.round(events / 50));
  const nOrders = Math.max(ORDER_STATUSES.length, Math.round(events / 20));
  // Generate a few more sessions than needed; the event stream is cut at exactly `events`.
  const nSessions = Math.ceil((events / MEAN_SESSION_LENGTH) * 1.15) + 64;
  // Bits needed for (session index * 32 + position) in the packed event sort key;
  // seconds (< 2^26) take the remaining high bits of a BIGINT.
  const sessionKeyBits = Math.max(1, Math.ceil(Math.log2(nSessions * 32 + 1)));
  if (sessionKeyBits + 26 > 62) {
    throw new RangeError(`seedDemoDatabase: events=${events} is too large`);
  }
  const seedLit = `${seed}::BIGINT`;
  const ts = (secExpr: string): string => `make_timestamp((${T0_EPOCH} + (${secExpr})) * 1000000)`;

  // Weekly seasonality: a share `p` of weekday activity is moved forward to the
  // following Saturday/Sunday (t0 = 2024-01-01 is a Monday, so day % 7 = 0 is
  // Monday and 5/6 are Saturday/Sunday). Moves that would leave `maxDay` are dropped.
  const weekendShift = (day: string, idx: string, salt: string, p: number, maxDay: number): string => `(CASE
      WHEN (${day}) % 7 < 5 AND rnd(${idx}, '${salt}_p') < ${p}
       AND (${day}) + (5 - (${day}) % 7) + (rnd(${idx}, '${salt}_d') < 0.5)::INT <= ${maxDay}
      THEN (${day}) + (5 - (${day}) % 7) + (rnd(${idx}, '${salt}_d') < 0.5)::INT
      ELSE (${day}) END)`;

  // Time of day in seconds, peaking in the (UTC) evening.
  const timeOfDay = (idx: string, salt: string): string =>
    `(floor(${DAY} * (((rnd(${idx}, '${salt}_a') + rnd(${idx}, '${salt}_b') + rnd(${idx}, '${salt}_c')) / 3.0 + 0.30) % 1.0))::BIGINT % ${DAY})`;

  // Offset (seconds) after signup from a mixture of an exponentially decaying
  // density (time constant `tau` days) and a flat "retained" floor, truncated at
  // the user's active span (churn).
  const activityOffset = (idx: string, salt: string, tau: number, massExp: string, massFlat: string): string => `(CASE
      WHEN rnd(${idx}, '${salt}_m') * (${massExp} + ${massFlat}) < ${massExp}
      THEN -${tau * DAY} * ln(1 - rnd(${idx}, '${salt}_t') * (1 - exp(-active_sec / ${tau * DAY}.0)))
      ELSE rnd(${idx}, '${salt}_t') * active_sec END)`;

  const TAU_EVENTS = 40;
  const FLAT_EVENTS = 0.12;
  const TAU_ORDERS = 60;
  const FLAT_ORDERS = 0.2;

  const categoryNames = sqlList(CATEGORIES.map((c) => c[0]));
  const categoryBase = `[${CATEGORIES.map((c) => c[2]).join(', ')}]`;
  const categoryIndexCase = (() => {
    const total = CATEGORIES.reduce((acc, c) => acc + c[1], 0);
    let cumulative = 0;
    const whens = CATEGORIES.slice(0, -1).map((c, i) => {
      cumulative += c[1] / total;
      return `WHEN rnd(i, 'p_cat') < ${cumulative.toFixed(6)} THEN ${i + 1}`;
    });
    return `(CASE ${whens.join(' ')} ELSE ${CATEGORIES.length} END)`;
  })();

  return [
    `SET preserve_insertion_order = true`,
    // 64-bit hashes of (row index[, sub index], seed, salt). DuckDB's multi-argument
    // hash() combines its arguments weakly (draws that differed only in the salt
    // came out strongly correlated), so the salt is XORed in and the result
    // re-hashed: hash() of a single integer is a full 64-bit mixer.
    `CREATE OR REPLACE TEMP MACRO h64(i, salt) AS hash(xor(hash(i, ${seedLit}), hash(salt)))`,
    `CREATE OR REPLACE TEMP MACRO h64b(i, j, salt) AS hash(xor(hash(i, j, ${seedLit}), hash(salt)))`,
    // Uniform draw in (0, 1) with 53 bits of resolution.
    `CREATE OR REPLACE TEMP MACRO rnd(i, salt) AS ((h64(i, salt) >> 11)::DOUBLE + 0.5) / 9007199254740992.0`,
    `CREATE OR REPLACE TEMP MACRO rnd2(i, j, salt) AS ((h64b(i, j, salt) >> 11)::DOUBLE + 0.5) / 9007199254740992.0`,

    // ---------------------------------------------------------------- users
    // Signups grow over time (density rising linearly, plus a flat 20% share),
    // with a mild weekend boost. `i` is the generation index; user_id is
    // assigned in signup order afterwards.
    `CREATE OR REPLACE TEMP TABLE stg_users AS
     WITH g AS (
       SELECT range AS i,
              floor(${LAST_SIGNUP_DAY + 1} * CASE WHEN rnd(range, 'u_mix') < 0.2
                                      THEN rnd(range, 'u_day')
                                      ELSE sqrt(rnd(range, 'u_day')) END)::BIGINT AS day0
       FROM range(${nUsers})
     ), s AS (
       SELECT i,
              ${weekendShift('day0', 'i', 'u_wk', 0.08, LAST_SIGNUP_DAY)} * ${DAY} + ${timeOfDay('i', 'u_tod')} AS signup_sec,
              ${weightedCase("rnd(i, 'u_country')", COUNTRIES)} AS country,
              ${weightedCase("rnd(i, 'u_plan')", PLANS)} AS plan,
              -- churn: a third of users leave within about a week, the rest after months
              (CASE WHEN rnd(i, 'u_churn') < 0.33
                    THEN -ln(rnd(i, 'u_life')) * ${7 * DAY}
                    ELSE -ln(rnd(i, 'u_life')) * ${220 * DAY} END) AS lifetime_sec,
              least(25.0, pow(rnd(i, 'u_eng'), -0.45)) AS engagement,
              (i = 0 OR i = 1 OR (i > 3 AND rnd(i, 'x_checkout') < 0.5)) AS in_checkout,
              CASE WHEN i = 0 THEN 'control' WHEN i = 1 THEN 'treatment'
                   WHEN rnd(i, 'x_checkout_v') < 0.5 THEN 'control' ELSE 'treatment' END AS checkout_variant,
              (i = 2 OR i = 3 OR (i > 3 AND rnd(i, 'x_search') < 0.08)) AS in_search,
              CASE WHEN i = 2 THEN 'control' WHEN i = 3 THEN 'treatment'
                   WHEN rnd(i, 'x_search_v') < 0.5 THEN 'control' ELSE 'treatment' END AS search_variant,
              -- onboarding_tips_v1 plans 50/50, but a logging bug loses a fifth of the treatment
              -- users' assignments: a sample-ratio mismatch (about 44/56) that the readout must flag.
              (i = 4 OR i = 5 OR (i > 5 AND rnd(i, 'x_onboarding') < 0.3
                 AND NOT (rnd(i, 'x_onboarding_v') >= 0.5 AND rnd(i, 'x_onboarding_lost') < 0.2))) AS in_onboarding,
              CASE WHEN i = 4 THEN 'control' WHEN i = 5 THEN 'treatment'
                   WHEN rnd(i, 'x_onboarding_v') < 0.5 THEN 'control' ELSE 'treatment' END AS onboarding_variant
       FROM g
     ), a AS (
       SELECT *,
              greatest(600.0, least(lifetime_sec, ${END} - signup_sec - 3600))::DOUBLE AS active_sec,
              CASE plan WHEN 'pro' THEN 2.2 WHEN 'plus' THEN 1.6 ELSE 1.0 END AS plan_activity,
              CASE plan WHEN 'pro' THEN 2.6 WHEN 'plus' THEN 1.8 ELSE 1.0 END AS plan_buying
       FROM s
     ), m AS (
       SELECT *,
              ${TAU_EVENTS * DAY} * (1 - exp(-active_sec / ${TAU_EVENTS * DAY}.0)) AS ev_mass_exp,
              ${FLAT_EVENTS} * active_sec AS ev_mass_flat,
              ${TAU_ORDERS * DAY} * (1 - exp(-active_sec / ${TAU_ORDERS * DAY}.0)) AS ord_mass_exp,
              ${FLAT_ORDERS} * active_sec AS ord_mass_flat
       FROM a
     ), w AS (
       SELECT *,
              row_number() OVER (ORDER BY signup_sec, i) AS user_id,
              greatest(1, round(engagement * plan_activity * (ev_mass_exp + ev_mass_flat) / 864.0))::BIGINT AS ev_weight,
              greatest(1, round(sqrt(engagement) * plan_buying
                                * CASE WHEN in_checkout AND checkout_variant = 'treatment' THEN 1.12 ELSE 1.0 END
                                * (ord_mass_exp + ord_mass_flat) / 864.0))::BIGINT AS ord_weight
       FROM m
     )
     SELECT *,
            coalesce(sum(ev_weight) OVER (ORDER BY user_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::BIGINT AS ev_lo,
            coalesce(sum(ord_weight) OVER (ORDER BY user_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::BIGINT AS ord_lo
     FROM w
     ORDER BY user_id`,
    `CREATE OR REPLACE TEMP TABLE stg_totals AS
     SELECT sum(ev_weight)::UBIGINT AS ev_total, sum(ord_weight)::UBIGINT AS ord_total FROM stg_users`,

    DEMO_TABLE_DDL.users,
    `INSERT INTO users
     SELECT user_id, ${ts('signup_sec')}, country, plan FROM stg_users ORDER BY user_id`,

    // ------------------------------------------------------------- products
    `CREATE OR REPLACE TEMP TABLE stg_products AS
     WITH g AS (
       SELECT range AS i, ${categoryIndexCase} AS cat_idx FROM range(${PRODUCT_COUNT})
     )
     SELECT i + 1 AS product_id,
            ${categoryNames}[cat_idx] AS category,
            -- each category has a handful of "house" brands, plus some cross-category brands
            ${sqlList(BRANDS)}[1 + (CASE WHEN rnd(i, 'p_brand_mix') < 0.8
                                       THEN (cat_idx * 4 + floor(rnd(i, 'p_brand') * 6)::BIGINT) % ${BRANDS.length}
                                       ELSE floor(rnd(i, 'p_brand') * ${BRANDS.length})::BIGINT END)] AS brand,
            (floor(${categoryBase}[cat_idx] * exp((rnd(i, 'p_price') - 0.5) * 1.6))::BIGINT * 100 + 99) AS list_cents
     FROM g`,
    DEMO_TABLE_DDL.products,
    `INSERT INTO products SELECT product_id, category, brand FROM stg_products ORDER BY product_id`,

    // --------------------------------------------------------------- events
    // Sessions: pick a user proportionally to its activity weight (ASOF join on
    // the cumulative weight), place the session after signup with decaying
    // activity, weekly seasonality and an evening peak.
    `CREATE OR REPLACE TEMP TABLE stg_sessions AS
     WITH g AS (
       SELECT range AS s, (h64(range, 'ss_user') % t.ev_total)::BIGINT AS pick
       FROM range(${nSessions}) CROSS JOIN stg_totals t
     ), j AS (
       SELECT g.s, u.user_id, u.signup_sec, u.active_sec,
              floor(u.signup_sec + ${activityOffset('g.s', 'ss_off', TAU_EVENTS, 'u.ev_mass_exp', 'u.ev_mass_flat')})::BIGINT AS raw_sec
       FROM g ASOF JOIN stg_users u ON g.pick >= u.ev_lo
     ), d AS (
       SELECT s, user_id, signup_sec,
              ${weekendShift(`raw_sec // ${DAY}`, 's', 'ss_wk', 0.12, DAYS - 1)} * ${DAY} + ${timeOfDay('s', 'ss_tod')} AS start0,
              CASE WHEN s = 0 THEN 4 ELSE least(30, 1 + floor(-ln(rnd(s, 'ss_len')) * 2.6)::BIGINT) END AS len
       FROM j
     ), c AS (
       SELECT s, user_id, len,
              -- sessions must end before 2026-01-01; signups are at least a day before that
              CASE WHEN start0 > ${END - 3600} THEN start0 - ${23 * 3600} ELSE start0 END AS start1,
              signup_sec
       FROM d
     ), c2 AS (
       SELECT s, user_id, len,
              CASE WHEN start1 <= signup_sec THEN signup_sec + 30 + (h64(s, 'ss_fix') % 1800)::BIGINT
                   ELSE start1 END AS start_sec
       FROM c
     )
     SELECT *, coalesce(sum(len) OVER (ORDER BY s ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::BIGINT AS first_idx
     FROM c2
     ORDER BY s`,
    // Event types inside a session: position k has a base type from its own
    // draw; a search_click can only directly follow a search, and add_to_cart is
    // more likely right after a click. Session 0 carries the whole funnel so
    // that every type is present even for tiny datasets.
    `CREATE OR REPLACE TEMP MACRO base_type(s, k) AS
       CASE WHEN k = 0 THEN (CASE WHEN rnd2(s, k, 'ev_base') < 0.30 THEN 'search' ELSE 'page_view' END)
            WHEN rnd2(s, k, 'ev_base') < 0.22 THEN 'search'
            WHEN rnd2(s, k, 'ev_base') < 0.25 THEN 'add_to_cart'
            ELSE 'page_view' END`,
    `CREATE OR REPLACE TEMP MACRO is_click(s, k) AS
       (k > 0 AND base_type(s, k - 1) = 'search' AND base_type(s, k) <> 'search'
        AND rnd2(s, k, 'ev_click') < 0.55)`,
    // Bulk-create, then add the primary key: building the index in one go is much
    // faster than maintaining it row by row during the insert.
    `CREATE TABLE events AS
     WITH e AS (
       SELECT s, k, user_id,
              start_sec + k * 45 + (h64b(s, k, 'ev_gap') % 45)::BIGINT AS sec
       FROM (SELECT s, user_id, start_sec, first_idx, unnest(range(len)) AS k FROM stg_sessions)
       WHERE first_idx + k < ${events}
     ), t AS (
       SELECT s, k, user_id, sec,
              CASE WHEN s = 0 THEN ${sqlList(EVENT_TYPES)}[k + 1]
                   WHEN is_click(s, k) THEN 'search_click'
                   WHEN base_type(s, k) = 'search' THEN 'search'
                   WHEN is_click(s, k - 1) AND rnd2(s, k, 'ev_atc') < 0.22 THEN 'add_to_cart'
                   ELSE base_type(s, k) END AS event_type
       FROM e
     )
     -- event ids follow time; ties are broken by (session, position), packed into one sort key
     SELECT row_number() OVER (ORDER BY sec * ${2 ** sessionKeyBits} + s * 32 + k)::BIGINT AS event_id,
            user_id::BIGINT AS user_id, ${ts('sec')}::TIMESTAMP AS occurred_at, event_type::VARCHAR AS event_type
     FROM t
     ORDER BY event_id`,
    ...EVENTS_CONSTRAINTS,

    // --------------------------------------------------------------- orders
    // Buyers are picked by purchase weight; ~18% of orders land within the
    // first 7 days after signup. Status depends on how recent the order is.
    `CREATE OR REPLACE TEMP TABLE stg_orders AS
     WITH g AS (
       SELECT range AS o, (h64(range, 'o_user') % t.ord_total)::BIGINT AS pick
       FROM range(${nOrders}) CROSS JOIN stg_totals t
     ), j AS (
       SELECT g.o, u.user_id, u.signup_sec, u.active_sec,
              floor(u.signup_sec + CASE
                WHEN rnd(g.o, 'o_early') < 0.18
                THEN rnd(g.o, 'o_early_t') * least(${7 * DAY}, ${END} - u.signup_sec - 3600)
                ELSE ${activityOffset('g.o', 'o_off', TAU_ORDERS, 'u.ord_mass_exp', 'u.ord_mass_flat')} END)::BIGINT AS raw_sec
       FROM g ASOF JOIN stg_users u ON g.pick >= u.ord_lo
     ), d AS (
       SELECT o, user_id, signup_sec,
              ${weekendShift(`raw_sec // ${DAY}`, 'o', 'o_wk', 0.06, DAYS - 1)} * ${DAY} + ${timeOfDay('o', 'o_tod')} AS sec0
       FROM j
     ), c AS (
       SELECT o, user_id,
              CASE WHEN sec0 <= signup_sec THEN signup_sec + 60 + (h64(o, 'o_fix') % 3600)::BIGINT
                   ELSE sec0 END AS sec
       FROM d
     ), st AS (
       SELECT o, user_id, sec,
              CASE WHEN o < ${ORDER_STATUSES.length} THEN ${sqlList(ORDER_STATUSES)}[o + 1]
                   WHEN sec >= ${END - 2 * DAY} THEN (CASE
                        WHEN rnd(o, 'o_status') < 0.45 THEN 'placed'
                        WHEN rnd(o, 'o_status') < 0.90 THEN 'paid'
                        ELSE 'cancelled' END)
                   WHEN sec >= ${END - 10 * DAY} THEN (CASE
                        WHEN rnd(o, 'o_status') < 0.05 THEN 'placed'
                        WHEN rnd(o, 'o_status') < 0.60 THEN 'paid'
                        WHEN rnd(o, 'o_status') < 0.92 THEN 'shipped'
                        WHEN rnd(o, 'o_status') < 0.94 THEN 'refunded'
                        ELSE 'cancelled' END)
                   ELSE (CASE
                        WHEN rnd(o, 'o_status') < 0.02 THEN 'placed'
                        WHEN rnd(o, 'o_status') < 0.14 THEN 'paid'
                        WHEN rnd(o, 'o_status') < 0.88 THEN 'shipped'
                        WHEN rnd(o, 'o_status') < 0.95 THEN 'refunded'
                        ELSE 'cancelled' END) END AS status,
              CASE WHEN rnd(o, 'o_items') < 0.50 THEN 1
                   WHEN rnd(o, 'o_items') < 0.78 THEN 2
                   WHEN rnd(o, 'o_items') < 0.92 THEN 3
                   ELSE 4 END AS n_items
       FROM c
     )
     SELECT row_number() OVER (ORDER BY sec, o) AS order_id, *
     FROM st
     ORDER BY order_id`,
    `CREATE OR REPLACE TEMP TABLE stg_items AS
     WITH l AS (
       SELECT order_id, o, unnest(range(n_items)) AS line FROM stg_orders
     ), p AS (
       SELECT order_id, line,
              -- popularity skew: low product ids sell more
              1 + floor(${PRODUCT_COUNT} * pow(rnd2(o, line, 'oi_prod'), 1.7))::BIGINT AS product_id,
              CASE WHEN rnd2(o, line, 'oi_qty') < 0.76 THEN 1
                   WHEN rnd2(o, line, 'oi_qty') < 0.94 THEN 2
                   ELSE 3 END AS quantity,
              rnd2(o, line, 'oi_disc') < 0.12 AS discounted
       FROM l
     )
     SELECT row_number() OVER (ORDER BY p.order_id, p.line) AS order_item_id,
            p.order_id, p.product_id, p.quantity::INTEGER AS quantity,
            (CASE WHEN p.discounted THEN (sp.list_cents * 85) // 100 ELSE sp.list_cents END)::DECIMAL(18, 0) / 100 AS unit_price_raw
     FROM p JOIN stg_products sp USING (product_id)
     ORDER BY order_item_id`,
    DEMO_TABLE_DDL.order_items,
    `INSERT INTO order_items
     SELECT order_item_id, order_id, product_id, quantity, unit_price_raw::DECIMAL(12, 2)
     FROM stg_items ORDER BY order_item_id`,
    DEMO_TABLE_DDL.orders,
    `INSERT INTO orders
     SELECT o.order_id, o.user_id, ${ts('o.sec')}, o.status, a.amount::DECIMAL(12, 2)
     FROM stg_orders o
     JOIN (SELECT order_id, sum(quantity * unit_price) AS amount FROM order_items GROUP BY order_id) a USING (order_id)
     ORDER BY o.order_id`,

    // ----------------------------------------------- experiment assignments
    DEMO_TABLE_DDL.experiment_assignments,
    `INSERT INTO experiment_assignments
     SELECT user_id, experiment, variant, ${ts('sec')} FROM (
       SELECT user_id, 'checkout_v2' AS experiment, checkout_variant AS variant,
              least(${END - 1}, signup_sec + 60 + (h64(i, 'x_checkout_t') % ${2 * DAY})::BIGINT) AS sec
       FROM stg_users WHERE in_checkout
       UNION ALL
       SELECT user_id, 'search_ranking_v1', search_variant,
              least(${END - 1}, signup_sec + floor(rnd(i, 'x_search_t') * active_sec)::BIGINT)
       FROM stg_users WHERE in_search
       UNION ALL
       SELECT user_id, 'onboarding_tips_v1', onboarding_variant,
              least(${END - 1}, signup_sec + 30 + (h64(i, 'x_onboarding_t') % 600)::BIGINT)
       FROM stg_users WHERE in_onboarding
     )
     ORDER BY experiment, user_id`,

    `DROP TABLE stg_items`,
    `DROP TABLE stg_orders`,
    `DROP TABLE stg_sessions`,
    `DROP TABLE stg_products`,
    `DROP TABLE stg_totals`,
    `DROP TABLE stg_users`,
  ];
}

