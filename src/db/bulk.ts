import { getTableColumns, getTableName, is, sql, type SQL } from 'drizzle-orm';
import { PgTransaction, type PgColumn, type PgTable } from 'drizzle-orm/pg-core';
import type { Executor } from './client';

/**
 * Multi-row writes whose SQL text does not depend on the number of rows.
 *
 * Drizzle's multi-row `VALUES` has one parameter per row and column, so every
 * batch size is a new statement text; drizzle sends such a query unprepared
 * (it prepares only queries given a name), and postgres.js then asks the
 * server to describe it before it can bind it: a parse, a plan and two round
 * trips on every call, plus the building of the text itself. At a thousand
 * events a second that was half of the worker's CPU (docs/bench-e2e.md).
 *
 * Here the rows travel as one jsonb parameter that `jsonb_to_recordset`
 * reads back into columns: the text depends only on the table, the columns
 * written and the clause after them, so it is built once per process and
 * prepared once per connection, and each later write is one round trip.
 * Rows keep their order (`with ordinality`), so serial ids follow it as
 * they did with `VALUES`. A JSON null is SQL NULL; a Date is written as its
 * ISO text, which timestamptz reads exactly.
 */

interface Statement {
  /** postgres.js prepares a query only when it is named; the name itself is not sent. */
  name: string;
  text: string;
}

const statements = new Map<string, Statement>();

/** How `jsonb_to_recordset` reads a column: serial types by their integer type, everything else as declared. */
const RECORD_TYPES: Record<string, string> = { bigserial: 'bigint', serial: 'integer', smallserial: 'smallint' };
const recordType = (column: PgColumn) => RECORD_TYPES[column.getSQLType()] ?? column.getSQLType();

export const quoted = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

/** A fixed statement (parameters `$1`…), prepared once per connection where it runs. */
export const preparedStatement = (text: string): Statement => statementFor(`text:${text}`, () => text);

/**
 * The one private drizzle call this project makes: a session's
 * `prepareQuery(query, fields, name, arrayMode)`, the only way to have
 * postgres.js prepare a text drizzle did not build (a name makes it
 * `prepare: true`). drizzle-orm is pinned to an exact version for it, and
 * tests/unit/db/drizzle-private.test.ts checks the call's shape and effect.
 */
interface PreparingSession {
  prepareQuery(query: { sql: string; params: unknown[] }, fields: undefined, name: string, arrayMode: false): { execute(): Promise<unknown> };
}

function sessionOf(executor: Executor): PreparingSession {
  const session = (executor as { _?: { session?: { prepareQuery?: unknown } } })._?.session;
  if (typeof session?.prepareQuery !== 'function' || session.prepareQuery.length < 4) {
    throw new Error(
      'drizzle-orm changed: `executor._.session.prepareQuery(query, fields, name, arrayMode)` is gone or has another shape; ' +
        'db/bulk.ts relies on it to prepare its statements (see tests/unit/db/drizzle-private.test.ts)',
    );
  }
  return session as PreparingSession;
}

