import { setDefaultTimeout } from 'bun:test';

// End-to-end tests boot the whole service and wait on real Redis and Postgres: give a slow machine room.
setDefaultTimeout(30_000);
