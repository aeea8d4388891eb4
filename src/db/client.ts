import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { SQL } from 'drizzle-orm';
import { withMigrationsFolder } from './embedded-migrations';
import { openEmbeddedCluster } from './embedded-pglite';
import * as schema from './schema';

export type Schema = typeof schema;
/** Both drivers (postgres-js and embedded PGlite) give this same query surface. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type Executor = Db | Tx;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Runs raw SQL and returns its rows whatever the driver's result shape. */
  rows<T>(executor: Executor, query: SQL): Promise<T[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The advisory lock key migrations run under (any constant the application uses for nothing else). */
const MIGRATION_LOCK = 7_240_113;

export interface DatabaseOptions {
  databaseUrl: string;
  dataDir: string;
  poolSize?: number;
}

/** Opens the database and applies pending migrations (drizzle-kit output, committed). */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options.poolSize ?? 10) : openPglite(options.dataDir);
}

function toRows<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const { default: postgres } = await import('postgres');
  const { drizzle } = await import('drizzle-orm/postgres-js');
  const { migrate } = await import('drizzle-orm/postgres-js/migrator');
  // Migrations on a single connection, as drizzle recommends: advisory locks and DDL stay on one session.
  const migrationClient = postgres(url, { max: 1, onnotice: () => {} });
  try {
    // Instances started together would each run the DDL (CREATE SCHEMA "drizzle", CREATE TYPE) and all but one fail:
    // the lock makes the others wait, then find nothing left to apply. It is released with the session at worst.
    await migrationClient`select pg_advisory_lock(${MIGRATION_LOCK})`;
    await withMigrationsFolder((migrationsFolder) => migrate(drizzle(migrationClient), { migrationsFolder }));
    await migrationClient`select pg_advisory_unlock(${MIGRATION_LOCK})`;
  } finally {
    await migrationClient.end();
  }
  const client = postgres(url, { max: poolSize, onnotice: () => {}, connect_timeout: 10 });
  const db = drizzle(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'postgres',
    rows: async (executor, query) => toRows(await executor.execute(query)),
    ping: async () => {
      await client`select 1`;
    },
    close: async () => {
      await client.end({ timeout: 5 });
    },
  };
}

async function openPglite(dataDir: string): Promise<Database> {
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  const client = await openEmbeddedCluster(dataDir);
  const db = drizzle(client, { schema });
  await withMigrationsFolder((migrationsFolder) => migrate(db, { migrationsFolder }));
  return {
    db: db as unknown as Db,
    kind: 'pglite',
    rows: async (executor, query) => toRows(await executor.execute(query)),
    ping: async () => {
      await client.query('select 1');
    },
    close: async () => {
      await client.close();
    },
  };
}
