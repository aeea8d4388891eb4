import { afterAll, setDefaultTimeout } from 'bun:test';
import { dropTestDatabases } from './databases';

// End-to-end tests boot the whole service and wait on real Redis and Postgres: give a slow machine room.
setDefaultTimeout(30_000);

// Test databases are recycled between files (see databases.ts); the run's last hook drops them.
afterAll(() => dropTestDatabases());
