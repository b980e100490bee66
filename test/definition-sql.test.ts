/**
 * The SQL analysts write in a semantic model (`sql:` and `expr:`) is read at validate time: only
 * one plain SELECT and plain expressions pass. Each refusal is checked by its whole message and
 * its file:line:col (counted by hand in the YAML below).
 */
import { describe, expect, it } from 'vitest';
import { DefinitionError, projectFromSources } from '../src/index.js';

const QUERY_RULE = "a model's sql must be one plain SELECT (WITH and UNION are fine) that reads tables and views";
const EXPR_RULE = "an expr must be one SQL expression over the model's columns, like amount or CASE WHEN status = 'paid' THEN amount END";

/** A one-model project whose model reads `sql` (a block scalar starting on line 3). */
function withSql(sql: string, measureExpr = 'amount'): string {
  return `semantic_models:
  - name: paid
    sql: |
${sql
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
    entities:
      - { name: order, type: primary, expr: order_id }
    measures:
      - { name: paid_amount, agg: sum, expr: ${measureExpr} }
`;
}

function problems(text: string): string[] {
  try {
    projectFromSources([{ display: 'models.yml', text }]);
  } catch (e) {
    if (e instanceof DefinitionError) return e.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`);
    throw e;
  }
  return [];
}

describe("a model's SQL", () => {
  it('accepts plain SELECTs: joins, WITH, UNION, subqueries, casts, comments', () => {
    expect(problems(withSql("SELECT order_id, amount FROM orders WHERE status = 'paid' -- paid only; not 'test'"))).toEqual([]);
    expect(problems(withSql('WITH o AS (SELECT * FROM orders)\nSELECT o.order_id, o.amount::decimal(18,2) AS amount FROM o JOIN users u ON u.user_id = o.user_id'))).toEqual([]);
    expect(problems(withSql('SELECT order_id, amount FROM orders UNION ALL SELECT order_id, amount FROM old_orders'))).toEqual([]);
    expect(problems(withSql('SELECT order_id, amount FROM (SELECT * FROM orders) AS s WHERE order_id IN (SELECT order_id FROM paid_ids)'))).toEqual([]);
  });

  it("accepts DuckDB's own syntax (EXCLUDE, QUALIFY, GROUP BY ALL, list literals, REPLACE) and still refuses what hides in it", () => {
    expect(problems(withSql('SELECT * EXCLUDE (internal_note) FROM orders QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY updated_at DESC) = 1'))).toEqual([]);
    expect(problems(withSql('SELECT order_id, sum(amount) AS amount FROM order_lines GROUP BY ALL'))).toEqual([]);
    expect(problems(withSql('SELECT * REPLACE (amount * 100 AS amount) FROM orders'))).toEqual([]);
    expect(problems(withSql("SELECT order_id, amount, ['paid', 'shipped'] AS statuses FROM orders"))).toEqual([]);
    expect(problems(withSql("SELECT * EXCLUDE (x) FROM read_csv('o.csv')"))).toEqual([
      `models.yml:3:10: semantic model 'paid': 'sql' reads from read_csv(…), a table function; ${QUERY_RULE}. Load the data into a table or view and read that`,
    ]);
    expect(problems(withSql("SELECT * REPLACE (amount * 100 AS amount) FROM read_parquet('o.parquet')"))).toEqual([
      `models.yml:3:10: semantic model 'paid': 'sql' reads from read_parquet(…), a table function; ${QUERY_RULE}. Load the data into a table or view and read that`,
    ]);
    expect(problems(withSql("SELECT order_id, [1, 2] AS l, pg_read_file('/etc/passwd') AS amount FROM orders"))).toEqual([
      `models.yml:3:10: semantic model 'paid': 'sql' calls pg_read_file(…), which reads files, other databases or settings; ${QUERY_RULE}`,
    ]);
  });

  it('refuses DDL at the sql key, naming the statement', () => {
    expect(problems(withSql('DROP TABLE orders'))).toEqual([`models.yml:3:10: semantic model 'paid': 'sql' is a DROP statement; ${QUERY_RULE}`]);
    expect(problems(withSql('CREATE TABLE copy AS SELECT * FROM orders'))).toEqual([`models.yml:3:10: semantic model 'paid': 'sql' is a CREATE statement; ${QUERY_RULE}`]);
    expect(problems(withSql("DELETE FROM orders WHERE status = 'test'"))).toEqual([`models.yml:3:10: semantic model 'paid': 'sql' is a DELETE statement; ${QUERY_RULE}`]);
  });

  it('refuses engine commands that the SQL parser does not know (COPY, ATTACH, PRAGMA, INSTALL, LOAD)', () => {
    expect(problems(withSql("COPY orders TO '/tmp/orders.csv'"))).toEqual([`models.yml:3:10: semantic model 'paid': 'sql' is a COPY statement; ${QUERY_RULE}`]);
    expect(problems(withSql("ATTACH 'other.duckdb'"))).toEqual([`models.yml:3:10: semantic model 'paid': 'sql' is an ATTACH statement; ${QUERY_RULE}`]);
    expect(problems(withSql('PRAGMA database_list'))).toEqual([`models.yml:3:10: semantic model 'paid': 'sql' is a PRAGMA statement; ${QUERY_RULE}`]);
    expect(problems(withSql('INSTALL httpfs'))).toEqual([`models.yml:3:10: semantic model 'paid': 'sql' is an INSTALL statement; ${QUERY_RULE}`]);
    expect(problems(withSql('-- comment first\nLOAD httpfs'))).toEqual([`models.yml:3:10: semantic model 'paid': 'sql' is a LOAD statement; ${QUERY_RULE}`]);
  });

  it('refuses a trailing semicolon: the SELECT becomes a subquery', () => {
    expect(problems(withSql('SELECT order_id, amount FROM orders;'))).toEqual([
      "models.yml:3:10: semantic model 'paid': 'sql' ends with ';', but Tally places it inside a larger query; remove the ';'",
    ]);
  });

  it('refuses a second statement', () => {
    expect(problems(withSql('SELECT order_id, amount FROM orders; DROP TABLE orders'))).toEqual([
      `models.yml:3:10: semantic model 'paid': 'sql' holds 2 statements; ${QUERY_RULE}. Remove the ';' and what follows it`,
    ]);
  });

  it('refuses table functions and file names, also inside subqueries', () => {
    expect(problems(withSql("SELECT * FROM read_csv('/etc/passwd')"))).toEqual([
      `models.yml:3:10: semantic model 'paid': 'sql' reads from read_csv(…), a table function; ${QUERY_RULE}. Load the data into a table or view and read that`,
    ]);
    expect(problems(withSql("SELECT * FROM orders WHERE order_id IN (SELECT order_id FROM read_parquet('s3://b/x.parquet'))"))).toEqual([
      `models.yml:3:10: semantic model 'paid': 'sql' reads from read_parquet(…), a table function; ${QUERY_RULE}. Load the data into a table or view and read that`,
    ]);
    expect(problems(withSql("SELECT * FROM 'orders.csv'"))).toEqual([
      `models.yml:3:10: semantic model 'paid': 'sql' reads from 'orders.csv', which names a file, not a table; ${QUERY_RULE}. Load the file into a table or view and read that`,
    ]);
    expect(problems(withSql("SELECT order_id, amount, (SELECT count(*) FROM glob('/home/*')) AS n FROM orders"))).toEqual([
      `models.yml:3:10: semantic model 'paid': 'sql' reads from glob(…), a table function; ${QUERY_RULE}. Load the data into a table or view and read that`,
    ]);
    expect(problems(withSql("SELECT order_id, getenv('HOME') AS amount FROM orders"))).toEqual([
      `models.yml:3:10: semantic model 'paid': 'sql' calls getenv(…), which reads files, other databases or settings; ${QUERY_RULE}`,
    ]);
    expect(problems(withSql('SELECT order_id, amount INTO orders_copy FROM orders'))).toEqual([
      `models.yml:3:10: semantic model 'paid': 'sql' uses SELECT … INTO, which creates a table; ${QUERY_RULE}`,
    ]);
  });

  it('says where in the SQL it stopped when the text is not SQL', () => {
    expect(problems(withSql('SELECT order_id,\n  FROM orders WHERE'))).toEqual([
      `models.yml:3:10: semantic model 'paid': 'sql' could not be read as a SELECT (stopped at line 2, column 8 of the SQL); ${QUERY_RULE}`,
    ]);
  });

  it('refuses an expr that is not one expression, at the expr value', () => {
    const sql = 'SELECT order_id, amount FROM orders';
    expect(problems(withSql(sql, '"amount FROM orders; DROP TABLE orders; --"'))).toEqual([
      `models.yml:8:46: measure 'paid_amount' of model 'paid': 'expr' is not one SQL expression; ${EXPR_RULE}`,
    ]);
    expect(problems(withSql(sql, '"1) AS a, (2"'))).toEqual([`models.yml:8:46: measure 'paid_amount' of model 'paid': 'expr' is not one SQL expression; ${EXPR_RULE}`]);
    expect(problems(withSql(sql, "\"read_csv('x.csv')\""))).toEqual([
      `models.yml:8:46: measure 'paid_amount' of model 'paid': 'expr' calls read_csv(…), which reads files, other databases or settings; ${EXPR_RULE}`,
    ]);
    expect(problems(withSql(sql, '"(SELECT max(amount) FROM orders)"'))).toEqual([
      `models.yml:8:46: measure 'paid_amount' of model 'paid': 'expr' holds a subquery; ${EXPR_RULE}. Put the query in the model's sql instead`,
    ]);
  });

  it('accepts the expressions analysts write', () => {
    for (const expr of ['amount', '"amount::decimal(18, 2)"', '"CASE WHEN status = \'paid\' THEN amount ELSE 0 END"', '"coalesce(amount, 0) * 1.1"', "\"date_trunc('day', ordered_at)\"", '1']) {
      expect(problems(withSql('SELECT order_id, amount, status, ordered_at FROM orders', expr)), expr).toEqual([]);
    }
  });
});
