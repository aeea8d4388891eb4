import postgres from 'postgres';
import { openDatabase } from '../../src/db/client';

export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Test databases, one per user at a time, recycled within a run.
 *
 * Creating, migrating and dropping a database costs Postgres about a second
 * (the migrations alone half of it), and a run used some sixty: a minute of
 * the suite spent on set-up. So a database given back is emptied and handed
 * to the next file that asks, instead of dropped: each file still has a
 * database nobody else touches while it runs, and finds it as the migrations
 * leave one (every table empty, every sequence at its start). A database
 * whose schema a test changed (a trigger, a constraint, a function) no longer
 * matches the migrated reference and is dropped instead of recycled. The
 * recycled ones are dropped when the run ends (the preload's `afterAll`).
 */

export interface TestDatabase {
  url: string;
  /** Gives the database back: the file is done with it (its connections are ended for it). */
  drop(): Promise<void>;
}

/**
 * Commits of a test database do not wait for their WAL to reach the disk (synchronous_commit, a setting of each
 * session, which postgres-js takes from the URL): nothing a test checks survives a crash of Postgres, and the flushes
 * were CPU the suite's two cores spent on the kernel's side.
 */
const urlOf = (name: string) => `${ADMIN_URL.replace(/\/[^/]*$/, `/${name}`)}?synchronous_commit=off`;
const admin = () => postgres(ADMIN_URL, { max: 1, onnotice: () => {} });

/** What the schema is: tables, columns, constraints, indexes, triggers, functions, types, sequences, migrations applied. */
const SCHEMA_FINGERPRINT = `
  with spaces as (select oid from pg_namespace where nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and nspname not like 'pg_temp%' and nspname not like 'pg_toast_temp%'),
  relations as (select c.oid from pg_class c where c.relnamespace in (select oid from spaces))
  select md5(coalesce(string_agg(item, E'\\n' order by item), '')) as fingerprint from (
    select format('relation %s %s', c.oid::regclass, c.relkind) as item from pg_class c where c.oid in (select oid from relations)
    union all
    select format('column %s.%s %s %s %s', a.attrelid::regclass, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
      from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where a.attrelid in (select oid from relations) and a.attnum > 0 and not a.attisdropped
    union all
    select format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) from pg_constraint where connamespace in (select oid from spaces)
    union all
    select format('index %s', pg_get_indexdef(indexrelid)) from pg_index where indrelid in (select oid from relations)
    union all
    select format('trigger %s %s', tgrelid::regclass, tgname) from pg_trigger where not tgisinternal
    union all
    select format('function %s', p.oid::regprocedure) from pg_proc p where p.pronamespace in (select oid from spaces)
    union all
    select format('type %s %s', t.oid::regtype, (select string_agg(enumlabel, ',' order by enumsortorder) from pg_enum where enumtypid = t.oid))
      from pg_type t where t.typnamespace in (select oid from spaces) and t.typtype in ('e', 'd', 'c') and t.typrelid = 0
    union all
    select format('migrations %s', (select count(*) from drizzle.__drizzle_migrations))
  ) items`;

/**
 * Empties every table the migrations made and puts every sequence back at its start; the migrations' own record stays.
 * DELETE, not TRUNCATE: TRUNCATE makes new files for every table and syncs them, a quarter of a second here, where
 * deleting the few rows a test file leaves takes milliseconds. Foreign keys are not checked on the way (replica role).
 */
const EMPTY_EVERYTHING = `
  do $$
  declare
    name text;
  begin
    set local session_replication_role = replica;
    for name in select format('%I.%I', schemaname, tablename) from pg_tables where schemaname not in ('pg_catalog', 'information_schema', 'drizzle') loop
      execute 'delete from ' || name;
    end loop;
    perform setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false) from pg_sequences where schemaname <> 'drizzle';
  end $$`;

interface Pool {
  free: string[];
  /** Every database this process created and has not dropped. */
  owned: Set<string>;
  reference?: Promise<string>;
  created: number;
}
const pool: Pool = { free: [], owned: new Set(), created: 0 };

async function createDatabase(label: string): Promise<string> {
  const name = `hb_test_${label}_${process.pid}_${Date.now().toString(36)}_${++pool.created}`
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 63);
  const sql = admin();
  try {
    await sql.unsafe(`create database ${name}`);
  } finally {
    await sql.end();
  }
  pool.owned.add(name);
  return name;
}

async function dropDatabase(name: string): Promise<void> {
  pool.owned.delete(name);
  const sql = admin();
  try {
    await sql.unsafe(`drop database if exists ${name} with (force)`);
  } finally {
    await sql.end();
  }
}

/** Runs `work` on a connection of the test's own to database `name`, after ending every other connection to it. */
async function alone<T>(name: string, work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(urlOf(name), { max: 1, onnotice: () => {} });
  try {
    await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
    return await work(sql);
  } finally {
    await sql.end();
  }
}

const fingerprint = async (sql: postgres.Sql) => {
  if (!(await sql`select to_regclass('drizzle.__drizzle_migrations') as found`)[0]!.found) return 'not migrated';
  return (await sql.unsafe(SCHEMA_FINGERPRINT))[0]!.fingerprint as string;
};

/** The fingerprint of a database as the migrations leave it: the first database of the run, migrated here, then recycled. */
function reference(): Promise<string> {
  pool.reference ??= (async () => {
    const name = await createDatabase('reference');
    const migrated = await openDatabase({ databaseUrl: urlOf(name), dataDir: '', poolSize: 1 });
    await migrated.close();
    const migratedFingerprint = await alone(name, fingerprint);
    pool.free.push(name);
    return migratedFingerprint;
  })();
  return pool.reference;
}

async function giveBack(name: string): Promise<void> {
  const expected = await reference().catch(() => undefined);
  const emptied = await alone(name, async (sql) => {
    if ((await fingerprint(sql)) !== expected) return false;
    await sql.unsafe(EMPTY_EVERYTHING);
    return true;
  }).catch(() => false);
  if (emptied) pool.free.push(name);
  else await dropDatabase(name);
}

/**
 * A database for one test file (or one service of it), migrated or not:
 * `fresh` when the migrations themselves are what the test exercises (it
 * gets a database nothing has touched); otherwise a recycled one, emptied,
 * when there is one.
 */
export async function createTestDatabase(label: string, options: { fresh?: boolean } = {}): Promise<TestDatabase> {
  let name: string;
  if (options.fresh) name = await createDatabase(label);
  else {
    await reference();
    name = pool.free.pop() ?? (await createDatabase(label));
  }
  let given = false;
  return {
    url: urlOf(name),
    drop: async () => {
      if (given) return;
      given = true;
      await giveBack(name);
    },
  };
}

/** The end of the run: every database this process still has is dropped. */
export async function dropTestDatabases(): Promise<void> {
  pool.free = [];
  await Promise.all([...pool.owned].map((name) => dropDatabase(name)));
}