/** A statement prepared once per connection, run on `executor` (the pool, or a transaction's own connection). */
export async function runPrepared<T = Record<string, unknown>>(executor: Executor, statement: Statement, params: unknown[]): Promise<T[]> {
  const result = await sessionOf(executor).prepareQuery({ sql: statement.text, params }, undefined, statement.name, false).execute();
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/**
 * Statements issued together on one connection: postgres.js sends them in
 * the order they were started, without waiting for each answer (once each
 * is prepared on the connection; one it has not prepared yet is described
 * first, and those behind it wait for that), and the server runs them in
 * that order. Resolves with their results, or throws the error
 * of the first that failed: those after it fail only because the
 * transaction was aborted (25P02), and the first error is the one that says
 * whether retrying can help.
 */
export async function inOrder<T extends readonly unknown[]>(statements: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(statements);
  const failed = settled.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** One statement per distinct text, built once. */
function statementFor(key: string, build: () => string): Statement {
  let statement = statements.get(key);
  if (!statement) {
    statement = { name: `bulk_${statements.size}`, text: build() };
    statements.set(key, statement);
  }
  return statement;
}

type Row = Record<string, unknown>;

/**
 * The rows split where the set of defaulted columns they give changes: a
 * column left out must get its default, which only a statement that does not
 * list it gives. Runs of consecutive rows, so the order holds. A column
 * without a default is listed whenever a row of the run names it (a row
 * that leaves it undefined gets NULL, its default, as from `VALUES`).
 */
function runsOf(rows: Row[], columns: Record<string, PgColumn>): { keys: string[]; rows: Row[] }[] {
  const runs: { signature: string; keys: Set<string>; rows: Row[] }[] = [];
  for (const row of rows) {
    const named = Object.keys(row).filter((key) => columns[key] !== undefined && (row[key] !== undefined || !columns[key].hasDefault));
    const signature = named
      .filter((key) => columns[key]!.hasDefault)
      .sort()
      .join(',');
    const last = runs.at(-1);
    if (last && last.signature === signature) {
      for (const key of named) last.keys.add(key);
      last.rows.push(row);
    } else runs.push({ signature, keys: new Set(named), rows: [row] });
  }
  return runs.map((run) => ({ keys: Object.keys(columns).filter((key) => run.keys.has(key)), rows: run.rows }));
}

/**
 * `insert into table (columns) select … from jsonb_to_recordset($1) … <tail>`
 * for `rows` (keyed as the table's TypeScript columns). `tail` is the SQL
 * after the rows (`on conflict …`, `returning …`): part of the statement's
 * text, built from column names, never from values. Returns what
 * `returning` returned, keyed by column name.
 */
export async function insertRows<T extends PgTable>(executor: Executor, table: T, rows: T['$inferInsert'][], tail = ''): Promise<Row[]> {
  const columns = getTableColumns(table) as Record<string, PgColumn>;
  // Everything that can throw is done before the first statement starts: none is left running unheard.
  const prepared = runsOf(rows as Row[], columns).map((run) => {
    const names = run.keys.map((key) => columns[key]!.name);
    const statement = statementFor(`insert:${getTableName(table)}:${names.join(',')}:${tail}`, () => {
      const list = names.map(quoted).join(', ');
      const definitions = run.keys.map((key) => `${quoted(columns[key]!.name)} ${recordType(columns[key]!)}`).join(', ');
      return (
        `insert into ${quoted(getTableName(table))} (${list}) select ${list} ` +
        `from rows from (jsonb_to_recordset($1::jsonb) as (${definitions})) with ordinality as r(${list}, "ordinality") order by "ordinality" ${tail}`
      ).trimEnd();
    });
    const records = run.rows.map((row) => Object.fromEntries(run.keys.map((key) => [columns[key]!.name, columnValue(row[key], columns[key]!)])));
    return { statement, json: storableJson(JSON.stringify(records)) };
  });
  const start = ({ statement, json }: (typeof prepared)[number]) => runPrepared<Row>(executor, statement, [json]);
  // In a transaction (one connection) every run is started at once: they go out together, in order, with the
  // caller's other statements. On the pool they could land on different connections: one after the other.
  if (is(executor, PgTransaction)) return (await inOrder(prepared.map(start))).flat();
  const returned: Row[] = [];
  for (const run of prepared) returned.push(...(await start(run)));
  return returned;
}

/**
 * A column's value as JSON will carry it. JSON has no invalid date and no
 * infinite number: they would arrive as null. Drizzle's `VALUES` threw on
 * them (a RangeError, which the worker treats as the data's fault), and so
 * does this.
 */
function columnValue(value: unknown, column: PgColumn): unknown {
  if (value instanceof Date && Number.isNaN(value.getTime())) throw new RangeError(`${column.name}: invalid date`);
  if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError(`${column.name}: ${value} is not a finite number`);
  return value ?? null;
}

/**
 * JSON.stringify writes a lone surrogate as its escape, which jsonb refuses
 * for the whole statement; postgres.js sent it as U+FFFD (a text parameter is
 * encoded as UTF-8), and so does this. Only an odd run of backslashes escapes.
 */
const LONE_SURROGATE_ESCAPE = /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;
const storableJson = (json: string) => (json.includes('\\ud') ? json.replace(LONE_SURROGATE_ESCAPE, '$1\\ufffd') : json);

/** The keys of `table` a later write may change: all but `fixed` and the columns Postgres computes. */
export function updatableColumns<T extends PgTable>(table: T, fixed: readonly (keyof T['$inferSelect'])[]): string[] {
  return Object.entries(getTableColumns(table))
    .filter(([key, column]) => !fixed.includes(key as keyof T['$inferSelect']) && !column.generated)
    .map(([key]) => key);
}

/**
 * `on conflict (target) do update set` every updatable column to the value
 * the insert proposed (`excluded` holds the defaults of the columns it left
 * out), then `extra` assignments (SQL text, e.g. a counter): the upsert of a
 * projection row.
 */
export function upsertTail<T extends PgTable>(
  table: T,
  target: PgColumn,
  fixed: readonly (keyof T['$inferSelect'])[],
  extra: Record<string, string> = {},
): string {
  const columns = getTableColumns(table) as Record<string, PgColumn>;
  const assignments = [
    ...updatableColumns(table, fixed)
      .filter((key) => !(key in extra))
      .map((key) => `${quoted(columns[key]!.name)} = excluded.${quoted(columns[key]!.name)}`),
    ...Object.entries(extra).map(([key, value]) => `${quoted(columns[key]!.name)} = ${value}`),
  ];
  return `on conflict (${quoted(target.name)}) do update set ${assignments.join(', ')}`;
}

/**
 * `update table set … from jsonb_to_recordset($1) … where key = r.key` for
 * `rows` (keyed as the table's TypeScript columns, every row naming the same
 * ones, `key` among them): each row's columns set on the row `key` names.
 * One text per table and set of columns, whatever the number of rows.
 */
export async function updateRows<T extends PgTable>(executor: Executor, table: T, key: keyof T['$inferSelect'] & string, rows: Partial<T['$inferInsert']>[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = getTableColumns(table) as Record<string, PgColumn>;
  const keys = Object.keys(rows[0]!).filter((name) => columns[name] !== undefined);
  const signature = keys.join(',');
  if (!keys.includes(key)) throw new Error(`updateRows(${getTableName(table)}): the rows lack their key ${key}`);
  for (const row of rows) {
    const named = Object.keys(row).filter((name) => columns[name] !== undefined);
    if (named.join(',') !== signature) throw new Error(`updateRows(${getTableName(table)}): every row must name the same columns (${signature})`);
  }
  const statement = statementFor(`update:${getTableName(table)}:${key}:${signature}`, () => {
    const name = (field: string) => quoted(columns[field]!.name);
    const assignments = keys.filter((field) => field !== key).map((field) => `${name(field)} = r.${name(field)}`);
    const definitions = keys.map((field) => `${name(field)} ${recordType(columns[field]!)}`).join(', ');
    return (
      `update ${quoted(getTableName(table))} as t set ${assignments.join(', ')} ` +
      `from jsonb_to_recordset($1::jsonb) as r(${definitions}) where t.${name(key)} = r.${name(key)}`
    );
  });
  const records = rows.map((row) => Object.fromEntries(keys.map((field) => [columns[field]!.name, columnValue((row as Row)[field], columns[field]!)])));
  await runPrepared(executor, statement, [storableJson(JSON.stringify(records))]);
}

/** `delete from table where column in (the texts of $1)`: one text whatever the number of ids. */
export async function deleteWhereIn(executor: Executor, table: PgTable, column: PgColumn, ids: string[]): Promise<void> {
  const statement = statementFor(`delete:${getTableName(table)}:${column.name}`, () => {
    return `delete from ${quoted(getTableName(table))} where ${quoted(column.name)} in (select jsonb_array_elements_text($1::jsonb))`;
  });
  await runPrepared(executor, statement, [JSON.stringify(ids)]);
}

/**
 * `column in (the texts of one jsonb parameter)`: a condition whose text does
 * not depend on the number of values, for a query prepared with `.prepare()`
 * (drizzle's `inArray` has a parameter per value, a new text per count).
 */
export const inTexts = (column: PgColumn, values: readonly string[]): SQL =>
  sql`${column} in (select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;

/**
 * `inTexts` for a condition inside an `or`: `= any(array(…))` is computed
 * once (an InitPlan), so each side of the `or` can be an index scan and
 * Postgres joins them (a BitmapOr); an `in (select …)` there is a hashed
 * subplan tested against every row of the table (a full scan).
 */
export const anyOfTexts = (column: PgColumn, values: readonly string[]): SQL =>
  sql`${column} = any(array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb)))`;
