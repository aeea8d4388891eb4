import { afterAll, setDefaultTimeout } from 'bun:test';
import { dropTestDatabases } from './databases';

// End-to-end tests boot the whole service and wait on real Redis and Postgres: give a slow machine room. Bun 1.4.5
// applies a default set here to the first test file of a run only (the others keep its 5 s), so a test that may take
// longer states its own timeout.
setDefaultTimeout(30_000);

// Test databases are recycled between files (see databases.ts); the run's last hook drops them.
afterAll(() => dropTestDatabases());
